"""The lodging gate: check who lodges what through which channel, issue the MRN, store the
declaration, tell the people concerned, and hand the payload to the national system.

declaration_lodge() refuses with LodgingRefused (a code and a message); a refusal stores nothing
and is audited as "lodging.refused" in its own transaction. An acceptance is one transaction:
MRN counter, Declaration, audit event and notices; the hand-over task is queued once it commits."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from comptoir.audit.services import audit_record
from comptoir.continuity.selectors import ChannelState, channel_state
from comptoir.core.identifiers import mrn_build
from comptoir.lodging import downstream
from comptoir.lodging.models import Declaration, DeclarationType, MrnCounter
from comptoir.notifications.models import Notice
from comptoir.notifications.services import notice_create
from comptoir.operators.models import Operator, Position
from comptoir.operators.selectors import operations_current

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

    from comptoir.accounts.models import User
    from comptoir.b2g.models import B2GClient

logger = logging.getLogger(__name__)

Channel = Declaration.Channel
Delivery = Declaration.Delivery

DEFAULT_MAX_BYTES = 5 * 1024 * 1024

# --- Settings -------------------------------------------------------------------------------------


def mrn_country() -> str:
    return str(getattr(settings, "COMPTOIR_MRN_COUNTRY", "LU") or "LU").upper()


def declaration_max_bytes() -> int:
    return int(getattr(settings, "COMPTOIR_DECLARATION_MAX_BYTES", DEFAULT_MAX_BYTES))


def delivery_max_attempts() -> int:
    return int(getattr(settings, "COMPTOIR_LODGING_MAX_ATTEMPTS", 10))


def delivery_retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: base, 2×base, 4×base… capped at six hours."""
    base = int(getattr(settings, "COMPTOIR_LODGING_RETRY_BASE_SECONDS", 30))
    return timedelta(seconds=min(base * (2 ** max(attempts - 1, 0)), 6 * 3600))


# --- Refusals -------------------------------------------------------------------------------------


class LodgingRefused(Exception):
    """A declaration refused at the gate: `code` for machines, `message` for people (already
    in the caller's language when turned to str). `permission` is True for the rules about who
    may lodge through which channel (403), False for a bad declaration (422)."""

    def __init__(self, code: str, message: StrPromise | str, *, permission: bool) -> None:
        self.code = code
        self.message = message
        self.permission = permission
        super().__init__(f"{code}: {message}")


#: Refusals about who may lodge, and through which channel: 403 in the API.
PERMISSION_CODES = frozenset(
    {
        "not_member",
        "client_without_operator",
        "client_disabled",
        "operator_inactive",
        "operation_not_held",
        "channel_b2g_required",
        "channel_portal_only",
        "exception",
    }
)

MESSAGES: dict[str, StrPromise] = {
    "not_member": _("You can only lodge declarations for a company where your position is valid."),
    "client_without_operator": _(
        "This B2G client does not belong to an operator, so it cannot lodge declarations."
    ),
    "client_disabled": _("This B2G client is disabled."),
    "operator_inactive": _(
        "%(operator)s is not active, so it cannot lodge declarations. Contact the service desk."
    ),
    "operation_not_held": _(
        "%(operator)s does not hold the customs operation %(operation)s needed for a "
        "%(type)s. The legal representative can ask customs to add it from the company's "
        "professional space."
    ),
    "channel_b2g_required": _(
        "%(operator)s lodges its declarations through its own B2G system, and no fallback is "
        "open. Lodge this declaration through your B2G system. If your system is down, report "
        "an outage to the service desk: once they acknowledge it, you can lodge here."
    ),
    "channel_portal_only": _(
        "%(operator)s lodges its declarations through the portal, not through a B2G system. "
        "Lodge this declaration in the portal."
    ),
    "exception": _(
        "The national customs system is down, so declarations cannot be lodged online. "
        "Contact %(office)s and follow their instructions: %(instructions)s"
    ),
    "type_unknown": _("Choose a declaration type from the list."),
    "format_unknown": _("Upload an XML file (.xml) or a JSON file (.json)."),
    "empty": _("The selected file is empty."),
    "too_large": _("The selected file must be smaller than %(size)s."),
    "xml_malformed": _("The selected file is not well-formed XML: %(error)s."),
    "xml_forbidden": _(
        "The selected XML file must not contain a document type declaration (DOCTYPE) or entities."
    ),
    "json_invalid": _("The selected file is not valid JSON: %(error)s."),
    "json_not_object": _("The selected JSON file must contain one JSON object: {…}."),
}


