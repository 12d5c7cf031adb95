"""Invitations by e-mail to join an operator, and attaching oneself to an operator by its
national company number (SIREN/SIRET style).

Services write (keyword-only, one transaction each with its audit event and its outbox e-mails);
the reads at the end are scoped by the person who asks. The token of an invitation link is never
stored: only its SHA-256 digest is, and the clear token travels only in the e-mail."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.core.identifiers import company_number_eori_candidates, company_number_validate
from comptoir.notifications.models import NoticePreference
from comptoir.notifications.selectors import notice_wants_email
from comptoir.notifications.services import notice_create, outbox_enqueue
from comptoir.operators import selectors as operator_selectors
from comptoir.operators import services as operators
from comptoir.operators.models import Invitation, Operator, Position

Role = Position.Role

#: The roles an invitation may offer (the legal representation is transferred, never invited).
INVITABLE_ROLES = (Role.EMPLOYEE, Role.MANAGER)
#: Who may invite, revoke invitations and see them: the operator's legal representative and
#: managers holding a valid position.
INVITER_ROLES = (Role.LEGAL_REPRESENTATIVE, Role.MANAGER)
#: Countries whose national company numbers Comptoir can check (core.identifiers).
ATTACH_COUNTRIES = ("FR", "BE")


# --- Refusals -----------------------------------------------------------------------------------


class InvitationRefused(ValidationError):
    """A refusal with one clear message attached to one input field. `reason` is a stable
    machine-readable code (the API returns it)."""

    reason = "invitation_refused"
    field = "token"

    def __init__(self, message: Any, *, field: str | None = None) -> None:
        self.field = field or self.field
        self.text = message
        super().__init__({self.field: [ValidationError(message, code=self.reason)]})


class InvitationUnknown(InvitationRefused):
    """No invitation has this token, or it has already been used: the same answer for both, so
    that a link reveals nothing once used."""

    reason = "invitation_unknown"

    def __init__(self) -> None:
        super().__init__(
            _(
                "This invitation link is not valid or has already been used. Check that you "
                "copied the whole link from the email, or ask the company for a new invitation."
            )
        )


class InvitationExpired(InvitationRefused):
    reason = "invitation_expired"

    def __init__(self) -> None:
        super().__init__(
            _(
                "This invitation has expired. Ask the person who invited you to send a new "
                "invitation."
            )
        )


class InvitationRevoked(InvitationRefused):
    reason = "invitation_revoked"

    def __init__(self) -> None:
        super().__init__(
            _(
                "This invitation has been cancelled by the company. Ask the person who invited "
                "you if you should have received a new one."
            )
        )


class InvitationWrongAccount(InvitationRefused):
    """The signed-in person has no confirmed e-mail address equal to the invited one."""

    reason = "invitation_wrong_account"

    def __init__(self, *, email: str) -> None:
        self.email = email
        super().__init__(
            _(
                "This invitation was sent to %(email)s, which is not a confirmed email address "
                "of your account. Sign in with the account that uses %(email)s, or add that "
                "address to your account and confirm it, then open the link again."
            )
            % {"email": email}
        )


class InvitationCompanyInactive(InvitationRefused):
    reason = "operator_inactive"

    def __init__(self) -> None:
        super().__init__(
            _("This company is no longer active on Comptoir: the invitation cannot be used.")
        )


class AlreadyMember(InvitationRefused):
    """The person already holds, or has asked for, a position at the operator."""

    reason = "already_member"

    def __init__(self, *, field: str = "token", requested: bool = False, own: bool = True) -> None:
        if own and requested:
            message = _(
                "You have already asked to join this company: your request waits for the "
                "decision of its legal representative or a manager."
            )
        elif own:
            message = _("You already work for this company: there is nothing more to do.")
        elif requested:
            message = _(
                "The person with this email address has already asked to join the company: "
                "approve or reject their request instead of inviting them."
            )
        else:
            message = _("The person with this email address already works for the company.")
        super().__init__(message, field=field)


class InvitationAlreadyOpen(InvitationRefused):
    reason = "invitation_already_open"
    field = "email"

    def __init__(self) -> None:
        super().__init__(
            _(
                "An invitation sent to this email address is still waiting to be accepted. "
                "Revoke it first if you want to send a new one."
            )
        )


class InvitationClosed(InvitationRefused):
    """Revoking an invitation that was accepted or revoked meanwhile."""

    reason = "invitation_closed"
    field = "invitation"

    def __init__(self, *, accepted: bool) -> None:
        super().__init__(
            _("This invitation has already been accepted: it can no longer be revoked.")
            if accepted
            else _("This invitation has already been revoked.")
        )


class NotAllowedToInvite(PermissionDenied):
    def __init__(self) -> None:
        self.message = _(
            "Only the company's legal representative and its managers can invite people."
        )
        super().__init__(str(self.message))


class AttachRefused(InvitationRefused):
    reason = "attach_refused"
    field = "number"


# --- Helpers ------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    """The SHA-256 digest (hex) under which an invitation's token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_days() -> int:
    return int(getattr(settings, "COMPTOIR_INVITATION_DAYS", 7))


