"""Reads about operators, scoped by the person who asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.operators.models import (
    Authority,
    CustomsOperation,
    Operator,
    OperatorOperation,
    Position,
)


def operators_for_person(*, person: User) -> QuerySet[Operator]:
    """The operators where the person holds a valid position."""
    return Operator.objects.filter(
        positions__person=person, positions__status=Position.Status.VALID
    ).distinct()


def operator_for_person(*, person: User, operator_id: int) -> Operator:
    """One operator of the person's; Operator.DoesNotExist (a 404) for any other."""
    return operators_for_person(person=person).get(pk=operator_id)


def positions_for_person(*, person: User) -> QuerySet[Position]:
    """All the person's positions, in force or not, newest first."""
    return (
        Position.objects.filter(person=person)
        .select_related("operator", "authority")
        .order_by("-created_at", "-pk")
    )


def operations_current(*, operator: Operator) -> QuerySet[OperatorOperation]:
    """The customs operations the operator holds now, in catalogue order."""
    return (
        OperatorOperation.objects.filter(operator=operator, revoked_at__isnull=True)
        .select_related("operation")
        .order_by("operation__ordering", "operation__code")
    )


def operation_history(*, operator: Operator) -> QuerySet[OperatorOperation]:
    """Every grant, current or revoked, oldest first."""
    return (
        OperatorOperation.objects.filter(operator=operator)
        .select_related("operation", "granted_by", "revoked_by")
        .order_by("granted_at", "pk")
    )


def operations_catalogue() -> QuerySet[CustomsOperation]:
    """The customs operations an operator may ask for now, in catalogue order."""
    return CustomsOperation.objects.filter(active=True).order_by("ordering", "code")


def competent_authority_for(country: str) -> Authority | None:
    """The authority that decides registrations for an operator of this country: the
    national administration of the country, else any national administration; None when the
    deployment has none."""
    administrations = Authority.objects.filter(
        kind=Authority.Kind.NATIONAL_ADMINISTRATION
    ).order_by("code")
    return (
        administrations.filter(country=country.strip().upper()).first() or administrations.first()
    )


def operators_with_eori(*eoris: str) -> QuerySet[Operator]:
    """Operators holding one of these EORI numbers. Spelled so that SQLite uses the partial
    unique index (eori <> ''): a bare eori = … lookup scans the whole table there."""
    return Operator.objects.filter(eori__in=[eori for eori in eoris if eori]).exclude(eori="")


def operator_eori_registered(*, eori: str) -> bool:
    """Whether an operator with this (normalised) EORI is already active or waiting for
    approval: a second registration is refused; the person should ask to join instead."""
    return (
        operators_with_eori(eori)
        .filter(status__in=[Operator.Status.ACTIVE, Operator.Status.PENDING])
        .exists()
    )


def operator_active_by_eori(*, eori: str) -> Operator | None:
    """The active operator known by this (normalised) EORI, the one a person may ask to join."""
    return operators_with_eori(eori).filter(status=Operator.Status.ACTIVE).first()


# --- Professional spaces ----------------------------------------------------------------------

Role = Position.Role
PS = Position.Status

#: A person sees an operator's professional space with a valid or a suspended position there.
SPACE_STATUSES = (PS.VALID, PS.SUSPENDED)
#: Who manages the members (and sees the operator's requests).
MANAGING_ROLES = frozenset({Role.LEGAL_REPRESENTATIVE, Role.MANAGER})
_ROLE_RANK: dict[str, int] = {Role.LEGAL_REPRESENTATIVE: 0, Role.MANAGER: 1, Role.EMPLOYEE: 2}
_MERGE_DEPTH = 20


def companies_for_person(*, person: User) -> QuerySet[Position]:
    """The person's open positions (requested, valid, suspended) in operators whose space still
    exists (neither deleted nor merged), with the operator, by operator name."""
    return (
        Position.objects.filter(
            person=person,
            operator__isnull=False,
            status__in=Position.OPEN_STATUSES,
            operator__deleted_at__isnull=True,
            operator__merged_into__isnull=True,
        )
        .select_related("operator")
        .order_by("operator__name", "operator_id", "role", "pk")
    )


def space_kept(operator: Operator) -> Operator:
    """The operator a merged space now lives in (itself when it was not merged)."""
    seen = 0
    while operator.merged_into_id is not None and seen < _MERGE_DEPTH:
        operator = Operator.objects.get(pk=operator.merged_into_id)
        seen += 1
    return operator


def space_position_of(*, person: User, operator: Operator) -> Position | None:
    """The position through which the person acts in the operator's space: their valid one
    with the highest role, else a suspended one; None when they are not (or no longer) a
    member."""
    if not person.is_authenticated:
        return None
    positions = list(
        Position.objects.filter(person=person, operator=operator, status__in=SPACE_STATUSES)
    )
    positions.sort(key=lambda item: (item.status != PS.VALID, _ROLE_RANK.get(item.role, 9)))
    return positions[0] if positions else None


