"""Acting for whom, for every request of a signed-in person (see operators.acting)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from comptoir.core import request_context
from comptoir.operators import acting


class ActingForMiddleware:
    """Check the session's "acting for whom" choice again (an ended position or mandate ends it,
    with a message), put it on the request (`request.acting_for`: None for themself) and in the
    request context, so that every audit event of the request records it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Bound for every request, so that whatever the request binds later (an API call's
        # Comptoir-Acting-For headers) is undone with it.
        token = request_context.bind_on_behalf_of(self._session_choice(request))
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)

    @staticmethod
    def _session_choice(request: HttpRequest) -> dict[str, Any]:
        request.acting_for = None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return {}
        if acting.acting_token_call(headers=request.headers):
            return {}
        if not acting.acting_chosen(session=request.session):
            return {}
        choice = acting.acting_from_session(person=user, session=request.session)
        request.acting_for = choice.acting_for  # type: ignore[attr-defined]
        if choice.lapsed:
            messages.warning(
                request,
                _("You act for yourself again: %(reason)s") % {"reason": choice.lapsed},
            )
        return choice.acting_for.record() if choice.acting_for is not None else {}
