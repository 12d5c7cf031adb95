"""The right to register certificates (issue 5, point 3): an operator's legal representative or
a manager asks customs for access to certificate registration for one environment (production
or conformance testing); an officer of the competent authority grants or refuses it in the
approvals queue (request kind "certificate_access"). Until a right is GRANTED, the registration
wizard stays closed.

A RegistrationRight follows ``RegistrationRight.TRANSITIONS``: REQUESTED → GRANTED (approved),
REFUSED (rejected) or WITHDRAWN (withdrawn by the requester, expired, or its space merged or
deleted). Its request's decision moves it, inside the decision's transaction, through
``registration_right_settle`` (called by the request kind's handler in approvals.handlers).

Services write (one transaction: the right, its approvals request, their audit events and the
deciders' notices); selectors read, the person-scoped ones raising DoesNotExist (a 404)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.approvals.models import Request
from comptoir.audit.services import audit_record
from comptoir.certificates.models import RegistrationRight
from comptoir.operators import selectors as operator_selectors
from comptoir.operators.models import Operator, Position
from comptoir.operators.services import NotAllowed

RRS = RegistrationRight.Status
Environment = RegistrationRight.Environment

#: Who asks customs for access for an operator: its legal representative and managers (valid).
REQUESTER_ROLES = (Position.Role.LEGAL_REPRESENTATIVE, Position.Role.MANAGER)
#: A right waiting for customs or granted: one per operator and environment at a time.
LIVE_STATUSES = (RRS.REQUESTED, RRS.GRANTED)
ACCOUNT_NAME_MAX = 150
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9._@-]{3,150}")
#: The payload key naming the right a "certificate_access" request decides.
PAYLOAD_RIGHT = "registration_right"


class RightNotAllowed(NotAllowed):
    """The person sees the operator but may not ask for access (a 403 that says why)."""

    code = "not_allowed"


# --- Who may ask --------------------------------------------------------------------------------


def registration_right_can_request(*, person: User, operator: Operator) -> bool:
    """Whether the person is the operator's valid legal representative or a valid manager."""
    return bool(
        person.is_authenticated
        and person.is_active
        and Position.objects.filter(
            person=person,
            operator=operator,
            role__in=REQUESTER_ROLES,
            status=Position.Status.VALID,
        ).exists()
    )


def _operator_usable(operator: Operator) -> bool:
    return (
        operator.status == Operator.Status.ACTIVE
        and operator.deleted_at is None
        and operator.merged_into_id is None
    )


def registration_right_operator_check(*, operator: Operator) -> None:
    """ValidationError when the operator cannot ask for access: not active, or no EORI number."""
    if not _operator_usable(operator):
        raise ValidationError(
            {
                "operator": [
                    _("Only an active company can ask for access to certificate registration.")
                ]
            }
        )
    if not operator.eori:
        raise ValidationError(
            {
                "operator": [
                    _(
                        "Your company has no EORI number in Comptoir: certificates are registered "
                        "against an EORI number. Contact the service desk to add it."
                    )
                ]
            }
        )


# --- Input --------------------------------------------------------------------------------------


def _account_name_clean(account_name: str) -> str:
    value = (account_name or "").strip()
    if not value:
        raise ValidationError(
            {"account_name": [_("Enter the name of the account that will register certificates.")]}
        )
    if len(value) > ACCOUNT_NAME_MAX:
        raise ValidationError(
            {
                "account_name": [
                    _("Enter an account name of %(max)d characters or fewer.")
                    % {"max": ACCOUNT_NAME_MAX}
                ]
            }
        )
    if not _ACCOUNT_NAME.fullmatch(value):
        raise ValidationError(
            {
                "account_name": [
                    _(
                        "Enter an account name of at least 3 characters using only letters, "
                        "digits, dots, hyphens, underscores and @, like jdupont_42."
                    )
                ]
            }
        )
    return value


def _wanted_on_check(wanted_on: date | None) -> date:
    if wanted_on is None:
        raise ValidationError(
            {"wanted_on": [_("Enter the date from which you want to register certificates.")]}
        )
    if wanted_on < timezone.localdate():
        raise ValidationError(
            {
                "wanted_on": [
                    _("Enter a date from which you want access that is today or in the future.")
                ]
            }
        )
    return wanted_on


def _environment_check(environment: str) -> str:
    if environment not in Environment.values:
        raise ValidationError(
            {"environment": [_("Choose the environment: production or conformance testing.")]}
        )
    return environment


