"""Register a company (question pages kept in the session, then check your answers), ask to
join a company, and follow one's own requests. Views check the input's shape and call one
service; reads go through selectors scoped by the person."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from comptoir.accounts.models import User
from comptoir.approvals import selectors as approval_selectors
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.operators import forms, selectors

SESSION_KEY = "operator_registration"
DONE_KEY = "operator_registration_done"
JOIN_DONE_KEY = "operator_join_done"

COMPANY_FIELDS = (
    "name",
    "address_line1",
    "address_line2",
    "postcode",
    "city",
    "country",
    "phone",
    "email",
)
CONTACT_FIELDS = ("contact_phone", "contact_email")

# The question pages in order: (answer key in the session, url name).
STEPS = (
    ("eori", "operators:register_eori"),
    ("operations", "operators:register_operations"),
    ("company", "operators:register_company"),
    ("contact", "operators:register_contact"),
)


class AuthenticatedRequest(HttpRequest):
    user: User


def _posted(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def _answers(request: HttpRequest) -> dict[str, Any]:
    return dict(request.session.get(SESSION_KEY) or {})


def _save(request: HttpRequest, step: str, value: Any) -> None:
    answers = _answers(request)
    answers[step] = value
    request.session[SESSION_KEY] = answers


def _missing_step(answers: dict[str, Any], before: str | None = None) -> str | None:
    """The url name of the first unanswered question before `before` (all, when None)."""
    for step, url_name in STEPS:
        if step == before:
            return None
        if not answers.get(step):
            return url_name
    return None


def _next(request: HttpRequest, step: str) -> HttpResponse:
    """After a question: back to the check page when changing an answer, else the next one."""
    answers = _answers(request)
    if request.GET.get("change") == "1":
        missing = _missing_step(answers)
        return redirect(missing or "operators:register_check")
    index = [name for name, _url in STEPS].index(step)
    following = STEPS[index + 1][1] if index + 1 < len(STEPS) else "operators:register_check"
    return redirect(following)


def _question(
    request: AuthenticatedRequest,
    *,
    step: str,
    form: Any,
    template: str,
    value: Any,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    missing = _missing_step(_answers(request), before=step)
    if missing:
        return redirect(missing)
    if request.method == "POST" and form.is_valid():
        _save(request, step, value(form.cleaned_data))
        return _next(request, step)
    index = [name for name, _url in STEPS].index(step)
    back = reverse(STEPS[index - 1][1]) if index > 0 else reverse("core:home")
    if request.GET.get("change") == "1":
        back = reverse("operators:register_check")
    return render(
        request,
        template,
        {
            "form": form,
            "back_url": back,
            "change": request.GET.get("change") == "1",
            **(context or {}),
        },
    )


@login_required
@never_cache
def register_start(request: AuthenticatedRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return render(request, "operators/register_start.html")


@login_required
@never_cache
def register_eori(request: AuthenticatedRequest) -> HttpResponse:
    initial = {"eori": _answers(request).get("eori", "")}
    form = forms.RegistrationEoriForm(_posted(request), initial=initial)
    return _question(
        request,
        step="eori",
        form=form,
        template="operators/register_eori.html",
        value=lambda data: data["eori"],
    )


@login_required
@never_cache
def register_operations(request: AuthenticatedRequest) -> HttpResponse:
    initial = {"operations": _answers(request).get("operations", [])}
    form = forms.RegistrationOperationsForm(_posted(request), initial=initial)
    return _question(
        request,
        step="operations",
        form=form,
        template="operators/register_operations.html",
        value=lambda data: list(data["operations"]),
    )


@login_required
@never_cache
def register_company(request: AuthenticatedRequest) -> HttpResponse:
    answers = _answers(request)
    initial = answers.get("company") or {"country": (answers.get("eori") or "")[:2]}
    form = forms.RegistrationCompanyForm(_posted(request), initial=initial)
    return _question(
        request,
        step="company",
        form=form,
        template="operators/register_company.html",
        value=lambda data: {key: data[key] for key in COMPANY_FIELDS},
    )


@login_required
@never_cache
def register_contact(request: AuthenticatedRequest) -> HttpResponse:
    initial = _answers(request).get("contact") or {
        "contact_phone": request.user.phone,
        "contact_email": request.user.email,
    }
    form = forms.RegistrationContactForm(_posted(request), initial=initial)
    return _question(
        request,
        step="contact",
        form=form,
        template="operators/register_contact.html",
        value=lambda data: {key: data[key] for key in CONTACT_FIELDS},
    )


def _operation_labels(codes: list[str]) -> list[str]:
    language = (get_language() or "en")[:2]
    catalogue = {operation.code: operation for operation in selectors.operations_catalogue()}
    return [catalogue[code].label_in(language) if code in catalogue else code for code in codes]


@login_required
@never_cache
def register_check(request: AuthenticatedRequest) -> HttpResponse:
    answers = _answers(request)
    missing = _missing_step(answers)
    if missing:
        return redirect(missing)
    errors: list[str] = []
    if request.method == "POST":
        company = answers["company"]
        authority = selectors.competent_authority_for(company["country"])
        if authority is None:
            errors.append(
                _(
                    "No customs authority can receive registrations at the moment. Try again "
                    "later or contact the service desk."
                )
            )
        else:
            try:
                submitted = approvals.operator_registration_submit(
                    requester=request.user,
                    authority=authority,
                    operations=answers["operations"],
                    eori=answers["eori"],
                    contact_phone=answers["contact"]["contact_phone"],
                    contact_email=answers["contact"]["contact_email"],
                    **company,
                )
            except ValidationError as exc:
                errors.extend(str(message) for message in exc.messages)
            else:
                request.session.pop(SESSION_KEY, None)
                request.session[DONE_KEY] = submitted.reference
                return redirect("operators:register_done")
    return render(
        request,
        "operators/register_check.html",
        {
            "answers": answers,
            "company": answers["company"],
            "contact": answers["contact"],
            "operation_labels": _operation_labels(answers["operations"]),
            "errors": errors,
        },
        status=422 if errors else 200,
    )


@login_required
@never_cache
def register_done(request: AuthenticatedRequest) -> HttpResponse:
    reference = request.session.get(DONE_KEY)
    if not reference:
        raise Http404
    return render(request, "operators/register_done.html", {"reference": reference})


# --- Join a company -----------------------------------------------------------------------------


@login_required
@never_cache
def join(request: AuthenticatedRequest) -> HttpResponse:
    form = forms.JoinForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        assert form.operator is not None
        try:
            submitted = approvals.membership_request_submit(
                requester=request.user, operator=form.operator, role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("eori", message)
        else:
            request.session[JOIN_DONE_KEY] = submitted.reference
            return redirect("operators:join_done")
    return render(request, "operators/join.html", {"form": form})


@login_required
@never_cache
def join_done(request: AuthenticatedRequest) -> HttpResponse:
    reference = request.session.get(JOIN_DONE_KEY)
    if not reference:
        raise Http404
    return render(request, "operators/join_done.html", {"reference": reference})


# --- Your requests ------------------------------------------------------------------------------


@login_required
@never_cache
def requests_mine(request: AuthenticatedRequest) -> HttpResponse:
    return render(
        request,
        "operators/requests.html",
        {
            "requests": approval_selectors.requests_for_person(person=request.user),
            "submitted": Request.Status.SUBMITTED,
        },
    )


@login_required
@require_POST
def request_withdraw(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    try:
        own = approval_selectors.request_for_person(person=request.user, public_id=public_id)
    except Request.DoesNotExist as exc:
        raise Http404 from exc
    try:
        approvals.request_withdraw(actor=request.user, request_id=own.public_id)
    except (approvals.RequestAlreadyDecided, approvals.RequestExpired) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("You have withdrawn request %(reference)s.") % {"reference": own.reference},
        )
    return redirect("operators:requests")
