"""Comptoir's seal: the development seal generated once and reused, the configured key and
certificate (with a password and a chain), production without a seal, and pdf_seal's
certification signature (DocMDP P=2)."""

from __future__ import annotations

import stat
import threading
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import pdf_embedded
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from comptoir.certificates import seal
from comptoir.core.sync import run_coroutine
from tests.certificates import pki
from tests.certificates.registration_kit import pades_sign


@pytest.fixture(autouse=True)
def _fresh_seal(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.COMPTOIR_SEAL_KEY_FILE = ""
    settings.COMPTOIR_SEAL_CERT_FILE = ""
    settings.COMPTOIR_SEAL_KEY_PASSWORD_FILE = ""
    settings.PRODUCTION = False
    seal._memo.clear()
    yield
    seal._memo.clear()


def a_pdf(text: str = "Hello") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, text)
    return bytes(pdf.output())


def validate(signature):
    context = ValidationContext(trust_roots=[signature.signer_cert], allow_fetching=False)
    return run_coroutine(pdf_embedded.async_validate_pdf_signature(signature, context))


def test_the_development_seal_is_generated_once_private_and_reused(settings):
    first = seal.seal_load()
    path = settings.VAR_DIR / "seal" / "development-seal.pem"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.development
    cert = x509.load_der_x509_certificate(first.certificate_der)
    assert cert.subject.rfc4514_string().startswith("CN=Comptoir development seal")
    assert cert.subject == cert.issuer  # self-signed
    seal._memo.clear()  # another process
    again = seal.seal_load()
    assert again.certificate_der == first.certificate_der
    assert [p.name for p in path.parent.iterdir()] == ["development-seal.pem"]  # no leftovers


def test_processes_starting_together_end_with_one_seal(settings):
    results: list[bytes] = []
    barrier = threading.Barrier(6)

    def load():
        barrier.wait()
        results.append(seal._development_seal().certificate_der)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 1
    on_disk = x509.load_pem_x509_certificate(
        (settings.VAR_DIR / "seal" / "development-seal.pem").read_bytes()
    )
    assert on_disk.public_bytes(serialization.Encoding.DER) == results[0]


def test_production_needs_a_configured_seal(settings):
    settings.PRODUCTION = True
    with pytest.raises(seal.SealUnavailable, match="COMPTOIR_SEAL_KEY_FILE"):
        seal.seal_load()
    assert not (settings.VAR_DIR / "seal").exists()


def test_half_a_configuration_is_refused(settings, tmp_path):
    settings.COMPTOIR_SEAL_CERT_FILE = str(tmp_path / "seal.pem")
    with pytest.raises(seal.SealUnavailable, match="both"):
        seal.seal_load()


def _write_configured_seal(tmp_path, password: bytes | None):
    ca = pki.make_ca("Administration seal CA")
    leaf = pki.make_leaf(ca, "Customs administration seal")
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    key_file = tmp_path / "seal.key"
    key_file.write_bytes(
        leaf.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
    )
    cert_file = tmp_path / "seal.crt"
    cert_file.write_bytes(leaf.pem + ca.pem)  # the seal, then its issuer
    return ca, leaf, key_file, cert_file


def test_the_configured_seal_with_a_password_and_its_chain(settings, tmp_path):
    ca, leaf, key_file, cert_file = _write_configured_seal(tmp_path, b"s3cret")
    (tmp_path / "password").write_bytes(b"s3cret\n")
    settings.COMPTOIR_SEAL_KEY_FILE = str(key_file)
    settings.COMPTOIR_SEAL_CERT_FILE = str(cert_file)
    settings.COMPTOIR_SEAL_KEY_PASSWORD_FILE = str(tmp_path / "password")
    settings.PRODUCTION = True  # configured: fine in production
    loaded = seal.seal_load()
    assert not loaded.development
    assert loaded.certificate_der == leaf.der
    sealed = seal.pdf_seal(a_pdf(), certify=False)
    [signature] = PdfFileReader(BytesIO(sealed)).embedded_signatures
    assert signature.signer_cert.dump() == leaf.der
    assert [c.dump() for c in signature.other_embedded_certs] == [ca.der]
    status = validate(signature)
    assert status.intact and status.valid
    assert not (settings.VAR_DIR / "seal").exists()  # no development seal made


def test_a_wrong_password_is_a_configuration_error(settings, tmp_path):
    _ca, _leaf, key_file, cert_file = _write_configured_seal(tmp_path, b"s3cret")
    (tmp_path / "password").write_bytes(b"wrong")
    settings.COMPTOIR_SEAL_KEY_FILE = str(key_file)
    settings.COMPTOIR_SEAL_CERT_FILE = str(cert_file)
    settings.COMPTOIR_SEAL_KEY_PASSWORD_FILE = str(tmp_path / "password")
    with pytest.raises(seal.SealUnavailable, match=r"seal\.key"):
        seal.seal_load()


def test_a_missing_file_is_a_configuration_error(settings, tmp_path):
    settings.COMPTOIR_SEAL_KEY_FILE = str(tmp_path / "missing.key")
    settings.COMPTOIR_SEAL_CERT_FILE = str(tmp_path / "missing.crt")
    with pytest.raises(seal.SealUnavailable, match="could not be read"):
        seal.seal_load()


def test_an_approval_seal_covers_the_whole_file():
    sealed = seal.pdf_seal(a_pdf(), field_name="Proof", certify=False)
    [signature] = PdfFileReader(BytesIO(sealed)).embedded_signatures
    assert signature.field_name == "Proof"
    assert signature.docmdp_level is None
    status = validate(signature)
    assert status.intact and status.valid
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES


def _with_empty_field(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    fields.append_signature_field(writer, fields.SigFieldSpec("Registrant", box=(50, 50, 250, 120)))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_certification_seal_allows_signing_but_not_changing():
    sealed = seal.pdf_seal(_with_empty_field(a_pdf()), certify=True)
    [signature] = PdfFileReader(BytesIO(sealed)).embedded_signatures
    assert signature.docmdp_level == MDPPerm.FILL_FORMS

    ca = pki.make_ca()
    signed = pades_sign(sealed, pki.make_leaf(ca), ca)
    after_signing = {s.field_name: s for s in PdfFileReader(BytesIO(signed)).embedded_signatures}
    status = validate(after_signing["ComptoirSeal"])
    assert status.intact and status.valid and status.docmdp_ok

    writer = IncrementalPdfFileWriter(BytesIO(sealed))
    square = generic.StreamObject(stream_data=b"q 0 0 1 rg 10 10 50 50 re f Q")
    writer.add_stream_to_page(0, writer.add_object(square))
    out = BytesIO()
    writer.write(out)
    [changed] = PdfFileReader(BytesIO(out.getvalue())).embedded_signatures
    status = validate(changed)
    assert status.intact and status.valid  # the sealed bytes are untouched...
    assert not status.docmdp_ok  # ...but the change is not allowed


def test_seal_signer_signs_with_the_seal_certificate():
    signer = seal.seal_signer()
    assert signer.signing_cert.dump() == seal.seal_certificate().dump()
