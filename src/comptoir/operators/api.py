"""Operators, registrations, memberships and the caller's own requests in the JSON API. Mounted
on the main API (comptoir.api) with `api.add_router("", operators_router)`; authentication comes
from there. Objects outside the caller's scope answer 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from comptoir.accounts.models import User
from comptoir.approvals import selectors as approval_selectors
from comptoir.approvals import services as approvals
from comptoir.approvals import spaces
from comptoir.approvals.models import Request
from comptoir.core.api_types import ApiRequest, Error
from comptoir.core.identifiers import eori_validate
from comptoir.operators import activities, selectors
from comptoir.operators import services as operator_services
from comptoir.operators.models import (
    ActivityType,
    Operator,
    OperatorActivity,
    OperatorOperation,
    Position,
)

router = Router(tags=["operators"])


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
    accept_terms: bool = Field(default=False, validate_default=True)

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

    @field_validator("accept_terms")
    @classmethod
    def _check_accept_terms(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                _(
                    "Confirm that you are the company's legal representative and accept the "
                    "terms of use."
                )
            )
        return value


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
    data = payload.model_dump(exclude={"accept_terms"})
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
    summary="One of the caller's operators (a merged space answers the one kept)",
)
def operator_detail(request: ApiRequest, operator_id: int):
    operator, _acting = _space(request, operator_id)
    return operator


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
    submitted = approvals.role_request_submit(
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


# --- Professional spaces ------------------------------------------------------------------------


class MemberOut(Schema):
    position_id: int
    person_id: int
    username: str
    name: str
    role: str
    role_label: str
    status: str
    status_label: str
    since: datetime | None
    until: datetime | None


class PositionOut(Schema):
    id: int
    operator_id: int | None
    operator_name: str | None
    authority_code: str | None
    authority_name: str | None
    role: str
    role_label: str
    status: str
    status_label: str
    since: datetime | None
    until: datetime | None


class OperationOut(Schema):
    code: str
    label: str
    granted_at: datetime
    granted_by: str | None
    granted_by_request: str | None = Field(
        None, description="Reference of the request that granted it, if any."
    )


class GrantOut(OperationOut):
    revoked_at: datetime | None
    revoked_by: str | None
    revoked_by_request: str | None = Field(
        None, description="Reference of the request that revoked it, if any."
    )


class RoleIn(Schema):
    role: str

    @field_validator("role")
    @classmethod
    def _check_role(cls, value: str) -> str:
        if value not in (Position.Role.MANAGER, Position.Role.EMPLOYEE):
            raise ValueError(_("Choose the new role: manager or employee."))
        return value


class OperationChangeIn(Schema):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class TransferIn(Schema):
    to_person: int


class MergeIn(Schema):
    other_operator_id: int


def _space(
    request: ApiRequest, operator_id: int, *, administrator: bool = False
) -> tuple[Operator, Position | None]:
    """The caller's space (a merged one resolves to the one kept); 404 outside their scope."""
    try:
        operator = selectors.space_for_person(
            person=request.auth, operator_id=operator_id, administrator=administrator
        )
    except Operator.DoesNotExist as exc:
        raise HttpError(404, "Not Found") from exc
    return operator, selectors.space_position_of(person=request.auth, operator=operator)


def _forbidden(message: object) -> Status:
    return Status(403, {"detail": str(message), "code": "not_allowed"})


def _suspended() -> Status:
    return _forbidden(_("Your position in this company is suspended."))


def _name(person: User | None) -> str | None:
    if person is None:
        return None
    return person.get_full_name() or person.username


def _member_out(position: Position) -> dict[str, Any]:
    return {
        "position_id": position.pk,
        "person_id": position.person_id,
        "username": position.person.username,
        "name": _name(position.person),
        "role": position.role,
        "role_label": str(position.get_role_display()),
        "status": position.status,
        "status_label": str(position.get_status_display()),
        "since": position.since,
        "until": position.until,
    }


