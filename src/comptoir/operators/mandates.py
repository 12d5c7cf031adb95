"""Mandates: an operator (the principal) mandates a service provider, another operator found by
its EORI, for one scope and a period; the provider accepts or declines; either side ends it.
The provider's people may then act for the principal in the portal (scope "portal_actions"),
and its certificates may seal B2G messages for the principal (scope "ics2_filing") where the
administration's policy allows.

Services write: keyword-only, one transaction each with the conditional status update, its
audit event and the notices (and outbox e-mails) to the other side's legal representative and
managers. Selectors read; the ones the pages and the API use are scoped by the person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.core.identifiers import eori_validate
from comptoir.notifications.models import NoticePreference
from comptoir.notifications.selectors import notice_wants_email
from comptoir.notifications.services import notice_create, outbox_enqueue
from comptoir.operators import selectors as operator_selectors
from comptoir.operators.models import Mandate, Operator, Position
from comptoir.operators.services import NotAllowed

MS = Mandate.Status
Scope = Mandate.Scope
Side = Mandate.Side

#: The explicit state machine: from each status, the statuses a service may move to.
#: PROPOSED → ENDED is the principal withdrawing its proposal (or the provider ending it).
MANDATE_TRANSITIONS: dict[str, frozenset[str]] = {
    MS.PROPOSED: frozenset({MS.ACCEPTED, MS.DECLINED, MS.ENDED}),
    MS.ACCEPTED: frozenset({MS.ENDED}),
    MS.DECLINED: frozenset(),
    MS.ENDED: frozenset(),
}

#: Who proposes, accepts, declines and ends mandates for an operator: its legal representative
#: and managers (valid positions).
MANDATE_ROLES = (Position.Role.LEGAL_REPRESENTATIVE, Position.Role.MANAGER)
REASON_MAX = 1000


# --- Refusals -----------------------------------------------------------------------------------


class MandateRefused(ValidationError):
    """Bad input or a situation that does not allow the proposal: one message on one field,
    with a stable machine-readable `code` (the API returns it)."""

    def __init__(self, message: Any, *, field: str, code: str) -> None:
        self.field = field
        self.code = code
        self.text = message
        super().__init__({field: [ValidationError(message, code=code)]})


class MandateNotAllowed(NotAllowed):
    """The person sees the mandate (or the operator) but may not do this: a 403 that says why."""

    code = "not_allowed"


class MandateClosed(Exception):
    """The mandate is not (or no longer) in a status that allows this change: someone decided
    or ended it first. Nothing was changed."""

    code = "mandate_closed"

    def __init__(self, *, status: str) -> None:
        self.status = status
        self.message = _("This mandate can no longer be changed: it is now %(status)s.") % {
            "status": MS(status).label.lower()
        }
        super().__init__(str(self.message))


# --- Helpers ------------------------------------------------------------------------------------


def _today() -> date:
    return timezone.localdate()


def _day(at: datetime | date | None) -> date:
    if at is None:
        return _today()
    if isinstance(at, datetime):
        return timezone.localdate(at) if timezone.is_aware(at) else at.date()
    return at


def _usable(operator: Operator) -> bool:
    return (
        operator.status == Operator.Status.ACTIVE
        and operator.deleted_at is None
        and operator.merged_into_id is None
    )


def mandate_can_manage(*, person: User, operator: Operator | int) -> bool:
    """Whether the person is the operator's legal representative or a manager (valid)."""
    operator_id = operator if isinstance(operator, int) else operator.pk
    return (
        person.is_authenticated
        and person.is_active
        and Position.objects.filter(
            person=person,
            operator_id=operator_id,
            role__in=MANDATE_ROLES,
            status=Position.Status.VALID,
        ).exists()
    )


def _managers(operator: Operator) -> QuerySet[User]:
    return (
        User.objects.filter(
            is_active=True,
            positions__operator=operator,
            positions__role__in=MANDATE_ROLES,
            positions__status=Position.Status.VALID,
        )
        .distinct()
        .order_by("pk")
    )


