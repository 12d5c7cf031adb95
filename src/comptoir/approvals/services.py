"""Submit requests and decide them. Every transition is one transaction: the conditional UPDATE
on the status, the request's history row, the audit event, the effect of the decision (through
the per-kind handler) and the e-mails in the outbox commit together, or not at all."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.approvals.handlers import (
    Submission,
    authority_has_officers,
    deciders,
    handler_for,
    operator_has_deciders,
)
from comptoir.approvals.models import Request, RequestCounter, RequestEvent
from comptoir.audit.services import audit_record
from comptoir.notifications.selectors import notice_wants_email
from comptoir.notifications.services import notice_create, outbox_enqueue
from comptoir.operators import invitations
from comptoir.operators import services as operators
from comptoir.operators.models import Authority, Operator, Position
from comptoir.operators.selectors import competent_authority_for

RS = Request.Status

ALLOWED: dict[str, frozenset[str]] = {
    RS.SUBMITTED: frozenset({RS.APPROVED, RS.REJECTED, RS.WITHDRAWN, RS.EXPIRED}),
    RS.APPROVED: frozenset(),
    RS.REJECTED: frozenset(),
    RS.WITHDRAWN: frozenset(),
    RS.EXPIRED: frozenset(),
}


class RequestAlreadyDecided(Exception):
    """The request is no longer waiting: someone else decided it (or it was withdrawn or
    expired) first. Nothing was changed."""

    def __init__(self, *, status: str) -> None:
        self.status = status
        self.message = _("This request has already been closed: it is now %(status)s.") % {
            "status": RS(status).label
        }
        super().__init__(str(self.message))


class RequestExpired(Exception):
    """The request's time ran out; it can no longer be decided or withdrawn."""

    def __init__(self) -> None:
        self.message = _("This request has expired and can no longer be decided.")
        super().__init__(str(self.message))


class NotAllowedToDecide(PermissionDenied):
    def __init__(self, message: object) -> None:
        self.message = message
        super().__init__(str(message))


def request_expiry_days() -> int:
    return int(getattr(settings, "COMPTOIR_REQUEST_EXPIRY_DAYS", 30))


def _next_reference(now: datetime) -> str:
    year = timezone.localdate(now).year
    RequestCounter.objects.get_or_create(year=year)
    RequestCounter.objects.filter(year=year).update(last=F("last") + 1)
    number = RequestCounter.objects.get(year=year).last
    return f"REQ-{year}-{number:06d}"


# --- Submission ---------------------------------------------------------------------------------


@transaction.atomic
def request_submit(
    *,
    requester: User,
    kind: str,
    operator: Operator | None = None,
    authority: Authority | None = None,
    payload: dict[str, Any] | None = None,
) -> Request:
    """Check the request against its kind's rules, store it and tell the deciders."""
    handler = handler_for(kind)
    payload = dict(payload or {})
    handler.validate(
        Submission(requester=requester, operator=operator, authority=authority, payload=payload)
    )
    now = timezone.now()
    request = Request.objects.create(
        reference=_next_reference(now),
        kind=kind,
        status=RS.SUBMITTED,
        requester=requester,
        operator=operator,
        authority=authority,
        payload=payload,
        submitted_at=now,
        expires_at=now + timedelta(days=request_expiry_days()),
    )
    RequestEvent.objects.create(
        request=request, from_status="", to_status=RS.SUBMITTED, actor=requester, at=now
    )
    audit_record(
        action="request.submitted",
        actor=requester,
        subject=request,
        data={"reference": request.reference, "kind": kind, "payload": payload},
    )
    _notify(recipients=deciders(request), template="submitted", request=request)
    return request


@transaction.atomic
def operator_registration_submit(
    *,
    requester: User,
    authority: Authority,
    operations: list[str],
    eori: str,
    name: str,
    country: str,
    contact_phone: str = "",
    contact_email: str = "",
    **details: str,
) -> Request:
    """Register a pending operator with the requester as its legal representative (requested),
    and ask the competent authority to approve it with these customs operations. The legal
    representative's contact for this request travels in its payload."""
    operator, position = operators.operator_register(
        actor=requester, eori=eori, name=name, country=country, **details
    )
    return request_submit(
        requester=requester,
        kind=Request.Kind.OPERATOR_REGISTRATION,
        operator=operator,
        authority=authority,
        payload={
            "operations": list(operations),
            "position": position.pk,
            "contact": {"phone": contact_phone, "email": contact_email},
        },
    )


