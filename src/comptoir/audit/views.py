from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from comptoir.accounts.forms import PersonSearchForm
from comptoir.accounts.selectors import people_search
from comptoir.accounts.views import AuthenticatedRequest
from comptoir.audit.selectors import audit_events_for_person


def _staff_only(request: AuthenticatedRequest) -> None:
    """Only portal staff read other people's events; anyone else gets 404, as for any object
    outside their scope. (Staff without TOTP never get here: AccountGateMiddleware.)"""
    if not request.user.is_portal_staff:
        raise Http404


@login_required
def people(request: AuthenticatedRequest) -> HttpResponse:
    _staff_only(request)
    form = PersonSearchForm(request.GET or None)
    results = []
    if form.is_valid():
        results = people_search(q=form.cleaned_data["q"])
    return render(request, "audit/people.html", {"form": form, "results": results})


@login_required
def person_events(request: AuthenticatedRequest, person_id: int) -> HttpResponse:
    _staff_only(request)
    person = get_object_or_404(get_user_model(), pk=person_id)
    page = Paginator(audit_events_for_person(person_id=person.pk), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "audit/person_events.html", {"person": person, "page": page})