def _refuse(code: str, **params: object) -> LodgingRefused:
    message = MESSAGES[code] % params if params else MESSAGES[code]
    return LodgingRefused(code, message, permission=code in PERMISSION_CODES)


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return gettext("%(number)s MB") % {"number": f"{size / (1024 * 1024):g}"}
    return gettext("%(number)s KB") % {"number": f"{size / 1024:g}"}


# --- Channel rules --------------------------------------------------------------------------------


def channel_refusal(*, operator: Operator, channel: str, state: ChannelState) -> str | None:
    """None when the operator may lodge through this channel now, else the refusal code.

    - The exception (national system down) refuses every online lodging.
    - B2G operators lodge through B2G; the portal is open to them only while their acknowledged
      fallback or the administration's fallback is open.
    - Portal-only operators always lodge through the portal, never through B2G."""
    if state.exception is not None:
        return "exception"
    b2g_operator = operator.lodging_channel == Operator.LodgingChannel.B2G
    if channel == Channel.PORTAL:
        if b2g_operator and not state.portal_open_to_b2g_operators:
            return "channel_b2g_required"
        return None
    if channel == Channel.B2G:
        return None if b2g_operator else "channel_portal_only"
    raise ValueError(f"unknown channel {channel!r}")


def _exception_params(state: ChannelState) -> dict[str, object]:
    outage = state.exception
    office = (outage.contact_office if outage else "") or gettext("the customs office")
    instructions = (outage.instructions if outage else "") or gettext(
        "wait for their instructions before lodging."
    )
    return {"office": office, "instructions": instructions}


@dataclass(frozen=True)
class PortalGate:
    """What the lodging page shows before anyone uploads: None when the portal is open to the
    operator now, else the refusal (channel or exception)."""

    refusal: LodgingRefused | None
    state: ChannelState


def portal_gate(*, operator: Operator) -> PortalGate:
    state = channel_state(operator=operator)
    code = channel_refusal(operator=operator, channel=Channel.PORTAL, state=state)
    if code is None:
        return PortalGate(refusal=None, state=state)
    if code == "exception":
        return PortalGate(refusal=_refuse(code, **_exception_params(state)), state=state)
    return PortalGate(refusal=_refuse(code, operator=operator.name), state=state)


# --- Payload checks -------------------------------------------------------------------------------


def payload_format(filename_or_format: str) -> str:
    """xml or json, from an explicit format or the file name's extension."""
    value = (filename_or_format or "").strip().lower()
    if value in Declaration.Format.values:
        return value
    for fmt in Declaration.Format.values:
        if value.endswith(f".{fmt}"):
            return fmt
    raise _refuse("format_unknown")


def payload_check(*, payload: bytes, fmt: str) -> None:
    """Refuse an empty, too large, malformed or unsafe payload. XML is parsed with defusedxml
    (no DOCTYPE, no entities, no external references); JSON must be one object."""
    if not payload or not payload.strip():
        raise _refuse("empty")
    limit = declaration_max_bytes()
    if len(payload) > limit:
        raise _refuse("too_large", size=size_text(limit))
    if fmt == Declaration.Format.XML:
        try:
            SafeElementTree.fromstring(payload, forbid_dtd=True)
        except DefusedXmlException:
            raise _refuse("xml_forbidden") from None
        except SafeElementTree.ParseError as exc:
            raise _refuse("xml_malformed", error=str(exc)) from None
        return
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _refuse("json_invalid", error=str(exc)) from None
    except RecursionError:
        raise _refuse("json_invalid", error=gettext("too deeply nested")) from None
    if not isinstance(value, dict):
        raise _refuse("json_not_object")


# --- MRN ------------------------------------------------------------------------------------------


