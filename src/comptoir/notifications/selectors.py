"""Reads of in-app notices, always scoped by the person they are addressed to."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.utils.http import url_has_allowed_host_and_scheme

from comptoir.accounts.models import User
from comptoir.notifications.models import Notice, NoticePreference


def notices_for_person(
    *, person: User, operator_id: int | None = None, unread_only: bool = False
) -> QuerySet[Notice]:
    """The person's own notices, newest first; with operator_id, only those about that operator
    (the messages of its professional space as this person sees them); with unread_only, only
    those not read yet."""
    notices = Notice.objects.filter(recipient=person)
    if operator_id is not None:
        notices = notices.filter(operator_id=operator_id)
    if unread_only:
        notices = notices.filter(read_at__isnull=True)
    return notices.order_by("-created_at", "-pk")


def notices_unread_count(*, person: User) -> int:
    return Notice.objects.filter(recipient=person, read_at__isnull=True).count()


def notice_for_person(*, person: User, public_id: uuid.UUID | str) -> Notice:
    """One of the person's own notices; Notice.DoesNotExist (a 404) for anyone else's, or for
    an id that is not one."""
    try:
        notice_uuid = uuid.UUID(str(public_id))
    except ValueError:
        raise Notice.DoesNotExist from None
    return Notice.objects.get(recipient=person, public_id=notice_uuid)


def notice_link_is_safe(link: str) -> bool:
    """A notice may only lead to a page of the portal: a path starting with one slash (no other
    host, no scheme, no protocol-relative //host)."""
    return (
        link.startswith("/")
        and not link.startswith("//")
        and "\\" not in link
        and url_has_allowed_host_and_scheme(link, allowed_hosts=None)
    )


# --- Preferences --------------------------------------------------------------------------------


def notice_preferences(*, person: User) -> dict[str, bool]:
    """For each category of notices, whether the person also gets them by e-mail (in the portal
    they always do). A category without a stored choice is by e-mail too."""
    chosen = dict(
        NoticePreference.objects.filter(person=person).values_list("category", "by_email")
    )
    return {
        category: bool(chosen.get(category, True)) for category in NoticePreference.Category.values
    }


def notice_wants_email(*, person: User, category: str) -> bool:
    """Whether a notice of this category should also reach the person by e-mail: yes unless
    they chose "only in the portal" for it."""
    if category not in NoticePreference.Category.values:
        raise ValueError(f"Unknown notice category: {category!r}")
    by_email = (
        NoticePreference.objects.filter(person=person, category=category)
        .values_list("by_email", flat=True)
        .first()
    )
    return True if by_email is None else bool(by_email)
