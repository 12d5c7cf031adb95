"""The person's roles (positions at operators and authorities) and the request for a new role,
at an operator picked in the directory or at an authority. Views check the input's shape and
call one service; reads go through selectors scoped by the person."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache

from comptoir.accounts.models import User
from comptoir.approvals import selectors as approval_selectors
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.core.forms import form_add_service_errors
from comptoir.operators import selectors
from comptoir.operators.models import Operator, Position
from comptoir.operators.roles_forms import RoleRequestForm

#: The directory's search page (built by the directory pages; its address is fixed).
DIRECTORY_URL = "/directory/"
#: How many operators the directory may hand over at once.
MAX_OPERATORS = 20
#: The kinds of request that ask for a role (the confirmation page shows them).
ROLE_KINDS = (Request.Kind.MEMBERSHIP, Request.Kind.OPERATOR_ROLE, Request.Kind.AUTHORITY_ROLE)


class AuthenticatedRequest(HttpRequest):
    user: User


def directory_url() -> str:
    try:
        return reverse("directory:search")
    except NoReverseMatch:
        return DIRECTORY_URL


def _chosen_operators(request: HttpRequest) -> list[Operator]:
    """The operators handed over by the directory (?operator=<id>, repeated when several were
    ticked): each must be an active operator of the directory, else 404."""
    raw = request.GET.getlist("operator")
    if not raw:
        return []
    try:
        ids = sorted({int(value) for value in raw})
    except ValueError:
        raise Http404 from None
    if len(ids) > MAX_OPERATORS:
        raise Http404
    found = list(
        Operator.objects.filter(
            pk__in=ids,
            status=Operator.Status.ACTIVE,
            merged_into__isnull=True,
            deleted_at__isnull=True,
        ).order_by("name", "pk")
    )
    if len(found) != len(ids):
        raise Http404
    return found


@login_required
@never_cache
def roles_list(request: AuthenticatedRequest) -> HttpResponse:
    counts = selectors.position_counts(person=request.user)
    return render(
        request,
        "operators/roles/list.html",
        {
            "counts": [
                (status, label, counts.get(status, 0)) for status, label in Position.Status.choices
            ],
            "positions": selectors.positions_for_person(person=request.user),
            "space_statuses": selectors.SPACE_STATUSES,
        },
    )


@login_required
@never_cache
def role_new(request: AuthenticatedRequest) -> HttpResponse:
    operators = _chosen_operators(request)
    posted = request.POST if request.method == "POST" else None
    initial = {"email": request.user.email, "phone": request.user.phone}
    form = RoleRequestForm(posted, operators=operators, initial=initial)
    if posted is not None and form.is_valid():
        data = form.cleaned_data
        try:
            submitted = approvals.role_request_submit(
                requester=request.user,
                role=data["role"],
                operator=data.get("operator"),
                authority=data.get("authority"),
                message=data["message"],
                email=data["email"],
                phone=data["phone"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect("roles:requested", public_id=submitted.public_id)
    return render(
        request,
        "operators/roles/new.html",
        {
            "form": form,
            "operators": operators,
            "directory_url": directory_url(),
            "action": request.get_full_path(),
        },
    )


@login_required
@never_cache
def role_requested(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    try:
        submitted = approval_selectors.request_for_person(person=request.user, public_id=public_id)
    except Request.DoesNotExist:
        raise Http404 from None
    payload = submitted.payload or {}
    position_id = payload.get("position")
    if submitted.kind not in ROLE_KINDS or not isinstance(position_id, int):
        raise Http404
    position = selectors.positions_for_person(person=request.user).filter(pk=position_id).first()
    if position is None:
        raise Http404
    return render(
        request,
        "operators/roles/requested.html",
        {
            "item": submitted,
            "position": position,
            "validated_by": payload.get("validated_by", ""),
        },
    )