def mrn_issue(*, procedure: str, now: datetime | None = None) -> str:
    """The next MRN of this year and country. Call inside the lodging transaction: the
    conditional UPDATE locks the counter row until it commits, so concurrent issuers queue and
    each reads its own serial; a rollback gives the serial back."""
    year = timezone.localdate(now or timezone.now()).year
    country = mrn_country()
    # Creating the row may race with another issuer; get_or_create's savepoint and re-read
    # handle the unique constraint.
    MrnCounter.objects.get_or_create(year=year, country=country)
    MrnCounter.objects.filter(year=year, country=country).update(last=F("last") + 1)
    serial = MrnCounter.objects.values_list("last", flat=True).get(year=year, country=country)
    return mrn_build(year=year, country=country, serial=serial, procedure=procedure)


# --- Lodging --------------------------------------------------------------------------------------


def _member_position(*, person: User, operator: Operator) -> Position | None:
    return (
        Position.objects.filter(
            person=person, operator=operator, status=Position.Status.VALID
        ).first()
        if person.is_authenticated and person.is_active
        else None
    )


def _recipients(*, declaration: Declaration, person: User | None) -> list[User]:
    """The person who lodged it; for B2G, the operator's legal representative and managers."""
    if person is not None:
        return [person]
    positions = (
        Position.objects.filter(
            operator=declaration.operator,
            status=Position.Status.VALID,
            role__in=(Position.Role.LEGAL_REPRESENTATIVE, Position.Role.MANAGER),
            person__is_active=True,
        )
        .select_related("person")
        .order_by("role", "pk")
    )
    seen: dict[int, User] = {}
    for position in positions:
        seen.setdefault(position.person_id, position.person)
    return list(seen.values())


def declaration_link(declaration: Declaration) -> str:
    return reverse(
        "lodging:detail",
        kwargs={"operator_id": declaration.operator_id, "mrn": declaration.mrn},
    )


def _notify(*, declaration: Declaration, person: User | None) -> None:
    for recipient in _recipients(declaration=declaration, person=person):
        language = recipient.language or settings.LANGUAGE_CODE
        with translation.override(language):
            title = gettext("Reference %(mrn)s issued") % {"mrn": declaration.mrn}
            if declaration.channel == Channel.PORTAL:
                text = gettext(
                    "%(type)s lodged for %(operator)s through the portal on %(date)s. The "
                    "receipt is on the declaration's page."
                )
            else:
                text = gettext(
                    "%(type)s lodged for %(operator)s by its B2G system on %(date)s. The "
                    "receipt is on the declaration's page."
                )
            body = text % {
                "type": declaration.declaration_type.label_in(language),
                "operator": declaration.operator.name,
                "date": timezone.localtime(declaration.lodged_at).strftime("%Y-%m-%d %H:%M"),
            }
        notice_create(
            recipient=recipient,
            topic="lodging.accepted",
            title=title,
            body=body,
            link=declaration_link(declaration),
            operator=declaration.operator,
            priority=Notice.Priority.NORMAL,
            sector="lodging",
            reference=declaration.mrn,
        )


def lodging_refusal_audit(
    *,
    refusal: LodgingRefused,
    operator: Operator | None,
    declaration_type_code: str,
    channel: str,
    person: User | None,
    client: B2GClient | None,
    payload: bytes,
) -> None:
    try:
        with transaction.atomic():
            audit_record(
                action="lodging.refused",
                actor=person,
                subject=operator,
                data={
                    "code": refusal.code,
                    "channel": channel,
                    "declaration_type": declaration_type_code[:40],
                    "client": client.name if client is not None else "",
                    "payload_size": len(payload or b""),
                    "payload_sha256": hashlib.sha256(payload or b"").hexdigest(),
                },
            )
    except Exception:  # the refusal itself must still reach the caller
        logger.exception("Could not audit a lodging refusal (%s)", refusal.code)


def declaration_lodge(
    *,
    operator: Operator | None,
    declaration_type_code: str,
    payload: bytes,
    filename_or_format: str,
    channel: str,
    person: User | None = None,
    client: B2GClient | None = None,
) -> Declaration:
    """Lodge one declaration for the operator: through the portal by a person holding a valid
    position there, or through B2G by the operator's client. Returns the accepted declaration
    (MRN issued, notices written, hand-over queued on commit); raises LodgingRefused, with
    nothing stored, when a rule is not met."""
    if operator is None and client is not None:
        operator = client.operator
    try:
        return _lodge(
            operator=operator,
            declaration_type_code=declaration_type_code,
            payload=payload,
            filename_or_format=filename_or_format,
            channel=channel,
            person=person,
            client=client,
        )
    except LodgingRefused as refusal:
        # Outside the rolled-back transaction: the refusal is kept even though nothing else is.
        lodging_refusal_audit(
            refusal=refusal,
            operator=operator,
            declaration_type_code=declaration_type_code or "",
            channel=channel,
            person=person,
            client=client,
            payload=payload,
        )
        raise


