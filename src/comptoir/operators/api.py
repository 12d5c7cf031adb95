"""Operators, registrations, memberships and the caller's own requests in the JSON API. Mounted
on the main API (comptoir.api) with `api.add_router("", operators_router)`; authentication comes
from there. Objects outside the caller's scope answer 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from comptoir.accounts.models import User
from comptoir.approvals import selectors as approval_selectors
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.core.identifiers import eori_validate
from comptoir.operators import selectors
from comptoir.operators.models import Operator, Position

router = Router(tags=["operators"])


class ApiRequest(HttpRequest):
    auth: User


class Error(Schema):
    detail: str
    code: str | None = None


_REFUSALS = {401: Error, 403: Error}


class OperatorOut(Schema):
    id: int
    eori: str
    name: str
    country: str
    address_line1: str
    address_line2: str
    postcode: str
    city: str
    phone: str
    email: str
    status: str


class RequestOut(Schema):
    id: str
    reference: str
    kind: str
    status: str
    operator_id: int | None
    submitted_at: datetime
    decided_at: datetime | None
    expires_at: datetime
    reason: str


def _request_out(request: Request) -> dict[str, Any]:
    return {
        "id": str(request.public_id),
        "reference": request.reference,
        "kind": request.kind,
        "status": request.status,
        "operator_id": request.operator_id,
        "submitted_at": request.submitted_at,
        "decided_at": request.decided_at,
        "expires_at": request.expires_at,
        "reason": request.reason,
    }


def _eori(value: str) -> str:
    try:
        return eori_validate(value=value)
    except ValidationError as exc:
        raise ValueError(" ".join(str(message) for message in exc.messages)) from None


def _required(value: str, message: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(message)
    return value


class RegistrationIn(Schema):
    """Register the company you legally represent; customs decide."""

    eori: str
    operations: list[str] = Field(default_factory=list)
    name: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""
    contact_phone: str = ""
    contact_email: str = ""

    @field_validator("eori")
    @classmethod
    def _check_eori(cls, value: str) -> str:
        return _eori(value)

    @field_validator("operations")
    @classmethod
    def _check_operations(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(_("Select at least one customs operation."))
        return value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _required(value, _("Enter the company name."))

    @field_validator("address_line1")
    @classmethod
    def _check_address(cls, value: str) -> str:
        return _required(value, _("Enter the first line of the company's address."))

    @field_validator("postcode")
    @classmethod
    def _check_postcode(cls, value: str) -> str:
        return _required(value, _("Enter the company's postcode."))

    @field_validator("city")
    @classmethod
    def _check_city(cls, value: str) -> str:
        return _required(value, _("Enter the company's town or city."))

    @field_validator("country")
    @classmethod
    def _check_country(cls, value: str) -> str:
        return _required(
            value, _("Enter the company's country as a two-letter code, for example FR.")
        ).upper()

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str) -> str:
        return _required(value, _("Enter the company's phone number."))

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        return _required(value, _("Enter the company's email address."))


class MembershipIn(Schema):
    eori: str
    role: str = Position.Role.EMPLOYEE

    @field_validator("eori")
    @classmethod
    def _check_eori(cls, value: str) -> str:
        return _eori(value)


def _unprocessable(field: str, message: str) -> ValidationError:
    """Answered 422 by the main API's ValidationError handler, like the services' errors."""
    return ValidationError({field: [message]})


@router.get(
    "/operators",
    response={200: list[OperatorOut], **_REFUSALS},
    summary="The operators where the caller holds a valid position",
)
def operators_list(request: ApiRequest):
    return selectors.operators_for_person(person=request.auth)


# Before /operators/{operator_id}, whose pattern would also match "registrations".
@router.post(
    "/operators/registrations",
    response={201: RequestOut, **_REFUSALS},
    summary="Register a company; the request waits for customs",
)
def operator_registration(request: ApiRequest, payload: RegistrationIn):
    data = payload.model_dump()
    if selectors.operator_eori_registered(eori=data["eori"]):
        raise _unprocessable(
            "eori",
            _(
                "A company with this EORI number is already registered or waiting for "
                "approval. You cannot register it again: ask to join it instead "
                "(POST /api/v1/memberships)."
            ),
        )
    authority = selectors.competent_authority_for(data["country"])
    if authority is None:
        raise _unprocessable(
            "authority",
            _(
                "No customs authority can receive registrations at the moment. Try again "
                "later or contact the service desk."
            ),
        )
    submitted = approvals.operator_registration_submit(
        requester=request.auth, authority=authority, **data
    )
    return Status(201, _request_out(submitted))


@router.get(
    "/operators/{operator_id}",
    response={200: OperatorOut, **_REFUSALS, 404: Error},
    summary="One of the caller's operators",
)
def operator_detail(request: ApiRequest, operator_id: int):
    try:
        return selectors.operator_for_person(person=request.auth, operator_id=operator_id)
    except Operator.DoesNotExist as exc:
        raise HttpError(404, "Not Found") from exc


@router.post(
    "/memberships",
    response={201: RequestOut, **_REFUSALS},
    summary="Ask to join an active operator by its EORI number",
)
def membership_request(request: ApiRequest, payload: MembershipIn):
    operator = selectors.operator_active_by_eori(eori=payload.eori)
    if operator is None:
        raise _unprocessable(
            "eori",
            _(
                "No active company is registered with this EORI number. Check the number, "
                "or ask the company's legal representative to register the company first."
            ),
        )
    submitted = approvals.membership_request_submit(
        requester=request.auth, operator=operator, role=payload.role
    )
    return Status(201, _request_out(submitted))


@router.get(
    "/requests",
    response={200: list[RequestOut], **_REFUSALS},
    summary="The requests the caller made, newest first",
)
def requests_list(request: ApiRequest):
    return [
        _request_out(item) for item in approval_selectors.requests_for_person(person=request.auth)
    ]


@router.post(
    "/requests/{request_id}/withdraw",
    response={200: RequestOut, **_REFUSALS, 404: Error, 409: Error},
    summary="Withdraw one of the caller's waiting requests",
)
def request_withdraw(request: ApiRequest, request_id: str):
    try:
        own = approval_selectors.request_for_person(person=request.auth, public_id=request_id)
    except (Request.DoesNotExist, ValidationError) as exc:  # unknown, someone else's, not a UUID
        raise HttpError(404, "Not Found") from exc
    try:
        withdrawn = approvals.request_withdraw(actor=request.auth, request_id=own.public_id)
    except (approvals.RequestAlreadyDecided, approvals.RequestExpired) as exc:
        return Status(409, {"detail": str(exc.message), "code": "request_closed"})
    return _request_out(withdrawn)
