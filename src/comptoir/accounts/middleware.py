from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import translation

from comptoir.accounts import selectors


def use_person_language(request: HttpRequest, user) -> None:
    """Answer in the language of the person's profile."""
    if user is not None and user.is_authenticated and user.language:
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language


class PreferredLanguageMiddleware:
    """A signed-in person sees the portal in the language of their profile."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        use_person_language(request, getattr(request, "user", None))
        return self.get_response(request)


class AccountGateMiddleware:
    """Before anything else, a signed-in person must (1) set up TOTP when they are staff and
    (2) accept the current terms of use (selectors.account_gate decides). Only the pages that
    let them do so stay open; the API answers 403 with the gate's code."""

    # Reachable whatever the gate: assets, health, signing out, the language switcher and the
    # public text of the terms.
    ALWAYS_OPEN_PREFIXES = ("/static/", "/healthz")
    ALWAYS_OPEN_URL_NAMES = ("account_logout", "accounts:language", "accounts:terms")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or self._always_open(request.path):
            return self.get_response(request)
        gate = selectors.account_gate(user=user)
        if gate is None or self._in(request.path, gate.url_name, *gate.open_url_names):
            return self.get_response(request)
        return self._refuse(request, gate)

    def _always_open(self, path: str) -> bool:
        if path.startswith(self.ALWAYS_OPEN_PREFIXES):
            return True
        if settings.DEBUG and path.startswith("/dev/outbox/"):
            return True
        return path in {reverse(name) for name in self.ALWAYS_OPEN_URL_NAMES}

    @staticmethod
    def _in(path: str, *names: str) -> bool:
        return any(path.startswith(reverse(name)) for name in names)

    @staticmethod
    def _refuse(request: HttpRequest, gate: selectors.AccountGate) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse(gate.payload(), status=403)
        url = reverse(gate.url_name)
        if request.method in ("GET", "HEAD"):
            messages.info(request, str(gate.message))
            # Come back here afterwards (a refused POST cannot be replayed: no next then).
            if request.path != resolve_url(settings.LOGIN_REDIRECT_URL):
                url += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(url)
