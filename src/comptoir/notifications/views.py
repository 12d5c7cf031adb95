from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comptoir.accounts.views import AuthenticatedRequest
from comptoir.notifications import dashboard as dashboard_selectors
from comptoir.notifications import selectors, services
from comptoir.notifications.forms import DashboardFilterForm
from comptoir.notifications.models import Notice, NoticePreference, OutboxMessage
from comptoir.notifications.preferences import notice_preferences_set
from comptoir.notifications.worklist import WorkItem, task_due_soon_days, work_item_due_soon

PAGE_SIZE = 20


def _debug_only() -> None:
    if not settings.DEBUG:
        raise Http404


def dev_outbox(request: HttpRequest) -> HttpResponse:
    """DEBUG only: every e-mail the portal wrote, newest first, links clickable."""
    _debug_only()
    page = Paginator(OutboxMessage.objects.all(), 25).get_page(request.GET.get("page"))
    return render(request, "notifications/dev_outbox.html", {"page": page})


def dev_outbox_message(request: HttpRequest, message_id: str) -> HttpResponse:
    _debug_only()
    message = get_object_or_404(OutboxMessage, id=message_id)
    return render(request, "notifications/dev_outbox_message.html", {"message": message})


# --- In-app notices -----------------------------------------------------------------------------


class NoticeFilterForm(forms.Form):
    """Sent with GET; without it, every notice."""

    unread = forms.BooleanField(label=gettext_lazy("Show unread notices only"), required=False)


def _back_to_list(request: AuthenticatedRequest) -> HttpResponse:
    """Back to the list as it was (filter, page), when the form says where that was: the
    notices or the dashboard."""
    list_url = reverse("notifications:notices")
    candidate = request.POST.get("next", "")
    back_to = (list_url, reverse("notifications:dashboard"))
    if candidate.startswith(back_to) and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(candidate)
    return redirect(list_url)


def _own(request: AuthenticatedRequest, public_id: uuid.UUID) -> Notice:
    try:
        return selectors.notice_for_person(person=request.user, public_id=public_id)
    except Notice.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def notices(request: AuthenticatedRequest) -> HttpResponse:
    """The person's notices, newest first, unread ones marked; filter and paging."""
    form = NoticeFilterForm(request.GET)
    unread_only = form.is_valid() and form.cleaned_data["unread"]
    rows = selectors.notices_for_person(person=request.user, unread_only=unread_only)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "notifications/notices.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "unread_only": unread_only,
            "unread_count": selectors.notices_unread_count(person=request.user),
        },
    )


