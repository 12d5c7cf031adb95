from __future__ import annotations

import http.server
import threading
from datetime import timedelta

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.cache import cache
from django.core.management import CommandError, call_command

from comptoir.certificates import tasks, trust
from tests.certificates import pki

NOW = pki.NOW


@pytest.fixture(scope="module")
def root():
    return pki.make_ca("Alternate Root CA")


@pytest.fixture(scope="module")
def issuing(root):
    return pki.make_ca("Alternate Issuing CA", issuer=root)


@pytest.fixture(scope="module")
def qca():
    return pki.make_ca("Qualified Issuing CA")


@pytest.fixture
def alternate_folder(settings, tmp_path, root):
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = [str(pki.write_ca_folder(tmp_path / "cas", root))]
    return tmp_path / "cas"


@pytest.fixture
def tiny_list(settings, tmp_path, qca):
    path = tmp_path / "alternate-tl.xml"
    path.write_text(pki.tiny_trusted_list([("Test qualified CA", qca)], for_types=("ForeSeals",)))
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = [str(path)]
    return path


def seal_qc(**kwargs):
    return pki.qc_statements_value(qc_type="eseal", **kwargs)


# --- the alternate list as a folder of CA certificates -----------------------------------------


def test_a_leaf_of_an_alternate_ca_is_trusted_not_qualified(alternate_folder, root):
    leaf = pki.make_leaf(root)
    verdict = trust.trust_check(leaf.cert, at=NOW, purpose="seal")
    assert verdict.trusted and not verdict.qualified and verdict.code == ""
    assert verdict.territory == "alternate"
    assert "Alternate Root CA" in verdict.service
    assert verdict.chain == (
        "CN=Alternate Root CA,O=Comptoir tests,C=FR",
        "CN=Transports Dupont seal,O=Comptoir tests,C=FR",
    )


def test_the_chain_goes_through_the_intermediates_given(alternate_folder, issuing):
    leaf = pki.make_leaf(issuing)
    alone = trust.trust_check(leaf.cert, at=NOW, purpose="seal")
    assert alone.code == "unlisted_ca" and not alone.trusted
    verdict = trust.trust_check(leaf.cert, intermediates=[issuing.cert], at=NOW, purpose="seal")
    assert verdict.trusted
    assert len(verdict.chain) == 3


def test_an_unlisted_ca_is_refused(alternate_folder):
    stranger = pki.make_ca("Stranger CA")
    verdict = trust.trust_check(pki.make_leaf(stranger).cert, at=NOW, purpose="seal")
    assert verdict.refused and verdict.code == "unlisted_ca"
    assert "not issued by a certificate authority on the trusted lists" in str(verdict.message)


def test_a_forged_issuer_name_does_not_chain(alternate_folder, root):
    impostor = pki.make_ca("Alternate Root CA")  # same name, another key
    forged = pki.make_leaf(root, signed_by=impostor.key)
    verdict = trust.trust_check(forged.cert, at=NOW, purpose="seal")
    assert verdict.refused and verdict.code in ("unlisted_ca", "chain_invalid")


def test_validity_and_fitness_come_first(alternate_folder, root):
    expired = pki.make_leaf(
        root, not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1)
    )
    verdict = trust.trust_check(expired.cert, at=NOW, purpose="seal")
    assert verdict.code == "expired" and "expired on" in str(verdict.message)
    future = pki.make_leaf(root, not_before=NOW + timedelta(days=2))
    assert trust.trust_check(future.cert, at=NOW, purpose="seal").code == "not_yet_valid"
    web = pki.make_web_leaf(root)
    verdict = trust.trust_check(web.cert, at=NOW, purpose="signature")
    assert verdict.code == "not_fit" and "website" in str(verdict.message)


def test_an_expired_intermediate_breaks_the_chain(alternate_folder, root):
    old = pki.make_ca(
        "Old Issuing CA",
        issuer=root,
        not_before=NOW - timedelta(days=800),
        not_after=NOW - timedelta(days=10),
    )
    leaf = pki.make_leaf(old, not_before=NOW - timedelta(days=20))
    verdict = trust.trust_check(leaf.cert, intermediates=[old.cert], at=NOW, purpose="seal")
    assert verdict.code == "chain_invalid" and "expired" in str(verdict.message)


def test_qualified_only_refuses_the_alternate_cas(settings, alternate_folder, root):
    settings.COMPTOIR_TRUST_QUALIFIED_ONLY = True
    verdict = trust.trust_check(pki.make_leaf(root, qc=seal_qc()).cert, at=NOW, purpose="seal")
    assert verdict.refused and verdict.code == "not_qualified"
    assert "Alternate Root CA" in verdict.service