@transaction.atomic
def membership_request_submit(
    *, requester: User, operator: Operator, role: str = Position.Role.EMPLOYEE
) -> Request:
    """Ask to join the operator; its legal representative or a manager decides."""
    if role not in (Position.Role.MANAGER, Position.Role.EMPLOYEE):
        raise ValidationError({"role": _("Choose the role you ask for: manager or employee.")})
    if operator.status != Operator.Status.ACTIVE:
        raise ValidationError({"operator": _("You can only join an active operator.")})
    position = operators.position_request(
        actor=requester, person=requester, operator=operator, role=role
    )
    return request_submit(
        requester=requester,
        kind=Request.Kind.MEMBERSHIP,
        operator=operator,
        payload={"position": position.pk, "role": role},
    )


def operation_change_submit(
    *,
    requester: User,
    operator: Operator,
    authority: Authority,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> Request:
    """The legal representative asks the competent authority to add or remove operations."""
    return request_submit(
        requester=requester,
        kind=Request.Kind.OPERATION_CHANGE,
        operator=operator,
        authority=authority,
        payload={"add": sorted(set(add)), "remove": sorted(set(remove))},
    )


def legal_representative_transfer_submit(
    *, requester: User, operator: Operator, authority: Authority, to_person: User
) -> Request:
    """The legal representative hands the representation to another member; customs approve."""
    return request_submit(
        requester=requester,
        kind=Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER,
        operator=operator,
        authority=authority,
        payload={"to_person": to_person.pk},
    )


# --- Transitions --------------------------------------------------------------------------------


def _load(request_id: uuid.UUID | str) -> Request:
    return Request.objects.select_related("requester", "operator", "authority").get(
        public_id=request_id
    )


def _transition(
    *,
    request: Request,
    to_status: str,
    actor: User | None,
    reason: str,
    now: datetime,
) -> Request:
    """Move the request from the status it was read in to `to_status`, or raise and change
    nothing. The conditional UPDATE is the guard: of two concurrent decisions, the second one
    finds no row still in that status (PostgreSQL re-checks the WHERE after the first commits)."""
    from_status = request.status
    if to_status not in ALLOWED[from_status]:
        raise RequestAlreadyDecided(status=from_status)
    rows = Request.objects.filter(pk=request.pk, status=from_status)
    if to_status == RS.EXPIRED:
        rows = rows.filter(expires_at__lte=now)
    else:
        rows = rows.filter(expires_at__gt=now)
    updated = rows.update(status=to_status, decided_by=actor, decided_at=now, reason=reason)
    if updated != 1:
        current = Request.objects.values_list("status", flat=True).get(pk=request.pk)
        if current == from_status:  # still waiting: only the time check failed
            raise RequestExpired()
        raise RequestAlreadyDecided(status=current)
    request.status, request.decided_by, request.decided_at, request.reason = (
        to_status,
        actor,
        now,
        reason,
    )
    RequestEvent.objects.create(
        request=request,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        at=now,
        reason=reason,
    )
    audit_record(
        action=f"request.{to_status}",
        actor=actor,
        subject=request,
        data={
            "reference": request.reference,
            "kind": request.kind,
            "from": from_status,
            "to": to_status,
            "reason": reason,
        },
    )
    handler = handler_for(request.kind)
    if to_status == RS.APPROVED:
        assert actor is not None
        handler.on_approved(request, actor)
    else:
        handler.on_closed(request, actor)
    return request


def _check_decider(*, actor: User, request: Request) -> None:
    if not deciders(request).filter(pk=actor.pk).exists():
        raise NotAllowedToDecide(_("You are not allowed to decide this request."))


@transaction.atomic
def request_approve(*, actor: User, request_id: uuid.UUID | str, reason: str = "") -> Request:
    request = _load(request_id)
    _check_decider(actor=actor, request=request)
    _transition(
        request=request,
        to_status=RS.APPROVED,
        actor=actor,
        reason=reason.strip(),
        now=timezone.now(),
    )
    _notify(recipients=[request.requester], template="decided", request=request)
    return request


@transaction.atomic
def request_reject(*, actor: User, request_id: uuid.UUID | str, reason: str) -> Request:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Enter the reason for rejecting the request: the requester will read it.")}
        )
    request = _load(request_id)
    _check_decider(actor=actor, request=request)
    _transition(
        request=request, to_status=RS.REJECTED, actor=actor, reason=reason, now=timezone.now()
    )
    _notify(recipients=[request.requester], template="decided", request=request)
    return request


