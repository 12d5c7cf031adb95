from __future__ import annotations

import pytest
from django.core.management import call_command

from comptoir.accounts.models import User
from comptoir.audit.services import audit_verify
from comptoir.operators import acting
from comptoir.operators.models import Mandate, Operator, Position

pytestmark = pytest.mark.django_db


def test_demo_data_loads_twice_and_prints_the_accounts(capsys):
    call_command("demo_seed")
    call_command("demo_seed")
    out = capsys.readouterr().out
    assert "officer_demo" in out and "Demo-Comptoir-2026!" in out
    assert (
        User.objects.filter(username__in=["officer_demo", "desk_demo", "admin_demo"]).count() == 3
    )
    roles = set(Position.objects.values_list("person__username", "role", "status"))
    assert roles == {
        ("officer_demo", "officer", "valid"),
        ("desk_demo", "service_desk", "valid"),
        ("trader_fr", "legal_representative", "valid"),
        ("forwarder", "legal_representative", "valid"),
    }
    company = Operator.objects.get(eori="FR732829320")
    assert company.status == Operator.Status.ACTIVE
    assert sorted(
        company.operation_grants.filter(revoked_at__isnull=True).values_list(
            "operation__code", flat=True
        )
    ) == ["IMPORT", "TRANSIT"]
    assert "Transports Durand SA" in out
    # Its customs representative holds a mandate for portal actions: its legal representative
    # may act for the company (loaded twice, one mandate).
    forwarder = User.objects.get(username="forwarder")
    [choice] = [o for o in acting.acting_options(person=forwarder) if o.identifier == company.eori]
    assert choice.capacity == acting.Capacity.MANDATE
    assert Mandate.objects.filter(principal=company).count() == 1
    officer = User.objects.get(username="officer_demo")
    officer.groups.clear()
    assert officer.is_portal_staff  # through the position alone
    assert audit_verify() is None