# --- the alternate list as a TS 119 612 file ----------------------------------------------------


def test_a_qualified_seal_under_a_listed_qualified_ca(tiny_list, qca):
    leaf = pki.make_leaf(qca, qc=seal_qc(sscd=True))
    verdict = trust.trust_check(leaf.cert, at=NOW, purpose="seal")
    assert verdict.trusted and verdict.qualified
    assert verdict.service == "Test qualified CA"
    assert verdict.territory == "XX"
    assert verdict.trusted_list == str(tiny_list)
    assert verdict.qc_type == "eseal"


def test_without_qc_compliance_the_certificate_is_trusted_but_not_qualified(
    settings, tiny_list, qca
):
    plain = pki.make_leaf(qca)
    verdict = trust.trust_check(plain.cert, at=NOW, purpose="seal")
    assert verdict.trusted and not verdict.qualified
    settings.COMPTOIR_TRUST_QUALIFIED_ONLY = True
    verdict = trust.trust_check(plain.cert, at=NOW, purpose="seal")
    assert verdict.refused and verdict.code == "not_qualified"
    qualified = pki.make_leaf(qca, qc=seal_qc())
    assert trust.trust_check(qualified.cert, at=NOW, purpose="seal").trusted


def test_the_service_type_on_the_list_restricts_qualification(tiny_list, qca):
    """The list says the CA issues qualified certificates for seals only: an esign certificate
    from it is not qualified (and a person's signature is what it is fit for)."""
    esign = pki.make_leaf(qca, qc=pki.qc_statements_value(qc_type="esign"))
    verdict = trust.trust_check(esign.cert, at=NOW, purpose="signature")
    assert verdict.trusted and not verdict.qualified


def test_non_eu_legislation_is_never_eu_qualified(tiny_list, qca):
    leaf = pki.make_leaf(qca, qc=seal_qc(legislation=("TC",)))
    verdict = trust.trust_check(leaf.cert, at=NOW, purpose="seal")
    assert verdict.trusted and not verdict.qualified


def test_a_withdrawn_service_is_not_a_trust_anchor(settings, tmp_path, qca, alternate_folder):
    path = tmp_path / "withdrawn.xml"
    path.write_text(pki.tiny_trusted_list([("Withdrawn CA", qca)], status="withdrawn"))
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = [str(path), str(alternate_folder)]
    verdict = trust.trust_check(pki.make_leaf(qca, qc=seal_qc()).cert, at=NOW, purpose="seal")
    assert verdict.code == "unlisted_ca"


# --- loading, signature policy, cache and refresh -----------------------------------------------


def test_an_unsigned_national_list_is_refused_when_signatures_are_checked(
    settings, tmp_path, qca, alternate_folder
):
    path = tmp_path / "xx.xml"
    path.write_text(pki.tiny_trusted_list([("Test qualified CA", qca)]))
    settings.COMPTOIR_TRUSTED_LISTS = [str(path)]
    summary = trust.trusted_lists_refresh()
    assert summary["lists"] == []
    assert len(summary["errors"]) == 1
    assert str(path) in summary["errors"][0]
    assert "no signer certificates for territory 'XX'" in summary["errors"][0]
    leaf = pki.make_leaf(qca, qc=seal_qc())
    assert trust.trust_check(leaf.cert, at=NOW, purpose="seal").code == "unlisted_ca"

    settings.COMPTOIR_TRUSTED_LISTS_VERIFY = False
    summary = trust.trusted_lists_refresh()
    assert summary["errors"] == []
    [entry] = summary["lists"]
    assert entry["territory"] == "XX" and entry["sequence"] == 1 and entry["ca_services"] == 1
    assert entry["signature_checked"] is False
    assert trust.trust_check(leaf.cert, at=NOW, purpose="seal").qualified


def test_a_file_that_is_not_a_trusted_list(settings, tmp_path):
    path = tmp_path / "nonsense.xml"
    path.write_text("<html><body>maintenance</body></html>")
    settings.COMPTOIR_TRUSTED_LISTS = [str(path), str(tmp_path / "missing.xml")]
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY = False
    summary = trust.trusted_lists_refresh()
    assert summary["lists"] == []
    assert len(summary["errors"]) == 2
    assert "could not read" in summary["errors"][1]


