"""The operator's declarations in its professional space: list, lodge one through the portal,
the confirmation with its MRN, each declaration's page and its receipt. Only people with a valid
position in the operator see these pages; for anyone else they do not exist (404)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache

from comptoir.accounts.models import User
from comptoir.lodging import selectors, services
from comptoir.lodging.forms import LodgeForm
from comptoir.lodging.models import Declaration
from comptoir.lodging.pdf import receipt_filename, receipt_pdf
from comptoir.operators.models import Operator

PAGE_SIZE = 25

#: Where each refusal goes on the form (others go at the top of the form).
_FIELD_OF = {
    "type_unknown": "declaration_type",
    "format_unknown": "file",
    "empty": "file",
    "too_large": "file",
    "xml_malformed": "file",
    "xml_forbidden": "file",
    "json_invalid": "file",
    "json_not_object": "file",
}


class AuthenticatedRequest(HttpRequest):
    user: User


LodgingView = Callable[..., HttpResponse]


def lodging_view(view: LodgingView) -> LodgingView:
    """Resolve the operator of the URL among the person's companies with a valid position;
    404 for any other."""

    @wraps(view)
    @login_required
    @never_cache
    def wrapper(request: AuthenticatedRequest, operator_id: int, **kwargs: Any) -> HttpResponse:
        try:
            operator = selectors.lodging_operator_for_person(
                person=request.user, operator_id=operator_id
            )
        except Operator.DoesNotExist:
            raise Http404 from None
        return view(request, operator, **kwargs)

    return wrapper


def _declaration(request: AuthenticatedRequest, operator: Operator, mrn: str) -> Declaration:
    try:
        return selectors.declaration_for_person(
            person=request.user, mrn=mrn, operator_id=operator.pk
        )
    except Declaration.DoesNotExist:
        raise Http404 from None


@lodging_view
def declaration_list(request: AuthenticatedRequest, operator: Operator) -> HttpResponse:
    declarations = selectors.declarations_of_operator(person=request.user, operator=operator)
    page = Paginator(declarations, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "lodging/list.html",
        {
            "operator": operator,
            "page": page,
            "gate": services.portal_gate(operator=operator),
            "language": (get_language() or "en")[:2],
        },
    )


@lodging_view
def declaration_new(request: AuthenticatedRequest, operator: Operator) -> HttpResponse:
    gate = services.portal_gate(operator=operator)
    form = LodgeForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            declaration = services.declaration_lodge(
                operator=operator,
                declaration_type_code=form.cleaned_data["declaration_type"],
                payload=upload.read(),
                filename_or_format=upload.name or "",
                channel=Declaration.Channel.PORTAL,
                person=request.user,
            )
        except services.LodgingRefused as refusal:
            form.add_error(_FIELD_OF.get(refusal.code), str(refusal.message))
            status = 403 if refusal.permission else 422
        else:
            return redirect("lodging:lodged", operator_id=operator.pk, mrn=declaration.mrn)
    elif form.errors:
        status = 422
    return render(
        request,
        "lodging/new.html",
        {"operator": operator, "form": form, "gate": gate},
        status=status,
    )


@lodging_view
def declaration_lodged(request: AuthenticatedRequest, operator: Operator, mrn: str) -> HttpResponse:
    declaration = _declaration(request, operator, mrn)
    return render(
        request, "lodging/lodged.html", {"operator": operator, "declaration": declaration}
    )


@lodging_view
def declaration_detail(request: AuthenticatedRequest, operator: Operator, mrn: str) -> HttpResponse:
    declaration = _declaration(request, operator, mrn)
    return render(
        request,
        "lodging/detail.html",
        {
            "operator": operator,
            "declaration": declaration,
            "type_label": declaration.declaration_type.label_in((get_language() or "en")[:2]),
        },
    )


@lodging_view
def declaration_receipt(
    request: AuthenticatedRequest, operator: Operator, mrn: str
) -> HttpResponse:
    declaration = _declaration(request, operator, mrn)
    language = request.user.language or get_language()
    response = HttpResponse(
        receipt_pdf(declaration=declaration, language=language), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(declaration)}"'
    return response
