"""State changes on operators, positions and granted operations; each commits with its audit
event. Approvals call these as the effects of its decisions (approvals sits above operators)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.core.identifiers import eori_validate
from comptoir.core.text import search_text
from comptoir.operators import selectors
from comptoir.operators.models import (
    Authority,
    CustomsOperation,
    Operator,
    OperatorOperation,
    Position,
)

OS = Operator.Status
OPERATOR_TRANSITIONS: dict[str, frozenset[str]] = {
    OS.PENDING: frozenset({OS.ACTIVE, OS.CLOSED}),
    OS.ACTIVE: frozenset({OS.SUSPENDED, OS.CLOSED}),
    OS.SUSPENDED: frozenset({OS.ACTIVE, OS.CLOSED}),
    OS.CLOSED: frozenset(),
}

PS = Position.Status
POSITION_TRANSITIONS: dict[str, frozenset[str]] = {
    PS.REQUESTED: frozenset({PS.VALID, PS.REJECTED, PS.ENDED}),
    PS.VALID: frozenset({PS.SUSPENDED, PS.ENDED}),
    PS.SUSPENDED: frozenset({PS.VALID, PS.ENDED}),
    PS.REJECTED: frozenset(),
    PS.ENDED: frozenset(),
}


class TransitionNotAllowed(Exception):
    """The object is not (or no longer) in a status from which this change is allowed."""

    def __init__(self, *, subject: object, current: str, wanted: str) -> None:
        self.current = current
        self.wanted = wanted
        super().__init__(f"{subject}: {current} → {wanted} is not allowed")


# --- Operators -----------------------------------------------------------------------------


@transaction.atomic
def operator_register(
    *,
    actor: User,
    eori: str,
    name: str,
    country: str,
    address_line1: str = "",
    address_line2: str = "",
    postcode: str = "",
    city: str = "",
    phone: str = "",
    email: str = "",
    website: str = "",
    national_id: str = "",
) -> tuple[Operator, Position]:
    """A pending operator and the actor's requested legal-representative position in it."""
    operator = Operator(
        # Operators outside the EU may have no EORI (they carry their national identifier).
        eori=eori_validate(value=eori) if eori.strip() else "",
        name=name.strip(),
        search_name=search_text(name)[:200],
        country=country.strip().upper(),
        address_line1=address_line1,
        address_line2=address_line2,
        postcode=postcode,
        city=city,
        phone=phone,
        email=email,
        website=website,
        national_id=national_id,
        status=OS.PENDING,
    )
    errors: dict[str, list[object]] = {}
    if operator.eori and Operator.objects.filter(eori=operator.eori).exists():
        errors["eori"] = [_eori_taken_message()]
    try:
        operator.full_clean(exclude=["eori"] if "eori" in errors else None)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            operator.save(force_insert=True)
    except IntegrityError as exc:  # registered by someone else a moment ago
        raise ValidationError({"eori": [_eori_taken_message()]}) from exc
    audit_record(
        action="operator.registered",
        actor=actor,
        subject=operator,
        data={"eori": operator.eori, "country": operator.country},
    )
    position = position_request(
        actor=actor, person=actor, operator=operator, role=Position.Role.LEGAL_REPRESENTATIVE
    )
    return operator, position


def _eori_taken_message() -> object:
    return _(
        "An operator with this EORI number is already registered or waiting for approval. "
        "To work for it, ask to join it instead."
    )


def _operator_move(*, actor: User | None, operator: Operator, to_status: str, action: str) -> None:
    with transaction.atomic():
        current = Operator.objects.select_for_update().get(pk=operator.pk).status
        if to_status not in OPERATOR_TRANSITIONS[current]:
            raise TransitionNotAllowed(subject=operator, current=current, wanted=to_status)
        Operator.objects.filter(pk=operator.pk, status=current).update(
            status=to_status, modified_at=timezone.now()
        )
        operator.status = to_status
        audit_record(
            action=action, actor=actor, subject=operator, data={"from": current, "to": to_status}
        )


