"""Absolute links to portal pages for e-mails, which background work renders without a request."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.simple_tag
def absolute_url(view_name: str, *args: Any, **kwargs: Any) -> str:
    """Like {% url %}, prefixed with COMPTOIR_BASE_URL (the portal's address as people reach it)."""
    return settings.COMPTOIR_BASE_URL + reverse(view_name, args=args or None, kwargs=kwargs or None)
