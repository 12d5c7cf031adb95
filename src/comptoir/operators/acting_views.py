"""The "acting for whom" page: offered after sign-in to anyone who may act for a company, and
from the header at any time."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from comptoir.core.forms import form_add_service_errors
from comptoir.operators import acting
from comptoir.operators.acting_forms import MYSELF, OTHER, ActingForm


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _initial(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "acting_for", None)
    if request.GET.get("identifier"):
        return {
            "who": OTHER,
            "identifier": request.GET["identifier"],
            "capacity": request.GET.get("capacity", acting.Capacity.DIRECT),
        }
    if current is None:
        return {"who": MYSELF}
    return {"who": OTHER, "identifier": current.identifier, "capacity": current.capacity}


@never_cache
@login_required
def acting_choose(request: HttpRequest) -> HttpResponse:
    person = request.user
    next_url = _next_url(request)
    # Bound on every POST, even an empty one (which must say what is missing).
    form = ActingForm(request.POST if request.method == "POST" else None, initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["who"] == MYSELF:
            acting.acting_choose_myself(person=person, session=request.session)  # type: ignore[arg-type]
            messages.success(request, _("You act for yourself."))
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
        try:
            chosen = acting.acting_choose(
                person=person,  # type: ignore[arg-type]
                session=request.session,
                identifier=data["identifier"],
                capacity=data["capacity"],
                consent=data["consent"],
                actor_type=data["actor_type"] or acting.ACTOR_TYPE_EO,
                identifier_type=data["identifier_type"] or acting.IDENTIFIER_TYPE_EORI,
            )
        except acting.ActingRefused as refusal:
            form_add_service_errors(form, refusal)
        else:
            messages.success(
                request,
                _("You act for %(name)s (%(eori)s), %(capacity)s.")
                % {
                    "name": chosen.name,
                    "eori": chosen.identifier,
                    "capacity": chosen.capacity_in_sentence,
                },
            )
            return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(
        request,
        "operators/acting.html",
        {
            "form": form,
            "next": next_url,
            "options": acting.acting_options(person=person),  # type: ignore[arg-type]
        },
        status=422 if form.errors else 200,
    )