def _live_refusal(live: RegistrationRight) -> ValidationError:
    """The specific refusal for an environment already asked for or granted, with its reference."""
    reference = (
        Request.objects.filter(public_id=live.request_id)
        .values_list("reference", flat=True)
        .first()
        if live.request_id
        else None
    ) or "—"
    values = {"environment": live.get_environment_display(), "reference": reference}
    if live.status == RRS.GRANTED:
        message = (
            _(
                "Your company already has access to certificate registration in the "
                "“%(environment)s” environment (request %(reference)s)."
            )
            % values
        )
    else:
        message = (
            _(
                "Your company's request %(reference)s for access to the “%(environment)s” "
                "environment is already waiting for a decision from customs."
            )
            % values
        )
    return ValidationError({"environment": [message]})


def _competent_authority(operator: Operator):
    authority = operator_selectors.competent_authority_for(operator.country or "")
    if authority is None:
        raise ValidationError(
            {
                "operator": [
                    _(
                        "No customs authority can receive requests at the moment. Try again "
                        "later or contact the service desk."
                    )
                ]
            }
        )
    return authority


# --- Services -----------------------------------------------------------------------------------


@transaction.atomic
def registration_right_request(
    *,
    person: User,
    operator: Operator,
    account_name: str,
    wanted_on: date | None,
    environment: str,
) -> RegistrationRight:
    """Ask customs for access to certificate registration for one environment. The EORI number
    and the company name come from the operator. Creates the right (REQUESTED) and submits its
    approvals request (kind certificate_access, details in the payload) to the officers of the
    competent authority, who are told — one transaction. RightNotAllowed when the person is not
    the operator's legal representative or a manager; ValidationError (one message on one
    field) for bad input, an inactive operator without an EORI, or an environment already
    asked for or granted. Nothing is written on a refusal."""
    from comptoir.approvals import services as approvals

    if not registration_right_can_request(person=person, operator=operator):
        raise RightNotAllowed(
            _(
                "Only the company's legal representative and its managers can ask customs for "
                "access to certificate registration. Ask one of them to do it."
            )
        )
    registration_right_operator_check(operator=operator)
    errors: dict[str, list[Any]] = {}
    cleaned: dict[str, Any] = {}
    checks: tuple[tuple[str, Callable[[Any], Any], Any], ...] = (
        ("account_name", _account_name_clean, account_name),
        ("wanted_on", _wanted_on_check, wanted_on),
        ("environment", _environment_check, environment),
    )
    for field, check, value in checks:
        try:
            cleaned[field] = check(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    live = registration_right_live(operator=operator, environment=cleaned["environment"])
    if live is not None:
        raise _live_refusal(live)
    authority = _competent_authority(operator)
    try:
        with transaction.atomic():
            right = RegistrationRight.objects.create(
                operator=operator,
                eori=operator.eori,
                company_name=operator.name[:200],
                account_name=cleaned["account_name"],
                wanted_on=cleaned["wanted_on"],
                environment=cleaned["environment"],
                status=RRS.REQUESTED,
                requested_by=person,
                requested_at=timezone.now(),
            )
    except IntegrityError:
        # Someone asked for the same environment at the same moment and was first.
        live = registration_right_live(operator=operator, environment=cleaned["environment"])
        if live is None:  # pragma: no cover - the other one was decided meanwhile
            raise
        raise _live_refusal(live) from None
    submitted = approvals.request_submit(
        requester=person,
        kind=Request.Kind.CERTIFICATE_ACCESS,
        operator=operator,
        authority=authority,
        payload={
            PAYLOAD_RIGHT: str(right.public_id),
            "eori": right.eori,
            "company_name": right.company_name,
            "account_name": right.account_name,
            "wanted_on": right.wanted_on.isoformat(),
            "environment": right.environment,
        },
    )
    RegistrationRight.objects.filter(pk=right.pk).update(request_id=submitted.public_id)
    right.request_id = submitted.public_id
    audit_record(
        action="certificates.access.requested",
        actor=person,
        subject=right,
        data={
            "operator": operator.pk,
            "eori": right.eori,
            "environment": right.environment,
            "account_name": right.account_name,
            "wanted_on": right.wanted_on.isoformat(),
            "request": submitted.reference,
        },
    )
    return right


def registration_right_for_request(request: Request) -> RegistrationRight | None:
    """The right a certificate_access request decides (None when the payload names none)."""
    try:
        public_id = uuid.UUID(str((request.payload or {}).get(PAYLOAD_RIGHT)))
    except ValueError:
        return None
    return RegistrationRight.objects.filter(public_id=public_id).first()


def registration_right_settle(*, request: Request, actor: User | None) -> RegistrationRight | None:
    """Apply the decision of the right's request (already moved, in the caller's transaction):
    approved → GRANTED, rejected → REFUSED, withdrawn or expired → WITHDRAWN. Guarded by a
    conditional UPDATE from REQUESTED: a right that is no longer waiting is left as it is
    (None is returned). Audited."""
    right = registration_right_for_request(request)
    if right is None or right.status != RRS.REQUESTED:
        return None
    outcomes: dict[str, str] = {
        Request.Status.APPROVED: RRS.GRANTED,
        Request.Status.REJECTED: RRS.REFUSED,
    }
    target = outcomes.get(request.status, RRS.WITHDRAWN)
    if target not in RegistrationRight.TRANSITIONS[right.status]:  # pragma: no cover
        return None
    now = timezone.now()
    updated = RegistrationRight.objects.filter(pk=right.pk, status=RRS.REQUESTED).update(
        status=target, decided_at=now
    )
    if updated != 1:
        return None
    right.status, right.decided_at = target, now
    audit_record(
        action=f"certificates.access.{target}",
        actor=actor,
        subject=right,
        data={
            "operator": right.operator_id,
            "environment": right.environment,
            "request": request.reference,
            "from": RRS.REQUESTED,
            "to": target,
        },
    )
    return right


# --- Selectors ----------------------------------------------------------------------------------


def registration_right_for(
    *, operator: Operator, environment: str | None = None
) -> RegistrationRight | None:
    """The operator's GRANTED right (for this environment, or any: production first), if any.
    The registration wizard is open only with one."""
    rights = RegistrationRight.objects.filter(operator=operator, status=RRS.GRANTED)
    if environment is not None:
        rights = rights.filter(environment=environment)
    granted = list(rights.order_by("-decided_at", "-pk"))
    granted.sort(key=lambda right: right.environment != Environment.PRODUCTION)
    return granted[0] if granted else None


def registration_right_live(*, operator: Operator, environment: str) -> RegistrationRight | None:
    """The right waiting for customs or granted for this environment, if any."""
    return (
        RegistrationRight.objects.filter(
            operator=operator, environment=environment, status__in=LIVE_STATUSES
        )
        .order_by("-requested_at", "-pk")
        .first()
    )


def registration_rights_for_operator(*, operator: Operator) -> QuerySet[RegistrationRight]:
    """Every right the operator asked for, newest first (its history)."""
    return (
        RegistrationRight.objects.filter(operator=operator)
        .select_related("requested_by")
        .order_by("-requested_at", "-pk")
    )


def registration_rights_waiting(*, operator: Operator) -> QuerySet[RegistrationRight]:
    """The operator's rights still waiting for a decision from customs, newest first."""
    return registration_rights_for_operator(operator=operator).filter(status=RRS.REQUESTED)


def registration_rights_for_person(
    *, person: User, operator_id: int | None = None
) -> QuerySet[RegistrationRight]:
    """The rights of the operators where the person holds a valid position (of one of them
    with operator_id: Operator.DoesNotExist, a 404, when it is not one of theirs)."""
    if operator_id is not None:
        operator = operator_selectors.operator_for_person(person=person, operator_id=operator_id)
        return registration_rights_for_operator(operator=operator)
    return (
        RegistrationRight.objects.filter(
            operator__in=operator_selectors.operators_for_person(person=person)
        )
        .select_related("requested_by")
        .order_by("-requested_at", "-pk")
    )


def registration_right_for_person(
    *, person: User, right_id: uuid.UUID | str, operator: Operator | None = None
) -> RegistrationRight:
    """One right of an operator where the person holds a valid position (of `operator` when
    given); RegistrationRight.DoesNotExist (a 404) for any other."""
    try:
        public_id = uuid.UUID(str(right_id))
    except ValueError:
        raise RegistrationRight.DoesNotExist from None
    if operator is not None:
        rights = RegistrationRight.objects.filter(operator=operator)
    else:
        rights = registration_rights_for_person(person=person)
    return rights.select_related("operator", "requested_by").get(public_id=public_id)


def registration_right_requests(rights: list[RegistrationRight]) -> dict[uuid.UUID, Request]:
    """The approvals requests of these rights, by public id (for their references and status)."""
    wanted = {right.request_id for right in rights if right.request_id}
    if not wanted:
        return {}
    return {item.public_id: item for item in Request.objects.filter(public_id__in=wanted)}


@dataclass(frozen=True)
class AccessState:
    """What the closed registration wizard tells a member: the access granted (if any), the
    requests still waiting (with their references), and whether this person may ask."""

    granted: RegistrationRight | None
    waiting: list[tuple[RegistrationRight, str]]
    can_request: bool


def registration_access_state(*, operator: Operator, person: User) -> AccessState:
    """For the page that says why the wizard is closed and what to do (certificates/rights/
    _closed.html): `{% include "certificates/rights/_closed.html" with access=... %}`."""
    waiting = list(registration_rights_waiting(operator=operator))
    requests = registration_right_requests(waiting)
    return AccessState(
        granted=registration_right_for(operator=operator),
        waiting=[
            (right, requests[right.request_id].reference if right.request_id in requests else "—")
            for right in waiting
        ],
        can_request=registration_right_can_request(person=person, operator=operator),
    )
