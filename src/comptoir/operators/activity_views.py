"""Add and remove an operator's activities from its professional space. Every member sees the
list on the space's page; its legal representative and managers change it. Outside one's spaces
the pages answer 404; a member without the right gets a page that says why (403)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from comptoir.core.forms import form_add_service_errors
from comptoir.operators import activities
from comptoir.operators.activity_forms import ActivityAddForm
from comptoir.operators.models import Operator, OperatorActivity, Position
from comptoir.operators.services import NotAllowed
from comptoir.operators.views import AuthenticatedRequest, not_allowed_in_space, space_view


def _refusal() -> str:
    return _("Only the legal representative and managers can change the company's activities.")


@space_view()
def activity_add(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not activities.activity_can_manage(actor=request.user, operator=operator):
        return not_allowed_in_space(request, operator, _refusal())
    form = ActivityAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            added = activities.operator_activity_add(
                actor=request.user,
                operator=operator,
                activity_type=form.chosen_type(),
                identifier=form.cleaned_data["identifier"],
            )
        except NotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            language = (get_language() or "en")[:2]
            messages.success(
                request,
                _("The activity “%(label)s” has been added.")
                % {"label": added.activity_type.label_in(language)},
            )
            return redirect("operators:company", operator_id=operator.pk)
    return render(
        request,
        "operators/activity_add.html",
        {"operator": operator, "form": form},
        status=422 if form.errors else 200,
    )


@require_POST
@space_view()
def activity_remove(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, activity_id: int
) -> HttpResponse:
    try:
        activity = activities.operator_activity(operator=operator, activity_id=activity_id)
    except OperatorActivity.DoesNotExist:
        raise Http404 from None
    try:
        activities.operator_activity_remove(
            actor=request.user, operator=operator, activity=activity
        )
    except NotAllowed as exc:
        return not_allowed_in_space(request, operator, exc.message)
    except OperatorActivity.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        language = (get_language() or "en")[:2]
        messages.success(
            request,
            _("The activity “%(label)s” has been removed.")
            % {"label": activity.activity_type.label_in(language)},
        )
    return redirect("operators:company", operator_id=operator.pk)
