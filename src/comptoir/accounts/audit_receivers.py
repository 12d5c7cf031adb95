"""Audit the account events that django-allauth completes without calling our adapter.
These receivers only record what happened; they hold no business rule."""

from __future__ import annotations

from allauth.account import signals as account_signals
from allauth.core import context as allauth_context
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from allauth.socialaccount import signals as social_signals
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from comptoir.audit.services import audit_record


@receiver(account_signals.email_changed)
def _email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    audit_record(
        action="email.changed",
        actor=user,
        subject=user,
        data={
            "from": getattr(from_email_address, "email", None),
            "to": getattr(to_email_address, "email", None),
        },
    )


@receiver(account_signals.email_added)
def _email_added(sender, request, user, email_address, **kwargs):
    audit_record(
        action="email.added", actor=user, subject=user, data={"email": email_address.email}
    )


def _acting_user(default):
    """The signed-in person of the current request (allauth keeps it in a context variable),
    for changes made without an explicit actor, e.g. an administrator removing someone's TOTP."""
    request = allauth_context.request
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return default


# allauth announces new authenticators only after the commit (on_commit): audit the rows
# themselves instead, so that the event commits (or rolls back) with the change.
@receiver(post_save, sender=Authenticator)
def _authenticator_saved(sender, instance, created, **kwargs):
    if created:
        audit_record(
            action="mfa.added",
            actor=_acting_user(instance.user),
            subject=instance.user,
            data={"type": instance.type},
        )


@receiver(post_delete, sender=Authenticator)
def _authenticator_deleted(sender, instance, **kwargs):
    user = get_user_model().objects.filter(pk=instance.user_id).first()
    audit_record(
        action="mfa.removed",
        # Never default to the owner: when the row goes because the account is being deleted,
        # a new event must not point (by foreign key) at that account.
        actor=_acting_user(None),
        subject=user,
        data={"type": instance.type, "user_id": instance.user_id},
    )


@receiver(mfa_signals.authenticator_used)
def _authenticator_used(sender, request, user, authenticator, **kwargs):
    audit_record(
        action="mfa.used",
        actor=user,
        subject=user,
        data={
            "type": authenticator.type,
            "reauthenticated": bool(kwargs.get("reauthenticated")),
        },
    )


@receiver(social_signals.social_account_added)
def _social_added(sender, request, sociallogin, **kwargs):
    user = sociallogin.user
    audit_record(
        action="eid.linked",
        actor=user,
        subject=user,
        data={"provider": sociallogin.account.provider},
    )


@receiver(social_signals.social_account_removed)
def _social_removed(sender, request, socialaccount, **kwargs):
    user = socialaccount.user
    audit_record(
        action="eid.unlinked", actor=user, subject=user, data={"provider": socialaccount.provider}
    )


@receiver(mfa_signals.authentication_failed)
def _mfa_failed(sender, request, user, **kwargs):
    audit_record(
        action="mfa.failed",
        subject=user,
        data={"type": getattr(kwargs.get("authenticator"), "type", "")},
    )
