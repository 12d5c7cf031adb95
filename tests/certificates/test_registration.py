# ruff: noqa: F811 (the fixtures imported from registration_kit are parameters of the tests)
"""The registration document Comptoir issues, the signed copies it accepts (PAdES with pyHanko,
detached CAdES with the real ``openssl cms``, key holder or not), and the proof of
registration. The refusals are in test_registration_checks.py."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm, enumerate_sig_fields
from pyhanko.sign.validation import pdf_embedded
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from comptoir.certificates import seal as comptoir_seal
from comptoir.certificates.inspect import certificate_fields, certificate_load
from comptoir.certificates.models import Certificate
from comptoir.certificates.registration import (
    INFO_KEY,
    registration_pdf_build,
    registration_proof_build,
    registration_upload_check,
)
from comptoir.core.sync import run_coroutine
from tests.certificates.registration_kit import (  # noqa: F401 (fixtures)
    _seal_var_dir,
    certificate,
    certificate_row,
    issued,
    openssl_cades,
    pades_sign,
    pdf_text,
    person,
    test_pki,
    trusted,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def validate(signature):
    context = ValidationContext(trust_roots=[signature.signer_cert], allow_fetching=False)
    return run_coroutine(pdf_embedded.async_validate_pdf_signature(signature, context))


def signatures(pdf: bytes):
    return {s.field_name: s for s in PdfFileReader(BytesIO(pdf)).embedded_signatures}


# --- the registration document -------------------------------------------------------------------


def test_the_registration_document_says_what_is_registered_by_whom_and_when(certificate, person):
    when = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    pdf = registration_pdf_build(certificate=certificate, person=person, now=when)
    assert pdf.startswith(b"%PDF-")
    shown = pdf_text(pdf)
    registration_id = str(certificate.registration_pdf_id)
    for text in (
        "Certificate registration",
        registration_id,
        "Transports Dupont",
        certificate.identity.identifier,
        "ICS2 seal 2027",
        "Seals our ICS2 entry summary declarations",
        "Electronic seal",
        "Key holder",
        "Ada Lovelace",
        person.username,
        "2026-12-06",
        "with the certificate you are registering",
        "Signature of the registrant",
    ):
        assert text in shown, text
    reader = PdfFileReader(BytesIO(pdf))
    info = reader.trailer_view["/Info"]
    assert str(info[INFO_KEY]) == registration_id
    assert registration_id in str(info["/Keywords"])
    assert str(reader.root["/Lang"]) == "en"


def test_a_non_key_holder_is_told_to_sign_with_their_own_certificate(db, trusted, person):
    certificate = certificate_row(key_holder=False, purpose="signature")
    pdf = registration_pdf_build(certificate=certificate, person=person)
    shown = pdf_text(pdf)
    assert "with your own qualified signature certificate" in shown
    assert "Electronic signature" in shown
    assert "with the certificate you are registering" not in shown


def test_the_document_is_in_the_persons_language(certificate):
    french = UserFactory(language="fr")
    pdf = registration_pdf_build(certificate=certificate, person=french)
    assert str(PdfFileReader(BytesIO(pdf)).root["/Lang"]) == "fr"


def test_the_document_is_sealed_and_certified_with_an_empty_registrant_box(certificate, issued):
    reader = PdfFileReader(BytesIO(issued))
    [seal] = reader.embedded_signatures
    assert seal.field_name == "ComptoirSeal"
    assert seal.signer_cert.dump() == comptoir_seal.seal_certificate().dump()
    assert seal.docmdp_level == MDPPerm.FILL_FORMS  # certification, P=2
    status = validate(seal)
    assert status.intact and status.valid
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    empty = [
        (name, value, ref)
        for name, value, ref in enumerate_sig_fields(reader, filled_status=False)
        if name == "Registrant"
    ]
    assert len(empty) == 1
    field = empty[0][2].get_object()
    llx, lly, urx, ury = (float(v) for v in field["/Rect"])
    assert urx - llx > 100 and ury - lly > 40  # a visible box
    assert "/AP" in field


def test_the_seal_stays_valid_when_the_registrant_signs(trusted, issued):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    assert signed.startswith(issued)  # an incremental update
    found = signatures(signed)
    seal_status = validate(found["ComptoirSeal"])
    assert seal_status.intact and seal_status.valid and seal_status.docmdp_ok
    assert seal_status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    registrant = validate(found["Registrant"])
    assert registrant.intact and registrant.valid
    assert registrant.coverage == SignatureCoverageLevel.ENTIRE_FILE


# --- accepted uploads ----------------------------------------------------------------------------


def test_key_holder_pades_signature_is_accepted_with_the_signers_certificate(
    trusted, certificate, issued
):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    verdict = registration_upload_check(certificate=certificate, issued_pdf=issued, signed=signed)
    assert verdict.ok, verdict.message
    assert verdict.code == "ok"
    assert verdict.certificate_der == trusted.leaf.der
    assert verdict.signer_der == trusted.leaf.der
    assert verdict.chain_der == [trusted.ca.der]
    assert verdict.signature_format == "pades"
    assert verdict.trust is not None and verdict.trust.trusted
    assert verdict.trust.territory == "alternate"
    assert "CN=Transports Dupont ICS2 seal" in verdict.trust.chain[-1]


def test_key_holder_pades_is_accepted_when_the_certificate_is_already_known(
    trusted, certificate, issued
):
    certificate.der = trusted.leaf.der
    certificate.save()
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    verdict = registration_upload_check(
        certificate=certificate, issued_pdf=issued, signed=signed, uploaded_certificate=None
    )
    assert verdict.ok and verdict.certificate_der == trusted.leaf.der


def test_the_chain_may_come_from_the_trust_anchor_alone(trusted, certificate, issued):
    # No intermediate embedded: the CA is found on the alternate list.
    signed = pades_sign(issued, trusted.leaf)
    verdict = registration_upload_check(certificate=certificate, issued_pdf=issued, signed=signed)
    assert verdict.ok, verdict.message
    assert verdict.chain_der == []


@pytest.mark.parametrize("outform", ["DER", "PEM"])
def test_key_holder_detached_cades_made_by_openssl_is_accepted(
    trusted, certificate, issued, tmp_path, outform
):
    p7s = openssl_cades(tmp_path, issued, trusted.leaf, trusted.ca, outform=outform)
    assert p7s.startswith(b"-----BEGIN") == (outform == "PEM")
    verdict = registration_upload_check(
        certificate=certificate, issued_pdf=issued, signed=issued, detached_signature=p7s
    )
    assert verdict.ok, verdict.message
    assert verdict.signature_format == "cades"
    assert verdict.certificate_der == trusted.leaf.der
    assert trusted.ca.der in verdict.chain_der


@pytest.mark.parametrize("encoding", ["PEM", "DER"])
def test_non_key_holder_signs_with_their_own_certificate_and_uploads_the_registered_one(
    db, trusted, person, encoding
):
    certificate = certificate_row(key_holder=False)
    issued = registration_pdf_build(certificate=certificate, person=person)
    signed = pades_sign(issued, trusted.own, trusted.ca)
    uploaded = trusted.leaf.pem if encoding == "PEM" else trusted.leaf.der
    verdict = registration_upload_check(
        certificate=certificate, issued_pdf=issued, signed=signed, uploaded_certificate=uploaded
    )
    assert verdict.ok, verdict.message
    assert verdict.certificate_der == trusted.leaf.der
    assert verdict.signer_der == trusted.own.der
    assert verdict.trust is not None and verdict.trust.trusted


def test_non_key_holder_with_openssl_cades(db, trusted, person, tmp_path):
    certificate = certificate_row(key_holder=False)
    issued = registration_pdf_build(certificate=certificate, person=person)
    p7s = openssl_cades(tmp_path, issued, trusted.own, trusted.ca)
    verdict = registration_upload_check(
        certificate=certificate,
        issued_pdf=issued,
        signed=issued,
        detached_signature=p7s,
        uploaded_certificate=trusted.leaf.pem,
    )
    assert verdict.ok, verdict.message
    assert verdict.certificate_der == trusted.leaf.der


def test_non_key_holder_with_the_certificate_already_known_needs_no_upload(db, trusted, person):
    certificate = certificate_row(key_holder=False, der=trusted.leaf.der)
    issued = registration_pdf_build(certificate=certificate, person=person)
    signed = pades_sign(issued, trusted.own, trusted.ca)
    verdict = registration_upload_check(certificate=certificate, issued_pdf=issued, signed=signed)
    assert verdict.ok, verdict.message
    assert verdict.certificate_der == trusted.leaf.der


def test_a_signature_in_a_new_field_is_accepted_too(trusted, certificate, issued):
    # Some software signs in a field of its own rather than in the box: DocMDP P=2 allows it.
    signed = pades_sign(
        issued, trusted.leaf, trusted.ca, field_name="Signature1", existing_fields_only=False
    )
    verdict = registration_upload_check(certificate=certificate, issued_pdf=issued, signed=signed)
    assert verdict.ok, verdict.message


# --- the proof of registration -------------------------------------------------------------------


def test_the_proof_of_registration_is_sealed_and_lists_the_certificate(trusted, certificate):
    cert = certificate_load(trusted.leaf.der)
    for name, value in certificate_fields(cert).items():
        setattr(certificate, name, value)
    certificate.status = Certificate.Status.ACTIVE
    certificate.activated_at = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    certificate.qualified = False
    certificate.trust_service = "CN=Registration Test CA"
    certificate.save()
    proof = registration_proof_build(certificate=certificate)
    shown = pdf_text(proof)
    for text in (
        "Proof of certificate registration",
        certificate.serial,
        certificate.sha256,
        str(certificate.registration_pdf_id),
        certificate.identity.identifier,
        "Transports Dupont",
        "Transports Dupont ICS2 seal",  # in the subject
        "Registration Test CA",  # the issuer
        "2026-12-06",
        "Active",
    ):
        assert text in shown, text
    [seal] = PdfFileReader(BytesIO(proof)).embedded_signatures
    assert seal.field_name == "ComptoirSeal"
    status = validate(seal)
    assert status.intact and status.valid
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert seal.signer_cert.dump() == comptoir_seal.seal_certificate().dump()


def test_the_uploaded_pem_key_is_not_a_certificate(trusted):
    # (sanity of the kit: PEM keys are refused by certificate_load, used for uploads)
    key_pem = trusted.leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError):
        certificate_load(key_pem)
