"""The registration document of a certificate, the checks of the signed copy uploaded, and the
proof of registration (DESIGN procedure 7, issue 5 point 4). See docs/certificates-registration.md.

- ``registration_pdf_build``: the PDF Comptoir issues (its registration id, the operator, the
  certificate's purpose, who and when, what to do) with an empty signature field "Registrant",
  sealed by Comptoir as a certification signature that allows signing (DocMDP P=2).
- ``registration_upload_check``: is the uploaded signature (PAdES in the PDF, or detached CAdES
  over the PDF as issued) intact, over the whole document Comptoir issued, by the right key,
  and is the certificate being registered valid, fit for its purpose and trusted? One refusal
  code and message per failure (``REFUSALS``); it never raises for bad input.
- ``registration_proof_build``: the proof of registration, sealed by Comptoir.

Nothing here writes to the database: the services that move the certificate's status call these
functions and store the documents and the verdict."""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import TYPE_CHECKING, Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from fpdf import FPDF
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import pdf_embedded
from pyhanko.sign.validation.generic_cms import (
    async_validate_cms_signature,
    async_validate_detached_cms,
    extract_certs_for_validation,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from comptoir.certificates import seal as comptoir_seal
from comptoir.certificates.inspect import PURPOSE_SIGNATURE, certificate_load
from comptoir.certificates.trust import TrustVerdict, trust_check
from comptoir.core.sync import run_coroutine
from comptoir.core.text import latin1

if TYPE_CHECKING:
    from comptoir.accounts.models import User
    from comptoir.certificates.models import Certificate

logger = logging.getLogger(__name__)

SEAL_FIELD = comptoir_seal.DEFAULT_FIELD_NAME
REGISTRANT_FIELD = "Registrant"
#: The custom entry of the PDF's document information dictionary that holds the registration id.
INFO_KEY = "/ComptoirRegistrationId"
KEYWORD_PREFIX = "ComptoirRegistrationId:"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

#: Every refusal code and its default message (a check may give a more precise one).
REFUSALS: dict[str, Promise] = {
    "not_pdf": gettext_lazy("The file is not a PDF, or it is damaged: upload the signed PDF."),
    "not_issued": gettext_lazy(
        "This is not the registration document Comptoir issued for this certificate: download "
        "the registration document again, sign it without changing it, and upload it."
    ),
    "seal_broken": gettext_lazy(
        "The administration's seal on the document is broken: the document was changed after "
        "it was issued. Download the registration document again and sign it without changing "
        "it."
    ),
    "no_signature": gettext_lazy(
        "The document is not signed: sign it in the signature box (“Registrant”) and upload "
        "the signed PDF."
    ),
    "signature_unreadable": gettext_lazy(
        "The signature file could not be read: upload a CAdES or CMS signature (.p7s, .p7m) "
        "in DER or PEM format."
    ),
    "signature_invalid": gettext_lazy(
        "The signature is not intact: the document was changed after it was signed, or the "
        "signature is damaged."
    ),
    "not_whole_document": gettext_lazy(
        "The signature does not cover the whole document: something was added to the file "
        "after it was signed. Upload the PDF exactly as your signing software saved it."
    ),
    "certificate_missing": gettext_lazy(
        "Upload the certificate being registered (a PEM or DER file), as you are not its key "
        "holder."
    ),
    "certificate_unreadable": gettext_lazy(
        "The certificate file could not be read: choose a certificate in PEM or DER format."
    ),
    "certificate_mismatch": gettext_lazy("The certificate is not the one being registered."),
    "signer_is_registered": gettext_lazy(
        "The document was signed with the certificate being registered. As you are not its key "
        "holder, sign the document with your own certificate and upload the certificate being "
        "registered separately."
    ),
    "signer_untrusted": gettext_lazy(
        "Your own certificate, which signed the document, was refused."
    ),
    # From trust.trust_check, on the certificate being registered:
    "expired": gettext_lazy("The certificate has expired."),
    "not_yet_valid": gettext_lazy("The certificate is not valid yet."),
    "not_fit": gettext_lazy("The certificate cannot be used for this purpose."),
    "unlisted_ca": gettext_lazy(
        "The certificate was not issued by a certificate authority on the trusted lists."
    ),
    "chain_invalid": gettext_lazy("The certificate's chain of issuers could not be verified."),
    "not_qualified": gettext_lazy("Only qualified certificates are accepted."),
    "lists_unavailable": gettext_lazy(
        "The trusted lists are not available at the moment, so the certificate cannot be "
        "checked. Try again later."
    ),
}


@dataclass(frozen=True)
class UploadVerdict:
    ok: bool
    code: str  # "ok", or a key of REFUSALS
    message: str | Promise
    #: The certificate being registered: from the signature for a key holder, the uploaded one
    #: otherwise (None when the check stopped before it was known).
    certificate_der: bytes | None = None
    #: The other certificates that came with the signature (and the uploaded file): the
    #: possible issuers of the certificate, leaf excluded.
    chain_der: list[bytes] = field(default_factory=list)
    trust: TrustVerdict | None = None
    #: The certificate that made the signature (the registered one for a key holder).
    signer_der: bytes | None = None
    signature_format: str = ""  # "pades" or "cades"


class _Refused(Exception):
    """A refusal, raised inside this module only and turned into an UploadVerdict."""

    def __init__(
        self, code: str, message: str | Promise | None = None, *, signer_der: bytes | None = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or REFUSALS[code]
        self.signer_der = signer_der


@dataclass
class _Signature:
    """What a verified signature gave: its signer and the certificates that came with it."""

    signer: asn1_x509.Certificate
    others: list[asn1_x509.Certificate]
    format: str


# --- the registration document -------------------------------------------------------------------


def _moment(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


def _yes_no(value: bool) -> str:
    return gettext("Yes") if value else gettext("No")


def _pdf_start(*, title: str, subject: str, language: str, when: datetime) -> FPDF:
    administration = str(getattr(settings, "COMPTOIR_ADMINISTRATION_NAME", "") or "")
    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # small documents whose text stays searchable by simple tools
    pdf.set_title(latin1(title))
    pdf.set_subject(latin1(subject))
    pdf.set_author(latin1(administration or "Comptoir"))
    pdf.set_creator("Comptoir")
    pdf.set_lang(language)
    pdf.set_creation_date(when)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, latin1(administration), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=18)
    pdf.multi_cell(0, 9, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    return pdf


def _pdf_rows(pdf: FPDF, rows: Iterable[tuple[str, object]]) -> None:
    for label, value in rows:
        pdf.set_font("Helvetica", style="B", size=10)
        y = pdf.get_y()
        pdf.multi_cell(55, 6, latin1(label), new_x="RIGHT", new_y="TOP")
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 6, latin1(value if value not in (None, "") else "-"), new_x="LMARGIN")
        pdf.set_y(max(pdf.get_y(), y + 6))
        pdf.ln(1)


def _pdf_paragraph(pdf: FPDF, text: str, *, bold: bool = False, size: int = 10) -> None:
    pdf.set_font("Helvetica", style="B" if bold else "", size=size)
    pdf.multi_cell(0, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


_BOX_HEIGHT_MM = 30.0
_BOX_WIDTH_MM = 90.0
_MM = 72 / 25.4


def registration_pdf_build(
    *, certificate: Certificate, person: User, now: datetime | None = None
) -> bytes:
    """The registration document for the certificate, in the person's language, with an empty
    signature field named "Registrant", sealed by Comptoir (certification signature, DocMDP
    P=2). Its registration id is in the text, in the keywords and in the document information
    entry ``/ComptoirRegistrationId``."""
    now = now or timezone.now()
    language = (getattr(person, "language", "") or settings.LANGUAGE_CODE)[:2]
    identity = certificate.identity
    operator = identity.operator
    registration_id = str(certificate.registration_pdf_id)
    with translation.override(language):
        title = gettext("Certificate registration")
        rows: list[tuple[str, object]] = [
            (gettext("Registration document id"), registration_id),
            (gettext("Operator"), operator.name),
            (gettext("EORI number"), identity.identifier),
            (gettext("Certificate name"), certificate.name),
            (gettext("Description"), certificate.description),
            (gettext("Purpose"), certificate.get_purpose_display()),
            (gettext("Key holder"), _yes_no(certificate.key_holder)),
            (gettext("Requested by"), person.get_full_name() or person.get_username()),
            (gettext("Username"), person.get_username()),
            (gettext("Date and time"), _moment(now)),
        ]
        declaration = gettext(
            "I ask the customs administration to register the certificate described above for "
            "the operator named above, for the purpose stated."
        )
        if certificate.key_holder:
            what_to_do = gettext(
                "What to do: sign this document, without changing it, in the signature box "
                "below, with the certificate you are registering (its private key), as a PDF "
                "signature (PAdES) or as a detached CAdES signature of this file. Then upload "
                "the signed document (or this file and its signature) in Comptoir."
            )
        else:
            what_to_do = gettext(
                "What to do: as you are not the key holder of the certificate being registered, "
                "sign this document, without changing it, in the signature box below with your "
                "own qualified signature certificate, as a PDF signature (PAdES) or as a "
                "detached CAdES signature of this file. Then upload the signed document (or this "
                "file and its signature) in Comptoir, together with the certificate being "
                "registered (PEM or DER)."
            )
        seal_note = gettext(
            "This document is sealed by the customs administration. Any change other than "
            "signing it breaks the seal, and the document is then refused."
        )
        box_label = gettext("Signature of the registrant")

    pdf = _pdf_start(
        title=title,
        subject=f"{title} {registration_id}",
        language=language,
        when=now,
    )
    pdf.set_keywords(f"{KEYWORD_PREFIX}{registration_id}")
    _pdf_rows(pdf, rows)
    pdf.ln(3)
    _pdf_paragraph(pdf, declaration)
    _pdf_paragraph(pdf, what_to_do, bold=True)
    _pdf_paragraph(pdf, seal_note, size=9)
    # The signature box: on this page if it fits, otherwise on a new one.
    if pdf.get_y() + _BOX_HEIGHT_MM + 12 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=10)
    pdf.cell(0, 6, latin1(box_label), new_x="LMARGIN", new_y="NEXT")
    top_mm = pdf.get_y() + 1
    left_mm = pdf.l_margin
    page_index = pdf.page - 1
    page_height_pt = pdf.h * _MM
    box = (
        round(left_mm * _MM),
        round(page_height_pt - (top_mm + _BOX_HEIGHT_MM) * _MM),
        round((left_mm + _BOX_WIDTH_MM) * _MM),
        round(page_height_pt - top_mm * _MM),
    )
    document = bytes(pdf.output())

    writer = IncrementalPdfFileWriter(BytesIO(document))
    fields.append_signature_field(
        writer,
        fields.SigFieldSpec(
            sig_field_name=REGISTRANT_FIELD,
            on_page=page_index,
            box=box,
            empty_field_appearance=True,
        ),
    )
    info = generic.DictionaryObject()
    try:
        previous = writer.trailer["/Info"]
    except KeyError:
        previous = None
    if isinstance(previous, generic.DictionaryObject):
        info.update(previous)
    info[generic.NameObject(INFO_KEY)] = generic.TextStringObject(registration_id)
    writer.set_info(info)
    return comptoir_seal.writer_seal(writer, field_name=SEAL_FIELD, certify=True)


# --- checking the upload -------------------------------------------------------------------------


def _context(*trusted: asn1_x509.Certificate) -> ValidationContext:
    # Integrity only: trust is decided by trust.trust_check. Trusting the signer itself keeps
    # pyHanko from looking for a path (and from logging that it found none).
    return ValidationContext(
        trust_roots=list(trusted), allow_fetching=False, revocation_mode="soft-fail"
    )


def _pdf_reader(data: bytes) -> PdfFileReader:
    head = data[:1024]
    if b"%PDF-" not in head:
        raise _Refused("not_pdf")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        reader.root  # noqa: B018 (parse the catalogue now)
        list(reader.embedded_signatures)
    except Exception as exc:  # pyHanko raises several types for damaged files
        logger.info("uploaded PDF unreadable: %s", exc)
        raise _Refused("not_pdf") from exc
    return reader


def _seal_of(data: bytes) -> bytes | None:
    """The DER of the certificate that sealed a PDF Comptoir issued (None if unreadable)."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        for signature in reader.embedded_signatures:
            if signature.field_name == SEAL_FIELD:
                return bytes(signature.signer_cert.dump())
    except Exception:
        logger.warning("issued registration PDF unreadable", exc_info=True)
    return None


def _validate_embedded(
    signature: pdf_embedded.EmbeddedPdfSignature, trusted: asn1_x509.Certificate
) -> Any:
    return run_coroutine(
        pdf_embedded.async_validate_pdf_signature(
            signature, signer_validation_context=_context(trusted)
        )
    )


def _registration_id_in(reader: PdfFileReader, revision: int) -> str:
    try:
        info = reader.get_historical_resolver(revision).trailer_view.get("/Info")
        value = info.get_object().get(INFO_KEY) if info is not None else None
    except Exception:
        return ""
    return str(value) if value is not None else ""


def _check_seal(
    reader: PdfFileReader, *, certificate: Certificate, issued_pdf: bytes, signed: bytes
) -> pdf_embedded.EmbeddedPdfSignature:
    seals = [s for s in reader.embedded_signatures if s.field_name == SEAL_FIELD]
    if not seals:
        raise _Refused(
            "not_issued",
            gettext_lazy(
                "The document does not carry the administration's seal: it is not the "
                "registration document Comptoir issued, or it was printed or saved again as a "
                "new PDF. Download the registration document and sign that file."
            ),
        )
    seal = seals[0]
    try:
        sealer = seal.signer_cert
    except Exception as exc:
        raise _Refused("seal_broken") from exc
    # Comptoir's seal today, or the one that sealed the stored copy (the seal may have been
    # renewed since the document was issued).
    accepted = {_seal_of(issued_pdf)}
    try:
        accepted.add(comptoir_seal.seal_load().certificate_der)
    except comptoir_seal.SealUnavailable:
        logger.warning("Comptoir's seal is not available", exc_info=True)
    if bytes(sealer.dump()) not in accepted:
        raise _Refused(
            "not_issued",
            gettext_lazy(
                "The document was sealed by someone other than the administration: it is not "
                "the registration document Comptoir issued."
            ),
        )
    try:
        status = _validate_embedded(seal, sealer)
    except Exception as exc:  # SignatureValidationError, or a damaged structure
        logger.info("seal did not validate: %s", exc)
        raise _Refused("seal_broken") from exc
    if not (status.intact and status.valid):
        raise _Refused("seal_broken")
    if status.coverage not in (
        SignatureCoverageLevel.ENTIRE_REVISION,
        SignatureCoverageLevel.ENTIRE_FILE,
    ) or not (status.docmdp_ok or status.modification_level is None):
        raise _Refused(
            "seal_broken",
            gettext_lazy(
                "The document was changed after the administration sealed it, in a way "
                "signing does not allow (only adding signatures is allowed). Download the "
                "registration document again and sign it without changing it."
            ),
        )
    found = _registration_id_in(reader, seal.signed_revision)
    expected = str(certificate.registration_pdf_id)
    if found != expected:
        raise _Refused(
            "not_issued",
            gettext_lazy(
                "This registration document was issued for another certificate registration "
                "(document id %(found)s), not for this one (document id %(expected)s). "
                "Download this certificate's registration document and sign it."
            )
            % {"found": found or "-", "expected": expected},
        )
    if not signed.startswith(issued_pdf):
        raise _Refused(
            "not_issued",
            gettext_lazy(
                "The document is not the copy Comptoir issued for this registration (it may be "
                "an older copy, or a copy saved again by another program). Download the "
                "registration document again, sign it and upload it."
            ),
        )
    return seal


def covers_whole_document(
    reader: PdfFileReader, signature: pdf_embedded.EmbeddedPdfSignature, status: Any, data: bytes
) -> bool:
    """Does a (validated) signature cover the whole file? Either it covers every byte (line
    breaks after its end aside), or what was added after it is only validation data and
    document time-stamps (PAdES B-LT and B-LTA): pyHanko's ``LTA_UPDATES``, or ``FORM_FILLING``
    when the only fields changed are the fields of document time-stamps added later."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION or not status.docmdp_ok:
        return False
    if signature.signed_revision >= reader.xrefs.total_revisions - 1:
        # No revision after it, yet bytes after its end: only whitespace is tolerated.
        _, _, start, length = signature.byte_range
        return not data[start + length :].strip()
    level = status.modification_level
    if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return True
    if level != ModificationLevel.FORM_FILLING:
        return False
    diff = signature.diff_result
    changed = set(getattr(diff, "changed_form_fields", ()) or ())
    timestamps = {
        s.field_name
        for s in reader.embedded_signatures
        if s.sig_object_type == "/DocTimeStamp" and s.signed_revision > signature.signed_revision
    }
    return bool(changed) and changed <= timestamps


def _pades(*, certificate: Certificate, issued_pdf: bytes, signed: bytes) -> _Signature:
    reader = _pdf_reader(signed)
    seal = _check_seal(reader, certificate=certificate, issued_pdf=issued_pdf, signed=signed)
    candidates = [
        s
        for s in reader.embedded_signatures
        if s is not seal
        and s.field_name != SEAL_FIELD
        and s.sig_object_type == "/Sig"
        and s.signed_revision > seal.signed_revision
    ]
    if not candidates:
        raise _Refused("no_signature")
    in_field = [s for s in candidates if s.field_name == REGISTRANT_FIELD]
    signature = in_field[0] if in_field else candidates[-1]
    try:
        signer = signature.signer_cert
        others = list(signature.other_embedded_certs)
    except Exception as exc:
        logger.info("registrant's signature unreadable: %s", exc)
        raise _Refused(
            "signature_invalid",
            gettext_lazy(
                "The signature in the document could not be read, or it does not include the "
                "signer's certificate."
            ),
        ) from exc
    signer_der = bytes(signer.dump())
    try:
        status = _validate_embedded(signature, signer)
    except Exception as exc:  # SignatureValidationError, or a damaged structure
        logger.info("registrant's signature did not validate: %s", exc)
        raise _Refused("signature_invalid", signer_der=signer_der) from exc
    if not (status.intact and status.valid):
        raise _Refused("signature_invalid", signer_der=signer_der)
    whole = covers_whole_document(reader, signature, status, signed)
    if not whole:
        raise _Refused("not_whole_document", signer_der=signer_der)
    return _Signature(signer=signer, others=others, format="pades")


_PEM_BLOCK = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----(.*?)-----END [A-Z0-9 ]+-----", re.DOTALL)


def _signed_data(data: bytes) -> cms.SignedData:
    """The CMS SignedData of a .p7s/.p7m in DER, PEM or bare base64."""
    match = _PEM_BLOCK.search(data)
    candidates = [] if match else [data]
    try:
        text = match.group(1) if match else data
        candidates.append(base64.b64decode(b"".join(text.split()), validate=True))
    except (binascii.Error, ValueError):
        pass
    for blob in candidates:
        try:
            info = cms.ContentInfo.load(blob)
            if info["content_type"].native != "signed_data":
                continue
            signed_data = info["content"]
            signed_data["signer_infos"][0]["sid"].native  # noqa: B018 (parse now)
            signed_data["encap_content_info"]["content_type"].native  # noqa: B018
            return signed_data  # type: ignore[no-any-return]
        except Exception:  # noqa: S112 (asn1crypto raises several types; try the next form)
            continue
    raise _Refused("signature_unreadable")


def _cades(*, issued_pdf: bytes, signed: bytes, detached_signature: bytes) -> _Signature:
    if signed != issued_pdf:
        raise _Refused(
            "not_issued",
            gettext_lazy(
                "The signed file is not the registration document as Comptoir issued it: sign "
                "the downloaded file itself, without opening and saving it again."
            ),
        )
    signed_data = _signed_data(detached_signature)
    try:
        certs = extract_certs_for_validation(signed_data)
        signer = certs.signer_cert
        others = list(certs.other_certs)
    except Exception as exc:
        logger.info("CAdES signer unreadable: %s", exc)
        raise _Refused(
            "signature_invalid",
            gettext_lazy("The signature does not include the signer's certificate."),
        ) from exc
    signer_der = bytes(signer.dump())
    content = signed_data["encap_content_info"]["content"]
    try:
        if content.native is not None:
            # An attached (enveloping) signature: its content must be the issued PDF.
            if bytes(content.native) != issued_pdf:
                raise _Refused(
                    "signature_invalid",
                    gettext_lazy("The signature was not made over the registration document."),
                    signer_der=signer_der,
                )
            status = run_coroutine(
                async_validate_cms_signature(signed_data, validation_context=_context(signer))
            )
        else:
            status = run_coroutine(
                async_validate_detached_cms(
                    issued_pdf, signed_data, signer_validation_context=_context(signer)
                )
            )
    except _Refused:
        raise
    except Exception as exc:
        logger.info("CAdES signature did not validate: %s", exc)
        raise _Refused("signature_invalid", signer_der=signer_der) from exc
    if not status.valid:
        raise _Refused("signature_invalid", signer_der=signer_der)
    if not status.intact:
        raise _Refused(
            "signature_invalid",
            gettext_lazy(
                "The signature was not made over the registration document as issued: sign "
                "the downloaded file itself, without changing it."
            ),
            signer_der=signer_der,
        )
    return _Signature(signer=signer, others=others, format="cades")


def _uploaded(data: bytes) -> tuple[bytes, list[bytes]]:
    """The uploaded certificate (DER) and any other certificates in the same file."""
    try:
        cert = certificate_load(data)
    except ValueError as exc:
        raise _Refused("certificate_unreadable", str(exc.args[0]) if exc.args else None) from exc
    from cryptography.hazmat.primitives import serialization

    der = cert.public_bytes(serialization.Encoding.DER)
    extra: list[bytes] = []
    try:
        extra = [c.dump() for c in load_certs_from_pemder_data(data)]
    except Exception:
        extra = []
    return der, [c for c in extra if c != der]


def _trust_refusal(verdict: TrustVerdict) -> tuple[str, str | Promise]:
    return verdict.code, verdict.message or REFUSALS.get(verdict.code, verdict.code)


def registration_upload_check(
    *,
    certificate: Certificate,
    issued_pdf: bytes,
    signed: bytes,
    detached_signature: bytes | None = None,
    uploaded_certificate: bytes | None = None,
    at: datetime | None = None,
) -> UploadVerdict:
    """Check an upload against the registration document issued for the certificate. For PAdES
    ``signed`` is the signed PDF; for detached CAdES ``signed`` is the issued PDF as downloaded
    and ``detached_signature`` the .p7s/.p7m. ``uploaded_certificate`` (PEM or DER) is the
    certificate being registered, for a person who is not its key holder. Never raises for bad
    input: the verdict says what is wrong (``code``, ``message``)."""
    at = at or timezone.now()
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    signer_der: bytes | None = None
    registered_der: bytes | None = None
    chain: list[bytes] = []
    signature_format = "cades" if detached_signature is not None else "pades"

    def refuse(code: str, message: str | Promise | None = None, **extra: Any) -> UploadVerdict:
        return UploadVerdict(
            ok=False,
            code=code,
            message=message or REFUSALS[code],
            certificate_der=registered_der,
            chain_der=chain,
            signer_der=signer_der,
            signature_format=signature_format,
            **extra,
        )

    if len(signed) > MAX_UPLOAD_BYTES:
        return refuse("not_pdf", gettext_lazy("The file is too large (at most 20 MB)."))
    if detached_signature is not None and len(detached_signature) > MAX_UPLOAD_BYTES:
        return refuse(
            "signature_unreadable",
            gettext_lazy("The signature file is too large (at most 20 MB)."),
        )
    try:
        if detached_signature is not None:
            signature = _cades(
                issued_pdf=issued_pdf, signed=signed, detached_signature=detached_signature
            )
        else:
            signature = _pades(certificate=certificate, issued_pdf=issued_pdf, signed=signed)
    except _Refused as refusal:
        signer_der = refusal.signer_der
        return refuse(refusal.code, refusal.message)
    except Exception:
        # A file that trips pyHanko in a way not foreseen: refuse it rather than fail the request.
        logger.exception("registration upload check failed on unexpected input")
        return refuse("signature_invalid")

    signer_der = bytes(signature.signer.dump())
    others = [bytes(c.dump()) for c in signature.others]
    known_der = bytes(certificate.der) if certificate.der else None

    try:
        extra: list[bytes] = []
        if uploaded_certificate is not None and uploaded_certificate.strip():
            uploaded_der, extra = _uploaded(uploaded_certificate)
        else:
            uploaded_der = None
        if certificate.key_holder:
            registered_der = signer_der
            if known_der is not None and signer_der != known_der:
                raise _Refused(
                    "certificate_mismatch",
                    gettext_lazy(
                        "The document was signed with another certificate than the one being "
                        "registered: sign it with the key of the certificate being registered."
                    ),
                )
            if uploaded_der is not None and uploaded_der != signer_der:
                raise _Refused(
                    "certificate_mismatch",
                    gettext_lazy(
                        "The certificate file uploaded is not the certificate that signed the "
                        "document. As the key holder, you only need to upload the signed "
                        "document."
                    ),
                )
        else:
            if uploaded_der is None:
                if known_der is None:
                    raise _Refused("certificate_missing")
                uploaded_der = known_der
            if known_der is not None and uploaded_der != known_der:
                raise _Refused(
                    "certificate_mismatch",
                    gettext_lazy(
                        "The certificate file uploaded is not the certificate being registered: "
                        "choose the certificate given when the registration was started."
                    ),
                )
            registered_der = uploaded_der
            if registered_der == signer_der:
                raise _Refused("signer_is_registered")
    except _Refused as refusal:
        return refuse(refusal.code, refusal.message)

    chain = [der for der in dict.fromkeys([*others, *extra]) if der != registered_der]
    intermediates = [asn1_x509.Certificate.load(der) for der in chain]
    verdict = trust_check(
        asn1_x509.Certificate.load(registered_der),
        intermediates=intermediates,
        at=at,
        purpose=certificate.purpose,
    )
    if verdict.refused:
        code, message = _trust_refusal(verdict)
        return refuse(code, message, trust=verdict)

    if not certificate.key_holder:
        signer_verdict = trust_check(
            signature.signer,
            intermediates=[asn1_x509.Certificate.load(der) for der in others],
            at=at,
            purpose=PURPOSE_SIGNATURE,
        )
        if signer_verdict.refused:
            if signer_verdict.code == "lists_unavailable":
                return refuse("lists_unavailable", trust=verdict)
            return refuse(
                "signer_untrusted",
                gettext_lazy(
                    "Your own certificate, which signed the document, was refused: %(reason)s"
                )
                % {"reason": signer_verdict.message},
                trust=verdict,
            )

    return UploadVerdict(
        ok=True,
        code="ok",
        message=gettext_lazy("The signature is valid and the certificate is accepted."),
        certificate_der=registered_der,
        chain_der=chain,
        trust=verdict,
        signer_der=signer_der,
        signature_format=signature.format,
    )


# --- the proof of registration -------------------------------------------------------------------


def registration_proof_build(*, certificate: Certificate, now: datetime | None = None) -> bytes:
    """The proof of registration (in the active language), sealed by Comptoir as a
    certification signature."""
    now = now or timezone.now()
    language = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    identity = certificate.identity
    operator = identity.operator
    registration_id = str(certificate.registration_pdf_id)
    with translation.override(language):
        title = gettext("Proof of certificate registration")
        rows: list[tuple[str, object]] = [
            (gettext("Registration document id"), registration_id),
            (gettext("Operator"), operator.name),
            (gettext("EORI number"), identity.identifier),
            (gettext("Certificate name"), certificate.name),
            (gettext("Purpose"), certificate.get_purpose_display()),
            (gettext("Key holder"), _yes_no(certificate.key_holder)),
            (gettext("Status"), certificate.get_status_display()),
            (
                gettext("Activated"),
                _moment(certificate.activated_at) if certificate.activated_at else "",
            ),
            (gettext("Serial number"), certificate.serial),
            (gettext("Version"), certificate.version or ""),
            (gettext("Subject"), certificate.subject),
            (gettext("Issuer"), certificate.issuer),
            (gettext("SHA-256 digest"), certificate.sha256),
            (
                gettext("Valid from"),
                _moment(certificate.not_before) if certificate.not_before else "",
            ),
            (
                gettext("Valid until"),
                _moment(certificate.not_after) if certificate.not_after else "",
            ),
            (gettext("Signature algorithm"), certificate.signature_algorithm),
            (gettext("Qualified"), _yes_no(certificate.qualified)),
            (gettext("Trust service"), certificate.trust_service),
            (gettext("Issued on"), _moment(now)),
        ]
        statement = gettext(
            "The customs administration has registered this certificate for the operator named "
            "above. The SHA-256 digest identifies the certificate. This proof is sealed by the "
            "administration: any change to it breaks the seal."
        )
    pdf = _pdf_start(title=title, subject=f"{title} {registration_id}", language=language, when=now)
    pdf.set_keywords(f"{KEYWORD_PREFIX}{registration_id}")
    _pdf_rows(pdf, rows)
    pdf.ln(4)
    _pdf_paragraph(pdf, statement, size=9)
    return comptoir_seal.pdf_seal(bytes(pdf.output()), field_name=SEAL_FIELD, certify=True)
