"""What is open now: read by the lodging gate, the status page, the feed and the API; and the
outages each person may see (the service desk every one, an operator's members their own)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from comptoir.accounts.models import User
from comptoir.continuity.models import Outage
from comptoir.operators.models import Operator, Position

PUBLIC_KINDS = (Outage.Kind.ADMINISTRATION, Outage.Kind.EXCEPTION)
#: Who reports an operator's outage and its recovery.
REPORTING_ROLES = (Position.Role.LEGAL_REPRESENTATIVE, Position.Role.MANAGER)


@dataclass(frozen=True)
class ChannelState:
    """The outages that decide how an operator may lodge now.

    operator_fallback: the operator's own outage, acknowledged by the service desk (OPEN), if any;
    administration_fallback: the administration's B2G outage, if open;
    exception: the national system's outage, if open (online lodging refused)."""

    operator_fallback: Outage | None
    administration_fallback: Outage | None
    exception: Outage | None

    @property
    def portal_open_to_b2g_operators(self) -> bool:
        return self.operator_fallback is not None or self.administration_fallback is not None


def outages_open() -> QuerySet[Outage]:
    """Every outage not closed (reported ones included), newest first."""
    return Outage.objects.exclude(status=Outage.Status.CLOSED).select_related("operator")


def channel_state(*, operator: Operator | None) -> ChannelState:
    """One query: the open administration-wide outages and the operator's acknowledged one."""
    wanted = Q(operator__isnull=True)
    if operator is not None:
        wanted |= Q(operator=operator)
    rows = list(Outage.objects.filter(wanted, status=Outage.Status.OPEN))
    by_kind = {row.kind: row for row in rows}
    return ChannelState(
        operator_fallback=by_kind.get(Outage.Kind.OPERATOR),
        administration_fallback=by_kind.get(Outage.Kind.ADMINISTRATION),
        exception=by_kind.get(Outage.Kind.EXCEPTION),
    )


# --- Public: the administration's fallback and the exception, never an operator's outage ------


def public_outages_open() -> QuerySet[Outage]:
    """The administration's fallback and the exception now open (what the status page shows),
    the exception first."""
    return Outage.objects.filter(kind__in=PUBLIC_KINDS, status=Outage.Status.OPEN).order_by(
        "-kind", "-opened_at", "-pk"
    )


def public_outages_closed() -> QuerySet[Outage]:
    """The history: closed administration fallbacks and exceptions, latest closed first."""
    return Outage.objects.filter(kind__in=PUBLIC_KINDS, status=Outage.Status.CLOSED).order_by(
        "-closed_at", "-pk"
    )


@dataclass(frozen=True)
class PublicEvent:
    """One opening or one closing, for the Atom feed."""

    outage: Outage
    event: str  # "opened" or "closed"
    at: datetime


def public_events(*, limit: int = 50) -> list[PublicEvent]:
    """The latest openings and closings of administration fallbacks and exceptions, newest
    first (two queries, `limit` rows each at most)."""
    base = Outage.objects.filter(kind__in=PUBLIC_KINDS)
    opened = base.filter(opened_at__isnull=False).order_by("-opened_at", "-pk")[:limit]
    closed = base.filter(closed_at__isnull=False).order_by("-closed_at", "-pk")[:limit]
    events = [PublicEvent(outage=row, event="opened", at=row.opened_at) for row in opened]  # type: ignore[arg-type]
    events += [PublicEvent(outage=row, event="closed", at=row.closed_at) for row in closed]  # type: ignore[arg-type]
    events.sort(key=lambda item: (item.at, item.event == "closed"), reverse=True)
    return events[:limit]


# --- Who may do what ----------------------------------------------------------------------------


def person_is_service_desk(*, person: User) -> bool:
    """A valid service-desk position at an authority."""
    return bool(
        person.is_authenticated
        and person.is_active
        and Position.objects.filter(
            person=person,
            authority__isnull=False,
            role=Position.Role.SERVICE_DESK,
            status=Position.Status.VALID,
        ).exists()
    )


def person_reports_for(*, person: User, operator: Operator) -> bool:
    """Whether the person may report the operator's outage and its recovery: its legal
    representative or a manager, with a valid position."""
    return bool(
        person.is_authenticated
        and person.is_active
        and Position.objects.filter(
            person=person,
            operator=operator,
            role__in=REPORTING_ROLES,
            status=Position.Status.VALID,
        ).exists()
    )


def _member_operator_ids(person: User) -> QuerySet[Position, Any]:
    return Position.objects.filter(
        person=person, operator__isnull=False, status=Position.Status.VALID
    ).values("operator_id")


# --- Scoped reads -------------------------------------------------------------------------------


def outages_for_person(*, person: User) -> QuerySet[Outage]:
    """Every outage for the service desk; for anyone else, the outages of the operators where
    they hold a valid position. Newest first."""
    outages = Outage.objects.select_related("operator", "reported_by", "opened_by", "closed_by")
    if person_is_service_desk(person=person):
        return outages
    if not person.is_authenticated:
        return outages.none()
    return outages.filter(operator_id__in=_member_operator_ids(person))


def outage_for_person(*, person: User, outage_id: uuid.UUID | str) -> Outage:
    """One outage the person may see; Outage.DoesNotExist (a 404) for any other, or for an id
    that is not one."""
    try:
        public_id = uuid.UUID(str(outage_id))
    except ValueError:
        raise Outage.DoesNotExist from None
    return outages_for_person(person=person).get(public_id=public_id)


def outages_waiting_acknowledgement() -> QuerySet[Outage]:
    """Operators' outages reported and not yet acknowledged, oldest first (the service desk's
    work)."""
    return (
        Outage.objects.filter(kind=Outage.Kind.OPERATOR, status=Outage.Status.REPORTED)
        .select_related("operator", "reported_by")
        .order_by("reported_at", "pk")
    )


def outages_open_now() -> QuerySet[Outage]:
    """Every open outage (operators' acknowledged ones included), latest opened first."""
    return (
        Outage.objects.filter(status=Outage.Status.OPEN)
        .select_related("operator", "opened_by")
        .order_by("-opened_at", "-pk")
    )


def operator_outages(*, operator: Operator) -> QuerySet[Outage]:
    """The operator's own outages, current and past, newest first."""
    return (
        Outage.objects.filter(kind=Outage.Kind.OPERATOR, operator=operator)
        .select_related("reported_by", "opened_by", "closed_by")
        .order_by("-reported_at", "-pk")
    )


def operator_outage_current(*, operator: Operator) -> Outage | None:
    """The operator's outage not yet closed (reported or open), if any."""
    return operator_outages(operator=operator).exclude(status=Outage.Status.CLOSED).first()


def fan_out_recipients(*, after: int, limit: int) -> QuerySet[User]:
    """The people to tell about the administration's fallback or an exception: active people
    with a valid position at an active operator whose space still exists, each once, in
    primary key order after `after`."""
    in_force = Position.objects.filter(
        person=OuterRef("pk"),
        status=Position.Status.VALID,
        operator__status=Operator.Status.ACTIVE,
        operator__deleted_at__isnull=True,
        operator__merged_into__isnull=True,
    )
    return User.objects.filter(Exists(in_force), is_active=True, pk__gt=after).order_by("pk")[
        :limit
    ]
