"""Register a company (question pages kept in the session, then check your answers), ask to
join a company, and follow one's own requests. Views check the input's shape and call one
service; reads go through selectors scoped by the person."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from comptoir.accounts import selectors as account_selectors
from comptoir.accounts.models import User
from comptoir.approvals import selectors as approval_selectors
from comptoir.approvals import services as approvals
from comptoir.approvals import spaces
from comptoir.approvals.models import Request
from comptoir.core.forms import form_add_service_errors
from comptoir.core.responses import not_allowed
from comptoir.notifications.selectors import notices_for_person
from comptoir.operators import activities, forms, selectors
from comptoir.operators import services as operator_services
from comptoir.operators.models import Operator, Position

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
    declaration = forms.RegistrationDeclarationForm(_posted(request))
    if request.method == "POST" and declaration.is_valid():
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
            "form": declaration,
            "terms": account_selectors.terms_current(),
        },
        status=422 if errors or declaration.errors else 200,
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
            submitted = approvals.role_request_submit(
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


# --- Your companies and their professional spaces -----------------------------------------------

SpaceView = Callable[..., HttpResponse]


def space_view(*, administrator: bool = False) -> Callable[[SpaceView], SpaceView]:
    """Resolve the operator of the URL for the signed-in person: 404 outside their spaces (and
    for a deleted space), a redirect to the space kept when it was merged. The view receives
    the operator and the person's acting position in it (None for an administrator who is not
    a member, when `administrator`)."""

    def decorator(view: SpaceView) -> SpaceView:
        @wraps(view)
        @login_required
        @never_cache
        def wrapper(request: AuthenticatedRequest, operator_id: int, **kwargs: Any) -> HttpResponse:
            try:
                operator = selectors.space_for_person(
                    person=request.user, operator_id=operator_id, administrator=administrator
                )
            except Operator.DoesNotExist:
                raise Http404 from None
            if operator.pk != operator_id:
                assert request.resolver_match is not None
                return redirect(request.resolver_match.view_name, operator_id=operator.pk, **kwargs)
            acting = selectors.space_position_of(person=request.user, operator=operator)
            return view(request, operator, acting, **kwargs)

        return wrapper

    return decorator


def not_allowed_in_space(
    request: AuthenticatedRequest, operator: Operator, message: object
) -> HttpResponse:
    return not_allowed(
        request,
        message=str(message),
        back_url=reverse("operators:company", kwargs={"operator_id": operator.pk}),
        back_label=_("Back to the professional space of %(name)s") % {"name": operator.name},
    )


def _safe_link(link: str) -> str:
    """Notices lead to pages of the portal only."""
    return link if link.startswith("/") and not link.startswith("//") else ""


def _notices(person: User, operator_id: int | None = None, limit: int = 10) -> list[Any]:
    notices = list(notices_for_person(person=person, operator_id=operator_id)[:limit])
    for notice in notices:
        notice.safe_link = _safe_link(notice.link)  # type: ignore[attr-defined]
    return notices


def _request_link(person: User, item: Request) -> str:
    if item.requester_id == person.pk:
        return reverse("operators:requests")
    if approval_selectors.request_can_decide(actor=person, request=item):
        return reverse("approvals:detail", kwargs={"public_id": item.public_id})
    return ""


def _messages_of(exc: ValidationError) -> list[str]:
    return [str(message) for message in exc.messages]


@login_required
@never_cache
def companies(request: AuthenticatedRequest) -> HttpResponse:
    return render(
        request,
        "operators/companies.html",
        {
            "positions": selectors.companies_for_person(person=request.user),
            "space_statuses": selectors.SPACE_STATUSES,
        },
    )


def _operations_now(operator: Operator) -> list[tuple[str, str]]:
    language = (get_language() or "en")[:2]
    return [
        (grant.operation.code, grant.operation.label_in(language))
        for grant in selectors.operations_current(operator=operator)
    ]


@space_view()
def company(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    user = request.user
    can_manage = selectors.space_can_manage(position=acting)
    is_lr = selectors.space_is_legal_representative(position=acting)
    valid = acting is not None and acting.status == Position.Status.VALID
    members = [
        (
            position,
            selectors.member_actions_allowed(actor=user, position=position) if can_manage else [],
        )
        for position in selectors.space_members(operator=operator, viewer=acting)
    ]
    requests = (
        [
            (item, _request_link(user, item))
            for item in spaces.space_requests(operator=operator)[:25]
        ]
        if can_manage
        else []
    )
    return render(
        request,
        "operators/company.html",
        {
            "operator": operator,
            "acting": acting,
            "valid": valid,
            "can_manage": can_manage,
            "is_lr": is_lr,
            "can_administer": is_lr or (user.is_active and user.is_superuser),
            "members": members,
            "requests": requests,
            "operations": _operations_now(operator) if valid else [],
            "waiting_change": spaces.space_waiting_request(
                operator=operator, kind=Request.Kind.OPERATION_CHANGE
            )
            if valid
            else None,
            "waiting_transfer": spaces.space_waiting_request(
                operator=operator, kind=Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER
            )
            if valid
            else None,
            "notices": _notices(user, operator.pk),
            "activities": activities.operator_activity_rows(
                operator=operator, language=(get_language() or "en")[:2]
            ),
        },
    )


@space_view()
def operations_history(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if acting is None or acting.status != Position.Status.VALID:
        return not_allowed_in_space(
            request, operator, _("Your position in this company is suspended.")
        )
    grants = list(selectors.operation_history(operator=operator))
    references = spaces.request_references(
        public_ids=[g.granted_by_request for g in grants] + [g.revoked_by_request for g in grants]
    )
    language = (get_language() or "en")[:2]
    rows = [
        {
            "grant": grant,
            "label": grant.operation.label_in(language),
            "granted_reference": references.get(grant.granted_by_request)
            if grant.granted_by_request
            else "",
            "revoked_reference": references.get(grant.revoked_by_request)
            if grant.revoked_by_request
            else "",
        }
        for grant in grants
    ]
    return render(
        request, "operators/operations_history.html", {"operator": operator, "rows": rows}
    )


@space_view()
def operations_change(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not selectors.space_is_legal_representative(position=acting):
        return not_allowed_in_space(
            request,
            operator,
            _("Only the legal representative can ask to change the company's customs operations."),
        )
    waiting = spaces.space_waiting_request(operator=operator, kind=Request.Kind.OPERATION_CHANGE)
    form = forms.OperationChangeForm(_posted(request), operator=operator)
    if request.method == "POST" and form.is_valid():
        try:
            submitted = spaces.space_operation_change_submit(
                actor=request.user,
                operator=operator,
                add=form.cleaned_data.get("add", []),
                remove=form.cleaned_data.get("remove", []),
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Your request %(reference)s to change the customs operations has been sent "
                    "to customs. We will tell you when they have decided."
                )
                % {"reference": submitted.reference},
            )
            return redirect("operators:company", operator_id=operator.pk)
    return render(
        request,
        "operators/operations_change.html",
        {"operator": operator, "form": form, "waiting": waiting},
        status=422 if form.errors else 200,
    )


# --- Members ------------------------------------------------------------------------------------

MEMBER_ACTION_TEXT = {
    "suspend": (
        gettext_lazy("Suspend this member"),
        gettext_lazy(
            "While suspended, the member can no longer act for the company. You can reinstate "
            "them later."
        ),
        gettext_lazy("Suspend"),
        gettext_lazy("%(name)s's position is suspended."),
    ),
    "reinstate": (
        gettext_lazy("Reinstate this member"),
        gettext_lazy("The member can act for the company again with the same role."),
        gettext_lazy("Reinstate"),
        gettext_lazy("%(name)s's position is valid again."),
    ),
    "end": (
        gettext_lazy("End this member's position"),
        gettext_lazy(
            "The member will no longer belong to the company. To work for it again, they will "
            "have to ask to join."
        ),
        gettext_lazy("End the position"),
        gettext_lazy("%(name)s's position has ended."),
    ),
}

MEMBER_SERVICES = {
    "suspend": operator_services.position_member_suspend,
    "reinstate": operator_services.position_member_reinstate,
    "end": operator_services.position_member_end,
}


def _member(operator: Operator, position_id: int) -> Position:
    try:
        return selectors.space_member(operator=operator, position_id=position_id)
    except Position.DoesNotExist:
        raise Http404 from None


def _refused(
    request: AuthenticatedRequest, operator: Operator, refusal: selectors.Refusal
) -> HttpResponse:
    if refusal.permission:
        return not_allowed_in_space(request, operator, refusal.message)
    messages.error(request, str(refusal.message))
    return redirect("operators:company", operator_id=operator.pk)


def _member_page(
    request: AuthenticatedRequest, operator: Operator, position_id: int, action: str
) -> HttpResponse:
    position = _member(operator, position_id)
    refusal = selectors.member_action_refusal(actor=request.user, position=position, action=action)
    if refusal is not None:
        return _refused(request, operator, refusal)
    title, explanation, button, done = MEMBER_ACTION_TEXT[action]
    name = _person_name(position.person)
    if request.method == "POST":
        try:
            MEMBER_SERVICES[action](actor=request.user, position=position)
        except operator_services.NotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            for message in _messages_of(exc):
                messages.error(request, message)
        else:
            messages.success(request, str(done) % {"name": name})
        return redirect("operators:company", operator_id=operator.pk)
    return render(
        request,
        "operators/member_confirm.html",
        {
            "operator": operator,
            "position": position,
            "name": name,
            "title": title,
            "explanation": explanation,
            "button": button,
            "warning": action == "end",
        },
    )


def _person_name(person: User) -> str:
    return person.get_full_name() or person.username


@space_view()
def member_suspend(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, position_id: int
) -> HttpResponse:
    return _member_page(request, operator, position_id, "suspend")


@space_view()
def member_reinstate(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, position_id: int
) -> HttpResponse:
    return _member_page(request, operator, position_id, "reinstate")


@space_view()
def member_end(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, position_id: int
) -> HttpResponse:
    return _member_page(request, operator, position_id, "end")


@space_view()
def member_role(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None, position_id: int
) -> HttpResponse:
    position = _member(operator, position_id)
    refusal = selectors.member_action_refusal(actor=request.user, position=position, action="role")
    if refusal is not None:
        return _refused(request, operator, refusal)
    other = (
        Position.Role.EMPLOYEE if position.role == Position.Role.MANAGER else Position.Role.MANAGER
    )
    form = forms.MemberRoleForm(_posted(request), initial={"role": other})
    name = _person_name(position.person)
    if request.method == "POST" and form.is_valid():
        try:
            changed = operator_services.position_role_change(
                actor=request.user, position=position, role=form.cleaned_data["role"]
            )
        except operator_services.NotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The role of %(name)s is now: %(role)s.")
                % {"name": name, "role": changed.get_role_display()},
            )
            return redirect("operators:company", operator_id=operator.pk)
    return render(
        request,
        "operators/member_role.html",
        {"operator": operator, "position": position, "name": name, "form": form},
        status=422 if form.errors else 200,
    )


@space_view()
def leave(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    is_lr = Position.objects.filter(
        person=request.user,
        operator=operator,
        role=Position.Role.LEGAL_REPRESENTATIVE,
        status__in=selectors.SPACE_STATUSES,
    ).exists()
    if request.method == "POST":
        try:
            operator_services.position_leave(actor=request.user, operator=operator)
        except operator_services.NotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            for message in _messages_of(exc):
                messages.error(request, message)
            return redirect("operators:company", operator_id=operator.pk)
        messages.success(request, _("You have left %(name)s.") % {"name": operator.name})
        return redirect("operators:companies")
    return render(request, "operators/leave.html", {"operator": operator, "is_lr": is_lr})


# --- Transfer, merge, delete --------------------------------------------------------------------


@space_view()
def transfer(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not selectors.space_is_legal_representative(position=acting):
        return not_allowed_in_space(
            request,
            operator,
            _("Only the legal representative can transfer the legal representation."),
        )
    waiting = spaces.space_waiting_request(
        operator=operator, kind=Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER
    )
    candidates = list(selectors.space_transfer_candidates(operator=operator, person=request.user))
    form = forms.TransferForm(_posted(request), candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            submitted = spaces.space_transfer_submit(
                actor=request.user, operator=operator, to_person_id=form.cleaned_data["to_person"]
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Your request %(reference)s to transfer the legal representation has been "
                    "sent to customs. You stay the legal representative until they approve it."
                )
                % {"reference": submitted.reference},
            )
            return redirect("operators:company", operator_id=operator.pk)
    return render(
        request,
        "operators/transfer.html",
        {"operator": operator, "form": form, "waiting": waiting, "candidates": candidates},
        status=422 if form.errors else 200,
    )


def _can_administer(request: AuthenticatedRequest, acting: Position | None) -> bool:
    user = request.user
    return selectors.space_is_legal_representative(position=acting) or (
        user.is_active and user.is_superuser
    )


@space_view(administrator=True)
def merge(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not _can_administer(request, acting):
        return not_allowed_in_space(
            request, operator, _("Only the legal representative of both spaces can merge them.")
        )
    candidates = spaces.space_merge_candidates(actor=request.user, operator=operator)
    form = forms.MergeForm(_posted(request), candidates=candidates)
    if request.method == "POST" and form.is_valid():
        other = next(c for c in candidates if c.pk == form.cleaned_data["other_operator"])
        try:
            spaces.space_merge(actor=request.user, kept=operator, merged=other)
        except operator_services.NotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(other)s has been merged into this space.") % {"other": other.name},
            )
            return redirect("operators:company", operator_id=operator.pk)
    return render(
        request,
        "operators/merge.html",
        {"operator": operator, "form": form, "candidates": candidates},
        status=422 if form.errors else 200,
    )


@space_view(administrator=True)
def delete(
    request: AuthenticatedRequest, operator: Operator, acting: Position | None
) -> HttpResponse:
    if not _can_administer(request, acting):
        return not_allowed_in_space(
            request, operator, _("Only the legal representative can delete the company's space.")
        )
    if request.method == "POST":
        try:
            spaces.space_delete(actor=request.user, operator=operator)
        except operator_services.NotAllowed as exc:
            return not_allowed_in_space(request, operator, exc.message)
        except ValidationError as exc:
            for message in _messages_of(exc):
                messages.error(request, message)
            return redirect("operators:companies")
        messages.success(
            request,
            _(
                "The professional space of %(name)s has been deleted. Its data will be erased "
                "after %(days)s days."
            )
            % {"name": operator.name, "days": spaces.retention_days()},
        )
        return redirect("operators:companies")
    return render(
        request,
        "operators/delete.html",
        {"operator": operator, "days": spaces.retention_days()},
    )


# --- Private space ------------------------------------------------------------------------------


@login_required
@never_cache
def space(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    counts = selectors.position_counts(person=user)
    return render(
        request,
        "operators/space.html",
        {
            "positions": selectors.positions_for_person(person=user),
            "counts": [(Position.Status(status).label, count) for status, count in counts.items()],
            "space_statuses": selectors.SPACE_STATUSES,
            "requests": approval_selectors.requests_for_person(person=user)[:10],
            "submitted": Request.Status.SUBMITTED,
            "notices": _notices(user),
        },
    )