def _lodge(
    *,
    operator: Operator | None,
    declaration_type_code: str,
    payload: bytes,
    filename_or_format: str,
    channel: str,
    person: User | None,
    client: B2GClient | None,
) -> Declaration:
    # Who lodges, for whom.
    if channel == Channel.PORTAL:
        if person is None or operator is None:
            raise _refuse("not_member")
        if _member_position(person=person, operator=operator) is None:
            raise _refuse("not_member")
        client = None
    elif channel == Channel.B2G:
        if client is None:
            raise _refuse("client_without_operator")
        if not client.enabled:
            raise _refuse("client_disabled")
        if client.operator_id is None:
            raise _refuse("client_without_operator")
        if operator is None or client.operator_id != operator.pk:
            raise _refuse("not_member")
        person = None
    else:
        raise ValueError(f"unknown channel {channel!r}")
    if operator.status != Operator.Status.ACTIVE or operator.deleted_at is not None:
        raise _refuse("operator_inactive", operator=operator.name)

    # What: a known type, and the operation it needs held by the operator.
    language = translation.get_language() or settings.LANGUAGE_CODE
    declaration_type = (
        DeclarationType.objects.select_related("operation")
        .filter(code=(declaration_type_code or "").strip().upper(), active=True)
        .first()
    )
    if declaration_type is None:
        raise _refuse("type_unknown")
    held = operations_current(operator=operator).filter(operation=declaration_type.operation)
    if not held.exists():
        raise _refuse(
            "operation_not_held",
            operator=operator.name,
            operation=declaration_type.operation.label_in(language),
            type=declaration_type.label_in(language),
        )

    # Through which channel, under the fallback rules.
    state = channel_state(operator=operator)
    code = channel_refusal(operator=operator, channel=channel, state=state)
    if code == "exception":
        raise _refuse(code, **_exception_params(state))
    if code is not None:
        raise _refuse(code, operator=operator.name)

    # The payload itself.
    fmt = payload_format(filename_or_format)
    payload = bytes(payload or b"")
    payload_check(payload=payload, fmt=fmt)
    filename = filename_or_format if "." in (filename_or_format or "") else ""

    with transaction.atomic():
        now = timezone.now()
        declaration = Declaration.objects.create(
            mrn=mrn_issue(procedure=declaration_type.procedure_letter, now=now),
            operator=operator,
            declaration_type=declaration_type,
            channel=channel,
            lodged_by=person,
            client=client,
            format=fmt,
            filename=filename[-200:],
            payload=payload,
            payload_size=len(payload),
            payload_sha256=hashlib.sha256(payload).hexdigest(),
            lodged_at=now,
            next_attempt_at=now,
        )
        audit_record(
            action="lodging.accepted",
            actor=person,
            subject=declaration,
            data={
                "mrn": declaration.mrn,
                "operator": operator.pk,
                "eori": operator.eori,
                "declaration_type": declaration_type.code,
                "channel": channel,
                "client": client.name if client is not None else "",
                "format": fmt,
                "payload_size": declaration.payload_size,
                "payload_sha256": declaration.payload_sha256,
            },
        )
        _notify(declaration=declaration, person=person)
        _schedule_delivery(declaration)
    return declaration


# --- Hand-over to the national system --------------------------------------------------------


def _schedule_delivery(declaration: Declaration, run_after: datetime | None = None) -> None:
    from comptoir.lodging.tasks import deliver_declaration

    declaration_id = str(declaration.public_id)
    if run_after is None:
        transaction.on_commit(lambda: deliver_declaration.enqueue(declaration_id))
    else:
        transaction.on_commit(
            lambda: deliver_declaration.using(run_after=run_after).enqueue(declaration_id)
        )


def _claim_lease() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "COMPTOIR_LODGING_CLAIM_SECONDS", 300)))