def operator_activate(*, actor: User | None, operator: Operator) -> Operator:
    _operator_move(actor=actor, operator=operator, to_status=OS.ACTIVE, action="operator.activated")
    return operator


def operator_suspend(*, actor: User | None, operator: Operator) -> Operator:
    _operator_move(
        actor=actor, operator=operator, to_status=OS.SUSPENDED, action="operator.suspended"
    )
    return operator


def operator_close(*, actor: User | None, operator: Operator) -> Operator:
    _operator_move(actor=actor, operator=operator, to_status=OS.CLOSED, action="operator.closed")
    return operator


# --- Positions -----------------------------------------------------------------------------


def _organisation_check(
    *, operator: Operator | None, authority: Authority | None, role: str
) -> None:
    if (operator is None) == (authority is None):
        raise ValueError("A position belongs to exactly one operator or one authority.")
    allowed = Position.OPERATOR_ROLES if operator is not None else Position.AUTHORITY_ROLES
    if role not in allowed:
        raise ValidationError({"role": _("This role does not exist in this organisation.")})


def _position_create(
    *,
    actor: User | None,
    person: User,
    operator: Operator | None,
    authority: Authority | None,
    role: str,
    status: str,
    action: str,
) -> Position:
    _organisation_check(operator=operator, authority=authority, role=role)
    open_positions = Position.objects.filter(
        person=person,
        operator=operator,
        authority=authority,
        role=role,
        status__in=Position.OPEN_STATUSES,
    )
    if open_positions.exists():
        raise ValidationError(
            {"role": _("This person already holds or has asked for this role here.")}
        )
    if status == PS.VALID and role == Position.Role.LEGAL_REPRESENTATIVE:
        _legal_representative_free(operator=operator)
    now = timezone.now()
    try:
        with transaction.atomic():
            position = Position.objects.create(
                person=person,
                operator=operator,
                authority=authority,
                role=role,
                status=status,
                since=now if status == PS.VALID else None,
            )
    except IntegrityError as exc:  # the same position created a moment ago
        raise ValidationError(
            {"role": _("This person already holds or has asked for this role here.")}
        ) from exc
    audit_record(
        action=action,
        actor=actor,
        subject=position,
        data={"person": person.pk, "role": role, "status": status},
    )
    return position


def _legal_representative_free(*, operator: Operator | None) -> None:
    if Position.objects.filter(
        operator=operator, role=Position.Role.LEGAL_REPRESENTATIVE, status=PS.VALID
    ).exists():
        raise ValidationError({"role": _("This operator already has a legal representative.")})


@transaction.atomic
def position_request(
    *,
    actor: User,
    person: User,
    role: str,
    operator: Operator | None = None,
    authority: Authority | None = None,
) -> Position:
    """A position waiting for a decision (status requested)."""
    return _position_create(
        actor=actor,
        person=person,
        operator=operator,
        authority=authority,
        role=role,
        status=PS.REQUESTED,
        action="position.requested",
    )


@transaction.atomic
def position_appoint(
    *,
    actor: User | None,
    person: User,
    role: str,
    operator: Operator | None = None,
    authority: Authority | None = None,
) -> Position:
    """A position valid at once (an administrator's act, or the effect of a decision)."""
    return _position_create(
        actor=actor,
        person=person,
        operator=operator,
        authority=authority,
        role=role,
        status=PS.VALID,
        action="position.appointed",
    )


def _position_move(
    *,
    actor: User | None,
    position: Position,
    to_status: str,
    action: str,
    data: dict[str, object] | None = None,
) -> Position:
    with transaction.atomic():
        stored = Position.objects.select_for_update().get(pk=position.pk)
        if to_status not in POSITION_TRANSITIONS[stored.status]:
            raise TransitionNotAllowed(subject=position, current=stored.status, wanted=to_status)
        if to_status == PS.VALID and stored.role == Position.Role.LEGAL_REPRESENTATIVE:
            _legal_representative_free(operator=stored.operator)
        now = timezone.now()
        changes: dict[str, object] = {"status": to_status}
        if to_status == PS.VALID and stored.since is None:
            changes["since"] = now
        if to_status in (PS.ENDED, PS.REJECTED):
            changes["until"] = now
        Position.objects.filter(pk=stored.pk, status=stored.status).update(**changes)
        for key, value in changes.items():
            setattr(position, key, value)
        audit_record(
            action=action,
            actor=actor,
            subject=position,
            data={"from": stored.status, "to": to_status, **(data or {})},
        )
    return position


