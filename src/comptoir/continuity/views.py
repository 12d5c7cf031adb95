"""Pages of the fallback procedure: the public status page and its history (no sign-in), the
service desk's page (acknowledge, open, close) and each operator's outage page (report, follow,
report recovery). Views check the input's shape and call one service; reads go through
selectors scoped by the person; outside that scope, 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from comptoir.continuity import forms, selectors, services
from comptoir.continuity.models import Outage
from comptoir.core.forms import form_add_service_errors
from comptoir.core.responses import not_allowed
from comptoir.operators.models import Operator, Position
from comptoir.operators.views import AuthenticatedRequest, not_allowed_in_space, space_view

HISTORY_PAGE = 20


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


# --- Public -------------------------------------------------------------------------------------


def status(request: HttpRequest) -> HttpResponse:
    """What is open now, for everyone (no sign-in). Operators' own outages never show."""
    return render(
        request,
        "continuity/status.html",
        {"outages": list(selectors.public_outages_open()), "checked_at": timezone.now()},
    )


def history(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.public_outages_closed(), HISTORY_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "continuity/history.html", {"page": page})


# --- Service desk -------------------------------------------------------------------------------


def _desk_only(request: AuthenticatedRequest) -> None:
    """The service desk's pages do not exist for anyone else."""
    if not selectors.person_is_service_desk(person=request.user):
        raise Http404


def _outage(request: AuthenticatedRequest, outage_id: str) -> Outage:
    try:
        return selectors.outage_for_person(person=request.user, outage_id=outage_id)
    except Outage.DoesNotExist:
        raise Http404 from None


def _refusal(request: AuthenticatedRequest, exc: services.OutageNotAllowed) -> HttpResponse:
    return not_allowed(
        request,
        message=str(exc.message),
        back_url=reverse("continuity:status"),
        back_label=_("Back to the service status"),
    )


@login_required
@never_cache
def desk(request: AuthenticatedRequest) -> HttpResponse:
    _desk_only(request)
    open_now = list(selectors.outages_open_now())
    return render(
        request,
        "continuity/desk.html",
        {
            "waiting": list(selectors.outages_waiting_acknowledgement()),
            "operators_open": [o for o in open_now if o.kind == Outage.Kind.OPERATOR],
            "public_open": [o for o in open_now if o.kind != Outage.Kind.OPERATOR],
            "open_kinds": {o.kind for o in open_now},
        },
    )


#: What the service desk opens from its page (operators report their own outages).
OPEN_KINDS = frozenset({Outage.Kind.ADMINISTRATION, Outage.Kind.EXCEPTION})


@login_required
@never_cache
def fallback_open(request: AuthenticatedRequest, kind: str) -> HttpResponse:
    _desk_only(request)
    if kind not in OPEN_KINDS:
        raise Http404
    form = forms.FallbackOpenForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.fallback_open(person=request.user, kind=kind, **form.cleaned_data)
        except services.OutageNotAllowed as exc:
            return _refusal(request, exc)
        except services.OutageConflict as exc:
            form.add_error(None, str(exc.message))
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The fallback procedure is open. Every operator is being told.")
                if kind == Outage.Kind.ADMINISTRATION
                else _("The exception is open. Every operator is being told."),
            )
            return redirect("continuity:desk")
    return render(
        request,
        "continuity/fallback_open.html",
        {"form": form, "kind": kind},
        status=422 if form.errors else 200,
    )


@login_required
@never_cache
def acknowledge(request: AuthenticatedRequest, outage_id: str) -> HttpResponse:
    outage = _outage(request, outage_id)
    if not selectors.person_is_service_desk(person=request.user):
        return _refusal(request, services.OutageNotAllowed(_("Only the service desk can do this.")))
    if outage.kind != Outage.Kind.OPERATOR or outage.status != Outage.Status.REPORTED:
        messages.error(
            request,
            _("This outage has already been dealt with: it is now %(status)s.")
            % {"status": outage.get_status_display().lower()},
        )
        return redirect("continuity:desk")
    if request.method == "POST":
        try:
            services.outage_acknowledge(person=request.user, outage_id=outage.public_id)
        except services.OutageConflict as exc:
            messages.error(request, str(exc.message))
        else:
            assert outage.operator is not None
            messages.success(
                request,
                _(
                    "Outage %(reference)s acknowledged: %(operator)s may lodge through the "
                    "portal until it reports recovery."
                )
                % {"reference": outage.reference, "operator": outage.operator.name},
            )
        return redirect("continuity:desk")
    return render(request, "continuity/acknowledge.html", {"outage": outage})


