"""The outage state machine, its refusals, audit, and the notices and e-mails of each step."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.continuity import services
from comptoir.continuity.models import FanOut, Outage
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators.models import Operator

pytestmark = pytest.mark.django_db

OS = Outage.Status


def report(world, **overrides):
    data = {
        "person": world.legal_representative,
        "operator": world.operator,
        "description": "Our access point answers 503 since 9:30.",
    }
    data.update(overrides)
    return services.outage_report(**data)


def open_fallback(world, kind=Outage.Kind.ADMINISTRATION, **overrides):
    data = {
        "person": world.desk,
        "kind": kind,
        "contact_office": "Bureau de Paris-Orly, 01 23 45 67 89",
        "instructions": "Lodge through the portal and keep the paper copies.",
        "description": "The B2G gateway is down.",
    }
    data.update(overrides)
    return services.fallback_open(**data)


def state(outage: Outage) -> str:
    return Outage.objects.values_list("status", flat=True).get(pk=outage.pk)


# --- An operator's outage -----------------------------------------------------------------------


def test_report_acknowledge_recover(world):
    outage = report(world)
    assert state(outage) == OS.REPORTED
    assert outage.reported_by == world.legal_representative
    assert outage.reference.startswith("OUT-")
    assert Notice.objects.count() == 0  # the service desk sees it as a task, operators wait

    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    outage.refresh_from_db()
    assert outage.status == OS.OPEN and outage.opened_by == world.desk
    assert outage.opened_at is not None

    services.outage_recover(person=world.manager, outage_id=outage.public_id)
    outage.refresh_from_db()
    assert outage.status == OS.CLOSED and outage.closed_by == world.manager
    actions = list(
        AuditEvent.objects.filter(subject_id=str(outage.pk), action__startswith="outage.")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["outage.reported", "outage.acknowledged", "outage.recovered"]
    assert audit_verify() is None


def test_recovery_may_come_before_acknowledgement(world):
    outage = report(world)
    services.outage_recover(person=world.legal_representative, outage_id=outage.public_id)
    assert state(outage) == OS.CLOSED
    # Closed: the desk can no longer acknowledge it.
    with pytest.raises(services.OutageConflict) as refused:
        services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    assert refused.value.status == OS.CLOSED
    assert "already been dealt with: it is now closed" in str(refused.value.message)
    assert state(outage) == OS.CLOSED


def test_acknowledge_twice_is_refused_and_changes_nothing(world):
    outage = report(world)
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    with pytest.raises(services.OutageConflict):
        services.outage_acknowledge(person=world.other_desk, outage_id=outage.public_id)
    outage.refresh_from_db()
    assert outage.opened_by == world.desk
    assert AuditEvent.objects.filter(action="outage.acknowledged").count() == 1


def test_recover_twice_is_refused(world):
    outage = report(world)
    services.outage_recover(person=world.manager, outage_id=outage.public_id)
    with pytest.raises(services.OutageConflict):
        services.outage_recover(person=world.legal_representative, outage_id=outage.public_id)
    assert AuditEvent.objects.filter(action="outage.recovered").count() == 1


@pytest.mark.parametrize("who", ["employee", "suspended_manager", "outsider", "desk"])
def test_only_the_legal_representative_or_a_manager_reports(world, who):
    with pytest.raises(services.OutageNotAllowed):
        report(world, person=getattr(world, who))
    assert not Outage.objects.exists()


def test_a_second_report_while_one_is_unclosed_is_refused(world):
    first = report(world)
    with pytest.raises(services.OutageConflict) as refused:
        report(world, person=world.manager)
    assert refused.value.code == "outage_already_reported"
    assert list(Outage.objects.all()) == [first]
    services.outage_acknowledge(person=world.desk, outage_id=first.public_id)
    with pytest.raises(services.OutageConflict):
        report(world)
    services.outage_recover(person=world.manager, outage_id=first.public_id)
    # Once closed, a new outage may be reported.
    second = report(world)
    assert second.pk != first.pk and state(second) == OS.REPORTED


def test_report_needs_a_description_and_changes_nothing(world):
    with pytest.raises(ValidationError) as refused:
        report(world, description="   ")
    assert refused.value.message_dict == {
        "description": ["Describe what is not working in your B2G system."]
    }
    with pytest.raises(ValidationError) as refused:
        report(world, description="x" * (services.DESCRIPTION_MAX + 1))
    assert "2000 characters or fewer" in refused.value.message_dict["description"][0]
    assert not Outage.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="outage.").exists()


def test_a_portal_only_or_inactive_company_cannot_report(world):
    with pytest.raises(ValidationError) as refused:
        report(world, person=world.portal_legal_representative, operator=world.portal_operator)
    assert "portal only" in refused.value.message_dict["operator"][0]
    Operator.objects.filter(pk=world.operator.pk).update(status=Operator.Status.SUSPENDED)
    world.operator.refresh_from_db()
    with pytest.raises(ValidationError):
        report(world)
    assert not Outage.objects.exists()


@pytest.mark.parametrize("who", ["officer", "legal_representative", "outsider"])
def test_only_the_service_desk_acknowledges(world, who):
    outage = report(world)
    with pytest.raises(services.OutageNotAllowed):
        services.outage_acknowledge(person=getattr(world, who), outage_id=outage.public_id)
    assert state(outage) == OS.REPORTED


@pytest.mark.parametrize("who", ["employee", "desk", "other_legal_representative"])
def test_only_its_legal_representative_or_a_manager_reports_recovery(world, who):
    outage = report(world)
    with pytest.raises(services.OutageNotAllowed):
        services.outage_recover(person=getattr(world, who), outage_id=outage.public_id)
    assert state(outage) == OS.REPORTED


def test_acknowledgement_and_recovery_tell_the_reporters_in_their_language(world):
    outage = report(world)
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    notices = {n.recipient.username: n for n in Notice.objects.select_related("recipient")}
    # The legal representative (en) and the manager (fr); not the employee, not the suspended.
    assert set(notices) == {"legalrep1", "manager_1"}
    english, french = notices["legalrep1"], notices["manager_1"]
    assert english.title == f"Outage {outage.reference} acknowledged: lodge through the portal"
    for notice in (english, french):
        assert notice.priority == Notice.Priority.HIGH
        assert notice.sector == "continuity"
        assert notice.reference == outage.reference
        assert notice.operator_id == world.operator.pk
        assert notice.link == f"/companies/{world.operator.pk}/outages/"
    mails = {m.to: m for m in OutboxMessage.objects.all()}
    assert set(mails) == {world.legal_representative.email, world.manager.email}
    assert mails[world.manager.email].language == "fr"
    assert mails[world.legal_representative.email].language == "en"
    assert outage.reference in mails[world.legal_representative.email].subject
    assert f"/companies/{world.operator.pk}/outages/" in mails[world.manager.email].body_text
    # Written in each reader's language (the greeting is in the catalogues already).
    assert mails[world.manager.email].body_text.startswith("Bonjour Ada Lovelace,")
    assert mails[world.legal_representative.email].body_text.startswith("Hello Ada Lovelace,")

    services.outage_recover(person=world.manager, outage_id=outage.public_id)
    assert Notice.objects.filter(topic="outage.recovered").count() == 2
    assert OutboxMessage.objects.filter(template="continuity/email/operator_recovered").count() == 2


# --- The administration's fallback and the exception --------------------------------------------


def test_open_and_close_the_fallback(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        outage = open_fallback(world)
    assert outage.status == OS.OPEN and outage.kind == Outage.Kind.ADMINISTRATION
    assert outage.opened_by == world.desk and outage.operator is None
    assert FanOut.objects.get(outage=outage).event == "opened"
    assert len(callbacks) == 1  # the fan-out task, queued once committed
    # Nothing is written for the operators inside the service desk's request.
    assert not Notice.objects.exists() and not OutboxMessage.objects.exists()

    services.fallback_close(person=world.desk, outage_id=outage.public_id, closing_note="Fixed.")
    outage.refresh_from_db()
    assert outage.status == OS.CLOSED and outage.closing_note == "Fixed."
    assert outage.closed_by == world.desk
    assert set(FanOut.objects.filter(outage=outage).values_list("event", flat=True)) == {
        "opened",
        "closed",
    }
    assert AuditEvent.objects.filter(action="fallback.opened").count() == 1
    assert AuditEvent.objects.filter(action="fallback.closed").count() == 1
    with pytest.raises(services.OutageConflict):
        services.fallback_close(person=world.desk, outage_id=outage.public_id)


def test_one_fallback_and_one_exception_at_a_time(world):
    fallback = open_fallback(world)
    with pytest.raises(services.OutageConflict) as refused:
        open_fallback(world)
    assert refused.value.code == "fallback_already_open"
    exception = open_fallback(world, kind=Outage.Kind.EXCEPTION)
    with pytest.raises(services.OutageConflict):
        open_fallback(world, kind=Outage.Kind.EXCEPTION)
    assert Outage.objects.count() == 2
    services.fallback_close(person=world.desk, outage_id=fallback.public_id)
    again = open_fallback(world)
    assert again.pk not in (fallback.pk, exception.pk)


def test_opening_needs_the_office_and_the_instructions(world):
    with pytest.raises(ValidationError) as refused:
        open_fallback(world, contact_office=" ", instructions="")
    assert refused.value.message_dict == {
        "contact_office": ["Enter the customs office operators should contact."],
        "instructions": ["Enter the instructions operators should follow."],
    }
    with pytest.raises(ValidationError) as refused:
        open_fallback(world, kind="operator")
    assert "kind" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        open_fallback(world, contact_office="x" * 201)
    assert "200 characters or fewer" in refused.value.message_dict["contact_office"][0]
    assert not Outage.objects.exists() and not FanOut.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="fallback.").exists()


@pytest.mark.parametrize("who", ["officer", "legal_representative", "outsider"])
def test_only_the_service_desk_opens_and_closes(world, who):
    with pytest.raises(services.OutageNotAllowed):
        open_fallback(world, person=getattr(world, who))
    assert not Outage.objects.exists()
    outage = open_fallback(world)
    with pytest.raises(services.OutageNotAllowed):
        services.fallback_close(person=getattr(world, who), outage_id=outage.public_id)
    assert state(outage) == OS.OPEN


def test_the_desk_cannot_close_an_operators_outage_as_a_fallback(world):
    outage = report(world)
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    with pytest.raises(services.OutageNotAllowed):
        services.fallback_close(person=world.desk, outage_id=outage.public_id)
    assert state(outage) == OS.OPEN