def position_validate(*, actor: User | None, position: Position) -> Position:
    return _position_move(
        actor=actor, position=position, to_status=PS.VALID, action="position.validated"
    )


def position_reject(*, actor: User | None, position: Position) -> Position:
    return _position_move(
        actor=actor, position=position, to_status=PS.REJECTED, action="position.rejected"
    )


def position_suspend(*, actor: User | None, position: Position) -> Position:
    return _position_move(
        actor=actor, position=position, to_status=PS.SUSPENDED, action="position.suspended"
    )


def position_reinstate(*, actor: User | None, position: Position) -> Position:
    return _position_move(
        actor=actor, position=position, to_status=PS.VALID, action="position.reinstated"
    )


def position_end(*, actor: User | None, position: Position) -> Position:
    return _position_move(
        actor=actor, position=position, to_status=PS.ENDED, action="position.ended"
    )


# --- Members of a professional space --------------------------------------------------------


class NotAllowed(PermissionDenied):
    """The actor may not do this here (a 403, with a message that says why)."""

    def __init__(self, message: object) -> None:
        self.message = message
        super().__init__(str(message))


def _member_check(*, actor: User, position: Position, action: str) -> None:
    refusal = selectors.member_action_refusal(actor=actor, position=position, action=action)
    if refusal is None:
        return
    if refusal.permission:
        raise NotAllowed(refusal.message)
    raise ValidationError({"position": [refusal.message]})


def _member_data(position: Position) -> dict[str, object]:
    return {"person": position.person_id, "operator": position.operator_id, "role": position.role}


def _changed_meanwhile(exc: TransitionNotAllowed) -> ValidationError:
    return ValidationError(
        {
            "position": [
                _("This position changed meanwhile: it is now %(status)s. Nothing was changed.")
                % {"status": PS(exc.current).label}
            ]
        }
    )


def _member_move(
    *, actor: User, position: Position, action: str, to_status: str, audit_action: str
) -> Position:
    with transaction.atomic():
        _member_check(actor=actor, position=position, action=action)
        try:
            return _position_move(
                actor=actor,
                position=position,
                to_status=to_status,
                action=audit_action,
                data={**_member_data(position), "by_member": True},
            )
        except TransitionNotAllowed as exc:
            raise _changed_meanwhile(exc) from exc


def position_member_suspend(*, actor: User, position: Position) -> Position:
    """A legal representative or manager suspends another member's valid position."""
    return _member_move(
        actor=actor,
        position=position,
        action="suspend",
        to_status=PS.SUSPENDED,
        audit_action="position.suspended",
    )


def position_member_reinstate(*, actor: User, position: Position) -> Position:
    """A legal representative or manager reinstates another member's suspended position."""
    return _member_move(
        actor=actor,
        position=position,
        action="reinstate",
        to_status=PS.VALID,
        audit_action="position.reinstated",
    )


def position_member_end(*, actor: User, position: Position) -> Position:
    """A legal representative or manager ends another member's position."""
    return _member_move(
        actor=actor,
        position=position,
        action="end",
        to_status=PS.ENDED,
        audit_action="position.ended",
    )


