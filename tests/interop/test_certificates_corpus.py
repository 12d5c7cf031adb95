"""The certificates of the corpus, and the signer certificates of its PAdES and CAdES samples,
through certificate inspection and the trust policy, at the dates the corpus documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader

from comptoir.certificates import trust
from comptoir.certificates.inspect import (
    certificate_details,
    certificate_fit_for,
    certificate_is_website,
    certificate_load,
)
from tests.certificates.corpus import BE, CZ, LU, preload_corpus_lists

pytestmark = pytest.mark.interop


@pytest.fixture(autouse=True)
def _corpus_lists(settings, interop_dir):
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = []
    settings.COMPTOIR_TRUST_QUALIFIED_ONLY = False
    settings.COMPTOIR_TRUSTED_LISTS_FOLLOW_LOTL = False
    preload_corpus_lists(settings, interop_dir, LU, BE, CZ)


def load(interop_dir, name):
    return certificate_load((interop_dir / "certificates" / name).read_bytes())


def pades_signer(interop_dir, name):
    with (interop_dir / "pades" / name).open("rb") as handle:
        signature = PdfFileReader(handle).embedded_signatures[0]
        return signature.signer_cert, list(signature.other_embedded_certs)


def cades_signer(interop_dir, name):
    signed_data = cms.ContentInfo.load((interop_dir / "cades" / name).read_bytes())["content"]
    certs = [choice.chosen for choice in signed_data["certificates"]]
    sid = signed_data["signer_infos"][0]["sid"]
    assert sid.name == "issuer_and_serial_number"
    wanted = sid.chosen
    [leaf] = [
        c
        for c in certs
        if c.serial_number == wanted["serial_number"].native and c.issuer == wanted["issuer"]
    ]
    return leaf, [c for c in certs if c is not leaf]


# --- certificates/ -----------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["seal", "signature"])
def test_the_qwac_is_refused_as_a_website_certificate(interop_dir, purpose):
    cert = load(interop_dir, "harica-qwac.cer")
    details = certificate_details(cert)
    assert details.qc.types == {"web"} and details.qc.compliance
    assert certificate_is_website(cert)
    refusal = certificate_fit_for(cert, purpose)
    assert refusal is not None and refusal.code == "not_fit" and "website" in str(refusal)
    verdict = trust.trust_check(cert, at=details.not_before + timedelta(days=1), purpose=purpose)
    assert verdict.refused and verdict.code == "not_fit"


@pytest.mark.parametrize(
    ("name", "country"),
    [("john_doe_tc-test-qc-esign.crt", "TC"), ("zz-test-qtsp-qc-esign.cer", "ZZ")],
)
def test_non_eu_qualified_certificates_are_not_eu_qualified(interop_dir, name, country):
    cert = load(interop_dir, name)
    details = certificate_details(cert)
    assert details.qc.compliance and details.qc.types == {"esign"}
    assert details.qc.legislation == (country,)
    assert not details.qc.eu_legislation and not details.qc.claims_eu_qualified
    at = details.not_before + timedelta(days=1)
    as_seal = trust.trust_check(cert, at=at, purpose="seal")
    assert as_seal.refused and not as_seal.qualified and as_seal.code == "not_fit"
    as_signature = trust.trust_check(cert, at=at, purpose="signature")
    assert as_signature.refused and not as_signature.qualified
    assert as_signature.code == "unlisted_ca"


def test_the_zz_certificate_key_is_in_a_qscd_but_that_does_not_qualify_it(interop_dir):
    details = certificate_details(load(interop_dir, "zz-test-qtsp-qc-esign.cer"))
    assert details.qc.sscd
    assert details.key_usage == {"non_repudiation"}


def test_the_text_dump_certificate_loads(interop_dir):
    # john_doe_tc-test-qc-esign.crt is `openssl x509 -text` output followed by the PEM block.
    assert (
        (interop_dir / "certificates" / "john_doe_tc-test-qc-esign.crt")
        .read_bytes()
        .startswith(b"Certificate:")
    )
    details = certificate_details(load(interop_dir, "john_doe_tc-test-qc-esign.crt"))
    assert details.subject.startswith("CN=John Doe")


def test_european_commission_legal_person_details(interop_dir):
    cert = load(interop_dir, "ec_cnect-legal-person-qc.cer")
    details = certificate_details(cert)
    assert details.qc.compliance and details.qc.types == frozenset()
    assert details.qc.claims_eu_qualified  # what it says of itself
    assert details.not_before.year == 2015 and details.not_after.year == 2018
    assert details.not_before == datetime(2015, 12, 4, 12, 9, 35, tzinfo=UTC)
    assert details.version == 3
    assert "O=European Commission" in details.subject and "CN=EC_CNECT" in details.subject
    assert "QuoVadis EU Issuing Certification Authority G2" in details.issuer
    assert details.signature_algorithm == "sha1WithRSAEncryption"
    assert len(details.sha256) == 64
    assert details.key_usage == {"non_repudiation"}
    assert certificate_fit_for(cert, "seal") is None
    verdict = trust.trust_check(cert, at=datetime(2019, 9, 5, tzinfo=UTC), purpose="seal")
    assert verdict.code == "expired"


# --- pades/ --------------------------------------------------------------------------------------


def test_tellustalk_qualified_eseal_under_the_cz_list(interop_dir):
    leaf, others = pades_signer(interop_dir, "pades-eseal-tellustalk.pdf")
    at = datetime(2021, 3, 3, tzinfo=UTC)
    verdict = trust.trust_check(leaf, intermediates=others, at=at, purpose="seal")
    assert verdict.trusted and verdict.qualified and verdict.qc_type == "eseal"
    assert verdict.territory == "CZ"
    assert verdict.service == "(78) I.CA - issuing qualified certificates"
    assert "O=TellusTalk AB" in verdict.chain[-1]


def test_tellustalk_is_refused_without_the_cz_list(settings, interop_dir):
    preload_corpus_lists(settings, interop_dir, LU, BE)
    leaf, others = pades_signer(interop_dir, "pades-eseal-tellustalk.pdf")
    verdict = trust.trust_check(
        leaf, intermediates=others, at=datetime(2021, 3, 3, tzinfo=UTC), purpose="seal"
    )
    assert verdict.refused and verdict.code == "unlisted_ca"


def test_luxtrust_qualified_esignature_in_a_qscd_under_the_lu_list(settings, interop_dir):
    leaf, others = pades_signer(interop_dir, "pades-luxtrust-qes.pdf")
    at = datetime(2019, 9, 1, tzinfo=UTC)
    verdict = trust.trust_check(leaf, intermediates=others, at=at, purpose="signature")
    assert verdict.trusted and verdict.qualified and verdict.qc_type == "esign"
    assert verdict.territory == "LU"
    assert verdict.service == "LuxTrust Global Qualified Certification Authority 3"
    assert verdict.chain[0].startswith("CN=LuxTrust Global Qualified CA 3")
    # a person's signature certificate is not a seal
    assert trust.trust_check(leaf, intermediates=others, at=at, purpose="seal").code == "not_fit"
    # and it ended in January 2022
    later = trust.trust_check(
        leaf, intermediates=others, at=datetime(2023, 1, 1, tzinfo=UTC), purpose="signature"
    )
    assert later.code == "expired"
    settings.COMPTOIR_TRUST_QUALIFIED_ONLY = True
    assert trust.trust_check(leaf, intermediates=others, at=at, purpose="signature").trusted


# --- cades/ --------------------------------------------------------------------------------------


def test_ec_seal_test_qualified_eseal_under_the_be_list(interop_dir):
    leaf, others = cades_signer(interop_dir, "ec_seal_test-detached-cades-lta.sig")
    verdict = trust.trust_check(
        leaf, intermediates=others, at=datetime(2019, 5, 3, tzinfo=UTC), purpose="seal"
    )
    assert verdict.trusted and verdict.qualified and verdict.territory == "BE"
    assert "QuoVadis" in verdict.service
    assert "CN=EC_SEAL_TEST" in verdict.chain[-1]


def test_cert4seal_qualified_eseal_under_the_cz_list(interop_dir):
    leaf, others = cades_signer(interop_dir, "cert4seal-detached-cades.p7m")
    verdict = trust.trust_check(
        leaf, intermediates=others, at=datetime(2018, 11, 19, tzinfo=UTC), purpose="seal"
    )
    assert verdict.trusted and verdict.qualified and verdict.territory == "CZ"
    assert "PostSignum" in verdict.service
