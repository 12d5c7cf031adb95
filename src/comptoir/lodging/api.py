"""Lodge declarations and read them back through the JSON API (mounted at /api/v1/).

Both lodging endpoints take a multipart/form-data upload (a file does not count against the
request-body limit, and the payload travels byte for byte): the fields `type` (a declaration
type code), `file` (the XML or JSON file; its name's extension gives the format unless `format`
says xml or json) and, for people, `operator_id`.

- POST /declarations: a signed-in person (session or personal token) for an operator where
  their position is valid; channel "portal".
- POST /declarations/b2g: an operator's B2G client (auth=b2g_client_auth); channel "b2g".

Reading back: GET /declarations?operator_id=…, /declarations/{mrn} and
/declarations/{mrn}/receipt.pdf for people (the operators where their position is valid);
GET /declarations/b2g/{mrn} and /declarations/b2g/{mrn}/receipt.pdf for a B2G client (what its
operator lodged through B2G).

Refusals: 403 {"detail", "code"} for the rules about who may lodge through which channel,
422 {"detail", "code"} for a bad declaration, 404 outside the caller's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from comptoir.b2g.auth import b2g_client_auth
from comptoir.b2g.models import B2GClient
from comptoir.core.api_types import ApiRequest, Error
from comptoir.lodging import selectors, services
from comptoir.lodging.models import Declaration
from comptoir.lodging.pdf import receipt_filename, receipt_pdf
from comptoir.operators.models import Operator

router = Router(tags=["lodging"])


class ClientRequest(HttpRequest):
    auth: B2GClient


class DeclarationOut(Schema):
    mrn: str
    operator_id: int
    operator_eori: str
    type: str
    channel: str
    format: str
    filename: str
    payload_size: int
    payload_sha256: str
    lodged_at: datetime
    lodged_by: str | None
    client: str | None
    delivery_status: str
    delivered_at: datetime | None
    receipt_url: str


class DeclarationPage(Schema):
    count: int
    offset: int
    limit: int
    items: list[DeclarationOut]


def _out(declaration: Declaration, *, receipt_url: str | None = None) -> dict[str, Any]:
    return {
        "mrn": declaration.mrn,
        "operator_id": declaration.operator_id,
        "operator_eori": declaration.operator.eori,
        "type": declaration.declaration_type.code,
        "channel": declaration.channel,
        "format": declaration.format,
        "filename": declaration.filename,
        "payload_size": declaration.payload_size,
        "payload_sha256": declaration.payload_sha256,
        "lodged_at": declaration.lodged_at,
        "lodged_by": declaration.lodged_by.get_username() if declaration.lodged_by else None,
        "client": declaration.client.name if declaration.client else None,
        "delivery_status": declaration.delivery_status,
        "delivered_at": declaration.delivered_at,
        "receipt_url": receipt_url or f"/api/v1/declarations/{declaration.mrn}/receipt.pdf",
    }


def _refused(refusal: services.LodgingRefused) -> Status:
    return Status(
        403 if refusal.permission else 422, {"detail": str(refusal.message), "code": refusal.code}
    )


def _lodge(*, file: UploadedFile, format: str, **kwargs: Any) -> Declaration:
    """Lodge the upload; a file over the size limit is refused (and audited) unread."""
    limit = services.declaration_max_bytes()
    if file.size is not None and file.size > limit:
        refusal = services.LodgingRefused(
            "too_large",
            services.MESSAGES["too_large"] % {"size": services.size_text(limit)},
            permission=False,
        )
        services.lodging_refusal_audit(
            refusal=refusal,
            operator=kwargs.get("operator"),
            declaration_type_code=kwargs.get("declaration_type_code", ""),
            channel=kwargs["channel"],
            person=kwargs.get("person"),
            client=kwargs.get("client"),
            payload=b"",
        )
        raise refusal
    return services.declaration_lodge(
        payload=file.read(), filename_or_format=format or file.name or "", **kwargs
    )


_RESPONSES: dict[int, Any] = {201: DeclarationOut, 401: Error, 403: Error, 404: Error, 422: Error}


@router.post(
    "/declarations/b2g",
    response=_RESPONSES,
    auth=b2g_client_auth,
    summary="Lodge a declaration from the operator's B2G system",
)
def declaration_lodge_b2g(
    request: ClientRequest,
    type: Form[str],
    file: File[UploadedFile],
    format: Form[str] = "",
):
    client = request.auth
    try:
        declaration = _lodge(
            file=file,
            format=format,
            operator=client.operator,
            declaration_type_code=type,
            channel=Declaration.Channel.B2G,
            client=client,
        )
    except services.LodgingRefused as refusal:
        return _refused(refusal)
    return Status(
        201,
        _out(declaration, receipt_url=f"/api/v1/declarations/b2g/{declaration.mrn}/receipt.pdf"),
    )


def _client_declaration(request: ClientRequest, mrn: str) -> Declaration:
    try:
        return selectors.declarations_for_client(client=request.auth).get(
            mrn=(mrn or "").strip().upper()
        )
    except Declaration.DoesNotExist:
        raise HttpError(404, "Not Found") from None


@router.get(
    "/declarations/b2g/{mrn}",
    response={200: DeclarationOut, 401: Error, 404: Error},
    auth=b2g_client_auth,
    summary="One declaration the client's operator lodged through B2G",
)
def declaration_detail_b2g(request: ClientRequest, mrn: str):
    declaration = _client_declaration(request, mrn)
    return _out(declaration, receipt_url=f"/api/v1/declarations/b2g/{declaration.mrn}/receipt.pdf")


@router.get(
    "/declarations/b2g/{mrn}/receipt.pdf",
    response={200: None, 401: Error, 404: Error},
    auth=b2g_client_auth,
    summary="The receipt of a declaration lodged through B2G (PDF, in the request's language)",
)
def declaration_receipt_b2g(request: ClientRequest, mrn: str):
    return _receipt(_client_declaration(request, mrn), get_language())


@router.post(
    "/declarations",
    response=_RESPONSES,
    summary="Lodge a declaration through the portal",
)
def declaration_lodge(
    request: ApiRequest,
    operator_id: Form[int],
    type: Form[str],
    file: File[UploadedFile],
    format: Form[str] = "",
):
    try:
        operator = selectors.lodging_operator_for_person(
            person=request.auth, operator_id=operator_id
        )
    except Operator.DoesNotExist:
        raise HttpError(404, "Not Found") from None
    try:
        declaration = _lodge(
            file=file,
            format=format,
            operator=operator,
            declaration_type_code=type,
            channel=Declaration.Channel.PORTAL,
            person=request.auth,
        )
    except services.LodgingRefused as refusal:
        return _refused(refusal)
    return Status(201, _out(declaration))


@router.get(
    "/declarations",
    response={200: DeclarationPage, 401: Error, 403: Error, 404: Error},
    summary="The declarations of an operator where your position is valid, newest first",
)
def declaration_list(request: ApiRequest, operator_id: int, offset: int = 0, limit: int = 50):
    try:
        operator = selectors.lodging_operator_for_person(
            person=request.auth, operator_id=operator_id
        )
    except Operator.DoesNotExist:
        raise HttpError(404, "Not Found") from None
    offset = max(offset, 0)
    limit = min(max(limit, 1), 200)
    declarations = selectors.declarations_of_operator(person=request.auth, operator=operator)
    return {
        "count": declarations.count(),
        "offset": offset,
        "limit": limit,
        "items": [_out(item) for item in declarations[offset : offset + limit]],
    }


def _declaration(request: ApiRequest, mrn: str) -> Declaration:
    try:
        return selectors.declaration_for_person(person=request.auth, mrn=mrn)
    except Declaration.DoesNotExist:
        raise HttpError(404, "Not Found") from None


@router.get(
    "/declarations/{mrn}",
    response={200: DeclarationOut, 401: Error, 403: Error, 404: Error},
    summary="One declaration",
)
def declaration_detail(request: ApiRequest, mrn: str):
    return _out(_declaration(request, mrn))


@router.get(
    "/declarations/{mrn}/receipt.pdf",
    response={200: None, 401: Error, 403: Error, 404: Error},
    summary="The receipt of one declaration (PDF, in your language)",
)
def declaration_receipt(request: ApiRequest, mrn: str):
    return _receipt(_declaration(request, mrn), request.auth.language or get_language())


def _receipt(declaration: Declaration, language: str | None) -> HttpResponse:
    response = HttpResponse(
        receipt_pdf(declaration=declaration, language=language), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(declaration)}"'
    return response
