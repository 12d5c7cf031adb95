"""Reads about declarations, scoped by the person who asks (or the B2G client)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from comptoir.lodging.models import Declaration, DeclarationType
from comptoir.operators.models import Operator, Position

if TYPE_CHECKING:
    from comptoir.accounts.models import User
    from comptoir.b2g.models import B2GClient


def declaration_types_active() -> QuerySet[DeclarationType]:
    return DeclarationType.objects.filter(active=True).select_related("operation")


def lodging_operator_for_person(*, person: User, operator_id: int) -> Operator:
    """An operator where the person holds a valid position (those who may lodge and see its
    declarations); Operator.DoesNotExist (a 404) for any other, and for a deleted space."""
    return (
        Operator.objects.filter(
            positions__person=person,
            positions__status=Position.Status.VALID,
            deleted_at__isnull=True,
        )
        .distinct()
        .get(pk=operator_id)
    )


def declarations_for_person(*, person: User) -> QuerySet[Declaration]:
    """The declarations of the operators where the person holds a valid position."""
    operators = Position.objects.filter(
        person=person, status=Position.Status.VALID, operator__isnull=False
    ).values("operator_id")
    return (
        Declaration.objects.filter(operator_id__in=operators)
        .select_related("operator", "declaration_type", "lodged_by", "client")
        .defer("payload")  # up to COMPTOIR_DECLARATION_MAX_BYTES each: only the hand-over reads it
    )


def declarations_of_operator(*, person: User, operator: Operator) -> QuerySet[Declaration]:
    return declarations_for_person(person=person).filter(operator=operator)


def declaration_for_person(
    *, person: User, mrn: str, operator_id: int | None = None
) -> Declaration:
    """One declaration in the person's scope; Declaration.DoesNotExist (a 404) otherwise."""
    declarations = declarations_for_person(person=person)
    if operator_id is not None:
        declarations = declarations.filter(operator_id=operator_id)
    return declarations.get(mrn=(mrn or "").strip().upper())


def declarations_for_client(*, client: B2GClient) -> QuerySet[Declaration]:
    """What a B2G client may read back: its operator's declarations lodged through B2G."""
    if client.operator_id is None:
        return Declaration.objects.none()
    return (
        Declaration.objects.filter(operator_id=client.operator_id, channel=Declaration.Channel.B2G)
        .select_related("operator", "declaration_type", "lodged_by", "client")
        .defer("payload")
    )
