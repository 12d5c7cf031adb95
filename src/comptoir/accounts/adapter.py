"""django-allauth adapters: mail through the outbox in the recipient's language, single-use
confirmation links, and audit of sign-in events."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.services import email_confirmations_void
from comptoir.audit.services import audit_record
from comptoir.notifications.services import outbox_enqueue

# Where the "check your email" page finds the address the link went to (see
# templates/account/verification_sent.html).
VERIFICATION_EMAIL_SESSION_KEY = "comptoir_verification_email"
# Set by the invitation page for a visitor who opened an invitation before signing in (or before
# creating an account): after sign-in they are taken back to it.
PENDING_INVITATION_SESSION_KEY = "invitation_pending_token"


def _recipient_language(email: str) -> str:
    """The language of the person the address belongs to; for an address nobody has (the
    "unknown account" mail), the language of the current request."""
    user = get_user_model().objects.filter(email__iexact=email).only("language").first()
    if user is None:
        address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
        user = address.user if address else None
    language = getattr(user, "language", "") or translation.get_language() or ""
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    return language


def _link_lifetime() -> timedelta:
    return timedelta(hours=settings.COMPTOIR_EMAIL_CONFIRMATION_HOURS)


def verification_email_remember(request: HttpRequest, email: str) -> None:
    """Keep, for the "check your email" page, the address a confirmation link was sent to."""
    session = getattr(request, "session", None)
    if session is not None and email:
        session[VERIFICATION_EMAIL_SESSION_KEY] = email


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "username_taken": _("This username is already taken. Choose another one."),
    }

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render the mail in the recipient's language and write it to the outbox; a background
        task delivers it once the transaction commits. Nothing is sent inside the request."""
        language = _recipient_language(email)
        request = allauth_context.request
        domain = get_current_site(request).domain if request is not None else ""
        ctx: dict[str, Any] = {
            "email": email,
            "request": request,
            # allauth's mails greet "from {{ current_site.name }}": the portal, not a host name.
            "current_site": SimpleNamespace(name="Comptoir", domain=domain),
        }
        ctx.update(context)
        with translation.override(language):
            if template_prefix.startswith("account/email/email_confirmation"):
                now = timezone.now()
                ctx.setdefault("link_lifetime", timeuntil(now + _link_lifetime(), now))
            message = self.render_mail(template_prefix, email, ctx)
        body_text, body_html = str(message.body), ""
        if getattr(message, "content_subtype", "plain") == "html":
            body_text, body_html = strip_tags(body_text), body_text
        for content, mimetype in getattr(message, "alternatives", []) or []:
            if mimetype == "text/html":
                body_html = str(content)
        outbox_enqueue(
            to=email,
            subject=str(message.subject),
            body_text=body_text,
            body_html=body_html,
            language=language,
            template=template_prefix,
        )

    def send_confirmation_mail(self, request: HttpRequest, emailconfirmation, signup: bool) -> None:
        """One state change: the new link voids the earlier ones, its mail goes to the outbox
        and the audit log records it, together."""
        with transaction.atomic():
            if isinstance(emailconfirmation, EmailConfirmation):
                email_confirmations_void(
                    email_address=emailconfirmation.email_address, keep=emailconfirmation
                )
                # allauth stamps `sent` again right after this call; stamp it here as well so
                # that the link never exists in the database without an expiry.
                emailconfirmation.sent = timezone.now()
                emailconfirmation.save(update_fields=["sent"])
            super().send_confirmation_mail(request, emailconfirmation, signup)
            user = getattr(request, "user", None)
            audit_record(
                action="email.confirmation_sent",
                actor=user if user is not None and user.is_authenticated else None,
                subject=emailconfirmation.email_address.user,
                data={"email": emailconfirmation.email_address.email, "signup": signup},
            )

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        """Confirm once: the address row is locked so that two submissions of the same link
        yield one confirmation; every outstanding link for the address is then voided."""
        with transaction.atomic():
            locked = EmailAddress.objects.select_for_update().filter(pk=email_address.pk).first()
            if locked is None or locked.verified:
                return False
            confirmed = super().confirm_email(request, email_address)
            if confirmed:
                email_confirmations_void(email_address=email_address)
                audit_record(
                    action="email.confirmed",
                    actor=request.user if request.user.is_authenticated else None,
                    subject=email_address.user,
                    data={"email": email_address.email},
                )
        return confirmed

    def respond_email_verification_sent(self, request: HttpRequest, user):
        """The "check your email" page says where the link went."""
        if user is not None and user.pk is not None:
            address = (
                EmailAddress.objects.filter(user=user, verified=False)
                .order_by("-primary", "-id")
                .first()
            )
            verification_email_remember(request, address.email if address else user.email)
        return super().respond_email_verification_sent(request, user)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            audit_record(
                action="login.rate_limited",
                data={"username": str(credentials.get("username", ""))[:150]},
            )
            raise

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        username = str(credentials.get("username", ""))[:150]
        user = get_user_model().objects.filter(username=username).first()
        audit_record(action="login.failed", subject=user, data={"username": username})

    def login(self, request: HttpRequest, user) -> None:
        super().login(request, user)
        request.session.pop(VERIFICATION_EMAIL_SESSION_KEY, None)
        audit_record(action="login.succeeded", actor=user, subject=user)
        if user.language:
            translation.activate(user.language)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        if request.session.get(PENDING_INVITATION_SESSION_KEY):
            return reverse("invitations:pending")
        return super().get_login_redirect_url(request)

    def logout(self, request: HttpRequest) -> None:
        user = request.user if request.user.is_authenticated else None
        if user is not None:
            audit_record(action="logout", actor=user, subject=user)
        super().logout(request)

    @transaction.atomic
    def set_password(self, user, password: str) -> None:
        super().set_password(user, password)
        audit_record(action="password.changed", actor=user, subject=user)


class MFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": _(
            "Staff accounts must keep two-factor authentication: you cannot turn it off."
        ),
    }

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if authenticator.type == Authenticator.Type.TOTP and authenticator.user.is_portal_staff:
            return False
        return super().can_delete_authenticator(authenticator)