@login_required
@require_POST
def notice_open(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Mark the notice read and go where it leads (back to the list when it leads nowhere)."""
    notice = services.notice_mark_read(
        person=request.user, notice_id=_own(request, public_id).public_id
    )
    if notice.link and selectors.notice_link_is_safe(notice.link):
        return redirect(notice.link)
    return _back_to_list(request)


@login_required
@require_POST
def notice_read(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    notice = services.notice_mark_read(
        person=request.user, notice_id=_own(request, public_id).public_id
    )
    messages.success(request, _("Notice “%(title)s” marked as read.") % {"title": notice.title})
    return _back_to_list(request)


@login_required
@require_POST
def notices_read_all(request: AuthenticatedRequest) -> HttpResponse:
    count = services.notices_mark_all_read(person=request.user)
    if count:
        messages.success(
            request,
            ngettext("%(count)s notice marked as read.", "%(count)s notices marked as read.", count)
            % {"count": count},
        )
    else:
        messages.info(request, _("You have no unread notices."))
    return _back_to_list(request)


# --- Dashboard ----------------------------------------------------------------------------------


def _page(rows: Sequence[Any] | QuerySet[Any], number: str | None) -> Page:
    return Paginator(rows, PAGE_SIZE).get_page(number)


@login_required
@require_GET
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    """The person's tasks (soonest due first) and notices (newest first), filtered and paged
    each on its own, with how many tasks expire soon."""
    person = request.user
    tasks = dashboard_selectors.dashboard_tasks(person=person)
    choices = dashboard_selectors.dashboard_choices(person=person, tasks=tasks)
    form = DashboardFilterForm(request.GET, choices=choices)
    tasks_page = notices_page = None
    filters = None
    if form.is_valid():
        filters = form.filters()
        if filters.kind != dashboard_selectors.KIND_NOTICES:
            tasks_page = _page(
                dashboard_selectors.dashboard_tasks_filter(tasks=tasks, filters=filters),
                request.GET.get("tasks_page"),
            )
        if filters.kind != dashboard_selectors.KIND_TASKS:
            notices_page = _page(
                dashboard_selectors.dashboard_notices(person=person, filters=filters),
                request.GET.get("page"),
            )
    due_soon = dashboard_selectors.tasks_due_soon_count(tasks=tasks)
    days = task_due_soon_days()
    query = request.GET.copy()
    for name in ("page", "tasks_page"):
        query.pop(name, None)
    return render(
        request,
        "notifications/dashboard.html",
        {
            "form": form,
            "filters": filters,
            "filtered": bool(query),
            "tasks_page": tasks_page,
            "notices_page": notices_page,
            "tasks_count": len(tasks),
            "due_soon": due_soon,
            "due_soon_text": ngettext(
                "%(count)s task expires within %(days)s days.",
                "%(count)s tasks expire within %(days)s days.",
                due_soon,
            )
            % {"count": due_soon, "days": days},
            "unread_count": selectors.notices_unread_count(person=person),
            # Each list keeps the other's page and the filters in its paging links.
            "tasks_query": _query(request, keep="page"),
            "notices_query": _query(request, keep="tasks_page"),
            "task_rows": [_task_row(task) for task in tasks_page or []],
            "notice_rows": [_notice_row(notice) for notice in notices_page or []],
        },
    )


def _priority_label(priority: str) -> str:
    try:
        return str(Notice.Priority(priority).label)
    except ValueError:
        return priority


def _task_row(task: WorkItem) -> dict[str, Any]:
    return {
        "type": dashboard_selectors.type_label(task.type),
        "title": task.title,
        "link": task.link if selectors.notice_link_is_safe(task.link) else "",
        "sector": dashboard_selectors.sector_label(task.sector) if task.sector else "",
        "priority": task.priority,
        "priority_label": _priority_label(task.priority),
        "reference": task.reference,
        "due_at": task.due_at,
        "due_soon": work_item_due_soon(task),
        "created_at": task.created_at,
    }


def _notice_row(notice: Notice) -> dict[str, Any]:
    return {
        "notice": notice,
        "type": dashboard_selectors.type_label(notice.topic),
        "sector": dashboard_selectors.sector_label(notice.sector) if notice.sector else "",
        "priority_label": _priority_label(notice.priority),
    }


def _query(request: HttpRequest, *, keep: str) -> str:
    """The query string without either page number, except the one named `keep`."""
    query = request.GET.copy()
    for name in ("page", "tasks_page"):
        if name != keep:
            query.pop(name, None)
    return query.urlencode()


# --- Preferences --------------------------------------------------------------------------------

BY_EMAIL = "email"
PORTAL_ONLY = "portal"


class _Radios(forms.RadioSelect):
    """The error summary links to the first radio (Django gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class NoticePreferencesForm(forms.Form):
    """One choice per category of notices: by e-mail and in the portal, or only in the portal."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for category, label in NoticePreference.Category.choices:
            self.fields[category] = forms.ChoiceField(
                label=label,
                choices=[
                    (BY_EMAIL, gettext_lazy("By e-mail and in the portal")),
                    (PORTAL_ONLY, gettext_lazy("Only in the portal")),
                ],
                widget=_Radios,
                error_messages=dict.fromkeys(
                    ("required", "invalid_choice"),
                    _("Choose how you want to receive the notices “%(category)s”.")
                    % {"category": label},
                ),
            )

    def choices(self) -> dict[str, bool]:
        return {
            category: self.cleaned_data[category] == BY_EMAIL
            for category in NoticePreference.Category.values
        }


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    """For each category of notices, by e-mail and in the portal, or only in the portal."""
    current = selectors.notice_preferences(person=request.user)
    initial = {
        category: BY_EMAIL if by_email else PORTAL_ONLY for category, by_email in current.items()
    }
    form = NoticePreferencesForm(
        request.POST if request.method == "POST" else None, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        notice_preferences_set(person=request.user, choices=form.choices())
        messages.success(request, _("Your notification preferences have been saved."))
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {"form": form, "email": request.user.email},
        status=422 if form.errors else 200,
    )
