"""Two deciders at the same moment on PostgreSQL: one decision, one clear refusal."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import translation

from comptoir.approvals import services
from comptoir.approvals.models import Request, RequestEvent
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.operators.models import Operator, OperatorOperation, Position
from tests.factories import UserFactory
from tests.markers import requires_postgresql


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_officers_approving_at_once_give_one_decision(world, monkeypatch):
    request = services.operator_registration_submit(
        requester=UserFactory(username="applicant1"),
        authority=world.authority,
        operations=["IMPORT", "TRANSIT"],
        eori="FR987654324",
        name="Martin Logistique",
        country="FR",
    )

    # Both threads read the request as "submitted" and pass the permission check before either
    # writes: the race is decided by the conditional UPDATE alone.
    barrier = threading.Barrier(2, timeout=20)
    check = services._check_decider

    def check_then_wait(**kwargs):
        check(**kwargs)
        barrier.wait()

    monkeypatch.setattr(services, "_check_decider", check_then_wait)

    outcomes: dict[str, object] = {}

    def decide(officer):
        try:
            with translation.override("en"):  # a new thread starts in the default language
                services.request_approve(actor=officer, request_id=request.public_id)
            outcomes[officer.username] = "approved"
        except Exception as exc:
            outcomes[officer.username] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [
        threading.Thread(target=decide, args=(person,))
        for person in (world.officer, world.other_officer)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    results = list(outcomes.values())
    assert results.count("approved") == 1, outcomes
    refusals = [r for r in results if isinstance(r, services.RequestAlreadyDecided)]
    assert len(refusals) == 1, outcomes
    assert refusals[0].status == Request.Status.APPROVED
    assert "already been closed: it is now approved" in str(refusals[0].message).lower()

    request.refresh_from_db()
    winner = next(name for name, result in outcomes.items() if result == "approved")
    assert request.status == Request.Status.APPROVED
    assert request.decided_by.username == winner
    assert RequestEvent.objects.filter(request=request, to_status="approved").count() == 1
    # The effect was applied once.
    assert Operator.objects.get(pk=request.operator_id).status == Operator.Status.ACTIVE
    assert OperatorOperation.objects.filter(operator_id=request.operator_id).count() == 2
    assert Position.objects.get(pk=request.payload["position"]).status == Position.Status.VALID
    assert AuditEvent.objects.filter(action="request.approved").count() == 1
    assert AuditEvent.objects.filter(action="operator.activated").count() == 1
    assert audit_verify() is None
