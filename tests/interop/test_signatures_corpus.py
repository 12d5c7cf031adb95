"""The signatures of the shared corpus (../shared/interop/README.md) through the integrity checks
registration uses: the PAdES samples are intact and cover the whole document (what follows each
signature is only PAdES validation data and document time-stamps), the CAdES samples verify over
their content and not over anything else. (Their signers' trust is in
test_certificates_corpus.py.)"""

from __future__ import annotations

from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import pdf_embedded
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from comptoir.certificates.registration import _cades, _Refused, covers_whole_document
from comptoir.core.sync import run_coroutine

pytestmark = pytest.mark.interop

PADES = {
    # file: (signature field, signer's organisation, what follows the signature)
    "pades-eseal-tellustalk.pdf": ("Signature1", "TellusTalk AB", ModificationLevel.FORM_FILLING),
    "pades-luxtrust-qes.pdf": ("Sig1", "", ModificationLevel.LTA_UPDATES),
}
CADES = {
    "ec_seal_test-detached-cades-lta.sig": ("ec_seal_test-detached-content.png", "EC_SEAL_TEST"),
    "cert4seal-detached-cades.p7m": ("cert4seal-detached-content.bin", "Software602"),
}


def validate(signature):
    context = ValidationContext(trust_roots=[signature.signer_cert], allow_fetching=False)
    return run_coroutine(pdf_embedded.async_validate_pdf_signature(signature, context))


@pytest.mark.parametrize("name", sorted(PADES))
def test_pades_samples_are_intact_and_cover_the_document(interop_dir, name):
    field, organisation, after = PADES[name]
    data = (interop_dir / "pades" / name).read_bytes()
    reader = PdfFileReader(BytesIO(data), strict=False)
    [signature] = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    assert signature.field_name == field
    assert organisation in signature.signer_cert.subject.human_friendly
    status = validate(signature)
    assert status.intact and status.valid
    assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert status.modification_level == after and status.docmdp_ok
    assert covers_whole_document(reader, signature, status, data)
    # ...and a byte changed inside the signed range is detected.
    start = signature.byte_range[1] // 2
    changed = data[:start] + bytes([data[start] ^ 0x01]) + data[start + 1 :]
    changed_reader = PdfFileReader(BytesIO(changed), strict=False)
    [again] = [s for s in changed_reader.embedded_signatures if s.sig_object_type == "/Sig"]
    assert not validate(again).intact


def test_the_tellustalk_document_time_stamp_covers_the_whole_file(interop_dir):
    data = (interop_dir / "pades" / "pades-eseal-tellustalk.pdf").read_bytes()
    reader = PdfFileReader(BytesIO(data), strict=False)
    [timestamp] = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    _, _, start, length = timestamp.byte_range
    assert start + length == len(data)


@pytest.mark.parametrize("name", sorted(CADES))
def test_cades_samples_verify_over_their_content(interop_dir, name):
    content_name, organisation = CADES[name]
    content = (interop_dir / "cades" / content_name).read_bytes()
    signature = (interop_dir / "cades" / name).read_bytes()
    found = _cades(issued_pdf=content, signed=content, detached_signature=signature)
    assert found.format == "cades"
    assert organisation in found.signer.subject.human_friendly
    assert found.others  # the issuers came with the signature


@pytest.mark.parametrize("name", sorted(CADES))
def test_cades_samples_do_not_verify_over_other_bytes(interop_dir, name):
    content_name, _organisation = CADES[name]
    content = (interop_dir / "cades" / content_name).read_bytes() + b"\x00"
    signature = (interop_dir / "cades" / name).read_bytes()
    with pytest.raises(_Refused) as refusal:
        _cades(issued_pdf=content, signed=content, detached_signature=signature)
    assert refusal.value.code == "signature_invalid"