def _grant_out(grant: OperatorOperation, references: dict[Any, str]) -> dict[str, Any]:
    language = (get_language() or "en")[:2]
    return {
        "code": grant.operation.code,
        "label": grant.operation.label_in(language),
        "granted_at": grant.granted_at,
        "granted_by": _name(grant.granted_by),
        "granted_by_request": references.get(grant.granted_by_request),
        "revoked_at": grant.revoked_at,
        "revoked_by": _name(grant.revoked_by),
        "revoked_by_request": references.get(grant.revoked_by_request),
    }


def _grants_out(grants: list[OperatorOperation]) -> list[dict[str, Any]]:
    references = spaces.request_references(
        public_ids=[g.granted_by_request for g in grants] + [g.revoked_by_request for g in grants]
    )
    return [_grant_out(grant, references) for grant in grants]


_SPACE = {**_REFUSALS, 404: Error}


@router.get(
    "/positions",
    response={200: list[PositionOut], **_REFUSALS},
    summary="The caller's own positions, in every status, newest first",
)
def positions_list(request: ApiRequest):
    return [
        {
            "id": position.pk,
            "operator_id": position.operator_id,
            "operator_name": position.operator.name if position.operator else None,
            "authority_code": position.authority.code if position.authority else None,
            "authority_name": position.authority.name if position.authority else None,
            "role": position.role,
            "role_label": str(position.get_role_display()),
            "status": position.status,
            "status_label": str(position.get_status_display()),
            "since": position.since,
            "until": position.until,
        }
        for position in selectors.positions_for_person(person=request.auth)
    ]


@router.get(
    "/operators/{operator_id}/members",
    response={200: list[MemberOut], **_SPACE},
    summary="The operator's members (legal representative and managers: requests too)",
)
def members_list(request: ApiRequest, operator_id: int):
    operator, acting = _space(request, operator_id)
    if acting is None or acting.status != Position.Status.VALID:
        return _suspended()
    return [
        _member_out(position)
        for position in selectors.space_members(operator=operator, viewer=acting)
    ]


def _member_action(
    request: ApiRequest, operator_id: int, position_id: int, action: Any, **kwargs: Any
):
    operator, _acting = _space(request, operator_id)
    try:
        position = selectors.space_member(operator=operator, position_id=position_id)
    except Position.DoesNotExist as exc:
        raise HttpError(404, "Not Found") from exc
    try:
        changed = action(actor=request.auth, position=position, **kwargs)
    except operator_services.NotAllowed as exc:
        return _forbidden(exc.message)
    return _member_out(changed)


@router.post(
    "/operators/{operator_id}/members/{position_id}/role",
    response={200: MemberOut, **_SPACE},
    summary="Move a member between manager and employee (answers the new position)",
)
def member_role(request: ApiRequest, operator_id: int, position_id: int, payload: RoleIn):
    return _member_action(
        request,
        operator_id,
        position_id,
        operator_services.position_role_change,
        role=payload.role,
    )


@router.post(
    "/operators/{operator_id}/members/{position_id}/suspend",
    response={200: MemberOut, **_SPACE},
    summary="Suspend a member's valid position",
)
def member_suspend(request: ApiRequest, operator_id: int, position_id: int):
    return _member_action(
        request, operator_id, position_id, operator_services.position_member_suspend
    )


@router.post(
    "/operators/{operator_id}/members/{position_id}/reinstate",
    response={200: MemberOut, **_SPACE},
    summary="Reinstate a member's suspended position",
)
def member_reinstate(request: ApiRequest, operator_id: int, position_id: int):
    return _member_action(
        request, operator_id, position_id, operator_services.position_member_reinstate
    )


@router.post(
    "/operators/{operator_id}/members/{position_id}/end",
    response={200: MemberOut, **_SPACE},
    summary="End a member's position",
)
def member_end(request: ApiRequest, operator_id: int, position_id: int):
    return _member_action(request, operator_id, position_id, operator_services.position_member_end)


@router.post(
    "/operators/{operator_id}/leave",
    response={200: list[MemberOut], **_SPACE},
    summary="End the caller's own positions in the operator (not the legal representative's)",
)
def leave(request: ApiRequest, operator_id: int):
    operator, _acting = _space(request, operator_id)
    try:
        ended = operator_services.position_leave(actor=request.auth, operator=operator)
    except operator_services.NotAllowed as exc:
        return _forbidden(exc.message)
    return [_member_out(position) for position in ended]


