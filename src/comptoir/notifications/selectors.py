"""Reads of in-app notices, always scoped by the person they are addressed to."""

from __future__ import annotations

from django.db.models import QuerySet

from comptoir.accounts.models import User
from comptoir.notifications.models import Notice


def notices_for_person(*, person: User, operator_id: int | None = None) -> QuerySet[Notice]:
    """The person's own notices, newest first; with operator_id, only those about that operator
    (the messages of its professional space as this person sees them)."""
    notices = Notice.objects.filter(recipient=person)
    if operator_id is not None:
        notices = notices.filter(operator_id=operator_id)
    return notices.order_by("-created_at", "-pk")


def notices_unread_count(*, person: User) -> int:
    return Notice.objects.filter(recipient=person, read_at__isnull=True).count()
