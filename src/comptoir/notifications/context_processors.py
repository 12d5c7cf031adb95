"""The unread count in the header: one COUNT query per page for a signed-in person, run only
when a template shows it, and none for anonymous visitors."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from comptoir.notifications.selectors import notices_unread_count


def notices(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    # A template calls a callable it finds in the context; cached, so the count is read once
    # however many times the page shows it.
    @cache
    def unread_count() -> int:
        return notices_unread_count(person=user)

    return {"comptoir_unread_notices": unread_count}
