# ruff: noqa: F811 (the fixtures imported from registration_kit are parameters of the tests)
"""Every refusal of registration_upload_check has its own code and message, and bad input never
raises. (Each test also checks that the same set-up with the right input is accepted, or that
only the one thing changed makes the difference, so that the refusal is the one expected.)"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from io import BytesIO

import pytest
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from comptoir.certificates.registration import (
    REFUSALS,
    registration_pdf_build,
    registration_upload_check,
)
from comptoir.core.sync import run_coroutine
from tests.certificates import pki
from tests.certificates.registration_kit import (  # noqa: F401 (fixtures)
    _seal_var_dir,
    certificate,
    certificate_row,
    issued,
    openssl_cades,
    pades_sign,
    person,
    simple_signer,
    test_pki,
    trusted,
)

pytestmark = pytest.mark.django_db


def check(certificate, issued, signed, **kwargs):
    return registration_upload_check(
        certificate=certificate, issued_pdf=issued, signed=signed, **kwargs
    )


def refused(verdict, code):
    assert not verdict.ok, "accepted, expected a refusal"
    assert verdict.code == code, (verdict.code, str(verdict.message))
    assert code in REFUSALS
    assert str(verdict.message)
    return verdict


def test_every_code_has_a_message():
    assert all(str(message) for message in REFUSALS.values())


# --- the file ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not a PDF",
        b"\x89PNG\r\n\x1a\n" + os.urandom(200),
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF",
    ],
)
def test_not_a_pdf(certificate, issued, data):
    refused(check(certificate, issued, data), "not_pdf")


def test_a_truncated_signed_pdf_is_refused_not_raised(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    verdict = check(certificate, issued, signed[: len(signed) // 2])
    assert not verdict.ok and verdict.code in ("not_pdf", "no_signature", "signature_invalid")


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes_in_a_signed_pdf_never_raise(trusted, certificate, issued, seed):
    import random

    signed = bytearray(pades_sign(issued, trusted.leaf, trusted.ca))
    rng = random.Random(seed)
    for _ in range(20):
        signed[rng.randrange(len(signed))] = rng.randrange(256)
    verdict = check(certificate, issued, bytes(signed))
    assert not verdict.ok and verdict.code in REFUSALS


def test_a_pdf_that_comptoir_did_not_issue(trusted, certificate, issued):
    other = FPDF()
    other.add_page()
    other.set_font("Helvetica", size=12)
    other.cell(0, 10, "Certificate registration (a look-alike)")
    signed = pades_sign(bytes(other.output()), trusted.leaf, trusted.ca, existing_fields_only=False)
    verdict = refused(check(certificate, issued, signed), "not_issued")
    assert "seal" in str(verdict.message)
    assert check(certificate, issued, pades_sign(issued, trusted.leaf, trusted.ca)).ok


def test_a_pdf_sealed_by_someone_else(trusted, certificate, issued):
    other = FPDF()
    other.add_page()
    other.set_font("Helvetica", size=12)
    other.cell(0, 10, "Sealed by a stranger")
    writer = IncrementalPdfFileWriter(BytesIO(bytes(other.output())))
    fields.append_signature_field(writer, fields.SigFieldSpec("Registrant", box=(50, 50, 250, 120)))
    out = BytesIO()
    run_coroutine(
        signers.PdfSigner(
            signers.PdfSignatureMetadata(field_name="ComptoirSeal", certify=True),
            simple_signer(trusted.other_leaf, trusted.ca),
        ).async_sign_pdf(writer, output=out)
    )
    fake = pades_sign(out.getvalue(), trusted.leaf, trusted.ca)
    verdict = refused(check(certificate, issued, fake), "not_issued")
    assert "someone other than" in str(verdict.message)


def test_the_document_of_another_registration(db, trusted, certificate, issued, person):
    other = certificate_row(name="Another seal")
    other_issued = registration_pdf_build(certificate=other, person=person)
    signed_other = pades_sign(other_issued, trusted.leaf, trusted.ca)
    verdict = refused(check(certificate, issued, signed_other), "not_issued")
    assert str(other.registration_pdf_id) in str(verdict.message)
    assert str(certificate.registration_pdf_id) in str(verdict.message)
    assert check(other, other_issued, signed_other).ok


def test_an_older_copy_of_the_same_registration(trusted, certificate, issued, person):
    # Issued again (same registration id, new seal revision): only the stored copy counts.
    again = registration_pdf_build(certificate=certificate, person=person)
    assert again != issued
    signed = pades_sign(again, trusted.leaf, trusted.ca)
    refused(check(certificate, issued, signed), "not_issued")
    assert check(certificate, again, signed).ok


def test_comptoirs_seal_broken(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    assert b"Transports Dupont" in signed[: len(issued)]
    broken = signed.replace(b"Transports Dupont", b"Transports Dupond", 1)
    assert broken.index(b"Transports Dupond") < len(issued)
    refused(check(certificate, issued, broken), "seal_broken")


def test_the_page_changed_after_the_seal_breaks_it(trusted, certificate, issued):
    # An incremental update that draws on the page (beyond DocMDP P=2), then signed.
    writer = IncrementalPdfFileWriter(BytesIO(issued))
    square = generic.StreamObject(stream_data=b"q 1 0 0 rg 10 10 100 100 re f Q")
    writer.add_stream_to_page(0, writer.add_object(square))
    changed = BytesIO()
    writer.write(changed)
    signed = pades_sign(changed.getvalue(), trusted.leaf, trusted.ca)
    assert signed.startswith(issued)
    verdict = refused(check(certificate, issued, signed), "seal_broken")
    assert "only adding signatures" in str(verdict.message)


def test_no_registrant_signature(certificate, issued):
    refused(check(certificate, issued, issued), "no_signature")


def test_a_changed_pdf_after_signing(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    tail = signed[len(issued) :]
    match = re.search(rb"/M \(D(?::|\\072)(\d)", tail)
    assert match is not None
    position = len(issued) + match.start(1)
    digit = signed[position : position + 1]
    changed = signed[:position] + (b"1" if digit != b"1" else b"2") + signed[position + 1 :]
    refused(check(certificate, issued, changed), "signature_invalid")
    assert check(certificate, issued, signed).ok


def test_another_signature_added_after_the_registrants(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    later = pades_sign(
        signed, trusted.other_leaf, trusted.ca, field_name="Second", existing_fields_only=False
    )
    verdict = refused(check(certificate, issued, later), "not_whole_document")
    assert verdict.signer_der == trusted.leaf.der  # the signature in the Registrant box


def test_bytes_appended_after_the_signature(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    verdict = check(certificate, issued, signed + b"\n% appended\n")
    refused(verdict, "not_whole_document")


def test_signed_with_another_key_than_the_registered_certificate(trusted, certificate, issued):
    certificate.der = trusted.leaf.der
    certificate.save()
    signed = pades_sign(issued, trusted.other_leaf, trusted.ca)
    verdict = refused(check(certificate, issued, signed), "certificate_mismatch")
    assert verdict.signer_der == trusted.other_leaf.der
    assert check(certificate, issued, pades_sign(issued, trusted.leaf, trusted.ca)).ok


def test_key_holder_uploading_another_certificate_file(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    refused(
        check(certificate, issued, signed, uploaded_certificate=trusted.other_leaf.pem),
        "certificate_mismatch",
    )
    assert check(certificate, issued, signed, uploaded_certificate=trusted.leaf.pem).ok


# --- the certificate being registered ------------------------------------------------------------


def test_an_expired_certificate(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.expired, trusted.ca)
    verdict = refused(check(certificate, issued, signed), "expired")
    assert "expired on" in str(verdict.message)
    assert verdict.certificate_der == trusted.expired.der
    assert verdict.trust is not None and verdict.trust.code == "expired"


def test_a_certificate_not_valid_yet(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    at = trusted.leaf.cert.not_valid_before_utc - timedelta(days=1)
    refused(check(certificate, issued, signed, at=at), "not_yet_valid")


def test_a_certificate_from_an_unlisted_ca(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.stranger_leaf, trusted.stranger_ca)
    refused(check(certificate, issued, signed), "unlisted_ca")


def test_a_website_certificate(trusted, certificate, issued):
    signed = pades_sign(issued, trusted.web, trusted.ca)
    verdict = refused(check(certificate, issued, signed), "not_fit")
    assert "website" in str(verdict.message)


def test_only_qualified_certificates(settings, trusted, certificate, issued):
    settings.COMPTOIR_TRUST_QUALIFIED_ONLY = True
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    refused(check(certificate, issued, signed), "not_qualified")


def test_no_trusted_list_at_all(settings, trusted, certificate, issued):
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = []
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    refused(check(certificate, issued, signed), "lists_unavailable")


# --- non-key-holders -----------------------------------------------------------------------------


@pytest.fixture
def for_someone_else(db, trusted, person):
    certificate = certificate_row(key_holder=False)
    issued = registration_pdf_build(certificate=certificate, person=person)
    return certificate, issued


def test_non_key_holder_without_the_certificate_file(trusted, for_someone_else):
    certificate, issued = for_someone_else
    signed = pades_sign(issued, trusted.own, trusted.ca)
    refused(check(certificate, issued, signed), "certificate_missing")


@pytest.mark.parametrize("data", [b"not a certificate", b"-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_non_key_holder_with_an_unreadable_certificate(trusted, for_someone_else, data):
    certificate, issued = for_someone_else
    signed = pades_sign(issued, trusted.own, trusted.ca)
    refused(check(certificate, issued, signed, uploaded_certificate=data), "certificate_unreadable")


def test_non_key_holder_uploading_another_certificate_than_the_known_one(trusted, for_someone_else):
    certificate, issued = for_someone_else
    certificate.der = trusted.leaf.der
    certificate.save()
    signed = pades_sign(issued, trusted.own, trusted.ca)
    refused(
        check(certificate, issued, signed, uploaded_certificate=trusted.other_leaf.der),
        "certificate_mismatch",
    )
    assert check(certificate, issued, signed, uploaded_certificate=trusted.leaf.der).ok


def test_non_key_holder_signing_with_the_registered_certificate(trusted, for_someone_else):
    certificate, issued = for_someone_else
    signed = pades_sign(issued, trusted.leaf, trusted.ca)
    refused(
        check(certificate, issued, signed, uploaded_certificate=trusted.leaf.pem),
        "signer_is_registered",
    )


def test_non_key_holder_whose_own_certificate_is_not_trusted(trusted, for_someone_else):
    certificate, issued = for_someone_else
    stranger = pki.make_leaf(trusted.stranger_ca, "Someone")
    signed = pades_sign(issued, stranger, trusted.stranger_ca)
    verdict = refused(
        check(certificate, issued, signed, uploaded_certificate=trusted.leaf.pem),
        "signer_untrusted",
    )
    assert "not issued by a certificate authority on the trusted lists" in str(verdict.message)


def test_non_key_holder_registering_an_expired_certificate(trusted, for_someone_else):
    certificate, issued = for_someone_else
    signed = pades_sign(issued, trusted.own, trusted.ca)
    refused(check(certificate, issued, signed, uploaded_certificate=trusted.expired.pem), "expired")


# --- detached CAdES ------------------------------------------------------------------------------


def test_detached_signature_over_other_bytes(trusted, certificate, issued, tmp_path):
    p7s = openssl_cades(tmp_path, issued + b"\n", trusted.leaf, trusted.ca)
    verdict = refused(
        check(certificate, issued, issued, detached_signature=p7s), "signature_invalid"
    )
    assert "not made over the registration document" in str(verdict.message)


def test_detached_signature_of_a_file_that_is_not_the_issued_one(
    trusted, certificate, issued, tmp_path
):
    other = issued.replace(b"Transports Dupont", b"Transports Dupond", 1)
    p7s = openssl_cades(tmp_path, other, trusted.leaf, trusted.ca)
    refused(check(certificate, issued, other, detached_signature=p7s), "not_issued")


@pytest.mark.parametrize(
    "data", [b"garbage", b"-----BEGIN PKCS7-----\nnot base64\n-----END PKCS7-----\n", b""]
)
def test_unreadable_detached_signature(certificate, issued, data):
    refused(check(certificate, issued, issued, detached_signature=data), "signature_unreadable")


def test_detached_signature_by_an_unlisted_ca(trusted, certificate, issued, tmp_path):
    p7s = openssl_cades(tmp_path, issued, trusted.stranger_leaf, trusted.stranger_ca)
    refused(check(certificate, issued, issued, detached_signature=p7s), "unlisted_ca")


def test_detached_signature_with_a_damaged_signature_value(trusted, certificate, issued, tmp_path):
    p7s = bytearray(openssl_cades(tmp_path, issued, trusted.leaf, trusted.ca))
    p7s[-5] ^= 0xFF  # inside the ECDSA signature value, the last field
    verdict = check(certificate, issued, issued, detached_signature=bytes(p7s))
    assert not verdict.ok and verdict.code in ("signature_invalid", "signature_unreadable")


def test_files_too_large(certificate, issued):
    huge = b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024)
    verdict = refused(check(certificate, issued, huge), "not_pdf")
    assert "too large" in str(verdict.message)
    verdict = refused(
        check(certificate, issued, issued, detached_signature=huge), "signature_unreadable"
    )
    assert "too large" in str(verdict.message)
