"""State changes on operators, positions and granted operations; each commits with its audit
event. Approvals call these as the effects of its decisions (approvals sits above operators)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.core.identifiers import eori_validate
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
    *, actor: User | None, position: Position, to_status: str, action: str
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
            data={"from": stored.status, "to": to_status},
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
