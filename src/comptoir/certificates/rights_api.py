"""Access to certificate registration in the JSON API, mounted at /api/v1/certificate-access
(comptoir.api): ask customs for it, and list an operator's rights (asked, granted, refused,
withdrawn). Operators outside the caller's companies answer 404; a member who may not ask 403
{"detail", "code"}; bad input 422 with one message per field (the main API's ValidationError
handler). Customs decide through /api/v1/requests like every other request."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from comptoir.approvals.models import Request
from comptoir.certificates import rights
from comptoir.certificates.models import RegistrationRight
from comptoir.core.api_types import ApiRequest, Error
from comptoir.operators import selectors as operator_selectors
from comptoir.operators.models import Operator

router = Router(tags=["certificates"])


_REFUSALS = {401: Error, 403: Error, 404: Error}


class RightOut(Schema):
    id: str
    operator_id: int
    eori: str
    company_name: str
    account_name: str
    wanted_on: date
    environment: str
    #: requested, granted, refused or withdrawn.
    status: str
    #: The approvals request customs decide (its reference and public id).
    request_reference: str | None
    request_id: str | None
    requested_by: str
    requested_at: datetime
    decided_at: datetime | None


class RightIn(Schema):
    operator_id: int
    account_name: str = ""
    #: YYYY-MM-DD, today or later.
    wanted_on: str = ""
    #: production or conformance.
    environment: str = ""


def _out(right: RegistrationRight, requests: dict[uuid.UUID, Request]) -> dict[str, Any]:
    submitted = requests.get(right.request_id) if right.request_id else None
    return {
        "id": str(right.public_id),
        "operator_id": right.operator_id,
        "eori": right.eori,
        "company_name": right.company_name,
        "account_name": right.account_name,
        "wanted_on": right.wanted_on,
        "environment": right.environment,
        "status": right.status,
        "request_reference": submitted.reference if submitted else None,
        "request_id": str(right.request_id) if right.request_id else None,
        "requested_by": right.requested_by.get_username(),
        "requested_at": right.requested_at,
        "decided_at": right.decided_at,
    }


def _many(found: list[RegistrationRight]) -> list[dict[str, Any]]:
    requests = rights.registration_right_requests(found)
    return [_out(right, requests) for right in found]


def _not_found() -> HttpError:
    return HttpError(404, "Not Found")


def _operator(request: ApiRequest, operator_id: int) -> Operator:
    """An operator where the caller holds a valid position; 404 for any other."""
    try:
        return operator_selectors.operator_for_person(person=request.auth, operator_id=operator_id)
    except Operator.DoesNotExist as exc:
        raise _not_found() from exc


def _date(value: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None  # the service says it is missing
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {
                "wanted_on": [
                    _("Enter the date as a real date in the form YYYY-MM-DD, like 2027-01-31.")
                ]
            }
        ) from None


@router.get(
    "",
    response={200: list[RightOut], **_REFUSALS},
    summary="Access to certificate registration: of one of your operators, or of all of them",
)
def access_list(request: ApiRequest, operator_id: int | None = None):
    if operator_id is not None:
        found = rights.registration_rights_for_operator(operator=_operator(request, operator_id))
    else:
        found = rights.registration_rights_for_person(person=request.auth)
    return _many(list(found))


@router.post(
    "",
    response={201: RightOut, **_REFUSALS},
    summary="Ask customs for access to certificate registration (one environment)",
)
def access_request(request: ApiRequest, payload: RightIn):
    operator = _operator(request, payload.operator_id)
    try:
        right = rights.registration_right_request(
            person=request.auth,
            operator=operator,
            account_name=payload.account_name,
            wanted_on=_date(payload.wanted_on),
            environment=payload.environment,
        )
    except rights.RightNotAllowed as exc:
        return Status(403, {"detail": str(exc.message), "code": exc.code})
    return Status(201, _many([right])[0])


@router.get(
    "/{right_id}",
    response={200: RightOut, **_REFUSALS},
    summary="One access to certificate registration of one of your operators",
)
def access_detail(request: ApiRequest, right_id: str):
    try:
        right = rights.registration_right_for_person(person=request.auth, right_id=right_id)
    except RegistrationRight.DoesNotExist as exc:
        raise _not_found() from exc
    return _many([right])[0]
