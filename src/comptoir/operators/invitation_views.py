"""Invite people by e-mail, accept an invitation, and attach oneself to a company by its
national company number (check, confirm, done). Views check the input's shape and call one
service; reads go through selectors scoped by the person."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from comptoir.accounts.adapter import PENDING_INVITATION_SESSION_KEY
from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.core.forms import form_add_service_errors
from comptoir.core.responses import not_allowed
from comptoir.operators import invitation_forms as forms
from comptoir.operators import invitations
from comptoir.operators.models import Invitation, Operator

#: The token of the invitation an anonymous visitor opened, offered again after sign-in.
PENDING_SESSION_KEY = PENDING_INVITATION_SESSION_KEY
ATTACH_SESSION_KEY = "operator_attach"
ATTACH_DONE_SESSION_KEY = "operator_attach_done"


class AuthenticatedRequest(HttpRequest):
    user: User


def _posted(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def pending_invitation_url(request: HttpRequest) -> str | None:
    """The invitation page the visitor opened before signing in, if any (for a redirect after
    sign-in, e.g. from the account adapter's get_login_redirect_url)."""
    token = request.session.get(PENDING_SESSION_KEY) if hasattr(request, "session") else None
    if not token:
        return None
    return reverse("invitations:accept", kwargs={"token": token})


# --- Invite (legal representative and managers) -------------------------------------------------


def _operator_for_inviter(request: AuthenticatedRequest, operator_id: int) -> Operator:
    try:
        return invitations.operator_for_inviter(person=request.user, operator_id=operator_id)
    except Operator.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@never_cache
def invite(request: AuthenticatedRequest, operator_id: int) -> HttpResponse:
    try:
        operator = _operator_for_inviter(request, operator_id)
    except invitations.NotAllowedToInvite as exc:
        return not_allowed(
            request,
            message=str(exc.message),
            back_url=reverse("operators:company", kwargs={"operator_id": operator_id}),
            back_label=_("Back to the professional space"),
        )
    form = forms.InvitationForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invitations.invitation_create(
                actor=request.user,
                operator=operator,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                base_url=request.build_absolute_uri("/"),
            )
        except invitations.NotAllowedToInvite as exc:  # lost the position meanwhile
            raise Http404 from exc
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("We have sent an invitation to %(email)s. The link works for %(days)s days.")
                % {"email": invitation.email, "days": invitations.invitation_days()},
            )
            return redirect("invitations:invite", operator_id=operator.pk)
    return render(
        request,
        "operators/invitations/invite.html",
        {
            "operator": operator,
            "form": form,
            "invitation_days": invitations.invitation_days(),
            "invitations": invitations.invitations_open_for_operator(
                person=request.user, operator_id=operator.pk
            ),
        },
    )


@login_required
@require_POST
def revoke(request: AuthenticatedRequest, operator_id: int, public_id: str) -> HttpResponse:
    try:
        invitation = invitations.invitation_for_inviter(
            person=request.user, operator_id=operator_id, public_id=public_id
        )
    except Invitation.DoesNotExist as exc:
        raise Http404 from exc
    try:
        invitations.invitation_revoke(actor=request.user, invitation=invitation)
    except invitations.NotAllowedToInvite as exc:
        raise Http404 from exc
    except invitations.InvitationClosed as exc:
        messages.error(request, str(exc.text))
    else:
        messages.success(
            request,
            _("You have revoked the invitation sent to %(email)s: its link no longer works.")
            % {"email": invitation.email},
        )
    return redirect("invitations:invite", operator_id=operator_id)


# --- Accept (anyone holding the link) -----------------------------------------------------------


def _unavailable(
    request: HttpRequest, token: str, exc: invitations.InvitationRefused
) -> HttpResponse:
    """Unknown and used links answer the same page; expired and revoked say so. Nothing else
    about the invitation shows."""
    if request.session.get(PENDING_SESSION_KEY) == token:
        request.session.pop(PENDING_SESSION_KEY, None)
    status = 404 if isinstance(exc, invitations.InvitationUnknown) else 410
    return render(
        request,
        "operators/invitations/unavailable.html",
        {"message": exc.text, "reason": exc.reason},
        status=status,
    )