def test_the_snapshot_is_cached_and_each_process_rebuilds_on_a_new_version(
    settings, tmp_path, root, alternate_folder
):
    other = pki.make_ca("Second Alternate CA")
    leaf = pki.make_leaf(other)
    first = trust.trusted_lists_refresh()
    assert trust.cached_snapshot()["version"] == first["version"]
    assert trust.trust_store().version == first["version"]
    assert trust.trust_check(leaf.cert, at=NOW, purpose="seal").code == "unlisted_ca"

    pki.write_ca_folder(tmp_path / "more", other)
    (alternate_folder / "second.pem").write_bytes(other.pem)
    # Until the refresh, the cached copy is what counts.
    assert trust.trust_check(leaf.cert, at=NOW, purpose="seal").code == "unlisted_ca"
    second = trust.trusted_lists_refresh()
    assert second["version"] != first["version"] and second["alternate_certs"] == 2
    assert trust.trust_check(leaf.cert, at=NOW, purpose="seal").trusted


def test_nothing_cached_loads_the_lists_at_first_use(alternate_folder, root):
    cache.delete(trust.VERSION_KEY)
    assert trust.trust_check(pki.make_leaf(root).cert, at=NOW, purpose="seal").trusted
    assert trust.cached_snapshot() is not None


def test_a_list_that_disappears_keeps_its_last_good_copy(settings, tmp_path, qca):
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY = False
    path = tmp_path / "xx.xml"
    path.write_text(pki.tiny_trusted_list([("Test qualified CA", qca)]))
    settings.COMPTOIR_TRUSTED_LISTS = [str(path)]
    trust.trusted_lists_refresh()
    path.unlink()
    summary = trust.trusted_lists_refresh()
    assert len(summary["errors"]) == 1
    [entry] = summary["lists"]
    assert entry["stale"] is True
    leaf = pki.make_leaf(qca, qc=seal_qc())
    assert trust.trust_check(leaf.cert, at=NOW, purpose="seal").trusted


class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self):
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.etsi.tsl+xml")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def list_server(qca):
    files = {"/tl.xml": pki.tiny_trusted_list([("Web CA", qca)]).encode()}
    handler = type("Handler", (_Files,), {"files": files})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    files["/lotl.xml"] = pki.tiny_lotl([("XX", f"{base}/tl.xml", qca)]).encode()
    yield base
    server.shutdown()
    server.server_close()


def test_lists_are_read_from_urls(settings, list_server, qca):
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY = False
    settings.COMPTOIR_TRUSTED_LISTS = [f"{list_server}/tl.xml", f"{list_server}/gone.xml"]
    summary = trust.trusted_lists_refresh()
    assert [entry["territory"] for entry in summary["lists"]] == ["XX"]
    assert "could not download" in summary["errors"][0]
    verdict = trust.trust_check(pki.make_leaf(qca, qc=seal_qc()).cert, at=NOW, purpose="seal")
    assert verdict.trusted and verdict.service == "Web CA"


def test_the_lotl_is_followed_when_asked(settings, list_server, qca):
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY = False
    settings.COMPTOIR_TRUSTED_LISTS = [f"{list_server}/lotl.xml"]
    summary = trust.trusted_lists_refresh()
    assert [entry["kind"] for entry in summary["lists"]] == ["lotl"]
    settings.COMPTOIR_TRUSTED_LISTS_FOLLOW_LOTL = True
    summary = trust.trusted_lists_refresh()
    assert summary["errors"] == []
    assert [(e["kind"], e["territory"]) for e in summary["lists"]] == [("lotl", "EU"), ("tl", "XX")]
    assert summary["lists"][1]["location"] == f"{list_server}/tl.xml"
    verdict = trust.trust_check(pki.make_leaf(qca, qc=seal_qc()).cert, at=NOW, purpose="seal")
    assert verdict.trusted and verdict.territory == "XX"


def test_the_task_and_the_command_refresh(settings, tiny_list, capsys):
    cache.delete(trust.VERSION_KEY)
    summary = tasks.trusted_lists_refresh.call()
    assert summary["lists"][0]["kind"] == "alternate"
    assert trust.cached_snapshot()["version"] == summary["version"]

    cache.delete(trust.VERSION_KEY)
    call_command("trusted_lists_refresh")
    out = capsys.readouterr().out
    assert "alternate XX  seq 1" in out and "1 CA services" in out
    assert trust.cached_snapshot() is not None

    settings.COMPTOIR_TRUSTED_LISTS = ["/nowhere/tl.xml"]
    with pytest.raises(CommandError, match="1 list"):
        call_command("trusted_lists_refresh")
    assert "/nowhere/tl.xml" in capsys.readouterr().err


def test_verify_at_must_be_a_date(settings):
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY_AT = "last tuesday"
    with pytest.raises(trust.TrustedListError, match="not a date"):
        trust.trusted_lists_refresh()