@transaction.atomic
def request_withdraw(*, actor: User, request_id: uuid.UUID | str, reason: str = "") -> Request:
    request = _load(request_id)
    if request.requester_id != actor.pk:
        raise NotAllowedToDecide(_("Only the person who made the request can withdraw it."))
    return _transition(
        request=request,
        to_status=RS.WITHDRAWN,
        actor=actor,
        reason=reason.strip(),
        now=timezone.now(),
    )


@transaction.atomic
def request_close(*, actor: User | None, request: Request, reason: str) -> Request:
    """Close a waiting request because its organisation's space is merged or deleted: withdrawn
    on the actor's behalf (expired instead when its time has already run out), the requester
    told. Not a decision: the services that merge or delete spaces check who may do that."""
    now = timezone.now()
    if request.expires_at <= now:
        return request_expire(request_id=request.public_id, now=now)
    _transition(request=request, to_status=RS.WITHDRAWN, actor=actor, reason=reason, now=now)
    _notify(recipients=[request.requester], template="decided", request=request)
    return request


@transaction.atomic
def request_reassign(*, actor: User, request_id: uuid.UUID | str, authority: Authority) -> Request:
    """An administrator passes a waiting customs request to another authority, whose officers
    are told. Guarded like a decision: if the request was decided or reassigned meanwhile,
    nothing changes."""
    if not (actor.is_active and actor.is_superuser):
        raise NotAllowedToDecide(_("Only administrators can reassign a request."))
    request = _load(request_id)
    if handler_for(request.kind).decided_in != "authority":
        raise ValidationError(
            {"authority": _("Only requests decided by customs can be reassigned.")}
        )
    if request.status != RS.SUBMITTED:
        raise RequestAlreadyDecided(status=request.status)
    if request.authority_id == authority.pk:
        raise ValidationError(
            {"authority": _("The request is already with this authority. Choose another one.")}
        )
    previous = request.authority
    updated = Request.objects.filter(
        pk=request.pk, status=RS.SUBMITTED, authority=request.authority
    ).update(authority=authority)
    if updated != 1:
        current = Request.objects.values_list("status", flat=True).get(pk=request.pk)
        if current != RS.SUBMITTED:
            raise RequestAlreadyDecided(status=current)
        raise ValidationError(
            {"authority": _("Someone else reassigned this request meanwhile. Check it again.")}
        )
    request.authority = authority
    audit_record(
        action="request.reassigned",
        actor=actor,
        subject=request,
        data={
            "reference": request.reference,
            "kind": request.kind,
            "from": previous.code if previous else None,
            "to": authority.code,
        },
    )
    _notify(recipients=deciders(request), template="submitted", request=request)
    return request


@transaction.atomic
def request_expire(*, request_id: uuid.UUID | str, now: datetime | None = None) -> Request:
    """Close a request whose time ran out (no actor); the requester is told."""
    request = _load(request_id)
    _transition(
        request=request,
        to_status=RS.EXPIRED,
        actor=None,
        reason="",
        now=now or timezone.now(),
    )
    _notify(recipients=[request.requester], template="decided", request=request)
    return request


def requests_expire_due(*, now: datetime | None = None) -> int:
    """Expire every waiting request past its time, each in its own transaction; returns how
    many. A request decided meanwhile is left as it is."""
    now = now or timezone.now()
    due = Request.objects.filter(status=RS.SUBMITTED, expires_at__lte=now).values_list(
        "public_id", flat=True
    )
    expired = 0
    for public_id in list(due):
        try:
            request_expire(request_id=public_id, now=now)
        except RequestAlreadyDecided:
            continue
        expired += 1
    return expired


# --- Notices ------------------------------------------------------------------------------------


