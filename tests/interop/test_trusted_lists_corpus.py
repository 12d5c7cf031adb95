"""The real trusted lists of the corpus: the EU list of the lists and the LU, BE and CZ lists
parse with pyHanko, and their signatures verify as of 2019-09-05 (not today)."""

from __future__ import annotations

import shutil

import pytest
from cryptography.x509.oid import NameOID

from comptoir.certificates import trust
from tests.certificates.corpus import BE, CZ, LOTL, LU, use_corpus_lists

pytestmark = pytest.mark.interop


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = []
    settings.COMPTOIR_TRUST_QUALIFIED_ONLY = False
    settings.COMPTOIR_TRUSTED_LISTS_FOLLOW_LOTL = False


def test_the_four_lists_parse_and_verify(settings, interop_dir):
    use_corpus_lists(settings, interop_dir, LU, BE, CZ)
    summary = trust.trusted_lists_refresh()
    assert summary["errors"] == []
    by_territory = {entry["territory"]: entry for entry in summary["lists"]}
    assert set(by_territory) == {"EU", "LU", "BE", "CZ"}
    assert by_territory["EU"]["kind"] == "lotl" and by_territory["EU"]["sequence"] == 248
    assert (by_territory["LU"]["sequence"], by_territory["BE"]["sequence"]) == (37, 43)
    assert by_territory["CZ"]["sequence"] == 77
    assert by_territory["LU"]["issued"].startswith("2019-08-07")
    for territory in ("LU", "BE", "CZ"):
        assert by_territory[territory]["signature_checked"] is True
        assert by_territory[territory]["ca_services"] > 0


def test_the_lu_list_holds_luxtrust_global_qualified_ca_3(settings, interop_dir):
    use_corpus_lists(settings, interop_dir, LU)
    trust.trusted_lists_refresh()
    store = trust.trust_store()
    names = {
        authority.name.native.get("common_name")
        for authority in store.registry.known_certificate_authorities
    }
    assert "LuxTrust Global Qualified CA 3" in names
    services = {service.base_info.service_name: t for service, t in store.territory_of.items()}
    assert services["LuxTrust Global Qualified Certification Authority 3"] == "LU"


def test_a_national_list_needs_the_eu_list_for_its_signers(settings, interop_dir):
    settings.COMPTOIR_TRUSTED_LISTS = [str(interop_dir / LU)]
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY_AT = "2019-09-05T00:00:00Z"
    summary = trust.trusted_lists_refresh()
    assert summary["lists"] == []
    assert "no signer certificates for territory 'LU'" in summary["errors"][0]


def test_the_signatures_do_not_verify_today(settings, interop_dir):
    """The LU list's signers (ILNAS staff certificates) expired in 2020."""
    use_corpus_lists(settings, interop_dir, LU)
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY_AT = None
    summary = trust.trusted_lists_refresh()
    assert "LU" not in {entry["territory"] for entry in summary["lists"]}
    [error] = summary["errors"]
    assert error.startswith(str(interop_dir / LU))
    assert "signature check failed" in error and "expired" in error


def test_a_changed_list_fails_its_signature_check(settings, interop_dir, tmp_path):
    changed = tmp_path / "LU-changed.xml"
    shutil.copy(interop_dir / LU, changed)
    text = changed.read_text(encoding="utf-8")
    assert "LuxTrust Global Qualified CA 3" in text
    changed.write_text(
        text.replace("LuxTrust Global Qualified Certification Authority 3", "Someone Else CA", 1),
        encoding="utf-8",
    )
    use_corpus_lists(settings, interop_dir)
    settings.COMPTOIR_TRUSTED_LISTS = [*settings.COMPTOIR_TRUSTED_LISTS, str(changed)]
    summary = trust.trusted_lists_refresh()
    assert [entry["territory"] for entry in summary["lists"]] == ["EU"]
    assert str(changed) in summary["errors"][0]
    assert "signature check failed" in summary["errors"][0]


def test_without_the_signature_check_the_lists_parse_alone(settings, interop_dir):
    settings.COMPTOIR_TRUSTED_LISTS = [str(interop_dir / name) for name in (LOTL, LU, BE, CZ)]
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY = False
    summary = trust.trusted_lists_refresh()
    assert summary["errors"] == []
    assert all(entry["signature_checked"] is False for entry in summary["lists"])
    assert trust.trust_store().ca_service_count() > 30


def test_the_luxtrust_ca_certificate_is_the_one_on_the_list(settings, interop_dir):
    """Matching is by the CA's certificate (subject and key), not by its name alone."""
    use_corpus_lists(settings, interop_dir, LU)
    trust.trusted_lists_refresh()
    store = trust.trust_store()
    [luxtrust] = [
        authority
        for authority in store.registry.known_certificate_authorities
        if authority.name.native.get("common_name") == "LuxTrust Global Qualified CA 3"
    ]
    cert = trust._to_crypto(luxtrust.certificate)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "LuxTrust S.A."
    )
