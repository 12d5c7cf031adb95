from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import ApiToken, TermsAcceptance, TermsVersion, User


def terms_current() -> TermsVersion | None:
    return TermsVersion.objects.published().first()


def terms_acceptance_needed(*, user: User) -> TermsVersion | None:
    """The current terms when this person has not accepted them yet, else None."""
    current = terms_current()
    if current is None or TermsAcceptance.objects.filter(user=user, terms=current).exists():
        return None
    return current


def user_has_totp(*, user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


@dataclass(frozen=True)
class AccountGate:
    """Something a signed-in person must do before anything else. `url_name` is the page that
    lets them do it; `open_url_names` are the URL prefixes that stay reachable meanwhile."""

    code: str
    message: str | Promise
    url_name: str
    open_url_names: tuple[str, ...] = field(default=())

    def payload(self) -> dict[str, str]:
        """The body of the API's 403 answer."""
        return {"detail": str(self.message), "code": self.code}


TOTP_REQUIRED = AccountGate(
    code="totp_required",
    message=_(
        "Staff accounts must use two-factor authentication. Set up your authenticator app to "
        "continue."
    ),
    url_name="mfa_activate_totp",
    # Every MFA page (set-up, recovery codes) and the password re-authentication it may ask.
    open_url_names=("mfa_index", "account_reauthenticate"),
)

TERMS_NOT_ACCEPTED = AccountGate(
    code="terms_not_accepted",
    message=_("The terms of use have changed. Read and accept them to continue."),
    url_name="accounts:terms_accept",
    open_url_names=("accounts:terms_accept",),
)


def account_gate(*, user: User) -> AccountGate | None:
    """The first thing this signed-in person must do before reaching anything else, or None.
    Staff set up TOTP first, then everyone accepts the current terms of use. The web
    middleware and the API's authentication classes both ask this one function."""
    if user.is_portal_staff and not user_has_totp(user=user):
        return TOTP_REQUIRED
    if terms_acceptance_needed(user=user) is not None:
        return TERMS_NOT_ACCEPTED
    return None


def people_search(*, q: str, limit: int = 50) -> list[User]:
    """People whose username, e-mail address or last name contains `q` (staff audit search)."""
    q = q.strip()
    if not q:
        return []
    return list(
        User.objects.filter(
            Q(username__icontains=q) | Q(email__icontains=q) | Q(last_name__icontains=q)
        ).order_by("username")[:limit]
    )


def api_tokens_active(*, user: User) -> list[ApiToken]:
    return list(user.api_tokens.filter(revoked_at__isnull=True))


def person_contact(*, user: User) -> dict[str, str]:
    """The details a person keeps on their profile."""
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "phone": user.phone,
        "postal_address": user.postal_address,
        "language": user.language,
    }


def personal_data_export(*, user: User) -> dict[str, Any]:
    """Everything Comptoir holds about the person, as plain data (GDPR access right)."""
    from comptoir.audit.selectors import audit_events_for_person

    return {
        "profile": {
            **person_contact(user=user),
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user)
        ],
        "terms_acceptances": [
            {"version": a.terms.version, "accepted_at": a.accepted_at.isoformat(), "ip": a.ip}
            for a in user.terms_acceptances.select_related("terms")
        ],
        "two_factor": [
            {"type": a.type, "created_at": a.created_at.isoformat()}
            for a in Authenticator.objects.filter(user=user)
        ],
        "external_accounts": [
            {"provider": s.provider, "uid": s.uid, "date_joined": s.date_joined.isoformat()}
            for s in SocialAccount.objects.filter(user=user)
        ],
        "api_tokens": [
            {
                "name": t.name,
                "created_at": t.created_at.isoformat(),
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in user.api_tokens.all()
        ],
        "audit_events": [
            {
                "time": e.occurred_at.isoformat(),
                "action": e.action,
                "ip": e.ip,
                "request_id": e.request_id,
            }
            for e in audit_events_for_person(person_id=user.pk)[:1000]
        ],
    }