# Where each notice leads: deciders to the request's page in their queue, the requester to the
# list of their own requests (where the decision and its reason show).
_NOTICE_LINKS: dict[str, tuple[str, bool]] = {
    "submitted": ("approvals:detail", True),
    "decided": ("operators:requests", False),
}


def _notice_link(*, template: str, request: Request) -> str:
    url_name, with_id = _NOTICE_LINKS[template]
    return reverse(url_name, kwargs={"public_id": request.public_id} if with_id else None)


# Which notification preference (NoticePreference.Category) governs each notice's e-mail.
_NOTICE_CATEGORIES = {"submitted": "to_decide", "decided": "my_requests"}


def _notify(*, recipients: Iterable[User], template: str, request: Request) -> None:
    """Tell each recipient, in their language, in this transaction: an in-app notice for
    everyone, and an e-mail written to the outbox for those with an address who did not choose
    "only in the portal" for this category of notices. On the dashboard the notice carries
    the request's sector (company or customs) and reference."""
    from comptoir.approvals.worklist import request_sector

    link = _notice_link(template=template, request=request)
    sector = request_sector(request.kind)
    for person in recipients:
        language = person.language or settings.LANGUAGE_CODE
        category = _NOTICE_CATEGORIES.get(template) or (
            "my_requests" if person.pk == request.requester_id else "to_decide"
        )
        by_email = bool(person.email) and notice_wants_email(person=person, category=category)
        with translation.override(language):
            context = {
                "person": person,
                "request": request,
                "kind": request.get_kind_display(),
                "status": request.get_status_display(),
                "operator": request.operator,
                "authority": request.authority,
            }
            notice_title = render_to_string(f"approvals/notice/{template}_title.txt", context)
            notice_body = render_to_string(f"approvals/notice/{template}_body.txt", context)
            if by_email:
                subject = render_to_string(f"approvals/email/{template}_subject.txt", context)
                body = render_to_string(f"approvals/email/{template}_body.txt", context)
        notice_create(
            recipient=person,
            topic=f"request.{request.status}",
            title=notice_title,
            body=notice_body,
            link=link,
            operator=request.operator,
            sector=sector,
            reference=request.reference,
        )
        if not by_email:
            continue
        outbox_enqueue(
            to=person.email,
            subject=" ".join(subject.split()),
            body_text=body.strip() + "\n",
            language=language,
            template=f"approvals/email/{template}",
        )


# --- Attach by national company number ----------------------------------------------------------


@dataclass(frozen=True)
class AttachOutcome:
    """attached: the person holds a valid employee position now; requested: a membership
    request waits for the operator's legal representative or a manager."""

    outcome: str
    operator: Operator
    position: Position | None = None
    reference: str = ""
    request_id: str = ""


def company_attach_submit(
    *, person: User, operator: Operator, country: str, number: str
) -> AttachOutcome:
    """Attach at once where the country allows it, else submit a membership request as an
    employee. ValidationError (with a field) when the input or the person's situation does not
    allow it. Shared by the pages and the API."""
    country, number = invitations.company_number_check(country=country, number=number)
    if invitations.attach_is_direct(country=country):
        position = invitations.operator_attach(
            actor=person, operator=operator, country=country, number=number
        )
        return AttachOutcome(outcome="attached", operator=operator, position=position)
    invitations.attach_check_not_member(person=person, operator=operator)
    try:
        submitted = membership_request_submit(
            requester=person, operator=operator, role=Position.Role.EMPLOYEE
        )
    except ValidationError as exc:
        raise invitations.AttachRefused(" ".join(exc.messages)) from exc
    return AttachOutcome(
        outcome="requested",
        operator=operator,
        reference=submitted.reference,
        request_id=str(submitted.public_id),
    )


# --- Role requests from the directory -----------------------------------------------------------

ROLE_MESSAGE_MAX = 1000
_PHONE = re.compile(r"\+?[0-9 ().-]{4,31}")


class ValidatedBy:
    """Who decides a role request, kept in its payload for the requester's pages and the API."""

    OPERATOR = "operator"  # the operator's legal representative or managers
    AUTHORITY = "authority"  # the officers of the authority where the role is asked
    NATIONAL_AUTHORITY = "national_authority"  # the competent national administration


