"""Certificates in the JSON API, mounted at /api/v1/certificates (comptoir.api): the same
services and selectors as the pages.

- GET    ""                          the caller's certificates (of one operator with
                                     ``operator_id``), searched and paged
- POST   ""                          step 1: start a registration (JSON); the answer links to the
                                     registration PDF to download and sign
- GET    "/identities/{operator_id}" the operator's EORI identity
- GET    "/{id}"                     one certificate
- POST   "/{id}/upload"              step 2 (multipart/form-data): ``signed`` (the signed PDF, or
                                     the PDF as downloaded with ``detached_signature``) and, for a
                                     non-key-holder, ``uploaded_certificate``
- POST   "/{id}/revoke"              revoke with a reason (JSON)
- GET    "/{id}/download/{what}"     certificate.cer, certificate.pem, registration.pdf,
                                     signed.pdf, signature.p7s, uploaded-certificate, proof.pdf

Operators and certificates outside the caller's scope answer 404; refusals within it 403
{"detail", "code"}; a certificate whose status no longer allows the step 409 {"detail", "code"};
a refused upload 422 {"detail", "code"} with the check's code (nothing is changed); other bad
input 422 with one message per field (the main API's ValidationError handler)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from comptoir.accounts.models import User
from comptoir.certificates import registrations as reg
from comptoir.certificates.models import Certificate, EoriIdentity
from comptoir.certificates.services import CertificateStateError
from comptoir.certificates.views import DOWNLOADS, download_response
from comptoir.operators.models import Operator

router = Router(tags=["certificates"])

PREFIX = "/api/v1/certificates"


class ApiRequest(HttpRequest):
    auth: User


class Error(Schema):
    detail: str
    code: str | None = None


_REFUSALS: dict[int, Any] = {401: Error, 403: Error, 404: Error}


class IdentityOut(Schema):
    id: str
    identifier: str
    identifier_type: str
    actor_type: str
    operator_id: int
    created_at: datetime
    modified_at: datetime


class CertificateOut(Schema):
    id: str
    operator_id: int
    eori: str
    identity_id: str
    name: str
    description: str
    purpose: str
    key_holder: bool
    status: str
    serial: str
    version: int | None
    subject: str
    issuer: str
    sha256: str
    not_before: datetime | None
    not_after: datetime | None
    signature_algorithm: str
    qualified: bool
    trust_service: str
    registration_pdf_id: str
    activated_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revocation_reason: str
    created_at: datetime
    created_by: str | None
    modified_at: datetime
    modified_by: str | None
    #: what → URL, for the files this certificate has now.
    downloads: dict[str, str]
    upload_url: str | None


class CertificatePage(Schema):
    count: int
    offset: int
    limit: int
    items: list[CertificateOut]


class StartIn(Schema):
    operator_id: int
    name: str = ""
    description: str = ""
    purpose: str = ""
    key_holder: bool | None = None


class ReasonIn(Schema):
    reason: str = ""


def _who(person: User | None) -> str | None:
    return person.get_username() if person is not None else None


def _downloads(certificate: Certificate) -> dict[str, str]:
    present = set(reg.certificate_documents(certificate=certificate))
    found: dict[str, str] = {}
    for what, (kind, _type) in DOWNLOADS.items():
        if (kind in ("der", "pem") and certificate.der) or kind in present:
            found[what] = f"{PREFIX}/{certificate.public_id}/download/{what}"
    return found


def _out(certificate: Certificate) -> dict[str, Any]:
    identity = certificate.identity
    return {
        "id": str(certificate.public_id),
        "operator_id": identity.operator_id,
        "eori": identity.identifier,
        "identity_id": str(identity.public_id),
        "name": certificate.name,
        "description": certificate.description,
        "purpose": certificate.purpose,
        "key_holder": certificate.key_holder,
        "status": certificate.status,
        "serial": certificate.serial,
        "version": certificate.version,
        "subject": certificate.subject,
        "issuer": certificate.issuer,
        "sha256": certificate.sha256,
        "not_before": certificate.not_before,
        "not_after": certificate.not_after,
        "signature_algorithm": certificate.signature_algorithm,
        "qualified": certificate.qualified,
        "trust_service": certificate.trust_service,
        "registration_pdf_id": str(certificate.registration_pdf_id),
        "activated_at": certificate.activated_at,
        "revoked_at": certificate.revoked_at,
        "revoked_by": _who(certificate.revoked_by),
        "revocation_reason": certificate.revocation_reason,
        "created_at": certificate.created_at,
        "created_by": _who(certificate.created_by),
        "modified_at": certificate.modified_at,
        "modified_by": _who(certificate.modified_by),
        "downloads": _downloads(certificate),
        "upload_url": f"{PREFIX}/{certificate.public_id}/upload"
        if certificate.status == Certificate.Status.SEALED
        else None,
    }


def _not_found() -> HttpError:
    return HttpError(404, "Not Found")


def _operator(request: ApiRequest, operator_id: int) -> Operator:
    try:
        return reg.certificate_operator_for_person(person=request.auth, operator_id=operator_id)
    except Operator.DoesNotExist as exc:
        raise _not_found() from exc


def _certificate(request: ApiRequest, certificate_id: str) -> Certificate:
    try:
        return reg.certificate_for_person(person=request.auth, certificate_id=certificate_id)
    except Certificate.DoesNotExist as exc:
        raise _not_found() from exc


def _refused(exc: reg.CertificateNotAllowed) -> Status:
    return Status(403, {"detail": str(exc.message), "code": exc.code})


def _conflict(exc: CertificateStateError) -> Status:
    return Status(409, {"detail": str(exc.message), "code": "status"})


@router.get(
    "",
    response={200: CertificatePage, **_REFUSALS},
    summary="Your operators' certificates (all of them for customs officers), searched and paged",
)
def certificate_list(
    request: ApiRequest,
    operator_id: int | None = None,
    q: str = "",
    name: str = "",
    serial: str = "",
    subject: str = "",
    issuer: str = "",
    valid_from_after: date | None = None,
    valid_from_before: date | None = None,
    valid_until_after: date | None = None,
    valid_until_before: date | None = None,
    type: str = "",
    purpose: str = "",
    status: str = "",
    offset: int = 0,
    limit: int = 50,
):
    errors: dict[str, list[str]] = {}
    if type and type not in reg.TYPES:
        errors["type"] = [str(reg.TYPE_MESSAGE)]
    if purpose and purpose not in Certificate.Purpose.values:
        errors["purpose"] = [str(reg.PURPOSE_MESSAGE)]
    if status and status not in Certificate.Status.values:
        errors["status"] = [str(reg.STATUS_MESSAGE)]
    if errors:
        raise ValidationError(errors)
    certificates = reg.certificates_for_person(person=request.auth)
    if operator_id is not None:
        certificates = certificates.filter(identity__operator=_operator(request, operator_id))
    certificates = reg.certificates_search(
        certificates,
        reg.CertificateSearch(
            text=q,
            name=name,
            serial=serial,
            subject=subject,
            issuer=issuer,
            valid_from_after=valid_from_after,
            valid_from_before=valid_from_before,
            valid_until_after=valid_until_after,
            valid_until_before=valid_until_before,
            type=type,
            purpose=purpose,
            status=status,
        ),
    )
    offset = max(offset, 0)
    limit = min(max(limit, 1), 200)
    return {
        "count": certificates.count(),
        "offset": offset,
        "limit": limit,
        "items": [_out(item) for item in certificates[offset : offset + limit]],
    }


@router.post(
    "",
    response={201: CertificateOut, **_REFUSALS},
    summary="Start registering a certificate: Comptoir issues the registration PDF to sign",
)
def certificate_start(request: ApiRequest, payload: StartIn):
    operator = _operator(request, payload.operator_id)
    try:
        certificate = reg.certificate_registration_start(
            person=request.auth,
            operator=operator,
            name=payload.name,
            description=payload.description,
            purpose=payload.purpose,
            key_holder=payload.key_holder,  # type: ignore[arg-type]  # None is refused with a message
        )
    except reg.CertificateNotAllowed as exc:
        return _refused(exc)
    return Status(201, _out(certificate))


@router.get(
    "/identities/{operator_id}",
    response={200: IdentityOut, **_REFUSALS},
    summary="The EORI identity of an operator (404 until its first registration)",
)
def identity_detail(request: ApiRequest, operator_id: int):
    identity = reg.identity_of(operator=_operator(request, operator_id))
    if identity is None:
        raise _not_found()
    return _identity_out(identity)


def _identity_out(identity: EoriIdentity) -> dict[str, Any]:
    return {
        "id": str(identity.public_id),
        "identifier": identity.identifier,
        "identifier_type": identity.identifier_type,
        "actor_type": identity.actor_type,
        "operator_id": identity.operator_id,
        "created_at": identity.created_at,
        "modified_at": identity.modified_at,
    }


@router.get(
    "/{certificate_id}",
    response={200: CertificateOut, **_REFUSALS},
    summary="One certificate",
)
def certificate_detail(request: ApiRequest, certificate_id: str):
    return _out(_certificate(request, certificate_id))


@router.post(
    "/{certificate_id}/upload",
    response={200: CertificateOut, **_REFUSALS, 409: Error, 422: Error},
    summary="Upload the signed registration PDF (or the PDF and a detached CAdES signature)",
)
def certificate_upload(
    request: ApiRequest,
    certificate_id: str,
    signed: File[UploadedFile],
    detached_signature: File[UploadedFile] | None = None,
    uploaded_certificate: File[UploadedFile] | None = None,
):
    certificate = _certificate(request, certificate_id)
    for upload in (signed, detached_signature, uploaded_certificate):
        if upload is not None and upload.size is not None and upload.size > reg.UPLOAD_MAX_BYTES:
            return Status(
                422,
                {
                    "detail": str(reg.TOO_LARGE_MESSAGE)
                    % {"size": reg.UPLOAD_MAX_BYTES // (1024 * 1024)},
                    "code": "too_large",
                },
            )
    try:
        certificate = reg.certificate_registration_upload(
            person=request.auth,
            certificate=certificate,
            signed=signed.read(),
            filename=signed.name or "",
            detached_signature=detached_signature.read() if detached_signature else None,
            detached_filename=(detached_signature.name or "") if detached_signature else "",
            uploaded_certificate=uploaded_certificate.read() if uploaded_certificate else None,
            certificate_filename=(uploaded_certificate.name or "") if uploaded_certificate else "",
        )
    except reg.CertificateNotAllowed as exc:
        return _refused(exc)
    except CertificateStateError as exc:
        return _conflict(exc)
    except ValidationError as exc:
        return Status(422, {"detail": " ".join(exc.messages), "code": reg.refusal_code(exc)})
    return _out(certificate)


@router.post(
    "/{certificate_id}/revoke",
    response={200: CertificateOut, **_REFUSALS, 409: Error},
    summary="Revoke an active certificate, with a reason (the operator or customs)",
)
def certificate_revoke(request: ApiRequest, certificate_id: str, payload: ReasonIn):
    certificate = _certificate(request, certificate_id)
    try:
        certificate = reg.certificate_revoke(
            person=request.auth, certificate=certificate, reason=payload.reason
        )
    except reg.CertificateNotAllowed as exc:
        return _refused(exc)
    except CertificateStateError as exc:
        return _conflict(exc)
    return _out(certificate)


@router.get(
    "/{certificate_id}/download/{what}",
    response={200: None, **_REFUSALS},
    summary="A file of the certificate: certificate.cer, certificate.pem, registration.pdf, "
    "signed.pdf, signature.p7s, uploaded-certificate or proof.pdf",
)
def certificate_download(request: ApiRequest, certificate_id: str, what: str):
    response = download_response(certificate=_certificate(request, certificate_id), what=what)
    if response is None:
        raise _not_found()
    return response
