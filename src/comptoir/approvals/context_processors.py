"""Whether the header offers "Requests to decide": one EXISTS query per page for a signed-in
person, run only when a template asks, and none for anonymous visitors."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from comptoir.accounts.models import User
from comptoir.approvals.handlers import HANDLERS
from comptoir.operators.models import Position


def _decider_positions() -> Q:
    """The positions that let a person decide some kind of request: a valid officer position at
    an authority, a valid legal representative or manager position at an operator (the roles
    and organisations come from the request kinds' handlers)."""
    condition = Q(pk__in=[])
    for handler in HANDLERS.values():
        organisation = (
            Q(authority__isnull=False)
            if handler.decided_in == "authority"
            else Q(operator__isnull=False)
        )
        condition |= organisation & Q(role__in=sorted(handler.decider_roles))
    return condition


def person_can_decide(*, person: User) -> bool:
    """Administrators see every customs request in the queue (to reassign it)."""
    if not person.is_active:
        return False
    if person.is_superuser:
        return True
    return (
        Position.objects.filter(person=person, status=Position.Status.VALID)
        .filter(_decider_positions())
        .exists()
    )


def approvals(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def can_decide() -> bool:
        return person_can_decide(person=user)

    return {"comptoir_can_decide": can_decide}
