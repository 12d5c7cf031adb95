"""Asking customs for access to certificate registration, in a company's professional space: the
question page (account name, wanted date, environment; the EORI number and the company name
shown) and its confirmation. The operator comes from space_view (404 outside the person's
spaces); the right from a selector scoped by that operator (404 for any other). Only the legal
representative and the managers may ask: the others get a page that says why."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.certificates import rights
from comptoir.certificates.models import RegistrationRight
from comptoir.certificates.rights_forms import AccessRequestForm
from comptoir.core.forms import form_add_service_errors
from comptoir.operators.models import Operator, Position
from comptoir.operators.views import AuthenticatedRequest, not_allowed_in_space, space_view


def _valid(acting: Position | None) -> bool:
    return acting is not None and acting.status == Position.Status.VALID


def _history(operator: Operator) -> list[dict[str, Any]]:
    """The operator's rights, newest first, each with the request that decides it."""
    found = list(rights.registration_rights_for_operator(operator=operator))
    requests = rights.registration_right_requests(found)
    return [
        {"right": right, "request": requests.get(right.request_id) if right.request_id else None}
        for right in found
    ]


def _blocked(operator: Operator) -> str:
    """Why the operator cannot ask at all (inactive, no EORI), or an empty string."""
    try:
        rights.registration_right_operator_check(operator=operator)
    except ValidationError as exc:
        return " ".join(str(message) for message in exc.messages)
    return ""


@space_view()
def access_request(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not _valid(acting):
        return not_allowed_in_space(
            request, operator, _("Your position in this company is suspended.")
        )
    if not rights.registration_right_can_request(person=request.user, operator=operator):
        return not_allowed_in_space(
            request,
            operator,
            _(
                "Only the company's legal representative and its managers can ask customs for "
                "access to certificate registration. Ask one of them to do it."
            ),
        )
    blocked = _blocked(operator)
    form = AccessRequestForm(
        request.POST if request.method == "POST" else None,
        initial={"account_name": request.user.get_username(), "wanted_on": timezone.localdate()},
    )
    if request.method == "POST" and not blocked and form.is_valid():
        data = form.cleaned_data
        try:
            right = rights.registration_right_request(
                person=request.user,
                operator=operator,
                account_name=data["account_name"],
                wanted_on=data["wanted_on"],
                environment=data["environment"],
            )
        except rights.RightNotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect(
                "certificates:access_requested", operator_id=operator.pk, right_id=right.public_id
            )
    return render(
        request,
        "certificates/rights/request.html",
        {
            "operator": operator,
            "form": form,
            "blocked": blocked,
            "history": _history(operator),
        },
        status=422 if form.errors or (blocked and request.method == "POST") else 200,
    )


@space_view()
def access_requested(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, right_id: Any
) -> HttpResponse:
    if not _valid(acting):
        return not_allowed_in_space(
            request, operator, _("Your position in this company is suspended.")
        )
    try:
        right = rights.registration_right_for_person(
            person=request.user, right_id=right_id, operator=operator
        )
    except RegistrationRight.DoesNotExist:
        raise Http404 from None
    requests = rights.registration_right_requests([right])
    submitted = requests.get(right.request_id) if right.request_id else None
    return render(
        request,
        "certificates/rights/requested.html",
        {"operator": operator, "right": right, "submitted": submitted},
    )
