"""What each kind of request means: who decides it, what it needs at submission, and the effect
its decision applies (inside the decision's transaction). One entry per kind in HANDLERS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.approvals.models import Request
from comptoir.operators import services as operators
from comptoir.operators.models import (
    Authority,
    CustomsOperation,
    Operator,
    OperatorOperation,
    Position,
)

Role = Position.Role
RS = Request.Status


@dataclass(frozen=True)
class Submission:
    requester: User
    operator: Operator | None
    authority: Authority | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class KindHandler:
    decided_in: Literal["authority", "operator"]
    decider_roles: frozenset[str]
    validate: Callable[[Submission], None]
    on_approved: Callable[[Request, User], None]
    # Rejected, withdrawn or expired: undo what the submission prepared. Actor None on expiry.
    on_closed: Callable[[Request, User | None], None]
    # More (label, value) rows for the request's summary, for kinds whose payload needs them.
    detail_rows: Callable[[Request], list[tuple[Any, str]]] | None = None


HANDLERS: dict[str, KindHandler] = {}


def register(kind: str, handler: KindHandler) -> None:
    HANDLERS[kind] = handler


def handler_for(kind: str) -> KindHandler:
    try:
        return HANDLERS[kind]
    except KeyError:
        raise ValidationError({"kind": _("This kind of request is not handled.")}) from None


def deciders(request: Request) -> QuerySet[User]:
    """The people who may approve or reject the request (never the requester)."""
    handler = handler_for(request.kind)
    organisation = (
        {"positions__authority_id": request.authority_id}
        if handler.decided_in == "authority"
        else {"positions__operator_id": request.operator_id}
    )
    if next(iter(organisation.values())) is None:
        return User.objects.none()
    return (
        User.objects.filter(
            is_active=True,
            positions__status=Position.Status.VALID,
            positions__role__in=handler.decider_roles,
            **organisation,
        )
        .exclude(pk=request.requester_id)
        .distinct()
        .order_by("pk")
    )


# --- helpers ------------------------------------------------------------------------------------


def require_authority(submission: Submission) -> None:
    if submission.authority is None:
        raise ValidationError({"authority": _("Choose the competent customs authority.")})


def _submitted_position(payload: dict[str, Any]) -> Position | None:
    position_id = payload.get("position")
    if not isinstance(position_id, int):
        return None
    return Position.objects.filter(pk=position_id).first()


def _position(request: Request) -> Position:
    return Position.objects.get(pk=request.payload["position"])


def _close_position(request: Request, actor: User | None) -> None:
    position = _position(request)
    if position.status != Position.Status.REQUESTED:
        return
    if request.status == RS.REJECTED:
        operators.position_reject(actor=actor, position=position)
    else:
        operators.position_end(actor=actor, position=position)


def _codes(payload: dict[str, Any], key: str) -> list[str]:
    value = payload.get(key, [])
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValidationError({key: _("Choose customs operations from the list.")})
    return value


def _known_operations(codes: list[str], key: str) -> dict[str, CustomsOperation]:
    found = operators.operations_by_code(codes)
    unknown = sorted(set(codes) - set(found))
    if unknown:
        raise ValidationError(
            {
                key: _("These customs operations do not exist or are no longer offered: %(codes)s.")
                % {"codes": ", ".join(unknown)}
            }
        )
    return found


def _current_codes(operator: Operator) -> set[str]:
    return set(
        OperatorOperation.objects.filter(operator=operator, revoked_at__isnull=True).values_list(
            "operation__code", flat=True
        )
    )


def _open_request_exists(kind: str, operator: Operator | None) -> bool:
    return Request.objects.filter(kind=kind, operator=operator, status=RS.SUBMITTED).exists()


def _is_valid_legal_representative(person: User, operator: Operator | None) -> bool:
    return Position.objects.filter(
        person=person,
        operator=operator,
        role=Role.LEGAL_REPRESENTATIVE,
        status=Position.Status.VALID,
    ).exists()


# --- operator registration ----------------------------------------------------------------------


def _registration_validate(submission: Submission) -> None:
    require_authority(submission)
    operator = submission.operator
    if operator is None or operator.status != Operator.Status.PENDING:
        raise ValidationError({"operator": _("Only a new operator can be registered.")})
    codes = _codes(submission.payload, "operations")
    if not codes:
        raise ValidationError({"operations": _("Choose at least one customs operation.")})
    _known_operations(codes, "operations")
    position = _submitted_position(submission.payload)
    if (
        position is None
        or position.person_id != submission.requester.pk
        or position.operator_id != operator.pk
        or position.role != Role.LEGAL_REPRESENTATIVE
        or position.status != Position.Status.REQUESTED
    ):
        raise ValidationError(
            {"position": _("The registration must name you as the legal representative.")}
        )


def _registration_approved(request: Request, actor: User) -> None:
    operator = request.operator
    assert operator is not None
    operators.operator_activate(actor=actor, operator=operator)
    operators.position_validate(actor=actor, position=_position(request))
    found = operators.operations_by_code(request.payload["operations"])
    for code in request.payload["operations"]:
        if code in found:
            operators.operation_grant(
                actor=actor, operator=operator, operation=found[code], request_id=request.public_id
            )


def _registration_closed(request: Request, actor: User | None) -> None:
    _close_position(request, actor)
    operator = request.operator
    if operator is not None and operator.status == Operator.Status.PENDING:
        operators.operator_close(actor=actor, operator=operator)


register(
    Request.Kind.OPERATOR_REGISTRATION,
    KindHandler(
        decided_in="authority",
        decider_roles=frozenset({Role.OFFICER}),
        validate=_registration_validate,
        on_approved=_registration_approved,
        on_closed=_registration_closed,
    ),
)


# --- membership ---------------------------------------------------------------------------------


def _membership_validate(submission: Submission) -> None:
    operator = submission.operator
    if operator is None or operator.status != Operator.Status.ACTIVE:
        raise ValidationError({"operator": _("You can only join an active operator.")})
    position = _submitted_position(submission.payload)
    if (
        position is None
        or position.person_id != submission.requester.pk
        or position.operator_id != operator.pk
        or position.role not in (Role.MANAGER, Role.EMPLOYEE)
        or position.status != Position.Status.REQUESTED
    ):
        raise ValidationError({"position": _("Choose the role you ask for: manager or employee.")})


def _position_approved(request: Request, actor: User) -> None:
    """A request for a role (membership, operator role, authority role): the position is valid."""
    operators.position_validate(actor=actor, position=_position(request))


register(
    Request.Kind.MEMBERSHIP,
    KindHandler(
        decided_in="operator",
        decider_roles=frozenset({Role.LEGAL_REPRESENTATIVE, Role.MANAGER}),
        validate=_membership_validate,
        on_approved=_position_approved,
        on_closed=_close_position,
    ),
)


# --- change of customs operations ---------------------------------------------------------------


def _operation_change_validate(submission: Submission) -> None:
    require_authority(submission)
    operator = submission.operator
    if operator is None or operator.status != Operator.Status.ACTIVE:
        raise ValidationError({"operator": _("Only an active operator can change its operations.")})
    if not _is_valid_legal_representative(submission.requester, operator):
        raise ValidationError(
            {"operator": _("Only the legal representative can change the operator's operations.")}
        )
    if _open_request_exists(Request.Kind.OPERATION_CHANGE, operator):
        raise ValidationError(
            {"operator": _("A change of operations is already waiting for a decision.")}
        )
    add = _codes(submission.payload, "add")
    remove = _codes(submission.payload, "remove")
    if not add and not remove:
        raise ValidationError({"add": _("Choose at least one operation to add or remove.")})
    if set(add) & set(remove):
        raise ValidationError({"add": _("An operation cannot be both added and removed.")})
    _known_operations(add, "add")
    current = _current_codes(operator)
    if set(add) & current:
        raise ValidationError(
            {
                "add": _("The operator already holds %(codes)s.")
                % {"codes": ", ".join(sorted(set(add) & current))}
            }
        )
    if set(remove) - current:
        raise ValidationError(
            {
                "remove": _("The operator does not hold %(codes)s.")
                % {"codes": ", ".join(sorted(set(remove) - current))}
            }
        )


def _operation_change_approved(request: Request, actor: User) -> None:
    operator = request.operator
    assert operator is not None
    current = _current_codes(operator)
    catalogue = {
        operation.code: operation
        for operation in CustomsOperation.objects.filter(
            code__in=[*request.payload["add"], *request.payload["remove"]]
        )
    }
    for code in request.payload["remove"]:
        if code in current:
            operators.operation_revoke(
                actor=actor,
                operator=operator,
                operation=catalogue[code],
                request_id=request.public_id,
            )
    for code in request.payload["add"]:
        if code not in current and code in catalogue:
            operators.operation_grant(
                actor=actor,
                operator=operator,
                operation=catalogue[code],
                request_id=request.public_id,
            )


def _nothing_to_undo(request: Request, actor: User | None) -> None:
    return None


register(
    Request.Kind.OPERATION_CHANGE,
    KindHandler(
        decided_in="authority",
        decider_roles=frozenset({Role.OFFICER}),
        validate=_operation_change_validate,
        on_approved=_operation_change_approved,
        on_closed=_nothing_to_undo,
    ),
)


# --- transfer of the legal representation -------------------------------------------------------


def _transfer_validate(submission: Submission) -> None:
    require_authority(submission)
    operator = submission.operator
    if operator is None or operator.status != Operator.Status.ACTIVE:
        raise ValidationError({"operator": _("Only an active operator can be represented.")})
    if not _is_valid_legal_representative(submission.requester, operator):
        raise ValidationError(
            {"operator": _("Only the legal representative can transfer the representation.")}
        )
    if _open_request_exists(Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER, operator):
        raise ValidationError(
            {"operator": _("A transfer of the legal representation is already waiting.")}
        )
    to_person = submission.payload.get("to_person")
    if (
        to_person == submission.requester.pk
        or not Position.objects.filter(
            person_id=to_person,
            operator=operator,
            status=Position.Status.VALID,
            role__in=(Role.MANAGER, Role.EMPLOYEE),
        ).exists()
    ):
        raise ValidationError(
            {"to_person": _("Choose a member of the operator to become its legal representative.")}
        )


def _transfer_approved(request: Request, actor: User) -> None:
    operator = request.operator
    assert operator is not None
    for position in Position.objects.filter(
        operator=operator, role=Role.LEGAL_REPRESENTATIVE, status=Position.Status.VALID
    ):
        operators.position_end(actor=actor, position=position)
    operators.position_appoint(
        actor=actor,
        person=User.objects.get(pk=request.payload["to_person"]),
        operator=operator,
        role=Role.LEGAL_REPRESENTATIVE,
    )


register(
    Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER,
    KindHandler(
        decided_in="authority",
        decider_roles=frozenset({Role.OFFICER}),
        validate=_transfer_validate,
        on_approved=_transfer_approved,
        on_closed=_nothing_to_undo,
    ),
)


# --- roles asked from the directory -------------------------------------------------------------
# A role at an operator with a valid legal representative or manager is a membership request
# (above). At an operator without any, the national authority of its country decides
# (operator_role); at an authority, its officers decide, or the national authority when the
# authority has none (authority_role). The position waits as requested until the decision.


def _requested_position(submission: Submission, roles: frozenset[str]) -> Position:
    position = _submitted_position(submission.payload)
    if (
        position is None
        or position.person_id != submission.requester.pk
        or position.role not in roles
        or position.status != Position.Status.REQUESTED
    ):
        raise ValidationError({"position": _("The request must name the role you ask for.")})
    return position


def operator_has_deciders(*, operator: Operator, requester: User) -> bool:
    """Whether someone other than the requester can decide a role at the operator: a valid
    legal representative or manager with an active account."""
    return (
        Position.objects.filter(
            operator=operator,
            status=Position.Status.VALID,
            role__in=(Role.LEGAL_REPRESENTATIVE, Role.MANAGER),
            person__is_active=True,
        )
        .exclude(person=requester)
        .exists()
    )


def authority_has_officers(*, authority: Authority, requester: User) -> bool:
    """Whether someone other than the requester can decide a role at the authority."""
    return (
        Position.objects.filter(
            authority=authority,
            status=Position.Status.VALID,
            role=Role.OFFICER,
            person__is_active=True,
        )
        .exclude(person=requester)
        .exists()
    )


def _operator_role_validate(submission: Submission) -> None:
    require_authority(submission)
    operator = submission.operator
    if operator is None or operator.status != Operator.Status.ACTIVE:
        raise ValidationError({"operator": _("You can only ask for a role at an active operator.")})
    position = _requested_position(submission, frozenset({Role.MANAGER, Role.EMPLOYEE}))
    if position.operator_id != operator.pk:
        raise ValidationError({"position": _("The request must name the role you ask for.")})
    if operator_has_deciders(operator=operator, requester=submission.requester):
        raise ValidationError(
            {"operator": _("The operator's legal representative or a manager decides this role.")}
        )


register(
    Request.Kind.OPERATOR_ROLE,
    KindHandler(
        decided_in="authority",
        decider_roles=frozenset({Role.OFFICER}),
        validate=_operator_role_validate,
        on_approved=_position_approved,
        on_closed=_close_position,
    ),
)


def _authority_role_validate(submission: Submission) -> None:
    require_authority(submission)
    position = _requested_position(submission, frozenset({Role.OFFICER, Role.SERVICE_DESK}))
    if position.authority_id is None:
        raise ValidationError({"position": _("The request must name the role you ask for.")})
    if submission.authority is not None and submission.authority.pk != position.authority_id:
        # Only the national administration stands in for an authority without officers.
        target = Authority.objects.get(pk=position.authority_id)
        if submission.authority.kind != Authority.Kind.NATIONAL_ADMINISTRATION or (
            authority_has_officers(authority=target, requester=submission.requester)
        ):
            raise ValidationError(
                {"authority": _("The authority's officers decide a role at the authority.")}
            )


register(
    Request.Kind.AUTHORITY_ROLE,
    KindHandler(
        decided_in="authority",
        decider_roles=frozenset({Role.OFFICER}),
        validate=_authority_role_validate,
        on_approved=_position_approved,
        on_closed=_close_position,
    ),
)
