"""Reads about operators, scoped by the person who asks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from comptoir.accounts.models import User
from comptoir.operators.models import (
    Authority,
    CustomsOperation,
    Operator,
    OperatorOperation,
    Position,
)

if TYPE_CHECKING:
    pass


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


def operator_eori_registered(*, eori: str) -> bool:
    """Whether an operator with this (normalised) EORI is already active or waiting for
    approval: a second registration is refused; the person should ask to join instead."""
    return Operator.objects.filter(
        eori=eori, status__in=[Operator.Status.ACTIVE, Operator.Status.PENDING]
    ).exists()


def operator_active_by_eori(*, eori: str) -> Operator | None:
    """The active operator known by this (normalised) EORI, the one a person may ask to join."""
    return Operator.objects.filter(eori=eori, status=Operator.Status.ACTIVE).first()


# --- Requests the person made ---------------------------------------------------------------
# Kept here until approvals has its own selectors module (they read approvals.models).