def _language_of(person: User) -> str:
    language = person.language or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _notify(*, mandate: Mandate, event: str, side: Operator, actor: User) -> None:
    """Tell the legal representative and managers of `side` (but the actor), each in their
    language: an in-app notice about that operator, and an e-mail in the outbox unless they
    chose "only in the portal" for the company notices."""
    link = reverse(
        "mandates:detail", kwargs={"operator_id": side.pk, "mandate_id": mandate.public_id}
    )
    for person in _managers(side).exclude(pk=actor.pk):
        language = _language_of(person)
        with translation.override(language):
            context = {
                "person": person,
                "mandate": mandate,
                "principal": mandate.principal,
                "provider": mandate.provider,
                "scope": mandate.get_scope_display(),
                "actor": actor.get_full_name() or actor.get_username(),
                "reason": mandate.end_reason,
            }
            subject = " ".join(
                render_to_string(f"operators/mandates/email/{event}_subject.txt", context).split()
            )
            body = render_to_string(f"operators/mandates/email/{event}_body.txt", context).strip()
        notice_create(
            recipient=person,
            topic=f"mandate.{event}",
            title=subject,
            body=body,
            link=link,
            operator=side,
            sector="company",
            reference=mandate.reference,
        )
        if person.email and notice_wants_email(
            person=person, category=NoticePreference.Category.COMPANY
        ):
            outbox_enqueue(
                to=person.email,
                subject=f"[Comptoir] {subject}",
                body_text=body + "\n",
                language=language,
                template=f"operators/mandates/email/{event}",
            )


def _audit(*, action: str, actor: User, mandate: Mandate, **extra: Any) -> None:
    audit_record(
        action=f"mandate.{action}",
        actor=actor,
        subject=mandate,
        data={
            "mandate": str(mandate.public_id),
            "reference": mandate.reference,
            "principal": mandate.principal.eori,
            "provider": mandate.provider.eori,
            "scope": mandate.scope,
            "valid_from": mandate.valid_from.isoformat(),
            "valid_until": mandate.valid_until.isoformat() if mandate.valid_until else None,
            "status": mandate.status,
            **extra,
        },
    )


def _overlapping(
    *,
    principal: Operator,
    provider: Operator,
    scope: str,
    valid_from: date,
    valid_until: date | None,
) -> QuerySet[Mandate]:
    """The open mandates of the same principal, provider and scope whose period meets this one
    (both ends included; no end is open-ended)."""
    found = Mandate.objects.filter(
        principal=principal, provider=provider, scope=scope, status__in=Mandate.OPEN_STATUSES
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=valid_from))
    if valid_until is not None:
        found = found.filter(valid_from__lte=valid_until)
    return found


def _overlap_refusal() -> MandateRefused:
    return MandateRefused(
        _(
            "This service provider already has a mandate for this scope, proposed or accepted, "
            "whose period overlaps the one you chose. End it first, or choose dates after it."
        ),
        field="valid_from",
        code="overlap",
    )


# --- Proposal -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A proposal that passed every check: what mandate_propose would store."""

    principal: Operator
    provider: Operator
    scope: str
    valid_from: date
    valid_until: date | None


