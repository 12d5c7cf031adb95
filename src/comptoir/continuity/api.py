"""The fallback procedure in the JSON API: the public status (no authentication), operators'
outages (report, acknowledge, recover) and the service desk's fallbacks (open, close). Mounted
on the main API with `api.add_router("", router)`. Refusals answer 403 and state conflicts 409,
each with {"detail", "code"}; bad input 422; an outage outside the caller's scope 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from comptoir.continuity import selectors, services
from comptoir.continuity.models import Outage
from comptoir.core.api_types import ApiRequest, Error
from comptoir.operators import selectors as operator_selectors
from comptoir.operators.models import Operator

router = Router(tags=["continuity"])


_REFUSALS = {401: Error, 403: Error}


class PublicOutageOut(Schema):
    id: str
    reference: str
    kind: str
    kind_label: str
    status: str
    opened_at: datetime | None
    closed_at: datetime | None
    contact_office: str
    instructions: str
    description: str


class StatusOut(Schema):
    state: str  # "normal", "fallback" or "exception"
    online_lodging: bool
    portal_lodging_for_b2g_operators: bool
    checked_at: datetime
    outages: list[PublicOutageOut]


class OutageOut(PublicOutageOut):
    operator_id: int | None
    operator_eori: str | None
    reported_at: datetime
    closing_note: str


class OutageIn(Schema):
    operator_id: int
    description: str = ""


class FallbackIn(Schema):
    kind: str
    contact_office: str = ""
    instructions: str = ""
    description: str = ""


class CloseIn(Schema):
    closing_note: str = ""


def _public(outage: Outage) -> dict[str, Any]:
    return {
        "id": str(outage.public_id),
        "reference": outage.reference,
        "kind": outage.kind,
        "kind_label": str(outage.get_kind_display()),
        "status": outage.status,
        "opened_at": outage.opened_at,
        "closed_at": outage.closed_at,
        "contact_office": outage.contact_office,
        "instructions": outage.instructions,
        "description": outage.description,
    }


def _out(outage: Outage) -> dict[str, Any]:
    return {
        **_public(outage),
        "operator_id": outage.operator_id,
        "operator_eori": outage.operator.eori if outage.operator is not None else None,
        "reported_at": outage.reported_at,
        "closing_note": outage.closing_note,
    }


def _refused(exc: services.OutageNotAllowed) -> Status:
    return Status(403, {"detail": str(exc.message), "code": exc.code})


def _conflict(exc: services.OutageConflict) -> Status:
    return Status(409, {"detail": str(exc.message), "code": exc.code})


def _scoped(request: ApiRequest, outage_id: str) -> Outage:
    try:
        return selectors.outage_for_person(person=request.auth, outage_id=outage_id)
    except Outage.DoesNotExist as exc:
        raise HttpError(404, "Not Found") from exc


@router.get(
    "/status",
    auth=None,
    response={200: StatusOut},
    summary="What is open now: the administration's fallback and the exception (no sign-in)",
)
def status(request: HttpRequest):
    outages = list(selectors.public_outages_open())
    kinds = {outage.kind for outage in outages}
    if Outage.Kind.EXCEPTION in kinds:
        state = "exception"
    elif Outage.Kind.ADMINISTRATION in kinds:
        state = "fallback"
    else:
        state = "normal"
    return {
        "state": state,
        "online_lodging": state != "exception",
        "portal_lodging_for_b2g_operators": Outage.Kind.ADMINISTRATION in kinds,
        "checked_at": timezone.now(),
        "outages": [_public(outage) for outage in outages],
    }


@router.get(
    "/outages",
    response={200: list[OutageOut], **_REFUSALS},
    summary="Outages the caller may see: every one for the service desk, else its operators'",
)
def outages_list(request: ApiRequest, status: str = "", limit: int = 100, offset: int = 0):
    rows = selectors.outages_for_person(person=request.auth)
    if status:
        if status not in Outage.Status.values:
            raise ValidationError(
                {
                    "status": [
                        _("Choose one of: %(codes)s.") % {"codes": ", ".join(Outage.Status.values)}
                    ]
                }
            )
        rows = rows.filter(status=status)
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    return [_out(outage) for outage in rows[offset : offset + limit]]


@router.get(
    "/outages/{outage_id}",
    response={200: OutageOut, **_REFUSALS, 404: Error},
    summary="One outage the caller may see",
)
def outage_detail(request: ApiRequest, outage_id: str):
    return _out(_scoped(request, outage_id))


@router.post(
    "/outages",
    response={201: OutageOut, **_REFUSALS, 404: Error, 409: Error},
    summary="Report that the operator's B2G system is down (legal representative or manager)",
)
def outage_report(request: ApiRequest, payload: OutageIn):
    try:
        operator = operator_selectors.space_for_person(
            person=request.auth, operator_id=payload.operator_id
        )
    except Operator.DoesNotExist as exc:
        raise HttpError(404, "Not Found") from exc
    try:
        outage = services.outage_report(
            person=request.auth, operator=operator, description=payload.description
        )
    except services.OutageNotAllowed as exc:
        return _refused(exc)
    except services.OutageConflict as exc:
        return _conflict(exc)
    return Status(201, _out(outage))


@router.post(
    "/outages/{outage_id}/acknowledge",
    response={200: OutageOut, **_REFUSALS, 404: Error, 409: Error},
    summary="Acknowledge an operator's outage: its fallback opens (service desk)",
)
def outage_acknowledge(request: ApiRequest, outage_id: str):
    outage = _scoped(request, outage_id)
    try:
        outage = services.outage_acknowledge(person=request.auth, outage_id=outage.public_id)
    except services.OutageNotAllowed as exc:
        return _refused(exc)
    except services.OutageConflict as exc:
        return _conflict(exc)
    return _out(outage)


@router.post(
    "/outages/{outage_id}/recover",
    response={200: OutageOut, **_REFUSALS, 404: Error, 409: Error},
    summary="Report that the operator's B2G system works again (legal representative or manager)",
)
def outage_recover(request: ApiRequest, outage_id: str):
    outage = _scoped(request, outage_id)
    try:
        outage = services.outage_recover(person=request.auth, outage_id=outage.public_id)
    except services.OutageNotAllowed as exc:
        return _refused(exc)
    except services.OutageConflict as exc:
        return _conflict(exc)
    return _out(outage)


@router.post(
    "/fallbacks",
    response={201: OutageOut, **_REFUSALS, 409: Error},
    summary="Open the administration's fallback or the exception (service desk)",
)
def fallback_open(request: ApiRequest, payload: FallbackIn):
    try:
        outage = services.fallback_open(person=request.auth, **payload.model_dump())
    except services.OutageNotAllowed as exc:
        return _refused(exc)
    except services.OutageConflict as exc:
        return _conflict(exc)
    return Status(201, _out(outage))


@router.post(
    "/fallbacks/{outage_id}/close",
    response={200: OutageOut, **_REFUSALS, 404: Error, 409: Error},
    summary="Close the administration's fallback or the exception (service desk)",
)
def fallback_close(request: ApiRequest, outage_id: str, payload: CloseIn | None = None):
    outage = _scoped(request, outage_id)
    try:
        outage = services.fallback_close(
            person=request.auth,
            outage_id=outage.public_id,
            closing_note=payload.closing_note if payload is not None else "",
        )
    except services.OutageNotAllowed as exc:
        return _refused(exc)
    except services.OutageConflict as exc:
        return _conflict(exc)
    return _out(outage)