@never_cache
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """Not behind login_required: an anonymous visitor sees what the invitation is for and
    is offered to sign in or create an account, then comes back here."""
    invitation = invitations.invitation_for_token(token=token)
    try:
        invitation = invitations.invitation_check(person=None, invitation=invitation)
    except invitations.InvitationRefused as exc:
        return _unavailable(request, token, exc)
    here = reverse("invitations:accept", kwargs={"token": token})
    user = request.user
    if not user.is_authenticated:
        request.session[PENDING_SESSION_KEY] = token
        query = urlencode({"next": here})
        if request.method == "POST":
            return redirect(f"{reverse('account_login')}?{query}")
        return render(
            request,
            "operators/invitations/accept.html",
            {
                "invitation": invitation,
                "login_url": f"{reverse('account_login')}?{query}",
                "signup_url": f"{reverse('account_signup')}?{query}",
            },
        )
    assert isinstance(user, User)
    refusal: invitations.InvitationRefused | None = None
    try:
        invitations.invitation_check(person=user, invitation=invitation)
    except invitations.InvitationRefused as exc:
        refusal = exc
    if request.method == "POST" and refusal is None:
        try:
            position = invitations.invitation_accept(actor=user, token=token)
        except (
            invitations.InvitationUnknown,
            invitations.InvitationExpired,
            invitations.InvitationRevoked,
        ) as exc:
            return _unavailable(request, token, exc)
        except invitations.InvitationRefused as exc:
            refusal = exc
        except ValidationError as exc:  # the same position created a moment ago
            refusal = invitations.InvitationRefused(" ".join(exc.messages))
        else:
            request.session.pop(PENDING_SESSION_KEY, None)
            messages.success(
                request,
                _("You have joined %(name)s as: %(role)s.")
                % {"name": invitation.operator.name, "role": position.get_role_display()},
            )
            return redirect("operators:company", operator_id=invitation.operator_id)
    if refusal is None:
        request.session[PENDING_SESSION_KEY] = token
    else:
        request.session.pop(PENDING_SESSION_KEY, None)
    return render(
        request,
        "operators/invitations/accept.html",
        {"invitation": invitation, "refusal": refusal, "refusal_text": refusal and refusal.text},
        status=422 if refusal is not None and request.method == "POST" else 200,
    )


@never_cache
def pending(request: HttpRequest) -> HttpResponse:
    """Back to the invitation opened earlier in this browser (for instance before creating an
    account and confirming the e-mail address), if any."""
    url = pending_invitation_url(request)
    if url:
        return redirect(url)
    return render(request, "operators/invitations/pending.html")


# --- Attach by national company number ----------------------------------------------------------


def _attach_answers(request: HttpRequest) -> dict[str, str]:
    return dict(request.session.get(ATTACH_SESSION_KEY) or {})


@login_required
@never_cache
def attach(request: AuthenticatedRequest) -> HttpResponse:
    form = forms.AttachForm(_posted(request), initial=_attach_answers(request))
    if request.method == "POST" and form.is_valid():
        request.session[ATTACH_SESSION_KEY] = {
            "country": form.cleaned_data["country"],
            "number": form.cleaned_data["number"],
        }
        return redirect("invitations:attach_confirm")
    return render(request, "operators/attach.html", {"form": form})


@login_required
@never_cache
def attach_confirm(request: AuthenticatedRequest) -> HttpResponse:
    answers = _attach_answers(request)
    if not answers.get("country") or not answers.get("number"):
        return redirect("invitations:attach")
    try:
        country, number = invitations.company_number_check(
            country=answers["country"], number=answers["number"]
        )
    except ValidationError:
        return redirect("invitations:attach")
    operator = invitations.operator_for_company_number(country=country, number=number)
    if operator is None:  # closed since the first step
        messages.error(
            request, _("No active company is registered on Comptoir with this company number.")
        )
        return redirect("invitations:attach")
    errors: list[str] = []
    try:
        invitations.attach_check_not_member(person=request.user, operator=operator)
    except invitations.AttachRefused as exc:
        errors.append(str(exc.text))
    if request.method == "POST" and not errors:
        try:
            outcome = approvals.company_attach_submit(
                person=request.user, operator=operator, country=country, number=number
            )
        except ValidationError as exc:
            errors.extend(exc.messages)
        else:
            request.session.pop(ATTACH_SESSION_KEY, None)
            request.session[ATTACH_DONE_SESSION_KEY] = {
                "outcome": outcome.outcome,
                "operator": operator.name,
                "reference": outcome.reference,
            }
            return redirect("invitations:attach_done")
    return render(
        request,
        "operators/attach_confirm.html",
        {
            "operator": operator,
            "country": country,
            "number": number,
            "direct": invitations.attach_is_direct(country=country),
            "errors": errors,
        },
        status=422 if errors and request.method == "POST" else 200,
    )


@login_required
@never_cache
def attach_done(request: AuthenticatedRequest) -> HttpResponse:
    done = request.session.get(ATTACH_DONE_SESSION_KEY)
    if not done:
        raise Http404
    return render(request, "operators/attach_done.html", {"done": done})
