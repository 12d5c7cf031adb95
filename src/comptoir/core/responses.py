"""Answers shared by the pages of every app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def not_allowed(
    request: HttpRequest, *, message: str, back_url: str, back_label: str
) -> HttpResponse:
    """403: the person sees the object but may not do this; the page says why (refusals in
    scope; objects outside the person's scope answer 404 instead)."""
    return render(
        request,
        "core/not_allowed.html",
        {"message": message, "back_url": back_url, "back_label": back_label},
        status=403,
    )
