"""The header's "acting for whom" line: what the middleware put on the request, no query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def acting_for(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"comptoir_acting_for": getattr(request, "acting_for", None)}
