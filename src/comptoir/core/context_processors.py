from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "comptoir_environment": settings.ENVIRONMENT,
        "comptoir_show_environment_banner": not settings.PRODUCTION,
        "comptoir_administration_name": settings.COMPTOIR_ADMINISTRATION_NAME,
    }