def mandate_proposal_check(
    *,
    actor: User,
    principal: Operator,
    provider_eori: str,
    scope: str,
    valid_from: date | None,
    valid_until: date | None,
) -> Proposal:
    """Every check of a proposal, without writing: MandateNotAllowed (403) when the actor does
    not manage the principal, ValidationError with one message per field otherwise. The pages
    call it before the check-your-answers page; mandate_propose calls it again under a lock."""
    if not mandate_can_manage(person=actor, operator=principal):
        raise MandateNotAllowed(
            _("Only the company's legal representative and its managers can give mandates.")
        )
    if not _usable(principal):
        raise MandateRefused(
            _("Only an active company can give mandates."), field="operator", code="inactive"
        )
    errors: dict[str, list[ValidationError]] = {}
    provider: Operator | None = None
    eori = ""
    if not (provider_eori or "").strip():
        errors["provider_eori"] = [
            ValidationError(
                _("Enter the EORI number of the service provider."), code="provider_eori_empty"
            )
        ]
    else:
        try:
            eori = eori_validate(value=provider_eori)
        except ValidationError as exc:
            errors["provider_eori"] = [ValidationError(message) for message in exc.messages]
    if eori:
        provider = operator_selectors.operators_with_eori(eori).first()
        if eori == principal.eori or (provider is not None and provider.pk == principal.pk):
            errors["provider_eori"] = [
                ValidationError(
                    _(
                        "This is your own company's EORI number: enter the EORI number of "
                        "another company, the service provider."
                    ),
                    code="self_mandate",
                )
            ]
        elif provider is None:
            errors["provider_eori"] = [
                ValidationError(
                    _(
                        "No company with this EORI number is registered on Comptoir. Check the "
                        "number, or ask the service provider to register first."
                    ),
                    code="provider_unknown",
                )
            ]
        elif not _usable(provider):
            errors["provider_eori"] = [
                ValidationError(
                    _(
                        "The company with this EORI number is not active on Comptoir: it "
                        "cannot receive mandates."
                    ),
                    code="provider_inactive",
                )
            ]
    if scope not in Scope.values:
        errors["scope"] = [
            ValidationError(
                _("Choose what the service provider may do: ICS2 filing or portal actions."),
                code="scope_invalid",
            )
        ]
    if valid_from is None:
        errors["valid_from"] = [
            ValidationError(_("Enter the date the mandate starts."), code="valid_from_empty")
        ]
    elif valid_from < _today():
        errors["valid_from"] = [
            ValidationError(
                _("The date the mandate starts must be today or in the future."),
                code="valid_from_past",
            )
        ]
    elif valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = [
            ValidationError(
                _("The date the mandate ends must be the same as or after the date it starts."),
                code="period_invalid",
            )
        ]
    if errors:
        raise ValidationError(errors)
    assert provider is not None and valid_from is not None
    if _overlapping(
        principal=principal,
        provider=provider,
        scope=scope,
        valid_from=valid_from,
        valid_until=valid_until,
    ).exists():
        raise _overlap_refusal()
    return Proposal(
        principal=principal,
        provider=provider,
        scope=scope,
        valid_from=valid_from,
        valid_until=valid_until,
    )