def test_eku_for_signing_is_accepted(alternate_folder, root):
    leaf = pki.make_leaf(root, ekus=[ExtendedKeyUsageOID.EMAIL_PROTECTION])
    assert trust.trust_check(leaf.cert, at=NOW, purpose="signature").trusted


def test_with_no_list_at_all_the_lists_are_unavailable(settings, root):
    settings.COMPTOIR_TRUSTED_LISTS = ["/nowhere/tl.xml"]
    verdict = trust.trust_check(pki.make_leaf(root).cert, at=NOW, purpose="seal")
    assert verdict.refused and verdict.code == "lists_unavailable"
    assert "Try again later" in str(verdict.message)


def test_a_naive_moment_is_a_programming_error(alternate_folder, root):
    with pytest.raises(ValueError, match="aware"):
        trust.trust_check(pki.make_leaf(root).cert, at=NOW.replace(tzinfo=None), purpose="seal")


@pytest.mark.django_db
def test_the_command_can_enqueue_the_task(capsys):
    from django_tasks_db.models import DBTaskResult

    call_command("trusted_lists_refresh", "--enqueue")
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == "comptoir.certificates.tasks.trusted_lists_refresh"
    assert f"Enqueued task {queued.id}" in capsys.readouterr().out


# --- signatures, with lists signed here ---------------------------------------------------------


@pytest.fixture
def signed_lists(settings, tmp_path, qca):
    """A list of the lists signed by `lotl_signer` (named in the settings) that gives
    `tl_signer` as the signer of the XX list, and the XX list signed by `tl_signer`."""
    lotl_signer = pki.make_ca("LOTL signer")
    tl_signer = pki.make_ca("XX scheme operator")
    tl_path = tmp_path / "xx.xml"
    lotl = pki.tiny_lotl([("XX", "https://tl.example.test/xx.xml", tl_signer)])
    (tmp_path / "lotl.xml").write_text(pki.sign_list(lotl, lotl_signer))
    (tmp_path / "lotl-signers.pem").write_bytes(lotl_signer.pem)
    tl_path.write_text(pki.sign_list(pki.tiny_trusted_list([("Signed CA", qca)]), tl_signer))
    settings.COMPTOIR_TRUSTED_LISTS = [str(tmp_path / "lotl.xml"), str(tl_path)]
    settings.COMPTOIR_TRUSTED_LISTS_LOTL_SIGNERS = str(tmp_path / "lotl-signers.pem")
    return tl_path, tl_signer


def test_signed_lists_verify_down_from_the_lotl(signed_lists, qca):
    summary = trust.trusted_lists_refresh()
    assert summary["errors"] == []
    assert [(e["territory"], e["signature_checked"]) for e in summary["lists"]] == [
        ("EU", True),
        ("XX", True),
    ]
    verdict = trust.trust_check(pki.make_leaf(qca, qc=seal_qc()).cert, at=NOW, purpose="seal")
    assert verdict.trusted and verdict.qualified and verdict.service == "Signed CA"


def test_a_list_signed_by_someone_else_is_refused(signed_lists, qca):
    tl_path, _ = signed_lists
    intruder = pki.make_ca("XX scheme operator")  # same name, not the key the LOTL gives
    tl_path.write_text(pki.sign_list(pki.tiny_trusted_list([("Signed CA", qca)]), intruder))
    summary = trust.trusted_lists_refresh()
    assert [e["territory"] for e in summary["lists"]] == ["EU"]
    assert "signature check failed" in summary["errors"][0]


def test_a_changed_signed_list_is_refused(signed_lists, qca):
    tl_path, _ = signed_lists
    tl_path.write_text(tl_path.read_text().replace("Signed CA", "Changed CA"))
    summary = trust.trusted_lists_refresh()
    assert [e["territory"] for e in summary["lists"]] == ["EU"]
    assert str(tl_path) in summary["errors"][0]


def test_a_lotl_not_signed_by_the_configured_signers_is_refused(settings, signed_lists, tmp_path):
    (tmp_path / "lotl-signers.pem").write_bytes(pki.make_ca("LOTL signer").pem)
    summary = trust.trusted_lists_refresh()
    assert summary["lists"] == []
    assert "signature check failed" in summary["errors"][0]
    assert "no signer certificates for territory 'XX'" in summary["errors"][1]


def test_signatures_are_checked_at_the_moment_configured(settings, signed_lists):
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY_AT = (NOW + timedelta(days=4000)).isoformat()
    summary = trust.trusted_lists_refresh()
    assert summary["lists"] == []
    assert "expired" in summary["errors"][0]
