"""Whether the header offers the service desk's continuity page: one EXISTS query, run only when
a template asks, none for anonymous visitors."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from comptoir.continuity.selectors import person_is_service_desk


def continuity(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def is_service_desk() -> bool:
        return person_is_service_desk(person=user)

    return {"comptoir_service_desk": is_service_desk}
