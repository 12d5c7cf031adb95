"""Outages and the fallback procedure (DESIGN procedure 10). Every state change is one
transaction: the guarded UPDATE (or the INSERT the unique constraints guard), the audit event,
and the notices and e-mails of the people told, or the fan-out row that the background task
works through for an administration-wide opening or closing."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.continuity import selectors
from comptoir.continuity.models import FanOut, Outage
from comptoir.notifications.models import Notice
from comptoir.notifications.services import (
    notice_create,
    notices_bulk_create,
    outbox_bulk_enqueue,
    outbox_enqueue,
)
from comptoir.operators.models import Operator, Position

OS = Outage.Status
OK = Outage.Kind

DESCRIPTION_MAX = 2000
CONTACT_OFFICE_MAX = Outage._meta.get_field("contact_office").max_length or 200
INSTRUCTIONS_MAX = 4000
CLOSING_NOTE_MAX = 2000
SECTOR = "continuity"


class OutageNotAllowed(PermissionDenied):
    """The person may see the outage but not do this (403)."""

    code = "not_allowed"

    def __init__(self, message: object) -> None:
        self.message = message
        super().__init__(str(message))


class OutageConflict(Exception):
    """The outage is no longer in a status that allows this (someone else acted first), or one
    of that kind is already open; nothing was changed (409)."""

    def __init__(self, message: object, *, code: str, status: str = "") -> None:
        self.message = message
        self.code = code
        self.status = status
        super().__init__(str(message))


def _state_conflict(status: str) -> OutageConflict:
    return OutageConflict(
        _("This outage has already been dealt with: it is now %(status)s.")
        % {"status": OS(status).label.lower()},
        code="outage_state_changed",
        status=status,
    )


def _text(value: str | None, *, field: str, maximum: int, required: object | None) -> str:
    """The text stripped; ValidationError on the field when it is missing (and required) or
    too long."""
    value = (value or "").strip()
    if required is not None and not value:
        raise ValidationError({field: [required]})
    if len(value) > maximum:
        raise ValidationError({field: [_("Enter %(max)d characters or fewer.") % {"max": maximum}]})
    return value


def _load(outage_id: uuid.UUID | str) -> Outage:
    try:
        public_id = uuid.UUID(str(outage_id))
    except ValueError:
        raise Outage.DoesNotExist from None
    return Outage.objects.select_related("operator").get(public_id=public_id)


def _move(*, outage: Outage, to_status: str, **changes: Any) -> None:
    """Move the outage from the status it was read in to `to_status` with a conditional UPDATE,
    or raise OutageConflict and change nothing: of two people acting at once, the second finds
    no row still in that status (PostgreSQL re-checks the WHERE after the first commits)."""
    from_status = outage.status
    if to_status not in Outage.TRANSITIONS[from_status]:
        raise _state_conflict(from_status)
    updated = Outage.objects.filter(pk=outage.pk, status=from_status).update(
        status=to_status, **changes
    )
    if updated != 1:
        raise _state_conflict(Outage.objects.values_list("status", flat=True).get(pk=outage.pk))
    outage.status = to_status
    for name, value in changes.items():
        setattr(outage, name, value)


def _audit(*, action: str, actor: User, outage: Outage, **data: Any) -> None:
    audit_record(
        action=action,
        actor=actor,
        subject=outage,
        data={
            "reference": outage.reference,
            "kind": outage.kind,
            "status": outage.status,
            "operator": outage.operator_id,
            **data,
        },
    )


def _require_service_desk(person: User) -> None:
    if not selectors.person_is_service_desk(person=person):
        raise OutageNotAllowed(_("Only the service desk can do this."))


# --- An operator's B2G system -------------------------------------------------------------------


@transaction.atomic
def outage_report(*, person: User, operator: Operator, description: str) -> Outage:
    """The operator's legal representative or a manager reports that its B2G system is down;
    the outage waits for the service desk (REPORTED). Refused when one is already reported or
    open for the operator."""
    if not selectors.person_reports_for(person=person, operator=operator):
        raise OutageNotAllowed(
            _("Only the company's legal representative or a manager can report an outage.")
        )
    if operator.status != Operator.Status.ACTIVE or operator.deleted_at is not None:
        raise ValidationError(
            {"operator": [_("Only an active company can report an outage of its B2G system.")]}
        )
    if operator.lodging_channel != Operator.LodgingChannel.B2G:
        raise ValidationError(
            {
                "operator": [
                    _(
                        "This company lodges through the portal only: it has no B2G system "
                        "whose outage it could report."
                    )
                ]
            }
        )
    description = _text(
        description,
        field="description",
        maximum=DESCRIPTION_MAX,
        required=_("Describe what is not working in your B2G system."),
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            outage = Outage.objects.create(
                kind=OK.OPERATOR,
                status=OS.REPORTED,
                operator=operator,
                description=description,
                reported_by=person,
                reported_at=now,
            )
    except IntegrityError:
        raise OutageConflict(
            _(
                "An outage of this company's B2G system has already been reported and is not "
                "closed yet."
            ),
            code="outage_already_reported",
        ) from None
    _audit(action="outage.reported", actor=person, outage=outage, description=description)
    return outage


@transaction.atomic
def outage_acknowledge(*, person: User, outage_id: uuid.UUID | str) -> Outage:
    """The service desk acknowledges an operator's reported outage: its fallback opens (the
    operator may lodge through the portal) and its legal representative and managers are
    told."""
    _require_service_desk(person)
    outage = _load(outage_id)
    if outage.kind != OK.OPERATOR:
        raise _state_conflict(outage.status)
    _move(outage=outage, to_status=OS.OPEN, opened_by=person, opened_at=timezone.now())
    _audit(action="outage.acknowledged", actor=person, outage=outage)
    _notify_operator(outage=outage, event="acknowledged")
    return outage


@transaction.atomic
def outage_recover(*, person: User, outage_id: uuid.UUID | str) -> Outage:
    """The operator's legal representative or a manager reports that its B2G system works
    again: the outage closes (reported or open), with it the operator's fallback; its legal
    representative and managers are told."""
    outage = _load(outage_id)
    if outage.kind != OK.OPERATOR or outage.operator is None:
        raise OutageNotAllowed(_("Only an outage of a company's own B2G system can recover."))
    if not selectors.person_reports_for(person=person, operator=outage.operator):
        raise OutageNotAllowed(
            _("Only the company's legal representative or a manager can report the recovery.")
        )
    _move(outage=outage, to_status=OS.CLOSED, closed_by=person, closed_at=timezone.now())
    _audit(action="outage.recovered", actor=person, outage=outage)
    _notify_operator(outage=outage, event="recovered")
    return outage


def _operator_reporters(operator: Operator) -> Iterable[User]:
    return User.objects.filter(
        is_active=True,
        positions__operator=operator,
        positions__role__in=selectors.REPORTING_ROLES,
        positions__status=Position.Status.VALID,
    ).distinct()


def _notify_operator(*, outage: Outage, event: str) -> None:
    """Tell the operator's legal representative and managers, each in their language, in this
    transaction: an in-app notice (high priority, continuity sector) and an e-mail in the
    outbox."""
    assert outage.operator is not None
    link = reverse("continuity:operator_outages", kwargs={"operator_id": outage.operator_id})
    for person in _operator_reporters(outage.operator):
        language = person.language or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {"person": person, "outage": outage, "operator": outage.operator}
            title = render_to_string(f"continuity/notice/operator_{event}_title.txt", context)
            body = render_to_string(f"continuity/notice/operator_{event}_body.txt", context)
            if person.email:
                subject = render_to_string(
                    f"continuity/email/operator_{event}_subject.txt", context
                )
                text = render_to_string(f"continuity/email/operator_{event}_body.txt", context)
        notice_create(
            recipient=person,
            topic=f"outage.{event}",
            title=title,
            body=body,
            link=link,
            operator=outage.operator,
            priority=Notice.Priority.HIGH,
            sector=SECTOR,
            reference=outage.reference,
        )
        if person.email:
            outbox_enqueue(
                to=person.email,
                subject=" ".join(subject.split()),
                body_text=text.strip() + "\n",
                language=language,
                template=f"continuity/email/operator_{event}",
            )


# --- The administration's B2G system and the national system ------------------------------------


@transaction.atomic
def fallback_open(
    *,
    person: User,
    kind: str,
    contact_office: str,
    instructions: str,
    description: str = "",
) -> Outage:
    """The service desk opens the administration's fallback (its B2G system is down: portal
    lodging for everyone) or the exception (the national system is down: online lodging
    refused), naming the customs office to contact and the instructions. Every operator's people
    are told by a background task queued when this commits: the answer comes at once."""
    _require_service_desk(person)
    if kind not in selectors.PUBLIC_KINDS:
        raise ValidationError(
            {
                "kind": [
                    _(
                        "Choose what is down: the administration's B2G system (fallback) or the "
                        "national system (exception)."
                    )
                ]
            }
        )
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for field, maximum, required in (
        (
            "contact_office",
            CONTACT_OFFICE_MAX,
            _("Enter the customs office operators should contact."),
        ),
        (
            "instructions",
            INSTRUCTIONS_MAX,
            _("Enter the instructions operators should follow."),
        ),
        ("description", DESCRIPTION_MAX, None),
    ):
        raw = {
            "contact_office": contact_office,
            "instructions": instructions,
            "description": description,
        }[field]
        try:
            values[field] = _text(raw, field=field, maximum=maximum, required=required)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    try:
        with transaction.atomic():
            outage = Outage.objects.create(
                kind=kind,
                status=OS.OPEN,
                reported_by=person,
                reported_at=now,
                opened_by=person,
                opened_at=now,
                **values,
            )
    except IntegrityError:
        raise OutageConflict(
            _("The fallback procedure is already open for this: close it before opening it again.")
            if kind == OK.ADMINISTRATION
            else _("An exception is already open: close it before opening another one."),
            code="fallback_already_open",
        ) from None
    _audit(action="fallback.opened", actor=person, outage=outage, **values)
    _fan_out(outage=outage, event=FanOut.Event.OPENED)
    return outage


@transaction.atomic
def fallback_close(*, person: User, outage_id: uuid.UUID | str, closing_note: str = "") -> Outage:
    """The service desk closes the administration's fallback or the exception; every operator's
    people are told by a background task queued when this commits."""
    _require_service_desk(person)
    closing_note = _text(
        closing_note, field="closing_note", maximum=CLOSING_NOTE_MAX, required=None
    )
    outage = _load(outage_id)
    if outage.kind not in selectors.PUBLIC_KINDS:
        raise OutageNotAllowed(
            _("An operator's own outage closes when the operator reports its recovery.")
        )
    _move(
        outage=outage,
        to_status=OS.CLOSED,
        closed_by=person,
        closed_at=timezone.now(),
        closing_note=closing_note,
    )
    _audit(action="fallback.closed", actor=person, outage=outage, closing_note=closing_note)
    _fan_out(outage=outage, event=FanOut.Event.CLOSED)
    return outage


def _fan_out(*, outage: Outage, event: str) -> FanOut:
    """Record the fan-out with the state change and queue its task once the state change is
    committed (never inside the service desk's request)."""
    from comptoir.continuity.tasks import fallback_fan_out

    fan_out = FanOut.objects.create(outage=outage, event=event)
    outage_pk = outage.pk
    transaction.on_commit(lambda: fallback_fan_out.enqueue(outage_pk, event))
    return fan_out


# --- Telling every operator's people ------------------------------------------------------------

FAN_OUT_BATCH = 5000


@dataclass(frozen=True)
class _Message:
    """What one language's readers get: rendered once per language, not per person."""

    title: str
    body: str
    subject: str
    text: str


def _messages(outage: Outage, event: str) -> dict[str, _Message]:
    prefix = f"fallback_{event}"
    title_max = Notice._meta.get_field("title").max_length or 255
    rendered = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            context = {"outage": outage, "kind": outage.get_kind_display()}
            rendered[language] = _Message(
                title=" ".join(
                    render_to_string(f"continuity/notice/{prefix}_title.txt", context).split()
                )[:title_max],
                body=render_to_string(f"continuity/notice/{prefix}_body.txt", context).strip(),
                subject=" ".join(
                    render_to_string(f"continuity/email/{prefix}_subject.txt", context).split()
                ),
                text=render_to_string(f"continuity/email/{prefix}_body.txt", context).strip()
                + "\n",
            )
    return rendered


def fan_out_batch(
    *,
    fan_out_id: int,
    batch_size: int = FAN_OUT_BATCH,
    messages: dict[str, _Message] | None = None,
) -> bool:
    """Tell the next batch of people about the fan-out's outage event: write their notices and
    e-mails and move the cursor, in one transaction, then (after commit) queue the delivery of
    these e-mails. Returns True when everyone has been told. Idempotent and race-safe: the cursor
    moves by a conditional UPDATE before anything is written, so that a second worker on the
    same batch writes nothing instead of telling the same people twice."""
    with transaction.atomic():
        fan_out = FanOut.objects.select_related("outage").get(pk=fan_out_id)
        if fan_out.finished_at is not None:
            return True
        outage = fan_out.outage
        people = list(
            selectors.fan_out_recipients(after=fan_out.cursor, limit=batch_size).values_list(
                "pk", "email", "language"
            )
        )
        if not people:
            finished = FanOut.objects.filter(pk=fan_out.pk, finished_at__isnull=True).update(
                finished_at=timezone.now()
            )
            if not finished:
                return True
            audit_record(
                action="fallback.fan_out_finished",
                subject=outage,
                data={
                    "reference": outage.reference,
                    "event": fan_out.event,
                    "notices": fan_out.notices,
                    "emails": fan_out.emails,
                    "batches": fan_out.batches,
                },
            )
            return True
        messages = messages or _messages(outage, fan_out.event)
        default = settings.LANGUAGE_CODE
        with_email = [
            (pk, email, language if language in messages else default)
            for pk, email, language in people
            if email
        ]
        moved = FanOut.objects.filter(pk=fan_out.pk, cursor=fan_out.cursor).update(
            cursor=people[-1][0],
            notices=F("notices") + len(people),
            emails=F("emails") + len(with_email),
            batches=F("batches") + 1,
        )
        if moved != 1:
            # Another worker told this batch meanwhile: write nothing.
            return False
        notices_bulk_create(
            rows=[
                (pk, message.title, message.body)
                for pk, _email, language in people
                for message in (messages.get(language) or messages[default],)
            ],
            topic=f"fallback.{fan_out.event}",
            link=reverse("continuity:status"),
            priority=Notice.Priority.HIGH,
            sector=SECTOR,
            reference=outage.reference,
        )
        outbox_bulk_enqueue(
            rows=[
                (email, messages[language].subject, messages[language].text, language)
                for _pk, email, language in with_email
            ],
            template=f"continuity/email/fallback_{fan_out.event}",
        )
    return False


def fan_out_run(*, outage_id: int, event: str, batch_size: int = FAN_OUT_BATCH) -> FanOut:
    """Work through the fan-out of this outage event, batch after batch, each in its own
    transaction, until everyone is told. Safe to run again: it carries on from the last batch
    committed (nothing when finished)."""
    fan_out = FanOut.objects.select_related("outage").get(outage_id=outage_id, event=event)
    messages = _messages(fan_out.outage, event)
    while not fan_out_batch(fan_out_id=fan_out.pk, batch_size=batch_size, messages=messages):
        pass
    fan_out.refresh_from_db()
    return fan_out