@transaction.atomic
def mandate_propose(
    *,
    actor: User,
    principal: Operator,
    provider_eori: str,
    scope: str,
    valid_from: date | None,
    valid_until: date | None,
) -> Mandate:
    """The principal's legal representative or a manager proposes a mandate to the provider;
    the provider's legal representative and managers are told. Two proposals at once for the
    same principal are serialised by a lock on the principal's row, so the overlap check holds
    (and the database refuses an overlap anyway)."""
    locked = Operator.objects.select_for_update().filter(pk=principal.pk).first()
    if locked is None:
        raise Operator.DoesNotExist
    proposal = mandate_proposal_check(
        actor=actor,
        principal=locked,
        provider_eori=provider_eori,
        scope=scope,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    try:
        with transaction.atomic():
            mandate = Mandate.objects.create(
                principal=proposal.principal,
                provider=proposal.provider,
                scope=proposal.scope,
                valid_from=proposal.valid_from,
                valid_until=proposal.valid_until,
                status=MS.PROPOSED,
                created_by=actor,
            )
    except IntegrityError as exc:
        raise _overlap_refusal() from exc
    _audit(action="proposed", actor=actor, mandate=mandate)
    _notify(mandate=mandate, event="proposed", side=mandate.provider, actor=actor)
    return mandate


# --- Decisions ----------------------------------------------------------------------------------


def _load(mandate_id: uuid.UUID | str) -> Mandate:
    try:
        public_id = uuid.UUID(str(mandate_id))
    except ValueError:
        raise Mandate.DoesNotExist from None
    return Mandate.objects.select_related("principal", "provider").get(public_id=public_id)


def _visible(*, person: User, mandate: Mandate) -> bool:
    """Whether the person holds a valid position at either side (else the mandate is out of
    their scope: a 404)."""
    return Position.objects.filter(
        person=person,
        operator_id__in=(mandate.principal_id, mandate.provider_id),
        status=Position.Status.VALID,
    ).exists()


def _load_for(*, actor: User, mandate_id: uuid.UUID | str) -> Mandate:
    mandate = _load(mandate_id)
    if not _visible(person=actor, mandate=mandate):
        raise Mandate.DoesNotExist
    return mandate


def _move(
    *, mandate: Mandate, to_status: str, changes: dict[str, Any], from_statuses: frozenset[str]
) -> None:
    """The guarded transition: allowed by MANDATE_TRANSITIONS from the status read, and a
    conditional update from that same status. Of two concurrent decisions, the second finds
    no row left in that status (PostgreSQL re-checks the WHERE once the first commits) and
    changes nothing."""
    current = mandate.status
    if current not in from_statuses or to_status not in MANDATE_TRANSITIONS[current]:
        raise MandateClosed(status=current)
    updated = Mandate.objects.filter(pk=mandate.pk, status=current).update(
        status=to_status, **changes
    )
    if updated != 1:
        raise MandateClosed(
            status=Mandate.objects.values_list("status", flat=True).get(pk=mandate.pk)
        )
    mandate.status = to_status
    for field, value in changes.items():
        setattr(mandate, field, value)


@transaction.atomic
def mandate_accept(*, actor: User, mandate_id: uuid.UUID | str) -> Mandate:
    """The provider's legal representative or a manager accepts a proposed mandate; the
    principal's are told. Mandate.DoesNotExist (404) outside the actor's companies."""
    mandate = _load_for(actor=actor, mandate_id=mandate_id)
    if not mandate_can_manage(person=actor, operator=mandate.provider_id):
        raise MandateNotAllowed(
            _("Only the service provider's legal representative and managers can accept it.")
        )
    if mandate.status != MS.PROPOSED:
        raise MandateClosed(status=mandate.status)
    if not (_usable(mandate.principal) and _usable(mandate.provider)):
        raise MandateRefused(
            _("Both companies must be active on Comptoir for the mandate to be accepted."),
            field="mandate",
            code="inactive",
        )
    if mandate.valid_until is not None and mandate.valid_until < _today():
        raise MandateRefused(
            _("The period of this mandate is over: it can no longer be accepted."),
            field="mandate",
            code="period_over",
        )
    _move(
        mandate=mandate,
        to_status=MS.ACCEPTED,
        changes={"accepted_by": actor, "accepted_at": timezone.now()},
        from_statuses=frozenset({MS.PROPOSED}),
    )
    _audit(action="accepted", actor=actor, mandate=mandate)
    _notify(mandate=mandate, event="accepted", side=mandate.principal, actor=actor)
    return mandate


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise MandateRefused(
            _("Enter the reason for ending the mandate: the other company will read it."),
            field="reason",
            code="reason_empty",
        )
    if len(reason) > REASON_MAX:
        raise MandateRefused(
            _("Enter a reason of %(max)d characters or fewer.") % {"max": REASON_MAX},
            field="reason",
            code="reason_too_long",
        )
    return reason


@transaction.atomic
def mandate_decline(*, actor: User, mandate_id: uuid.UUID | str, reason: str = "") -> Mandate:
    """The provider's legal representative or a manager declines a proposed mandate (with an
    optional reason); the principal's are told."""
    reason = _reason(reason, required=False)
    mandate = _load_for(actor=actor, mandate_id=mandate_id)
    if not mandate_can_manage(person=actor, operator=mandate.provider_id):
        raise MandateNotAllowed(
            _("Only the service provider's legal representative and managers can decline it.")
        )
    _move(
        mandate=mandate,
        to_status=MS.DECLINED,
        changes={"declined_by": actor, "declined_at": timezone.now(), "end_reason": reason},
        from_statuses=frozenset({MS.PROPOSED}),
    )
    _audit(action="declined", actor=actor, mandate=mandate, reason=reason)
    _notify(mandate=mandate, event="declined", side=mandate.principal, actor=actor)
    return mandate


@transaction.atomic
def mandate_end(
    *,
    actor: User,
    mandate_id: uuid.UUID | str,
    reason: str,
    side: str | None = None,
) -> Mandate:
    """Either side's legal representative or a manager ends a mandate, proposed (withdrawn by
    the principal) or accepted, with a reason; the other side is told. `side` says for which
    company the actor acts when they manage both (by default the principal)."""
    reason = _reason(reason, required=True)
    mandate = _load_for(actor=actor, mandate_id=mandate_id)
    sides = [
        candidate
        for candidate, operator_id in (
            (Side.PRINCIPAL, mandate.principal_id),
            (Side.PROVIDER, mandate.provider_id),
        )
        if mandate_can_manage(person=actor, operator=operator_id)
    ]
    if not sides or (side is not None and side not in sides):
        raise MandateNotAllowed(
            _("Only the legal representative and managers of either company can end a mandate.")
        )
    acting_side = side or sides[0]
    _move(
        mandate=mandate,
        to_status=MS.ENDED,
        changes={
            "ended_by": actor,
            "ended_at": timezone.now(),
            "ended_side": acting_side,
            "end_reason": reason,
        },
        from_statuses=frozenset({MS.PROPOSED, MS.ACCEPTED}),
    )
    _audit(action="ended", actor=actor, mandate=mandate, side=acting_side, reason=reason)
    other = mandate.provider if acting_side == Side.PRINCIPAL else mandate.principal
    _notify(mandate=mandate, event="ended", side=other, actor=actor)
    return mandate


# --- Reads --------------------------------------------------------------------------------------


def _with_people(mandates: QuerySet[Mandate]) -> QuerySet[Mandate]:
    return mandates.select_related(
        "principal", "provider", "created_by", "accepted_by", "declined_by", "ended_by"
    ).order_by("-created_at", "-pk")


def mandates_for_operator(*, operator: Operator) -> QuerySet[Mandate]:
    """Every mandate the operator gave or received, newest first. Not scoped: the caller has
    resolved the operator for the person (space_for_person) first."""
    return _with_people(Mandate.objects.filter(Q(principal=operator) | Q(provider=operator)))


def mandates_given(*, operator: Operator) -> QuerySet[Mandate]:
    return _with_people(Mandate.objects.filter(principal=operator))


def mandates_received(*, operator: Operator) -> QuerySet[Mandate]:
    return _with_people(Mandate.objects.filter(provider=operator))


def mandates_for_person(*, person: User) -> QuerySet[Mandate]:
    """The mandates given or received by the operators where the person holds a valid
    position, newest first."""
    operators = Position.objects.filter(
        person=person, status=Position.Status.VALID, operator__isnull=False
    ).values("operator_id")
    return _with_people(
        Mandate.objects.filter(Q(principal_id__in=operators) | Q(provider_id__in=operators))
    )


def mandate_for_person(
    *, person: User, mandate_id: uuid.UUID | str, operator: Operator | None = None
) -> Mandate:
    """One mandate of the person's companies (with `operator`, one that operator gave or
    received); Mandate.DoesNotExist (a 404) for any other, and for an id that is not one."""
    mandate = _load(mandate_id)
    if operator is not None and operator.pk not in (mandate.principal_id, mandate.provider_id):
        raise Mandate.DoesNotExist
    if not _visible(person=person, mandate=mandate):
        raise Mandate.DoesNotExist
    return mandate


def _in_force(mandates: QuerySet[Mandate], *, scope: str, day: date) -> QuerySet[Mandate]:
    """The accepted mandates in `scope` whose period holds `day` (both ends included)."""
    return mandates.filter(scope=scope, status=MS.ACCEPTED, valid_from__lte=day).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=day)
    )