@transaction.atomic
def position_role_change(*, actor: User, position: Position, role: str) -> Position:
    """Move a member between manager and employee. The position held so far ends and a new
    valid one with the new role starts, so that each role keeps its own since/until; one
    `position.role_changed` event ties the two together (before/after)."""
    if role not in (Position.Role.MANAGER, Position.Role.EMPLOYEE):
        raise ValidationError({"role": [_("Choose the new role: manager or employee.")]})
    _member_check(actor=actor, position=position, action="role")
    if position.role == role:
        raise ValidationError(
            {"role": [_("This person already has this role. Choose the other one.")]}
        )
    before = position.role
    try:
        _position_move(
            actor=actor,
            position=position,
            to_status=PS.ENDED,
            action="position.ended",
            data={**_member_data(position), "by_member": True, "because": "role_changed"},
        )
    except TransitionNotAllowed as exc:
        raise _changed_meanwhile(exc) from exc
    assert position.operator is not None
    changed = _position_create(
        actor=actor,
        person=position.person,
        operator=position.operator,
        authority=None,
        role=role,
        status=PS.VALID,
        action="position.appointed",
    )
    audit_record(
        action="position.role_changed",
        actor=actor,
        subject=changed,
        data={
            "person": position.person_id,
            "operator": position.operator_id,
            "before": {"position": position.pk, "role": before},
            "after": {"position": changed.pk, "role": role},
        },
    )
    return changed


@transaction.atomic
def position_leave(*, actor: User, operator: Operator) -> list[Position]:
    """The person ends their own valid or suspended positions in the operator. The legal
    representative must hand the representation over first."""
    positions = list(
        Position.objects.select_for_update()
        .filter(person=actor, operator=operator, status__in=selectors.SPACE_STATUSES)
        .order_by("pk")
    )
    if not positions:
        raise ValidationError({"operator": [_("You are not a member of this company.")]})
    if any(item.role == Position.Role.LEGAL_REPRESENTATIVE for item in positions):
        raise NotAllowed(
            _(
                "You are the legal representative of this company: transfer the legal "
                "representation to another member before you leave."
            )
        )
    for item in positions:
        _position_move(
            actor=actor,
            position=item,
            to_status=PS.ENDED,
            action="position.left",
            data=_member_data(item),
        )
    return positions


# --- Granted customs operations --------------------------------------------------------------


class OperationAlreadyGranted(ValidationError):
    pass


class OperationNotGranted(ValidationError):
    pass


def operations_by_code(codes: Iterable[str]) -> dict[str, CustomsOperation]:
    """The active catalogue entries for these codes; unknown or inactive codes are left out."""
    return {
        operation.code: operation
        for operation in CustomsOperation.objects.filter(code__in=list(codes), active=True)
    }


@transaction.atomic
def operation_grant(
    *,
    actor: User | None,
    operator: Operator,
    operation: CustomsOperation,
    request_id: uuid.UUID | None = None,
) -> OperatorOperation:
    """Add the operation to the operator's current set (a new history row)."""
    if OperatorOperation.objects.filter(
        operator=operator, operation=operation, revoked_at__isnull=True
    ).exists():
        raise OperationAlreadyGranted(_("The operator already holds this customs operation."))
    try:
        with transaction.atomic():
            grant = OperatorOperation.objects.create(
                operator=operator,
                operation=operation,
                granted_at=timezone.now(),
                granted_by=actor,
                granted_by_request=request_id,
            )
    except IntegrityError as exc:
        raise OperationAlreadyGranted(
            _("The operator already holds this customs operation.")
        ) from exc
    audit_record(
        action="operator.operation_granted",
        actor=actor,
        subject=operator,
        data={"operation": operation.code, "request": request_id},
    )
    return grant


@transaction.atomic
def operation_revoke(
    *,
    actor: User | None,
    operator: Operator,
    operation: CustomsOperation,
    request_id: uuid.UUID | None = None,
) -> OperatorOperation:
    """Take the operation out of the current set; its row stays as history."""
    grant = (
        OperatorOperation.objects.select_for_update()
        .filter(operator=operator, operation=operation, revoked_at__isnull=True)
        .first()
    )
    if grant is None:
        raise OperationNotGranted(_("The operator does not hold this customs operation."))
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.revoked_by_request = request_id
    grant.save(update_fields=["revoked_at", "revoked_by", "revoked_by_request"])
    audit_record(
        action="operator.operation_revoked",
        actor=actor,
        subject=operator,
        data={"operation": operation.code, "request": request_id},
    )
    return grant
