"""The continuity tasks on the dashboard: acknowledgements for the service desk, open
fallbacks for operators' people."""

from __future__ import annotations

import pytest

from comptoir.continuity import services
from comptoir.continuity.models import Outage
from comptoir.notifications.worklist import work_items_for
from tests.continuity.test_services import open_fallback, report

pytestmark = pytest.mark.django_db


def continuity(person):
    return [item for item in work_items_for(person=person) if item.sector == "continuity"]


def test_the_desk_has_each_reported_outage_to_acknowledge(world):
    outage = report(world)
    items = continuity(world.desk)
    assert len(items) == 1
    item = items[0]
    assert item.type == "outage" and item.priority == "high"
    assert item.reference == outage.reference
    assert item.link == f"/continuity/outages/{outage.public_id}/acknowledge/"
    assert world.operator.name in item.title
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    assert continuity(world.desk) == []
    assert continuity(world.officer) == []


def test_members_see_their_fallback_and_the_administrations(world):
    assert continuity(world.employee) == []
    outage = report(world)
    assert continuity(world.employee) == []  # not acknowledged yet
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    items = continuity(world.employee)
    assert [(i.type, i.reference) for i in items] == [("fallback", outage.reference)]
    assert items[0].link == f"/companies/{world.operator.pk}/outages/"
    assert continuity(world.other_legal_representative) == []
    exception = open_fallback(world, kind=Outage.Kind.EXCEPTION, contact_office="Bureau de Lyon")
    items = continuity(world.other_legal_representative)
    assert [(i.type, i.reference, i.link) for i in items] == [
        ("fallback", exception.reference, "/status/")
    ]
    assert "Bureau de Lyon" in items[0].title
    assert continuity(world.outsider) == []
    assert continuity(world.suspended_manager) == []
