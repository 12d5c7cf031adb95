"""Invitations and attaching by national company number in the JSON API. Mounted on the main
API (comptoir.api) with `api.add_router("", router)`; authentication comes from there.
Operators the caller does not manage, and invitations outside them, answer 404; bad input
answers 422 with one message per field (the main API's ValidationError handler)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from comptoir.approvals import services as approvals
from comptoir.core.api_types import ApiRequest, Error
from comptoir.operators import invitations
from comptoir.operators.models import Invitation, Operator, Position

router = Router(tags=["invitations"])


_REFUSALS = {401: Error, 403: Error}


class InvitationIn(Schema):
    email: str = ""
    role: str = Position.Role.EMPLOYEE


class InvitationOut(Schema):
    """An invitation, never with its token (the token goes only by e-mail)."""

    id: str
    operator_id: int
    email: str
    role: str
    status: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


class AcceptIn(Schema):
    token: str = ""


class PositionOut(Schema):
    id: int
    operator_id: int
    operator_name: str
    role: str
    status: str
    since: datetime | None


class CompanyNumberIn(Schema):
    country: str = ""
    number: str = ""


class CompanySummary(Schema):
    id: int
    name: str
    eori: str
    address_line1: str
    address_line2: str
    postcode: str
    city: str
    country: str


class AttachCheckOut(Schema):
    country: str
    number: str
    operator: CompanySummary
    #: attach: confirming attaches at once; request: confirming sends a membership request.
    outcome_on_confirm: str
    already_member: bool


class AttachOut(Schema):
    outcome: str
    operator: CompanySummary
    position: PositionOut | None = None
    request_id: str | None = None
    reference: str | None = None


def _invitation_out(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": str(invitation.public_id),
        "operator_id": invitation.operator_id,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitations.invitation_status(invitation),
        "invited_by": invitation.invited_by.get_username(),
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
        "accepted_at": invitation.accepted_at,
        "revoked_at": invitation.revoked_at,
    }


def _position_out(position: Position) -> dict[str, Any]:
    assert position.operator is not None
    return {
        "id": position.pk,
        "operator_id": position.operator.pk,
        "operator_name": position.operator.name,
        "role": position.role,
        "status": position.status,
        "since": position.since,
    }


def _summary(operator: Operator) -> dict[str, Any]:
    return {
        "id": operator.pk,
        "name": operator.name,
        "eori": operator.eori,
        "address_line1": operator.address_line1,
        "address_line2": operator.address_line2,
        "postcode": operator.postcode,
        "city": operator.city,
        "country": operator.country,
    }


def _not_found() -> HttpError:
    return HttpError(404, "Not Found")


def _managed(request: ApiRequest, operator_id: int) -> Operator:
    """The operator the caller may invite to; 403 for other members of its space, else 404."""
    try:
        return invitations.operator_for_inviter(person=request.auth, operator_id=operator_id)
    except invitations.NotAllowedToInvite as exc:
        raise HttpError(403, str(exc.message)) from exc
    except Operator.DoesNotExist as exc:
        raise _not_found() from exc


@router.post(
    "/operators/{operator_id}/invitations",
    response={201: InvitationOut, **_REFUSALS, 404: Error},
    summary="Invite someone by e-mail to join the operator as manager or employee",
)
def invitation_create(request: ApiRequest, operator_id: int, payload: InvitationIn):
    operator = _managed(request, operator_id)
    try:
        invitation = invitations.invitation_create(
            actor=request.auth,
            operator=operator,
            email=payload.email,
            role=payload.role,
            base_url=request.build_absolute_uri("/"),
        )
    except invitations.NotAllowedToInvite as exc:
        raise _not_found() from exc
    return Status(201, _invitation_out(invitation))


@router.get(
    "/operators/{operator_id}/invitations",
    response={200: list[InvitationOut], **_REFUSALS, 404: Error},
    summary="The operator's invitations waiting to be accepted, newest first",
)
def invitations_open(request: ApiRequest, operator_id: int):
    try:
        found = invitations.invitations_open_for_operator(
            person=request.auth, operator_id=operator_id
        )
    except Operator.DoesNotExist as exc:
        raise _not_found() from exc
    return [_invitation_out(item) for item in found]


@router.post(
    "/operators/{operator_id}/invitations/{invitation_id}/revoke",
    response={200: InvitationOut, **_REFUSALS, 404: Error, 409: Error},
    summary="Revoke an invitation that was not accepted yet",
)
def invitation_revoke(request: ApiRequest, operator_id: int, invitation_id: str):
    try:
        invitation = invitations.invitation_for_inviter(
            person=request.auth, operator_id=operator_id, public_id=invitation_id
        )
    except Invitation.DoesNotExist as exc:
        raise _not_found() from exc
    try:
        revoked = invitations.invitation_revoke(actor=request.auth, invitation=invitation)
    except invitations.NotAllowedToInvite as exc:
        raise _not_found() from exc
    except invitations.InvitationClosed as exc:
        return Status(409, {"detail": str(exc.text), "code": exc.reason})
    return _invitation_out(revoked)


@router.post(
    "/invitations/accept",
    response={200: PositionOut, **_REFUSALS, 404: Error},
    summary="Accept an invitation with the token from its e-mail",
)
def invitation_accept(request: ApiRequest, payload: AcceptIn):
    if not payload.token.strip():
        raise ValidationError({"token": [_("Enter the token of the invitation link.")]})
    try:
        position = invitations.invitation_accept(actor=request.auth, token=payload.token)
    except invitations.InvitationUnknown as exc:  # unknown and used alike
        return Status(404, {"detail": str(exc.text), "code": exc.reason})
    return _position_out(position)


def _company(payload: CompanyNumberIn) -> tuple[str, str, Operator]:
    country, number = invitations.company_number_check(
        country=payload.country, number=payload.number
    )
    operator = invitations.operator_for_company_number(country=country, number=number)
    if operator is None:
        raise ValidationError(
            {
                "number": [
                    _(
                        "No active company is registered on Comptoir with this company number. "
                        "Check the number, or register the company (POST "
                        "/api/v1/operators/registrations)."
                    )
                ]
            }
        )
    return country, number, operator


@router.post(
    "/attachments/check",
    response={200: AttachCheckOut, **_REFUSALS},
    summary="Check a national company number and show the company it belongs to",
)
def attachment_check(request: ApiRequest, payload: CompanyNumberIn):
    country, number, operator = _company(payload)
    try:
        invitations.attach_check_not_member(person=request.auth, operator=operator)
        already = False
    except invitations.AttachRefused:
        already = True
    return {
        "country": country,
        "number": number,
        "operator": _summary(operator),
        "outcome_on_confirm": (
            "attach" if invitations.attach_is_direct(country=country) else "request"
        ),
        "already_member": already,
    }


@router.post(
    "/attachments",
    response={201: AttachOut, **_REFUSALS},
    summary="Attach to the company of this number, or ask to join it, as an employee",
)
def attachment_create(request: ApiRequest, payload: CompanyNumberIn):
    country, number, operator = _company(payload)
    outcome = approvals.company_attach_submit(
        person=request.auth, operator=operator, country=country, number=number
    )
    return Status(
        201,
        {
            "outcome": outcome.outcome,
            "operator": _summary(operator),
            "position": _position_out(outcome.position) if outcome.position else None,
            "request_id": outcome.request_id or None,
            "reference": outcome.reference or None,
        },
    )