def _usable_operators() -> QuerySet[Operator]:
    return Operator.objects.filter(
        status=Operator.Status.ACTIVE, deleted_at__isnull=True, merged_into__isnull=True
    )


def mandate_in_force(
    *,
    principal_eori: str,
    provider: Operator,
    scope: str,
    at: datetime | date | None = None,
) -> Mandate | None:
    """The accepted mandate by which `provider` may act for the operator known by
    `principal_eori` in `scope` on the day of `at` (now by default; an aware datetime is taken
    in the deployment's time zone; both ends of the period included), or None. Both operators
    must be active. The B2G check and "acting for whom" call this."""
    eori = (principal_eori or "").strip().upper()
    if not eori or scope not in Scope.values or not _usable(provider):
        return None
    principals = operator_selectors.operators_with_eori(eori).filter(
        pk__in=_usable_operators().values("pk")
    )
    return (
        _in_force(
            Mandate.objects.filter(provider=provider, principal_id__in=principals.values("pk")),
            scope=scope,
            day=_day(at),
        )
        .select_related("principal", "provider")
        .order_by("valid_from", "pk")
        .first()
    )


def _provider_ids_for_person(person: User) -> QuerySet[Position, Any]:
    return Position.objects.filter(
        person=person,
        status=Position.Status.VALID,
        operator__in=_usable_operators(),
    ).values("operator_id")


