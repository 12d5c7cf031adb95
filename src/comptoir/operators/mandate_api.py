"""Mandates in the JSON API, mounted at /api/v1/mandates (comptoir.api). Mandates and operators
outside the caller's companies answer 404; refusals within them 403 {"detail", "code"}; a
mandate no longer in a status that allows the change 409; bad input 422 with one message per
field (the main API's ValidationError handler)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from comptoir.core.api_types import ApiRequest, Error
from comptoir.operators import mandates
from comptoir.operators import selectors as operator_selectors
from comptoir.operators.models import Mandate, Operator

router = Router(tags=["mandates"])


_REFUSALS = {401: Error, 403: Error, 404: Error}


class PartyOut(Schema):
    id: int
    name: str
    eori: str


class MandateOut(Schema):
    id: str
    reference: str
    principal: PartyOut
    provider: PartyOut
    scope: str
    valid_from: date
    valid_until: date | None
    status: str
    #: proposed, declined, ended, or for an accepted mandate scheduled, in_force or expired.
    state: str
    created_at: datetime
    accepted_at: datetime | None
    declined_at: datetime | None
    ended_at: datetime | None
    ended_side: str | None
    reason: str


class MandateIn(Schema):
    operator_id: int
    provider_eori: str = ""
    scope: str = ""
    valid_from: str = ""
    valid_until: str | None = None


class ReasonIn(Schema):
    reason: str = ""
    #: For someone who manages both companies: principal or provider (default principal).
    side: str | None = None


def _party(operator: Operator) -> dict[str, Any]:
    return {"id": operator.pk, "name": operator.name, "eori": operator.eori}


def _out(mandate: Mandate) -> dict[str, Any]:
    return {
        "id": str(mandate.public_id),
        "reference": mandate.reference,
        "principal": _party(mandate.principal),
        "provider": _party(mandate.provider),
        "scope": mandate.scope,
        "valid_from": mandate.valid_from,
        "valid_until": mandate.valid_until,
        "status": mandate.status,
        "state": mandates.mandate_state(mandate),
        "created_at": mandate.created_at,
        "accepted_at": mandate.accepted_at,
        "declined_at": mandate.declined_at,
        "ended_at": mandate.ended_at,
        "ended_side": mandate.ended_side or None,
        "reason": mandate.end_reason,
    }


def _not_found() -> HttpError:
    return HttpError(404, "Not Found")


def _refused(exc: mandates.MandateNotAllowed) -> Status:
    return Status(403, {"detail": str(exc.message), "code": exc.code})


def _closed(exc: mandates.MandateClosed) -> Status:
    return Status(409, {"detail": str(exc.message), "code": exc.code})


def _operator(request: ApiRequest, operator_id: int) -> Operator:
    """An operator where the caller holds a valid position; 404 for any other."""
    try:
        return operator_selectors.operator_for_person(person=request.auth, operator_id=operator_id)
    except Operator.DoesNotExist as exc:
        raise _not_found() from exc


def _date(value: str | None, *, field: str, required: bool) -> date | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError({field: [_("Enter the date the mandate starts.")]})
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {field: [_("Enter the date as a real date in the form YYYY-MM-DD, like 2027-01-31.")]}
        ) from None


@router.get(
    "",
    response={200: list[MandateOut], **_REFUSALS},
    summary="Mandates given and received: by one of your operators, or by all of them",
)
def mandate_list(request: ApiRequest, operator_id: int | None = None):
    if operator_id is None:
        found = mandates.mandates_for_person(person=request.auth)
    else:
        found = mandates.mandates_for_operator(operator=_operator(request, operator_id))
    return [_out(item) for item in found]


@router.post(
    "",
    response={201: MandateOut, **_REFUSALS},
    summary="Propose a mandate to a service provider (by its EORI) for a scope and a period",
)
def mandate_propose(request: ApiRequest, payload: MandateIn):
    operator = _operator(request, payload.operator_id)
    errors: dict[str, list[str]] = {}
    valid_from = valid_until = None
    try:
        valid_from = _date(payload.valid_from, field="valid_from", required=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        valid_until = _date(payload.valid_until, field="valid_until", required=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        mandate = mandates.mandate_propose(
            actor=request.auth,
            principal=operator,
            provider_eori=payload.provider_eori,
            scope=payload.scope,
            valid_from=valid_from,
            valid_until=valid_until,
        )
    except mandates.MandateNotAllowed as exc:
        return _refused(exc)
    return Status(201, _out(mandate))


@router.get(
    "/{mandate_id}",
    response={200: MandateOut, **_REFUSALS},
    summary="One mandate given or received by one of your operators",
)
def mandate_detail(request: ApiRequest, mandate_id: str):
    try:
        return _out(mandates.mandate_for_person(person=request.auth, mandate_id=mandate_id))
    except Mandate.DoesNotExist as exc:
        raise _not_found() from exc


def _decide(request: ApiRequest, mandate_id: str, action: str, payload: ReasonIn | None):
    try:
        if action == "accept":
            mandate = mandates.mandate_accept(actor=request.auth, mandate_id=mandate_id)
        elif action == "decline":
            mandate = mandates.mandate_decline(
                actor=request.auth, mandate_id=mandate_id, reason=payload.reason if payload else ""
            )
        else:
            assert payload is not None
            side = (payload.side or "").strip() or None
            if side is not None and side not in Mandate.Side.values:
                raise ValidationError(
                    {"side": [_("Choose the side you act for: principal or provider.")]}
                )
            mandate = mandates.mandate_end(
                actor=request.auth, mandate_id=mandate_id, reason=payload.reason, side=side
            )
    except Mandate.DoesNotExist as exc:
        raise _not_found() from exc
    except mandates.MandateNotAllowed as exc:
        return _refused(exc)
    except mandates.MandateClosed as exc:
        return _closed(exc)
    return _out(mandate)


@router.post(
    "/{mandate_id}/accept",
    response={200: MandateOut, **_REFUSALS, 409: Error},
    summary="Accept a proposed mandate (the service provider's legal representative or managers)",
)
def mandate_accept(request: ApiRequest, mandate_id: str):
    return _decide(request, mandate_id, "accept", None)


@router.post(
    "/{mandate_id}/decline",
    response={200: MandateOut, **_REFUSALS, 409: Error},
    summary="Decline a proposed mandate, with an optional reason",
)
def mandate_decline(request: ApiRequest, mandate_id: str, payload: ReasonIn | None = None):
    return _decide(request, mandate_id, "decline", payload)


@router.post(
    "/{mandate_id}/end",
    response={200: MandateOut, **_REFUSALS, 409: Error},
    summary="End a mandate, proposed or accepted, with a reason (either company)",
)
def mandate_end(request: ApiRequest, mandate_id: str, payload: ReasonIn):
    return _decide(request, mandate_id, "end", payload)
