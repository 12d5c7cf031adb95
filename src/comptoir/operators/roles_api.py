"""Roles in the JSON API: ask for a role at an operator or an authority (POST /positions), the
authorities one may ask at (GET /authorities) and the caller's roles counted by status (GET
/positions/counts). The caller's roles themselves are GET /positions (operators.api); the
decisions go through /requests/… like every request. Mounted on the main API (comptoir.api)
with `api.add_router("", roles_router)`; authentication comes from there."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.operators import api as operators_api
from comptoir.operators import selectors
from comptoir.operators.api import ApiRequest, Error, PositionOut, RequestOut, _request_out
from comptoir.operators.models import Authority, Operator, Position

router = Router(tags=["roles"])

_REFUSALS = {401: Error, 403: Error}

# Fields of the service's messages, named as the API's body names them.
_FIELDS = {"operator": "operator_id", "authority": "authority_id", "organisation": "operator_id"}


class AuthorityOut(Schema):
    id: int
    code: str
    name: str
    country: str
    kind: str
    kind_label: str


class PositionCounts(Schema):
    requested: int
    valid: int
    suspended: int
    rejected: int
    ended: int


class RoleRequestIn(Schema):
    """Give operator_id (an operator found in the directory) or authority_id, not both."""

    operator_id: int | None = None
    authority_id: int | None = None
    role: str = Field(description="manager or employee at an operator; officer or service_desk")
    message: str = ""
    email: str = ""
    phone: str = ""


class DecidingAuthorityOut(Schema):
    id: int
    code: str
    name: str


class RoleRequestOut(RequestOut):
    validated_by: str = Field(
        description=(
            "operator: its legal representative or managers; authority: the officers of the "
            "authority asked; national_authority: the national authority (deciding_authority)"
        )
    )
    deciding_authority: DecidingAuthorityOut | None
    position: PositionOut


def position_out(position: Position) -> dict[str, Any]:
    return {
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


def _role_request_out(submitted: Request, position: Position) -> dict[str, Any]:
    deciding = submitted.authority
    return {
        **_request_out(submitted),
        "validated_by": submitted.payload.get("validated_by", ""),
        "deciding_authority": (
            {"id": deciding.pk, "code": deciding.code, "name": deciding.name} if deciding else None
        ),
        "position": position_out(position),
    }


@router.get(
    "/authorities",
    response={200: list[AuthorityOut], **_REFUSALS},
    summary="The authorities where one may ask for a role (officer or service desk)",
)
def authorities_list(request: ApiRequest, country: str = ""):
    rows = Authority.objects.order_by("country", "name", "code")
    if country := country.strip().upper():
        rows = rows.filter(country=country)
    return [
        {
            "id": authority.pk,
            "code": authority.code,
            "name": authority.name,
            "country": authority.country,
            "kind": authority.kind,
            "kind_label": str(authority.get_kind_display()),
        }
        for authority in rows
    ]


@router.get(
    "/positions/counts",
    response={200: PositionCounts, **_REFUSALS},
    summary="How many roles the caller holds in each status",
)
def positions_counts(request: ApiRequest):
    return selectors.position_counts(person=request.auth)


def _organisation(payload: RoleRequestIn) -> tuple[Operator | None, Authority | None]:
    operator_id, authority_id = payload.operator_id, payload.authority_id
    if (operator_id is None) == (authority_id is None):
        raise ValidationError(
            {"operator_id": [_("Give operator_id or authority_id: where you ask for a role.")]}
        )
    if operator_id is not None:
        operator = Operator.objects.filter(
            pk=operator_id,
            status=Operator.Status.ACTIVE,
            merged_into__isnull=True,
            deleted_at__isnull=True,
        ).first()
        if operator is None:
            raise ValidationError(
                {
                    "operator_id": [
                        _(
                            "No active operator has this id. Find the operator in the directory "
                            "(GET /api/v1/directory)."
                        )
                    ]
                }
            )
        return operator, None
    assert authority_id is not None
    authority = Authority.objects.filter(pk=authority_id).first()
    if authority is None:
        raise ValidationError(
            {
                "authority_id": [
                    _("No authority has this id. See the list: GET /api/v1/authorities.")
                ]
            }
        )
    return None, authority


# POST /positions shares its address with GET /positions (the caller's roles, operators.api).
# Django serves an address from the first URL pattern that matches it, and each router gives
# its own pattern: both methods must therefore sit in the same router, that one.
@operators_api.router.post(
    "/positions",
    response={201: RoleRequestOut, **_REFUSALS},
    tags=["roles"],
    summary="Ask for a role at an operator or an authority; the request waits for a decision",
)
def position_request(request: ApiRequest, payload: RoleRequestIn):
    operator, authority = _organisation(payload)
    try:
        submitted = approvals.role_request_submit(
            requester=request.auth,
            role=payload.role,
            operator=operator,
            authority=authority,
            message=payload.message,
            email=payload.email,
            phone=payload.phone,
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError(
            {_FIELDS.get(field, field): messages for field, messages in exc.message_dict.items()}
        ) from None
    position = Position.objects.select_related("operator", "authority").get(
        pk=submitted.payload["position"]
    )
    return Status(201, _role_request_out(submitted, position))
