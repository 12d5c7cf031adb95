from __future__ import annotations

import json

from allauth.account.views import ConfirmEmailView as AllauthConfirmEmailView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from comptoir.accounts import forms, selectors, services
from comptoir.accounts.models import ApiToken, User
from comptoir.core.forms import form_add_service_errors
from comptoir.core.middleware import client_ip
from comptoir.core.ratelimit import rate_limited


class AuthenticatedRequest(HttpRequest):
    """What a view behind login_required receives (for type checking)."""

    user: User


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` the person was going to, when it stays on this site; else `fallback`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def _posted(request: HttpRequest):
    """The submitted data on POST (even when empty, so that it shows errors), else None."""
    return request.POST if request.method == "POST" else None


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def terms(request: HttpRequest) -> HttpResponse:
    current = selectors.terms_current()
    return render(request, "accounts/terms.html", {"terms": current, "language": _language()})


@login_required
@never_cache
def terms_accept(request: AuthenticatedRequest) -> HttpResponse:
    pending = selectors.terms_acceptance_needed(user=request.user)
    next_url = _safe_next(request, "/")
    if pending is None:
        return HttpResponseRedirect(next_url)
    form = forms.TermsAcceptForm(_posted(request), initial={"version": pending.version})
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["version"] != pending.version:
            # A newer version was published while the page was open: show that one.
            messages.info(request, _("A newer version of the terms of use has been published."))
            return HttpResponseRedirect(request.get_full_path())
        services.terms_accept(user=request.user, terms=pending, ip=client_ip(request))
        messages.success(request, _("Thank you: you have accepted the terms of use."))
        return HttpResponseRedirect(next_url)
    return render(
        request,
        "accounts/terms_accept.html",
        {"terms": pending, "form": form, "language": _language(), "next": next_url},
    )


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """The language switcher on every page; kept on the profile of a signed-in person."""
    response = HttpResponseRedirect(_safe_next(request, "/"))
    code = request.POST.get("language", "")
    if code not in dict(settings.LANGUAGES):
        return response  # bad input changes nothing
    if request.user.is_authenticated:
        services.language_set(user=request.user, language=code)
    translation.activate(code)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    context = {
        "has_totp": selectors.user_has_totp(user=user),
        "tokens": selectors.api_tokens_active(user=user),
    }
    return render(request, "accounts/profile.html", context)


@login_required
def profile_edit(request: AuthenticatedRequest) -> HttpResponse:
    form = forms.ProfileForm.for_user(request.user, _posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(user=request.user, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Your details have been updated."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile_edit.html", {"form": form})


@login_required
@never_cache
def data_export(request: AuthenticatedRequest) -> HttpResponse:
    data = selectors.personal_data_export(user=request.user)
    services.personal_data_export_record(user=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    filename = f"comptoir-{request.user.username}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@never_cache
def api_tokens(request: AuthenticatedRequest) -> HttpResponse:
    form = forms.ApiTokenForm(_posted(request))
    created = None
    if request.method == "POST" and form.is_valid():
        _token, created = services.api_token_create(
            user=request.user, name=form.cleaned_data["name"]
        )
        form = forms.ApiTokenForm()
    return render(
        request,
        "accounts/api_tokens.html",
        {
            "form": form,
            "created": created,
            "tokens": selectors.api_tokens_active(user=request.user),
        },
    )


@login_required
@require_POST
def api_token_revoke(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    try:
        services.api_token_revoke(user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("The token has been revoked."))
    return redirect("accounts:api_tokens")


def resend_confirmation(request: HttpRequest) -> HttpResponse:
    form = forms.ResendConfirmationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not rate_limited(request, scope="resend_confirmation", key=form.cleaned_data["email"]):
            services.email_confirmation_resend(request=request, email=form.cleaned_data["email"])
        return render(
            request, "accounts/resend_confirmation_done.html", {"email": form.cleaned_data["email"]}
        )
    return render(request, "accounts/resend_confirmation.html", {"form": form})


class ConfirmEmailView(AllauthConfirmEmailView):
    """allauth answers a bare 404 when a used, voided or expired link is submitted (a second
    click on "Confirm", a stale tab): show the same "expired or already used" page as on GET."""

    def post(self, *args, **kwargs) -> HttpResponse:
        try:
            return super().post(*args, **kwargs)
        except Http404:
            self.object = None
            return self.render_to_response(self.get_context_data())


confirm_email = ConfirmEmailView.as_view()