def mandates_in_force_for_person(
    *, person: User, scope: str = Scope.PORTAL_ACTIONS, at: datetime | date | None = None
) -> QuerySet[Mandate]:
    """ "Acting for whom": the mandates in force in `scope` given by active operators to an
    active operator where the person holds a valid position, by principal name."""
    return (
        _in_force(
            Mandate.objects.filter(
                provider_id__in=_provider_ids_for_person(person),
                principal__in=_usable_operators(),
            ),
            scope=scope,
            day=_day(at),
        )
        .select_related("principal", "provider")
        .order_by("principal__name", "valid_from", "pk")
    )


def mandate_principals_for_person(
    *, person: User, scope: str = Scope.PORTAL_ACTIONS, at: datetime | date | None = None
) -> QuerySet[Operator]:
    """The active operators the person may act for through a mandate in force in `scope`."""
    principal_ids = mandates_in_force_for_person(person=person, scope=scope, at=at).values(
        "principal_id"
    )
    return _usable_operators().filter(pk__in=principal_ids).order_by("name", "pk")


def mandate_state(mandate: Mandate, *, today: date | None = None) -> str:
    """What a page shows: the status, or for an accepted mandate "scheduled" before its first
    day, "in_force" during its period and "expired" after its last day."""
    if mandate.status != MS.ACCEPTED:
        return mandate.status
    today = today or _today()
    if mandate.valid_from > today:
        return "scheduled"
    if mandate.valid_until is not None and mandate.valid_until < today:
        return "expired"
    return "in_force"


STATE_LABELS = {
    MS.PROPOSED: _("Waiting for the provider"),
    MS.DECLINED: _("Declined"),
    MS.ENDED: _("Ended"),
    "scheduled": _("Accepted, starts later"),
    "in_force": _("In force"),
    "expired": _("Period over"),
}


def mandate_actions(*, person: User, mandate: Mandate, operator: Operator) -> list[str]:
    """The actions the person may take on the mandate from this operator's space: accept and
    decline (provider side, proposed), end (either side, proposed or accepted)."""
    if not mandate_can_manage(person=person, operator=operator):
        return []
    actions: list[str] = []
    if mandate.provider_id == operator.pk and mandate.status == MS.PROPOSED:
        actions += ["accept", "decline"]
    if mandate.status in Mandate.OPEN_STATUSES:
        actions.append("end")
    return actions