@router.get(
    "/operators/{operator_id}/operations",
    response={200: list[OperationOut], **_SPACE},
    summary="The customs operations the operator holds now",
)
def operations_current(request: ApiRequest, operator_id: int):
    operator, acting = _space(request, operator_id)
    if acting is None or acting.status != Position.Status.VALID:
        return _suspended()
    return _grants_out(list(selectors.operations_current(operator=operator)))


@router.get(
    "/operators/{operator_id}/operations/history",
    response={200: list[GrantOut], **_SPACE},
    summary="Every customs operation granted to the operator, current or revoked, oldest first",
)
def operations_history(request: ApiRequest, operator_id: int):
    operator, acting = _space(request, operator_id)
    if acting is None or acting.status != Position.Status.VALID:
        return _suspended()
    return _grants_out(list(selectors.operation_history(operator=operator)))


@router.post(
    "/operators/{operator_id}/operation-changes",
    response={201: RequestOut, **_SPACE},
    summary="Ask customs to add or remove operations (legal representative; one at a time)",
)
def operation_change(request: ApiRequest, operator_id: int, payload: OperationChangeIn):
    operator, _acting = _space(request, operator_id)
    try:
        submitted = spaces.space_operation_change_submit(
            actor=request.auth, operator=operator, add=payload.add, remove=payload.remove
        )
    except operator_services.NotAllowed as exc:
        return _forbidden(exc.message)
    return Status(201, _request_out(submitted))


@router.post(
    "/operators/{operator_id}/transfer",
    response={201: RequestOut, **_SPACE},
    summary="Ask customs to transfer the legal representation to a valid member",
)
def transfer(request: ApiRequest, operator_id: int, payload: TransferIn):
    operator, _acting = _space(request, operator_id)
    try:
        submitted = spaces.space_transfer_submit(
            actor=request.auth, operator=operator, to_person_id=payload.to_person
        )
    except operator_services.NotAllowed as exc:
        return _forbidden(exc.message)
    return Status(201, _request_out(submitted))


@router.post(
    "/operators/{operator_id}/merge",
    response={200: OperatorOut, **_SPACE},
    summary="Merge another space of the same company into this one (answers the one kept)",
)
def merge(request: ApiRequest, operator_id: int, payload: MergeIn):
    operator, acting = _space(request, operator_id, administrator=True)
    if not (request.auth.is_superuser or selectors.space_is_legal_representative(position=acting)):
        return _forbidden(_("Only the legal representative of both spaces can merge them."))
    try:
        other = selectors.space_for_person(
            person=request.auth, operator_id=payload.other_operator_id, administrator=True
        )
    except Operator.DoesNotExist:
        raise _unprocessable(
            "other_operator_id",
            _("Choose another professional space of the same company that you represent."),
        ) from None
    try:
        return spaces.space_merge(actor=request.auth, kept=operator, merged=other)
    except operator_services.NotAllowed as exc:
        return _forbidden(exc.message)
    except ValidationError as exc:
        raise ValidationError(
            {
                ("other_operator_id" if field == "other_operator" else field): messages
                for field, messages in exc.message_dict.items()
            }
        ) from None


@router.delete(
    "/operators/{operator_id}",
    response={204: None, **_SPACE},
    summary="Delete the operator's professional space (legal representative); purged later",
)
def delete(request: ApiRequest, operator_id: int):
    operator, _acting = _space(request, operator_id, administrator=True)
    try:
        spaces.space_delete(actor=request.auth, operator=operator)
    except operator_services.NotAllowed as exc:
        return _forbidden(exc.message)
    return Status(204, None)


# --- Activities ---------------------------------------------------------------------------------


class ActivityTypeOut(Schema):
    id: int
    code: str
    label: str


class ActivitySectionOut(Schema):
    code: str
    label: str
    types: list[ActivityTypeOut]