def invitation_status(invitation: Invitation, *, now: Any = None) -> str:
    """open, accepted, revoked or expired."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= (now or timezone.now()):
        return "expired"
    return "open"


def _email_normalise(value: str) -> str:
    email = BaseUserManager.normalize_email((value or "").strip())
    if not email:
        raise ValidationError({"email": [_("Enter the email address of the person to invite.")]})
    if len(email) > 254:
        raise ValidationError({"email": [_("Enter an email address of 254 characters or fewer.")]})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": [_("Enter an email address in the correct format, like name@example.com.")]}
        ) from None
    return email


def _accounts_with_email(email: str) -> QuerySet[User]:
    """The accounts that use this address (their profile's, or a confirmed one), oldest first."""
    confirmed = EmailAddress.objects.filter(email__iexact=email, verified=True).values("user_id")
    return (
        User.objects.filter(Q(email__iexact=email) | Q(pk__in=confirmed)).distinct().order_by("pk")
    )


def _language_of(person: User | None) -> str:
    language = (getattr(person, "language", "") if person is not None else "") or ""
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language() or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    return language


def _open_positions(*, person: User, operator: Operator) -> QuerySet[Position]:
    return Position.objects.filter(
        person=person, operator=operator, status__in=Position.OPEN_STATUSES
    )


def _check_not_member(*, person: User, operator: Operator, field: str, own: bool) -> None:
    statuses = set(
        _open_positions(person=person, operator=operator).values_list("status", flat=True)
    )
    if statuses:
        requested = statuses == {Position.Status.REQUESTED}
        raise AlreadyMember(field=field, requested=requested, own=own)


def is_inviter(*, person: User, operator: Operator) -> bool:
    return Position.objects.filter(
        person=person,
        operator=operator,
        role__in=INVITER_ROLES,
        status=Position.Status.VALID,
    ).exists()


def _operator_usable(operator: Operator) -> bool:
    return (
        operator.status == Operator.Status.ACTIVE
        and operator.deleted_at is None
        and operator.merged_into_id is None
    )


def _send(
    *,
    to: str,
    language: str,
    template: str,
    context: dict[str, Any],
    recipient: User | None = None,
) -> None:
    """The e-mail, and for someone who has an account an in-app notice about the operator. The
    e-mail to an account holder follows their choice for the "company" notices; an invitation
    to an address (no recipient account given) is always sent."""
    with translation.override(language):
        context = {**context, "role": Role(context["role_code"]).label}
        subject = " ".join(
            render_to_string(f"operators/email/{template}_subject.txt", context).split()
        )
        body = render_to_string(f"operators/email/{template}_body.txt", context).strip()
    if to and (
        recipient is None
        or notice_wants_email(person=recipient, category=NoticePreference.Category.COMPANY)
    ):
        outbox_enqueue(
            to=to,
            subject=subject,
            body_text=body + "\n",
            language=language,
            template=f"operators/email/{template}",
        )
    if recipient is not None:
        operator = context["operator"]
        notice_create(
            recipient=recipient,
            topic=f"operators.{template}",
            title=subject,
            body=body,
            link=reverse("operators:company", kwargs={"operator_id": operator.pk}),
            operator=operator,
        )


def _display_name(person: User) -> str:
    return person.get_full_name() or person.get_username()


# --- Invitations --------------------------------------------------------------------------------


def invitation_accept_url(*, base_url: str, token: str) -> str:
    """The absolute link of the invitation page: `base_url` is the site's root as the request
    sees it (request.build_absolute_uri("/"))."""
    return base_url.rstrip("/") + reverse("invitations:accept", kwargs={"token": token})


@transaction.atomic
def invitation_create(
    *, actor: User, operator: Operator, email: str, role: str, base_url: str
) -> Invitation:
    """Invite someone by e-mail to join the operator with a role. The e-mail, with its link, is
    written to the outbox in the invitee's language when an account uses the address, else in
    the inviter's current language. The clear token exists only in that e-mail."""
    # One inviter at a time per operator: two identical invitations cannot both pass the check.
    locked = Operator.objects.select_for_update().filter(pk=operator.pk).first()
    if locked is None or not is_inviter(person=actor, operator=locked):
        raise NotAllowedToInvite()
    if not _operator_usable(locked):
        raise ValidationError(
            {"operator": [_("You can only invite people to join an active company.")]}
        )
    errors: dict[str, list[Any]] = {}
    try:
        email = _email_normalise(email)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if role not in INVITABLE_ROLES:
        errors["role"] = [_("Choose the role to offer: manager or employee.")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    if Invitation.objects.filter(
        operator=locked,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).exists():
        raise InvitationAlreadyOpen()
    accounts = list(_accounts_with_email(email))
    for account in accounts:
        _check_not_member(person=account, operator=locked, field="email", own=False)

    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        operator=locked,
        email=email,
        role=role,
        token_digest=token_digest(token),
        invited_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=invitation_days()),
    )
    audit_record(
        action="invitation.created",
        actor=actor,
        subject=invitation,
        data={
            "invitation": invitation.public_id,
            "operator": locked.pk,
            "email": email,
            "role": role,
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    invitee = accounts[0] if accounts else None
    _send(
        to=email,
        language=_language_of(invitee) if invitee is not None else _language_of(None),
        template="invitation",
        context={
            "invitee": invitee,
            "inviter": _display_name(actor),
            "operator": locked,
            "role_code": role,
            "link": invitation_accept_url(base_url=base_url, token=token),
            "expires_at": invitation.expires_at,
        },
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    """Cancel an invitation that was not accepted yet; its link stops working at once."""
    if not is_inviter(person=actor, operator=invitation.operator):
        raise NotAllowedToInvite()
    now = timezone.now()
    updated = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    if updated != 1:
        invitation.refresh_from_db(fields=["accepted_at", "revoked_at"])
        raise InvitationClosed(accepted=invitation.accepted_at is not None)
    invitation.revoked_at = now
    audit_record(
        action="invitation.revoked",
        actor=actor,
        subject=invitation,
        data={
            "invitation": invitation.public_id,
            "operator": invitation.operator_id,
            "email": invitation.email,
            "role": invitation.role,
        },
    )
    return invitation


def invitation_check(*, person: User | None, invitation: Invitation | None) -> Invitation:
    """Whether this person may accept this invitation now; raises the refusal that applies,
    in this order: unknown or used, revoked, expired, company inactive, wrong account, already a
    member. With person None (nobody signed in) only the invitation itself is checked."""
    if invitation is None or invitation.accepted_at is not None:
        raise InvitationUnknown()
    if invitation.revoked_at is not None:
        raise InvitationRevoked()
    if invitation.expires_at <= timezone.now():
        raise InvitationExpired()
    if not _operator_usable(invitation.operator):
        raise InvitationCompanyInactive()
    if person is None:
        return invitation
    if not EmailAddress.objects.filter(
        user=person, verified=True, email__iexact=invitation.email
    ).exists():
        raise InvitationWrongAccount(email=invitation.email)
    _check_not_member(person=person, operator=invitation.operator, field="token", own=True)
    return invitation


@transaction.atomic
def invitation_accept(*, actor: User, token: str) -> Position:
    """The signed-in person accepts the invitation: they hold the offered position at once
    (the invitation by a legal representative or manager is the approval), and the inviter is
    told by e-mail. The link works once: of two acceptances at the same moment, the conditional
    update lets one through and the other gets the "already used" answer."""
    invitation = invitation_check(person=actor, invitation=invitation_for_token(token=token))
    now = timezone.now()
    updated = Invitation.objects.filter(
        pk=invitation.pk,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(accepted_at=now, accepted_by=actor)
    if updated != 1:
        current = Invitation.objects.get(pk=invitation.pk)
        if current.revoked_at is not None:
            raise InvitationRevoked()
        if current.accepted_at is None and current.expires_at <= now:
            raise InvitationExpired()
        raise InvitationUnknown()
    invitation.accepted_at, invitation.accepted_by = now, actor
    position = operators.position_appoint(
        actor=actor, person=actor, operator=invitation.operator, role=invitation.role
    )
    audit_record(
        action="invitation.accepted",
        actor=actor,
        subject=invitation,
        data={
            "invitation": invitation.public_id,
            "operator": invitation.operator_id,
            "email": invitation.email,
            "role": invitation.role,
            "invited_by": invitation.invited_by_id,
            "position": position.pk,
        },
    )
    inviter = invitation.invited_by
    if inviter.is_active:
        _send(
            recipient=inviter,
            to=inviter.email,
            language=_language_of(inviter),
            template="invitation_accepted",
            context={
                "inviter_person": inviter,
                "person": _display_name(actor),
                "email": invitation.email,
                "operator": invitation.operator,
                "role_code": invitation.role,
            },
        )
    return position


# --- Attaching by national company number -------------------------------------------------------


def company_number_check(*, country: str, number: str) -> tuple[str, str]:
    """The country (upper case) and the validated national number, or ValidationError with a
    message on `country` or `number`."""
    code = (country or "").strip().upper()
    if not code:
        raise ValidationError(
            {"country": [_("Enter the company's country as a two-letter code, for example FR.")]}
        )
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValidationError(
            {"country": [_("Enter a two-letter country code (ISO 3166), for example FR.")]}
        )
    if code not in ATTACH_COUNTRIES:
        raise ValidationError(
            {
                "country": [
                    _(
                        "Attaching by company number is not available for this country: it "
                        "works for France (SIREN or SIRET) and Belgium (enterprise number). "
                        "Ask to join the company by its EORI number instead."
                    )
                ]
            }
        )
    if not (number or "").strip():
        raise ValidationError({"number": [_("Enter the company number.")]})
    try:
        return code, company_number_validate(country=code, value=number)
    except ValidationError as exc:
        raise ValidationError({"number": exc.messages}) from None


def operator_for_company_number(*, country: str, number: str) -> Operator | None:
    """The active operator whose EORI is one the validated national number may give, the most
    usual form first (FR + SIREN before FR + SIRET)."""
    candidates = company_number_eori_candidates(country=country, number=number)
    found = {
        operator.eori: operator
        for operator in operator_selectors.operators_with_eori(*candidates).filter(
            status=Operator.Status.ACTIVE,
            deleted_at__isnull=True,
            merged_into__isnull=True,
        )
    }
    return next((found[eori] for eori in candidates if eori in found), None)


def attach_is_direct(*, country: str) -> bool:
    """Whether a person who proves this country's company number is attached at once."""
    return country.upper() in {
        code.upper() for code in getattr(settings, "COMPTOIR_DIRECT_ATTACH_COUNTRIES", [])
    }


def attach_check_not_member(*, person: User, operator: Operator) -> None:
    """AttachRefused (on `number`) when the person already holds or asked for a position."""
    statuses = set(
        _open_positions(person=person, operator=operator).values_list("status", flat=True)
    )
    if statuses == {Position.Status.REQUESTED}:
        raise AttachRefused(
            _(
                "You have already asked to join this company: your request waits for the "
                "decision of its legal representative or a manager."
            )
        )
    if statuses:
        raise AttachRefused(_("You already work for this company: there is nothing more to do."))


def deciders_for(*, operator: Operator) -> QuerySet[User]:
    """The operator's legal representative and managers (valid positions)."""
    return (
        User.objects.filter(
            is_active=True,
            positions__operator=operator,
            positions__role__in=INVITER_ROLES,
            positions__status=Position.Status.VALID,
        )
        .distinct()
        .order_by("pk")
    )


@transaction.atomic
def operator_attach(*, actor: User, operator: Operator, country: str, number: str) -> Position:
    """Attach the person at once, as an employee, to the active operator identified by its
    national company number (only in the countries of COMPTOIR_DIRECT_ATTACH_COUNTRIES). The
    legal representative and the managers are told by e-mail."""
    country, number = company_number_check(country=country, number=number)
    if not attach_is_direct(country=country):
        raise AttachRefused(
            _("Attaching at once is not possible for this country: ask to join instead.")
        )
    locked = Operator.objects.select_for_update().filter(pk=operator.pk).first()
    if locked is None or not _operator_usable(locked):
        raise AttachRefused(_("This company is no longer active on Comptoir."))
    if locked.eori not in company_number_eori_candidates(country=country, number=number):
        raise AttachRefused(_("This company number does not belong to this company."))
    attach_check_not_member(person=actor, operator=locked)
    position = operators.position_appoint(
        actor=actor, person=actor, operator=locked, role=Role.EMPLOYEE
    )
    audit_record(
        action="position.attached",
        actor=actor,
        subject=position,
        data={
            "operator": locked.pk,
            "eori": locked.eori,
            "country": country,
            "number": number,
            "role": Role.EMPLOYEE,
        },
    )
    for person in deciders_for(operator=locked).exclude(pk=actor.pk):
        _send(
            recipient=person,
            to=person.email,
            language=_language_of(person),
            template="invitation_attach_notice",
            context={
                "recipient": person,
                "person": _display_name(actor),
                "email": actor.email,
                "operator": locked,
                "role_code": Role.EMPLOYEE,
                "number": number,
            },
        )
    return position


# --- Reads --------------------------------------------------------------------------------------


def operator_for_inviter(*, person: User, operator_id: int) -> Operator:
    """An operator where the person is legal representative or manager (valid position) and
    that is not deleted. Other members of its space (employees, suspended members) get
    NotAllowedToInvite (a 403 with the reason); anyone else Operator.DoesNotExist (a 404)."""
    try:
        return (
            Operator.objects.filter(
                pk=operator_id,
                deleted_at__isnull=True,
                positions__person=person,
                positions__role__in=INVITER_ROLES,
                positions__status=Position.Status.VALID,
            )
            .distinct()
            .get()
        )
    except Operator.DoesNotExist:
        if Operator.objects.filter(
            pk=operator_id,
            deleted_at__isnull=True,
            merged_into__isnull=True,
            positions__person=person,
            positions__status__in=(Position.Status.VALID, Position.Status.SUSPENDED),
        ).exists():
            raise NotAllowedToInvite() from None
        raise


def invitations_open_for_operator(*, person: User, operator_id: int) -> QuerySet[Invitation]:
    """The invitations of the operator still waiting to be accepted (not expired), newest
    first; only for its legal representative and managers (Operator.DoesNotExist otherwise)."""
    operator = operator_for_inviter(person=person, operator_id=operator_id)
    return (
        Invitation.objects.filter(
            operator=operator,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by", "operator")
        .order_by("-created_at", "-pk")
    )


def invitation_for_inviter(*, person: User, operator_id: int, public_id: Any) -> Invitation:
    """One invitation of an operator the person manages, whatever its state;
    Invitation.DoesNotExist (a 404) otherwise, also for an id that is not a UUID."""
    try:
        operator = operator_for_inviter(person=person, operator_id=operator_id)
        return Invitation.objects.select_related("operator", "invited_by").get(
            operator=operator, public_id=public_id
        )
    except (Operator.DoesNotExist, NotAllowedToInvite, ValidationError, ValueError):
        raise Invitation.DoesNotExist from None


def invitation_for_token(*, token: str) -> Invitation | None:
    """The invitation whose link carries this token, whatever its state; None when unknown.
    The token is the proof: whoever holds it may read the invitation's summary."""
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    return (
        Invitation.objects.select_related("operator", "invited_by")
        .filter(token_digest=token_digest(token))
        .first()
    )
