"""django-allauth adapter for sign-in with an external eID (OpenID Connect).

Rules:
- the first eID sign-in always shows the profile completion page (names, username, e-mail,
  terms); nothing is created before the person submits it;
- an address counts as verified only when the provider asserts ``email_verified`` = true for
  exactly that address;
- an eID is never attached to an existing account by e-mail alone: when the address the provider
  gives already belongs to an account, the person is sent to sign in with their password and
  connects the eID from /accounts/3rdparty/ (allauth asks for the password again there when the
  sign-in is not recent). See docs/eid.md.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from allauth.account.utils import filter_users_by_email
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from comptoir.audit.services import audit_record

logger = logging.getLogger(__name__)


def claim_is_true(value: object) -> bool:
    """OpenID Connect booleans are JSON booleans; some providers send the string "true".
    Anything else (absent, "false", 1, "yes") does not count."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # The first eID sign-in always shows the profile completion page (names, terms).
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        for address in sociallogin.email_addresses:
            address.verified = claim_is_true(address.verified)
        if sociallogin.is_existing:
            return  # a known eID: sign in to the account it is linked to
        process = sociallogin.state.get("process") or AuthProcess.LOGIN
        if process != AuthProcess.LOGIN:
            return  # connecting to the signed-in account
        owner = self._account_with_provider_email(sociallogin)
        if owner is None:
            return
        provider = sociallogin.provider.name
        audit_record(
            action="eid.signin_refused",
            subject=owner,
            data={"provider": sociallogin.account.provider, "reason": "email_in_use"},
        )
        messages.error(
            request,
            _(
                "An account already uses the email address that %(provider)s gave us. "
                "Sign in to that account with your username and password, then connect "
                "%(provider)s to it."
            )
            % {"provider": provider},
        )
        url = (
            reverse("account_login")
            + "?"
            + urlencode({"next": reverse("socialaccount_connections")})
        )
        raise ImmediateHttpResponse(HttpResponseRedirect(url))

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        # The person sees a plain "did not work" page; the operators get the reason.
        logger.warning(
            "eID sign-in failed: provider=%s error=%s exception=%r",
            getattr(getattr(provider, "app", None), "provider_id", None) or provider.id,
            error,
            exception,
        )

    @staticmethod
    def _account_with_provider_email(sociallogin: SocialLogin):
        emails = {a.email.strip().lower() for a in sociallogin.email_addresses if a.email}
        if sociallogin.user is not None and sociallogin.user.email:
            emails.add(sociallogin.user.email.strip().lower())
        for email in sorted(emails):
            users = filter_users_by_email(email)
            if users:
                return users[0]
        return None
