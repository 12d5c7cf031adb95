"""The channel rules as a table: the operator's channel × the outages open × the channel used →
accepted or the refusal code. Each row lodges for real through declaration_lodge and checks the
database: an accepted declaration is stored with an MRN, a refused one leaves nothing but its
audit event."""

from __future__ import annotations

import pytest

from comptoir.audit.models import AuditEvent
from comptoir.b2g.services import b2g_client_create
from comptoir.continuity.models import Outage
from comptoir.lodging import services
from comptoir.lodging.models import Declaration, MrnCounter
from comptoir.notifications.models import Notice
from comptoir.operators.models import Operator
from tests.lodging.conftest import XML, open_outage

pytestmark = pytest.mark.django_db

OK = "accepted"
B2G_ONLY = "channel_b2g_required"
PORTAL_ONLY = "channel_portal_only"
EXCEPTION = "exception"

# operator's channel, outages open, channel used, outcome
TABLE = [
    # Portal-only operators always lodge through the portal, whatever is open...
    ("portal", "none", "portal", OK),
    ("portal", "own_reported", "portal", OK),
    ("portal", "own_open", "portal", OK),
    ("portal", "other_open", "portal", OK),
    ("portal", "admin_open", "portal", OK),
    # ...and never through B2G.
    ("portal", "none", "b2g", PORTAL_ONLY),
    ("portal", "own_open", "b2g", PORTAL_ONLY),
    ("portal", "admin_open", "b2g", PORTAL_ONLY),
    # B2G operators lodge through B2G...
    ("b2g", "none", "b2g", OK),
    ("b2g", "own_reported", "b2g", OK),
    ("b2g", "own_open", "b2g", OK),
    ("b2g", "other_open", "b2g", OK),
    ("b2g", "admin_open", "b2g", OK),
    # ...and through the portal only while their acknowledged fallback or the
    # administration's fallback is open (a reported, not yet acknowledged outage does not
    # open it, nor does another operator's fallback).
    ("b2g", "none", "portal", B2G_ONLY),
    ("b2g", "own_reported", "portal", B2G_ONLY),
    ("b2g", "own_open", "portal", OK),
    ("b2g", "other_open", "portal", B2G_ONLY),
    ("b2g", "admin_open", "portal", OK),
    # The exception refuses all online lodging.
    ("portal", "exception", "portal", EXCEPTION),
    ("portal", "exception", "b2g", EXCEPTION),
    ("b2g", "exception", "portal", EXCEPTION),
    ("b2g", "exception", "b2g", EXCEPTION),
    ("b2g", "exception+own_open", "portal", EXCEPTION),
    ("b2g", "exception+admin_open", "portal", EXCEPTION),
    ("portal", "exception+admin_open", "portal", EXCEPTION),
]


def _open(state: str, operator: Operator, other: Operator) -> None:
    for part in state.split("+"):
        if part == "none":
            continue
        if part == "own_reported":
            Outage.objects.create(
                kind=Outage.Kind.OPERATOR, status=Outage.Status.REPORTED, operator=operator
            )
        elif part == "own_open":
            open_outage(Outage.Kind.OPERATOR, operator)
        elif part == "other_open":
            open_outage(Outage.Kind.OPERATOR, other)
        elif part == "admin_open":
            open_outage(Outage.Kind.ADMINISTRATION)
        elif part == "exception":
            open_outage(
                Outage.Kind.EXCEPTION,
                contact_office="Bureau de douane de Luxembourg-Cloche d'Or",
                instructions="Lodge a paper declaration at the office.",
            )
        else:  # pragma: no cover
            raise AssertionError(part)


@pytest.mark.parametrize(("operator_channel", "state", "used", "outcome"), TABLE)
def test_channel_rules(world, operator_channel, state, used, outcome):
    if operator_channel == "portal":
        operator, person = world.portal_operator, world.employee
        client, _token = b2g_client_create(name="portal-operator-system", operator=operator)
    else:
        operator, person, client = world.b2g_operator, world.b2g_employee, world.client
    _open(state, operator, world.other_operator)
    events_before = AuditEvent.objects.count()

    def lodge() -> Declaration:
        return services.declaration_lodge(
            operator=operator,
            declaration_type_code="IMPORT",
            payload=XML,
            filename_or_format="import.xml",
            channel=used,
            person=person if used == "portal" else None,
            client=client if used == "b2g" else None,
        )

    if outcome == OK:
        declaration = lodge()
        stored = Declaration.objects.get()
        assert stored.pk == declaration.pk
        assert stored.operator == operator and stored.channel == used
        assert stored.mrn.startswith("LU", 2) and stored.mrn[16] == "R"
        assert AuditEvent.objects.filter(action="lodging.accepted").count() == 1
        return

    with pytest.raises(services.LodgingRefused) as caught:
        lodge()
    assert caught.value.code == outcome
    assert caught.value.permission is True
    assert not Declaration.objects.exists()
    assert not Notice.objects.filter(sector="lodging").exists()
    # The counter gave its number back with the rolled-back transaction (or never moved).
    assert not MrnCounter.objects.filter(last__gt=0).exists()
    refused = AuditEvent.objects.filter(action="lodging.refused")
    assert refused.count() == 1 and AuditEvent.objects.count() == events_before + 1
    assert refused.get().data["code"] == outcome
    message = str(caught.value.message)
    if outcome == EXCEPTION:
        assert "Bureau de douane de Luxembourg-Cloche d'Or" in message
        assert "Lodge a paper declaration at the office." in message
    elif outcome == B2G_ONLY:
        assert "B2G system" in message and "report an outage" in message
    else:
        assert "through the portal" in message


def test_portal_gate_says_the_same_as_the_service(world):
    assert services.portal_gate(operator=world.portal_operator).refusal is None
    gate = services.portal_gate(operator=world.b2g_operator)
    assert gate.refusal is not None and gate.refusal.code == B2G_ONLY
    open_outage(Outage.Kind.ADMINISTRATION)
    assert services.portal_gate(operator=world.b2g_operator).refusal is None
    open_outage(Outage.Kind.EXCEPTION, contact_office="Office X", instructions="Call us.")
    gate = services.portal_gate(operator=world.portal_operator)
    assert gate.refusal is not None and gate.refusal.code == EXCEPTION
    assert "Office X" in str(gate.refusal.message) and "Call us." in str(gate.refusal.message)
