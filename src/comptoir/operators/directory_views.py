"""The operator directory's pages: search (country required; name, EORI number, section,
activity type), pick operators and request a role there, or create an operator that is not
found together with a role request. Views check the input's shape and call one service."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_http_methods

from comptoir.accounts.views import AuthenticatedRequest
from comptoir.approvals.directory import operator_create_in_directory
from comptoir.approvals.models import Request
from comptoir.operators.directory import (
    COUNT_CAP,
    LISTED,
    EoriTaken,
    LikelyDuplicates,
    directory_paginator,
    operator_activity_lines,
)
from comptoir.operators.directory_forms import DirectoryCreateForm, DirectorySearchForm
from comptoir.operators.models import Operator, Position

#: The role request page, before its URL name exists (see role_request_url).
ROLE_REQUEST_PATH = "/roles/new/"


def role_request_url() -> str:
    """Where the chosen operators are sent (?operator=<id>, repeated)."""
    try:
        return reverse("roles:new")
    except NoReverseMatch:
        return ROLE_REQUEST_PATH


def _role_request_link(operator: Operator) -> str:
    return f"{role_request_url()}?{urlencode({'operator': operator.pk})}"


@login_required
@require_GET
def search(request: AuthenticatedRequest) -> HttpResponse:
    searched = any(key in request.GET for key in DirectorySearchForm.base_fields)
    form = DirectorySearchForm(request.GET if searched else None)
    page = paginator = None
    rows = []
    if searched and form.is_valid():
        paginator = directory_paginator(**form.cleaned_data)
        page = paginator.get_page(request.GET.get("page"))
        language = (get_language() or "en")[:2]
        rows = [
            (operator, operator_activity_lines(operator=operator, language=language))
            for operator in page.object_list
        ]
    query = request.GET.copy()
    query.pop("page", None)
    create_query = {
        key: form.cleaned_data[key]
        for key in ("country", "name", "eori")
        if form.is_bound and form.is_valid() and form.cleaned_data.get(key)
    }
    return render(
        request,
        "operators/directory/search.html",
        {
            "form": form,
            "page": page,
            "more": paginator.more if paginator is not None else False,
            "count_cap": COUNT_CAP,
            "rows": rows,
            "query": query.urlencode(),
            "role_request_url": role_request_url(),
            "create_url": f"{reverse('directory:create')}?{urlencode(create_query)}"
            if create_query
            else reverse("directory:create"),
        },
    )


def _create_page(
    request: AuthenticatedRequest,
    form: DirectoryCreateForm,
    *,
    existing: Operator | None = None,
    status: int = 200,
) -> HttpResponse:
    existing_url = ""
    if existing is not None and Operator.objects.filter(LISTED, pk=existing.pk).exists():
        existing_url = _role_request_link(existing)
    return render(
        request,
        "operators/directory/create.html",
        {"form": form, "existing": existing, "existing_url": existing_url},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def create(request: AuthenticatedRequest) -> HttpResponse:
    if request.method != "POST":
        initial = {
            "country": request.GET.get("country", "").strip().upper()[:2],
            "name": request.GET.get("name", "").strip()[:200],
            "eori": request.GET.get("eori", "").strip()[:20],
        }
        return _create_page(request, DirectoryCreateForm(initial=initial))
    form = DirectoryCreateForm(request.POST)
    if "edit" in request.POST:  # back from the likely duplicates to change the details
        return _create_page(request, form)
    if not form.is_valid():
        return _create_page(request, form)
    data = form.cleaned_data
    try:
        _operator, submitted = operator_create_in_directory(
            requester=request.user,
            role=data["role"],
            message=data["message"],
            confirm_duplicate=data["confirm_duplicate"],
            **form.details(),
        )
    except EoriTaken as exc:
        form.add_service_errors(exc)
        return _create_page(request, form, existing=exc.operator)
    except LikelyDuplicates as exc:
        return render(
            request,
            "operators/directory/duplicates.html",
            {
                "form": form,
                "duplicates": [
                    (operator, _role_request_link(operator)) for operator in exc.operators
                ],
            },
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _create_page(request, form)
    return redirect("directory:created", public_id=submitted.public_id)


@login_required
@require_GET
def created(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """The confirmation, for the person who created the operator (404 for anyone else)."""
    try:
        submitted = Request.objects.select_related("operator", "authority").get(
            public_id=public_id,
            requester=request.user,
            operator__isnull=False,
            kind__in=(Request.Kind.OPERATOR_ROLE, Request.Kind.MEMBERSHIP),
        )
    except Request.DoesNotExist:
        raise Http404 from None
    try:
        roles_url = reverse("roles:list")
    except NoReverseMatch:
        roles_url = reverse("operators:requests")
    return render(
        request,
        "operators/directory/created.html",
        {
            "submitted": submitted,
            "operator": submitted.operator,
            "role": Position.Role(submitted.payload["role"]).label
            if submitted.payload.get("role") in Position.Role.values
            else "",
            "roles_url": roles_url,
        },
    )
