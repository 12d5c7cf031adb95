"""The continuity tasks on each person's dashboard: for the service desk, every operator's
outage waiting for acknowledgement; for operators' people, their operator's open fallback and
the administration's open fallback or exception."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils.translation import gettext as _

from comptoir.continuity import selectors
from comptoir.continuity.models import Outage
from comptoir.notifications.models import Notice
from comptoir.notifications.worklist import WorkItem, work_source
from comptoir.operators.models import Position

if TYPE_CHECKING:
    from comptoir.accounts.models import User

SECTOR = "continuity"


@work_source("continuity")
def continuity_work(person: User) -> list[WorkItem]:
    if not person.is_authenticated:
        return []
    items: list[WorkItem] = []
    if selectors.person_is_service_desk(person=person):
        for outage in selectors.outages_waiting_acknowledgement():
            assert outage.operator is not None
            items.append(
                WorkItem(
                    type="outage",
                    title=_("Acknowledge the outage reported by %(operator)s")
                    % {"operator": outage.operator.name},
                    link=reverse("continuity:acknowledge", kwargs={"outage_id": outage.public_id}),
                    sector=SECTOR,
                    priority=Notice.Priority.HIGH,
                    reference=outage.reference,
                    created_at=outage.reported_at,
                )
            )
    member_of = Position.objects.filter(
        person=person, operator__isnull=False, status=Position.Status.VALID
    ).values("operator_id")
    if not member_of.exists():
        return items
    for outage in selectors.outages_open_now().filter(
        kind=Outage.Kind.OPERATOR, operator_id__in=member_of
    ):
        assert outage.operator is not None
        items.append(
            WorkItem(
                type="fallback",
                title=_("Fallback open for %(operator)s: lodge through the portal")
                % {"operator": outage.operator.name},
                link=reverse(
                    "continuity:operator_outages", kwargs={"operator_id": outage.operator_id}
                ),
                sector=SECTOR,
                priority=Notice.Priority.HIGH,
                reference=outage.reference,
                created_at=outage.opened_at or outage.reported_at,
            )
        )
    for outage in selectors.public_outages_open():
        title = (
            _("Exception open: contact %(office)s and follow its instructions")
            if outage.kind == Outage.Kind.EXCEPTION
            else _("Fallback procedure open: the administration's B2G system is down")
        )
        items.append(
            WorkItem(
                type="fallback",
                title=title % {"office": outage.contact_office},
                link=reverse("continuity:status"),
                sector=SECTOR,
                priority=Notice.Priority.HIGH,
                reference=outage.reference,
                created_at=outage.opened_at or outage.reported_at,
            )
        )
    return items