def space_for_person(*, person: User, operator_id: int, administrator: bool = False) -> Operator:
    """The professional space the person may see: an operator where they hold a valid or a
    suspended position (with `administrator`, superusers see any). A merged space resolves to
    the one kept: the caller redirects when the id differs. Operator.DoesNotExist (a 404) for
    any other operator and for a deleted space."""
    operator = space_kept(Operator.objects.get(pk=operator_id))
    if operator.deleted_at is not None:
        raise Operator.DoesNotExist
    if administrator and person.is_active and person.is_superuser:
        return operator
    if space_position_of(person=person, operator=operator) is None:
        raise Operator.DoesNotExist
    return operator


def space_can_manage(*, position: Position | None) -> bool:
    """Whether this acting position manages members and sees the operator's requests."""
    return position is not None and position.status == PS.VALID and position.role in MANAGING_ROLES


def space_is_legal_representative(*, position: Position | None) -> bool:
    return (
        position is not None
        and position.status == PS.VALID
        and position.role == Role.LEGAL_REPRESENTATIVE
    )


def space_members(*, operator: Operator, viewer: Position | None) -> QuerySet[Position]:
    """The members as this viewer sees them: the legal representative and managers see every
    open position (requests to join included), employees the valid ones, a suspended member
    none."""
    if viewer is None or viewer.status != PS.VALID:
        return Position.objects.none()
    statuses = Position.OPEN_STATUSES if space_can_manage(position=viewer) else {PS.VALID}
    return (
        Position.objects.filter(operator=operator, status__in=statuses)
        .select_related("person")
        .order_by("role", "person__last_name", "person__first_name", "person__username", "pk")
    )


def space_member(*, operator: Operator, position_id: int) -> Position:
    """One open position of the operator; Position.DoesNotExist (a 404) for any other."""
    return Position.objects.select_related("person", "operator").get(
        pk=position_id, operator=operator, status__in=Position.OPEN_STATUSES
    )


def space_transfer_candidates(*, operator: Operator, person: User) -> QuerySet[Position]:
    """The members who may become the legal representative: valid managers and employees,
    other than the person."""
    return (
        Position.objects.filter(
            operator=operator, status=PS.VALID, role__in=(Role.MANAGER, Role.EMPLOYEE)
        )
        .exclude(person=person)
        .select_related("person")
        .order_by("person__last_name", "person__first_name", "person__username", "pk")
    )


@dataclass(frozen=True)
class Refusal:
    """Why a member action is refused. `permission`: the actor may not do it at all (403);
    otherwise the position is not in a state that allows it (422)."""

    message: Any
    permission: bool


MEMBER_ACTIONS = ("role", "suspend", "reinstate", "end")


def member_action_refusal(*, actor: User, position: Position, action: str) -> Refusal | None:
    """None when the actor may do this action on this member's position now, else why not.
    The same rules guard the services and decide which buttons the pages show."""
    assert action in MEMBER_ACTIONS, action
    operator = position.operator
    acting = space_position_of(person=actor, operator=operator) if operator else None
    if not space_can_manage(position=acting):
        return Refusal(_("Only the legal representative and managers can manage members."), True)
    if position.person_id == actor.pk:
        if action == "role":
            return Refusal(_("You cannot change your own role."), True)
        return Refusal(
            _(
                "You cannot change your own position. To leave the company, choose "
                "“Leave this company”."
            ),
            True,
        )
    if position.role == Role.LEGAL_REPRESENTATIVE:
        return Refusal(
            _(
                "The legal representative's position changes only by a transfer of the legal "
                "representation."
            ),
            True,
        )
    if position.status == PS.REQUESTED:
        return Refusal(
            _("This person's request to join is waiting for a decision: decide the request."),
            False,
        )
    wanted = {
        "role": (PS.VALID,),
        "suspend": (PS.VALID,),
        "reinstate": (PS.SUSPENDED,),
        "end": (PS.VALID, PS.SUSPENDED),
    }[action]
    if position.status not in wanted:
        messages = {
            "role": _("Only a valid position can change role: reinstate it first."),
            "suspend": _("Only a valid position can be suspended."),
            "reinstate": _("Only a suspended position can be reinstated."),
            "end": _("This position has already ended."),
        }
        return Refusal(messages[action], False)
    return None


def member_actions_allowed(*, actor: User, position: Position) -> list[str]:
    return [
        action
        for action in MEMBER_ACTIONS
        if member_action_refusal(actor=actor, position=position, action=action) is None
    ]


def position_counts(*, person: User) -> dict[str, int]:
    """How many positions the person holds in each status (every status, zeros included)."""
    counts = dict.fromkeys(PS.values, 0)
    for row in Position.objects.filter(person=person).values("status").annotate(total=Count("pk")):
        counts[row["status"]] = row["total"]
    return counts