@login_required
@never_cache
def close(request: AuthenticatedRequest, outage_id: str) -> HttpResponse:
    outage = _outage(request, outage_id)
    _desk_only(request)
    if outage.kind == Outage.Kind.OPERATOR or outage.status != Outage.Status.OPEN:
        if outage.status == Outage.Status.CLOSED:
            messages.error(
                request,
                _("This outage has already been dealt with: it is now %(status)s.")
                % {"status": outage.get_status_display().lower()},
            )
            return redirect("continuity:desk")
        raise Http404
    form = forms.FallbackCloseForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.fallback_close(
                person=request.user,
                outage_id=outage.public_id,
                closing_note=form.cleaned_data["closing_note"],
            )
        except services.OutageConflict as exc:
            messages.error(request, str(exc.message))
            return redirect("continuity:desk")
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The fallback procedure is closed. Every operator is being told.")
                if outage.kind == Outage.Kind.ADMINISTRATION
                else _("The exception is closed. Every operator is being told."),
            )
            return redirect("continuity:desk")
    return render(
        request,
        "continuity/close.html",
        {"outage": outage, "form": form},
        status=422 if form.errors else 200,
    )


# --- An operator's outages ----------------------------------------------------------------------


@space_view()
def operator_outages(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    """The operator's outage page: every member sees the state and the history; its legal
    representative and managers report an outage and its recovery."""
    if acting is None or acting.status != Position.Status.VALID:
        return not_allowed_in_space(
            request, operator, _("Your position in this company is suspended.")
        )
    can_report = selectors.person_reports_for(person=request.user, operator=operator)
    current = selectors.operator_outage_current(operator=operator)
    form = forms.OutageReportForm(_posted(request))
    if request.method == "POST":
        if not can_report:
            return not_allowed_in_space(
                request,
                operator,
                _("Only the company's legal representative or a manager can report an outage."),
            )
        if form.is_valid():
            try:
                reported = services.outage_report(
                    person=request.user,
                    operator=operator,
                    description=form.cleaned_data["description"],
                )
            except services.OutageConflict as exc:
                form.add_error(None, str(exc.message))
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Outage %(reference)s reported. The service desk will acknowledge it; "
                        "you may then lodge through the portal."
                    )
                    % {"reference": reported.reference},
                )
                return redirect("continuity:operator_outages", operator_id=operator.pk)
    state = selectors.channel_state(operator=operator)
    return render(
        request,
        "continuity/operator_outages.html",
        {
            "operator": operator,
            "can_report": can_report,
            "is_b2g": operator.lodging_channel == Operator.LodgingChannel.B2G,
            "current": current,
            "form": form,
            "history": list(selectors.operator_outages(operator=operator)[:50]),
            "public_open": [
                o for o in (state.administration_fallback, state.exception) if o is not None
            ],
        },
        status=422 if form.errors else 200,
    )


@space_view()
def recover(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, outage_id: str
) -> HttpResponse:
    outage = _outage(request, outage_id)
    if outage.operator_id != operator.pk:
        raise Http404
    if not selectors.person_reports_for(person=request.user, operator=operator):
        return not_allowed_in_space(
            request,
            operator,
            _("Only the company's legal representative or a manager can report the recovery."),
        )
    if outage.status == Outage.Status.CLOSED:
        messages.error(
            request,
            _("This outage has already been dealt with: it is now %(status)s.")
            % {"status": outage.get_status_display().lower()},
        )
        return redirect("continuity:operator_outages", operator_id=operator.pk)
    if request.method == "POST":
        try:
            services.outage_recover(person=request.user, outage_id=outage.public_id)
        except services.OutageNotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except services.OutageConflict as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                _("Recovery reported: outage %(reference)s is closed.")
                % {"reference": outage.reference},
            )
        return redirect("continuity:operator_outages", operator_id=operator.pk)
    return render(request, "continuity/recover.html", {"operator": operator, "outage": outage})
