"""The deciders' work queue: the list with its filters, a request's page, decide, reassign."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from comptoir.accounts.views import AuthenticatedRequest
from comptoir.approvals import forms, selectors, services
from comptoir.approvals.models import Request
from comptoir.core.forms import form_add_service_errors
from comptoir.core.responses import not_allowed

PAGE_SIZE = 25

RS = Request.Status


def already_closed_message(status: str) -> str:
    """What the second of two deciders reads: who was first, and that nothing changed."""
    messages_by_status: dict[str, str] = {
        RS.APPROVED: _("This request was already approved by someone else. Nothing was changed."),
        RS.REJECTED: _("This request was already rejected by someone else. Nothing was changed."),
        RS.WITHDRAWN: _(
            "This request was withdrawn by the person who made it. Nothing was changed."
        ),
        RS.EXPIRED: _("This request has expired and can no longer be decided."),
    }
    return messages_by_status.get(
        status, _("This request is no longer waiting for a decision. Nothing was changed.")
    )


def _load(request: AuthenticatedRequest, public_id: uuid.UUID) -> Request:
    try:
        return selectors.request_for_decider(actor=request.user, request_id=public_id)
    except Request.DoesNotExist:
        raise Http404 from None


@login_required
def queue(request: AuthenticatedRequest) -> HttpResponse:
    form = forms.QueueFilterForm(request.GET)
    page = None
    if form.is_valid():
        rows = selectors.requests_to_decide(actor=request.user, filters=form.cleaned_data)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "approvals/queue.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _detail(
    request: AuthenticatedRequest,
    item: Request,
    *,
    decide_form: forms.DecideForm | None = None,
    reassign_form: forms.ReassignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    can_decide = selectors.request_can_decide(actor=user, request=item)
    can_reassign = selectors.request_can_reassign(actor=user, request=item)
    context = {
        "item": item,
        "details": selectors.request_details(request=item),
        "events": selectors.request_events(request=item),
        "can_decide": can_decide,
        "can_reassign": can_reassign,
        "decide_form": decide_form or (forms.DecideForm() if can_decide else None),
        "reassign_form": reassign_form or (forms.ReassignForm() if can_reassign else None),
        # The error summary shows the form that was sent.
        "form": decide_form if decide_form is not None else reassign_form,
    }
    return render(request, "approvals/detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    item = _load(request, public_id)
    if request.method != "POST":
        return _detail(request, item)
    form = forms.DecideForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, decide_form=form)
    try:
        if form.cleaned_data["decision"] == "approve":
            services.request_approve(
                actor=request.user, request_id=item.public_id, reason=form.cleaned_data["reason"]
            )
            messages.success(
                request, _("Request %(reference)s approved.") % {"reference": item.reference}
            )
        else:
            services.request_reject(
                actor=request.user, request_id=item.public_id, reason=form.cleaned_data["reason"]
            )
            messages.success(
                request, _("Request %(reference)s rejected.") % {"reference": item.reference}
            )
    except services.RequestAlreadyDecided as exc:
        messages.error(request, already_closed_message(exc.status))
        return redirect("approvals:detail", public_id=item.public_id)
    except services.RequestExpired as exc:
        messages.error(request, str(exc.message))
        return redirect("approvals:detail", public_id=item.public_id)
    except services.NotAllowedToDecide as exc:
        return _not_allowed(request, item, str(exc.message))
    except ValidationError as exc:
        form_add_service_errors(form, exc)
        return _detail(request, item, decide_form=form)
    return redirect("approvals:queue")


def _not_allowed(request: AuthenticatedRequest, item: Request, message: str) -> HttpResponse:
    return not_allowed(
        request,
        message=message,
        back_url=reverse("approvals:detail", kwargs={"public_id": item.public_id}),
        back_label=_("Back to request %(reference)s") % {"reference": item.reference},
    )


@login_required
@require_POST
def reassign(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    item = _load(request, public_id)
    if not request.user.is_superuser:
        return _not_allowed(request, item, _("Only administrators can reassign a request."))
    form = forms.ReassignForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, reassign_form=form)
    authority = form.cleaned_data["authority"]
    try:
        services.request_reassign(
            actor=request.user, request_id=item.public_id, authority=authority
        )
    except services.RequestAlreadyDecided as exc:
        messages.error(request, already_closed_message(exc.status))
        return redirect("approvals:detail", public_id=item.public_id)
    except ValidationError as exc:
        form_add_service_errors(form, exc)
        return _detail(request, item, reassign_form=form)
    messages.success(
        request,
        _("Request %(reference)s passed to %(authority)s.")
        % {"reference": item.reference, "authority": authority},
    )
    return redirect("approvals:detail", public_id=item.public_id)