def _role_request_contact(*, message: str, email: str, phone: str) -> dict[str, str]:
    """The optional message and the contact the requester leaves for the deciders."""
    message, email, phone = (message or "").strip(), (email or "").strip(), (phone or "").strip()
    if len(message) > ROLE_MESSAGE_MAX:
        raise ValidationError(
            {
                "message": _("Enter a message of %(max)d characters or fewer.")
                % {"max": ROLE_MESSAGE_MAX}
            }
        )
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(
                {"email": _("Enter an email address in the correct format, like name@example.com.")}
            ) from None
        if len(email) > 254:
            raise ValidationError(
                {"email": _("Enter an email address of 254 characters or fewer.")}
            )
    if phone and not _PHONE.fullmatch(phone):
        raise ValidationError(
            {
                "phone": _(
                    "Enter a phone number using only digits, spaces, brackets, dots, hyphens "
                    "and a leading +, like +33 1 23 45 67 89."
                )
            }
        )
    return {"message": message, "email": email, "phone": phone}


def _role_not_open(
    *, person: User, role: str, operator: Operator | None, authority: Authority | None
) -> None:
    if Position.objects.filter(
        person=person,
        operator=operator,
        authority=authority,
        role=role,
        status__in=Position.OPEN_STATUSES,
    ).exists():
        raise ValidationError(
            {"role": _("You already hold this role there, or your request for it is waiting.")}
        )


@transaction.atomic
def role_request_submit(
    *,
    requester: User,
    role: str,
    operator: Operator | None = None,
    authority: Authority | None = None,
    message: str = "",
    email: str = "",
    phone: str = "",
) -> Request:
    """Ask for a role at an operator (manager or employee) or at an authority (officer or
    service desk), with an optional message and contact for the deciders. The position waits
    (requested) until the request is decided: approval validates it, rejection rejects it.
    Who decides: at an operator, its legal representative and managers (a membership request);
    at an operator that has none — just created from the directory, say — the national
    authority of its country; at an authority, its officers, or the national authority when
    it has none. ValidationError (with a field) when the input or the situation refuses it."""
    if (operator is None) == (authority is None):
        raise ValidationError({"organisation": _("Choose an operator or an authority.")})
    contact = _role_request_contact(message=message, email=email, phone=phone)
    deciding: Authority | None
    if operator is not None:
        if role not in (Position.Role.MANAGER, Position.Role.EMPLOYEE):
            raise ValidationError({"role": _("Choose the role you ask for: manager or employee.")})
        if (
            operator.status != Operator.Status.ACTIVE
            or operator.merged_into_id is not None
            or operator.deleted_at is not None
        ):
            raise ValidationError(
                {"operator": _("You can only ask for a role at an active operator.")}
            )
        if operator_has_deciders(operator=operator, requester=requester):
            kind, deciding, validated_by = Request.Kind.MEMBERSHIP, None, ValidatedBy.OPERATOR
        else:
            kind, validated_by = Request.Kind.OPERATOR_ROLE, ValidatedBy.NATIONAL_AUTHORITY
            deciding = competent_authority_for(operator.country)
            if deciding is None:
                raise ValidationError(
                    {
                        "operator": _(
                            "This operator has no manager to validate your role, and no national "
                            "authority can do it at the moment. Try again later or contact the "
                            "service desk."
                        )
                    }
                )
    else:
        assert authority is not None
        if role not in Position.AUTHORITY_ROLES:
            raise ValidationError(
                {"role": _("Choose the role you ask for: officer or service desk.")}
            )
        kind, deciding, validated_by = Request.Kind.AUTHORITY_ROLE, authority, ValidatedBy.AUTHORITY
        if not authority_has_officers(authority=authority, requester=requester):
            national = competent_authority_for(authority.country)
            if national is not None and national.pk != authority.pk:
                deciding, validated_by = national, ValidatedBy.NATIONAL_AUTHORITY
    _role_not_open(person=requester, role=role, operator=operator, authority=authority)
    position = operators.position_request(
        actor=requester, person=requester, operator=operator, authority=authority, role=role
    )
    return request_submit(
        requester=requester,
        kind=kind,
        operator=operator,
        authority=deciding,
        payload={"position": position.pk, "role": role, "validated_by": validated_by, **contact},
    )