class ActivityOut(Schema):
    id: int
    section: str
    section_label: str
    activity_type_id: int
    activity_type: str
    label: str
    identifier: str
    added_at: datetime
    added_by: str | None


class ActivityIn(Schema):
    activity_type_id: int = Field(..., description="An id from GET /api/v1/activity-types.")
    identifier: str = Field(
        "", description="The identifier the operator holds for this activity (optional)."
    )

    @field_validator("identifier")
    @classmethod
    def _check_identifier(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) > activities.IDENTIFIER_MAX:
            raise ValueError(
                _("Enter an identifier of %(max)s characters or fewer.")
                % {"max": activities.IDENTIFIER_MAX}
            )
        return value


def _activity_out(activity: OperatorActivity) -> dict[str, Any]:
    language = (get_language() or "en")[:2]
    activity_type = activity.activity_type
    return {
        "id": activity.pk,
        "section": activity_type.section.code,
        "section_label": activity_type.section.label_in(language),
        "activity_type_id": activity_type.pk,
        "activity_type": activity_type.code,
        "label": activity_type.label_in(language),
        "identifier": activity.identifier,
        "added_at": activity.added_at,
        "added_by": _name(activity.added_by),
    }


@router.get(
    "/activity-types",
    response={200: list[ActivitySectionOut], **_REFUSALS},
    summary="The catalogue of activity types an operator may add, by section",
)
def activity_types(request: ApiRequest):
    language = (get_language() or "en")[:2]
    return [
        {
            "code": section.code,
            "label": section.label_in(language),
            "types": [
                {"id": item.pk, "code": item.code, "label": item.label_in(language)}
                for item in section.offered  # type: ignore[attr-defined]
            ],
        }
        for section in activities.activity_sections_catalogue()
    ]


@router.get(
    "/operators/{operator_id}/activities",
    response={200: list[ActivityOut], **_SPACE},
    summary="The operator's activities, by section",
)
def activities_list(request: ApiRequest, operator_id: int):
    operator, _acting = _space(request, operator_id)
    return [_activity_out(item) for item in activities.operator_activities(operator=operator)]


@router.post(
    "/operators/{operator_id}/activities",
    response={201: ActivityOut, **_SPACE},
    summary="Add an activity to the operator (legal representative and managers)",
)
def activity_add(request: ApiRequest, operator_id: int, payload: ActivityIn):
    operator, _acting = _space(request, operator_id)
    if not activities.activity_can_manage(actor=request.auth, operator=operator):
        return _forbidden(
            _("Only the legal representative and managers can change the company's activities.")
        )
    activity_type = ActivityType.objects.filter(pk=payload.activity_type_id).first()
    if activity_type is None:
        raise _unprocessable(
            "activity_type_id",
            _("Choose an activity type from the catalogue (GET /api/v1/activity-types)."),
        )
    try:
        added = activities.operator_activity_add(
            actor=request.auth,
            operator=operator,
            activity_type=activity_type,
            identifier=payload.identifier,
        )
    except operator_services.NotAllowed as exc:
        return _forbidden(exc.message)
    except ValidationError as exc:
        raise ValidationError(
            {
                ("activity_type_id" if field == "activity_type" else field): messages
                for field, messages in exc.message_dict.items()
            }
        ) from None
    return Status(201, _activity_out(added))


@router.delete(
    "/operators/{operator_id}/activities/{activity_id}",
    response={204: None, **_SPACE},
    summary="Remove one of the operator's activities (legal representative and managers)",
)
def activity_remove(request: ApiRequest, operator_id: int, activity_id: int):
    operator, _acting = _space(request, operator_id)
    try:
        activity = activities.operator_activity(operator=operator, activity_id=activity_id)
    except OperatorActivity.DoesNotExist as exc:
        raise HttpError(404, "Not Found") from exc
    try:
        activities.operator_activity_remove(
            actor=request.auth, operator=operator, activity=activity
        )
    except operator_services.NotAllowed as exc:
        return _forbidden(exc.message)
    except OperatorActivity.DoesNotExist as exc:
        raise HttpError(404, "Not Found") from exc
    return Status(204, None)
