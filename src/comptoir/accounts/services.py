"""State changes on people's accounts; each commits with its audit event."""

from __future__ import annotations

import secrets

from allauth.account.models import EmailAddress, EmailConfirmation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import ApiToken, TermsAcceptance, TermsVersion, User
from comptoir.audit.services import audit_record


class TermsNotPublished(Exception):
    """Only a published version of the terms of use can be accepted."""


@transaction.atomic
def terms_accept(*, user: User, terms: TermsVersion, ip: str | None) -> TermsAcceptance:
    """Record that the person accepted this version, with the time and their IP address."""
    if terms.published_at is None or terms.published_at > timezone.now():
        raise TermsNotPublished(terms.version)
    acceptance, created = TermsAcceptance.objects.get_or_create(
        user=user, terms=terms, defaults={"ip": ip}
    )
    if created:
        audit_record(
            action="terms.accepted",
            actor=user,
            subject=user,
            data={"version": terms.version, "ip": ip},
        )
    return acceptance


@transaction.atomic
def terms_publish(*, terms: TermsVersion, actor: User | None) -> TermsVersion:
    """Publish a version: from their next page view, everyone must accept it."""
    locked = TermsVersion.objects.select_for_update().get(pk=terms.pk)
    if locked.published_at is None:
        locked.published_at = timezone.now()
        locked.save(update_fields=["published_at"])
        audit_record(
            action="terms.published", actor=actor, subject=locked, data={"version": locked.version}
        )
    terms.published_at = locked.published_at
    return locked


PROFILE_FIELDS = ("first_name", "last_name", "phone", "postal_address", "language")


@transaction.atomic
def profile_update(
    *,
    user: User,
    actor: User,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | None = None,
    postal_address: str | None = None,
    language: str | None = None,
) -> User:
    """Change the given details (None leaves a detail as it is). The stored row is compared,
    not the caller's copy, so that a form that already touched the object changes nothing."""
    wanted = {
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "postal_address": postal_address,
        "language": language,
    }
    errors = {}
    if first_name is not None and not first_name.strip():
        errors["first_name"] = _("Enter your first name.")
    if last_name is not None and not last_name.strip():
        errors["last_name"] = _("Enter your last name.")
    if errors:
        raise ValidationError(errors)
    stored = User.objects.select_for_update().get(pk=user.pk)
    changed = sorted(
        key for key, value in wanted.items() if value is not None and value != getattr(stored, key)
    )
    for key in changed:
        setattr(stored, key, wanted[key])
    if changed:
        stored.full_clean(exclude=[f.name for f in User._meta.fields if f.name not in changed])
        stored.save(update_fields=changed)
        audit_record(
            action="profile.updated", actor=actor, subject=stored, data={"fields": changed}
        )
    for key in PROFILE_FIELDS:
        setattr(user, key, getattr(stored, key))
    return user


@transaction.atomic
def language_set(*, user: User, language: str) -> User:
    stored = User.objects.select_for_update().get(pk=user.pk)
    if stored.language != language:
        stored.language = language
        stored.full_clean(exclude=[f.name for f in User._meta.fields if f.name != "language"])
        stored.save(update_fields=["language"])
        audit_record(
            action="profile.language_changed",
            actor=user,
            subject=stored,
            data={"language": language},
        )
    user.language = stored.language
    return user


def personal_data_export_record(*, user: User) -> None:
    """A person downloaded everything Comptoir holds about them."""
    audit_record(action="profile.exported", actor=user, subject=user)


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token; the clear token is returned once and never stored."""
    clear = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, digest=ApiToken.digest_of(clear), hint=clear[:12]
    )
    audit_record(
        action="api_token.created",
        actor=user,
        subject=user,
        data={"token_id": token.pk, "name": name, "hint": token.hint},
    )
    return token, clear


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the person's own tokens; another person's raises ApiToken.DoesNotExist."""
    token = ApiToken.objects.select_for_update().get(user=user, id=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            action="api_token.revoked",
            actor=user,
            subject=user,
            data={"token_id": token.pk, "name": token.name, "hint": token.hint},
        )
    return token


def api_token_authenticate(*, clear: str) -> User | None:
    """The active person holding this token, or None for an unknown or revoked token."""
    if not clear.startswith(ApiToken.PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(clear), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def email_confirmation_resend(*, request: HttpRequest, email: str) -> EmailConfirmation | None:
    """Send a new link to an address waiting for confirmation; the new link voids the earlier
    ones. Says nothing about whether an account exists: the caller shows the same page either
    way. Returns the new confirmation, or None when there is nothing to confirm."""
    address = (
        EmailAddress.objects.filter(email__iexact=email.strip(), verified=False)
        .select_related("user")
        .order_by("-id")
        .first()
    )
    if address is None or not address.user.is_active:
        return None
    confirmation = address.send_confirmation(request)
    return confirmation if isinstance(confirmation, EmailConfirmation) else None


def email_confirmations_void(
    *, email_address: EmailAddress, keep: EmailConfirmation | None = None
) -> int:
    """Void every outstanding link for an address except `keep` (a newer link, or a
    confirmation, replaces them); returns how many were voided."""
    links = EmailConfirmation.objects.filter(email_address=email_address)
    if keep is not None and keep.pk is not None:
        links = links.exclude(pk=keep.pk)
    deleted, _ = links.delete()
    return deleted
