"""What is open now: read by the lodging gate, the status page, the feed and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from comptoir.continuity.models import Outage
from comptoir.operators.models import Operator


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
