"""Two service desk agents at the same moment on PostgreSQL: one acknowledgement, one clear
refusal; two openings of the fallback: one opens, the other is told it is open."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import translation

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.continuity import selectors, services
from comptoir.continuity.models import FanOut, Outage
from comptoir.notifications.models import Notice
from tests.markers import requires_postgresql


def _race(monkeypatch, target, people):
    """Run target(person) in two threads that both pass the permission check before either
    writes: only the database decides."""
    barrier = threading.Barrier(2, timeout=20)
    check = selectors.person_is_service_desk

    def check_then_wait(**kwargs):
        allowed = check(**kwargs)
        barrier.wait()
        return allowed

    monkeypatch.setattr(selectors, "person_is_service_desk", check_then_wait)
    outcomes: dict[str, object] = {}

    def run(person):
        try:
            with translation.override("en"):
                target(person)
            outcomes[person.username] = "done"
        except Exception as exc:
            outcomes[person.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_desks_acknowledging_at_once_give_one_acknowledgement(world, monkeypatch):
    outage = services.outage_report(
        person=world.legal_representative, operator=world.operator, description="Down."
    )
    outcomes = _race(
        monkeypatch,
        lambda person: services.outage_acknowledge(person=person, outage_id=outage.public_id),
        [world.desk, world.other_desk],
    )
    results = list(outcomes.values())
    assert results.count("done") == 1, outcomes
    refusals = [r for r in results if isinstance(r, services.OutageConflict)]
    assert len(refusals) == 1, outcomes
    assert refusals[0].status == Outage.Status.OPEN
    outage.refresh_from_db()
    winner = next(name for name, result in outcomes.items() if result == "done")
    assert outage.status == Outage.Status.OPEN and outage.opened_by.username == winner
    assert AuditEvent.objects.filter(action="outage.acknowledged").count() == 1
    # The operator's legal representative and manager are told once.
    assert Notice.objects.filter(topic="outage.acknowledged").count() == 2
    assert audit_verify() is None


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_desks_opening_the_fallback_at_once_open_one(world, monkeypatch):
    def open_it(person):
        services.fallback_open(
            person=person,
            kind=Outage.Kind.ADMINISTRATION,
            contact_office=f"Office of {person.username}",
            instructions="Use the portal.",
        )

    outcomes = _race(monkeypatch, open_it, [world.desk, world.other_desk])
    results = list(outcomes.values())
    assert results.count("done") == 1, outcomes
    refusals = [r for r in results if isinstance(r, services.OutageConflict)]
    assert len(refusals) == 1 and refusals[0].code == "fallback_already_open", outcomes
    assert Outage.objects.count() == 1
    assert FanOut.objects.count() == 1
    assert AuditEvent.objects.filter(action="fallback.opened").count() == 1
    assert audit_verify() is None


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_on_the_same_fan_out_tell_everyone_once(world):
    outage = services.fallback_open(
        person=world.desk,
        kind=Outage.Kind.ADMINISTRATION,
        contact_office="Bureau de Roissy",
        instructions="Use the portal.",
    )
    barrier = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            with translation.override("en"):
                services.fan_out_run(outage_id=outage.pk, event="opened", batch_size=1)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    recipients = list(Notice.objects.values_list("recipient__username", flat=True))
    assert sorted(recipients) == sorted(
        {"legalrep1", "manager_1", "employee1", "otherrep1", "portalrep"}
    )
    fan_out = FanOut.objects.get(outage=outage, event="opened")
    assert fan_out.notices == 5 and fan_out.batches == 5 and fan_out.finished_at is not None
    assert AuditEvent.objects.filter(action="fallback.fan_out_finished").count() == 1