def declaration_deliver(*, declaration_id: str, force: bool = False) -> Declaration | None:
    """Hand one accepted declaration to the downstream. Idempotent and race-safe like the mail
    outbox: a declaration already handed over, failed for good, or not due yet is left alone
    (`force` ignores the due time); a worker claims it (counting the attempt) in a short
    transaction, writes outside any transaction, then records the outcome. A failure schedules
    the next attempt with exponential back-off until COMPTOIR_LODGING_MAX_ATTEMPTS."""
    with transaction.atomic():
        declaration = (
            Declaration.objects.select_for_update()
            .select_related("operator", "declaration_type")
            .filter(public_id=declaration_id)
            .first()
        )
        if (
            declaration is None
            or declaration.delivery_status != Delivery.PENDING
            or (not force and declaration.next_attempt_at > timezone.now())
        ):
            return declaration
        declaration.delivery_attempts += 1
        # Should this worker die mid-write, the declaration becomes due again after the lease.
        declaration.next_attempt_at = timezone.now() + _claim_lease()
        declaration.save(update_fields=["delivery_attempts", "next_attempt_at"])

    try:
        downstream.hand_over(declaration)
    except Exception as exc:
        return _record_failure(declaration=declaration, exc=exc)
    with transaction.atomic():
        now = timezone.now()
        Declaration.objects.filter(pk=declaration.pk, delivery_status=Delivery.PENDING).update(
            delivery_status=Delivery.DELIVERED, delivered_at=now, last_error=""
        )
        audit_record(
            action="lodging.delivered",
            subject=declaration,
            data={"mrn": declaration.mrn, "attempts": declaration.delivery_attempts},
        )
    declaration.refresh_from_db()
    return declaration


def _record_failure(*, declaration: Declaration, exc: BaseException) -> Declaration:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        fields: dict[str, Any] = {"last_error": error}
        if declaration.delivery_attempts >= delivery_max_attempts():
            fields["delivery_status"] = Delivery.FAILED
            logger.error(
                "Giving up handing over %s after %s attempt(s): %s",
                declaration.mrn,
                declaration.delivery_attempts,
                error,
            )
        else:
            fields["next_attempt_at"] = timezone.now() + delivery_retry_delay(
                declaration.delivery_attempts
            )
            logger.warning(
                "Declaration %s not handed over (attempt %s), next attempt at %s: %s",
                declaration.mrn,
                declaration.delivery_attempts,
                fields["next_attempt_at"].isoformat(),
                error,
            )
        Declaration.objects.filter(pk=declaration.pk, delivery_status=Delivery.PENDING).update(
            **fields
        )
        if fields.get("delivery_status") == Delivery.FAILED:
            audit_record(
                action="lodging.delivery_failed",
                subject=declaration,
                data={"mrn": declaration.mrn, "attempts": declaration.delivery_attempts},
            )
        else:
            _schedule_delivery(declaration, run_after=fields["next_attempt_at"])
    declaration.refresh_from_db()
    return declaration


def declarations_due() -> list[str]:
    """The public ids of the declarations waiting to be handed over whose attempt is due."""
    return [
        str(public_id)
        for public_id in Declaration.objects.filter(
            delivery_status=Delivery.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "pk")
        .values_list("public_id", flat=True)
    ]


def declarations_requeue_due() -> int:
    """Queue a hand-over task for every declaration due (a safety net for a lost task);
    returns how many."""
    from comptoir.lodging.tasks import deliver_declaration

    due = declarations_due()
    for declaration_id in due:
        deliver_declaration.enqueue(declaration_id)
    return len(due)


def declarations_retry_failed() -> int:
    """Give the declarations that failed for good a new series of attempts (after the
    downstream was repaired); returns how many. FAILED → PENDING, audited."""
    with transaction.atomic():
        failed = list(
            Declaration.objects.select_for_update().filter(delivery_status=Delivery.FAILED)
        )
        for declaration in failed:
            Declaration.objects.filter(pk=declaration.pk, delivery_status=Delivery.FAILED).update(
                delivery_status=Delivery.PENDING,
                delivery_attempts=0,
                next_attempt_at=timezone.now(),
            )
            audit_record(
                action="lodging.delivery_retried",
                subject=declaration,
                data={"mrn": declaration.mrn},
            )
    return len(failed)
