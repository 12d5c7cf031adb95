"""Telling every operator's people about the administration's fallback and the exception: in
batches, in their language, once each, e-mails delivered through the outbox by the worker."""

from __future__ import annotations

import pytest
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from comptoir.audit.models import AuditEvent
from comptoir.continuity import selectors, services
from comptoir.continuity.models import FanOut, Outage
from comptoir.notifications import services as notification_services
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators.models import Operator, Position
from tests.continuity.test_services import open_fallback
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, PositionFactory
from tests.mail import run_worker

pytestmark = pytest.mark.django_db

#: Everyone in the world fixture with a valid position at an active operator.
TOLD = {"legalrep1", "manager_1", "employee1", "otherrep1", "portalrep"}


def told() -> list[str]:
    return sorted(Notice.objects.values_list("recipient__username", flat=True))


def test_everyone_with_a_valid_position_at_an_active_operator_is_told_once(world):
    # A person in two operators is told once; a closed operator's people are not told.
    PositionFactory(person=world.legal_representative, operator=world.other_operator)
    closed = OperatorFactory(status=Operator.Status.CLOSED)
    PositionFactory(person=UserFactory(username="closedrep"), operator=closed)
    outage = open_fallback(world)
    fan_out = services.fan_out_run(outage_id=outage.pk, event="opened")
    assert told() == sorted(TOLD)
    assert fan_out.notices == 5 and fan_out.emails == 5 and fan_out.finished_at is not None
    notice = Notice.objects.get(recipient=world.employee)
    assert notice.priority == Notice.Priority.HIGH
    assert notice.sector == "continuity"
    assert notice.reference == outage.reference
    assert notice.link == "/status/"
    assert notice.topic == "fallback.opened"
    assert "Bureau de Paris-Orly" in notice.body
    assert AuditEvent.objects.filter(action="fallback.fan_out_finished").count() == 1


def test_each_person_reads_it_in_their_language(world, monkeypatch):
    languages = []
    render = services.render_to_string

    def spy(template, context):
        languages.append(translation.get_language())
        return render(template, context)

    monkeypatch.setattr(services, "render_to_string", spy)
    outage = open_fallback(world, kind=Outage.Kind.EXCEPTION)
    services.fan_out_run(outage_id=outage.pk, event="opened")
    assert {"fr", "en", "de"} <= set(languages)
    mails = {m.to: m for m in OutboxMessage.objects.all()}
    assert mails[world.manager.email].language == "fr"
    assert mails[world.manager.email].body_text.startswith("Bonjour,")
    assert mails[world.employee.email].language == "de"
    assert mails[world.employee.email].body_text.startswith("Guten Tag,")
    assert mails[world.legal_representative.email].body_text.startswith("Hello,")
    english = mails[world.legal_representative.email]
    assert outage.reference in english.subject
    assert "online lodging is not possible" in english.subject
    assert "Bureau de Paris-Orly, 01 23 45 67 89" in english.body_text
    assert "Lodge through the portal and keep the paper copies." in english.body_text
    assert "http://127.0.0.1:8000/status/" in english.body_text or "/status/" in english.body_text


def test_a_rerun_tells_nobody_twice(world):
    outage = open_fallback(world)
    fan_out = FanOut.objects.get(outage=outage)
    # A worker that dies after two batches of two…
    assert services.fan_out_batch(fan_out_id=fan_out.pk, batch_size=2) is False
    assert services.fan_out_batch(fan_out_id=fan_out.pk, batch_size=2) is False
    assert Notice.objects.count() == 4
    # …and the task run again carries on from there.
    finished = services.fan_out_run(outage_id=outage.pk, event="opened", batch_size=2)
    assert told() == sorted(TOLD)
    assert finished.batches == 3 and finished.notices == 5
    # Running it once more changes nothing.
    services.fan_out_run(outage_id=outage.pk, event="opened")
    assert Notice.objects.count() == 5 and OutboxMessage.objects.count() == 5
    assert AuditEvent.objects.filter(action="fallback.fan_out_finished").count() == 1


def test_a_batch_told_meanwhile_by_another_worker_writes_nothing(world, monkeypatch):
    outage = open_fallback(world)
    fan_out = FanOut.objects.get(outage=outage)
    original = selectors.fan_out_recipients

    def other_worker_first(*, after, limit):
        rows = original(after=after, limit=limit)
        last = list(rows)[-1].pk
        FanOut.objects.filter(pk=fan_out.pk).update(cursor=last)  # the other worker moved on
        return rows

    monkeypatch.setattr(selectors, "fan_out_recipients", other_worker_first)
    assert services.fan_out_batch(fan_out_id=fan_out.pk, batch_size=10) is False
    assert not Notice.objects.exists() and not OutboxMessage.objects.exists()
    assert FanOut.objects.get(pk=fan_out.pk).notices == 0


def test_people_without_an_address_get_the_notice_only(world):
    world.employee.email = ""
    world.employee.save(update_fields=["email"])
    outage = open_fallback(world)
    fan_out = services.fan_out_run(outage_id=outage.pk, event="opened")
    assert fan_out.notices == 5 and fan_out.emails == 4
    assert Notice.objects.filter(recipient=world.employee).exists()


def test_closing_tells_everyone_again(world):
    outage = open_fallback(world)
    services.fan_out_run(outage_id=outage.pk, event="opened")
    services.fallback_close(person=world.desk, outage_id=outage.public_id, closing_note="Fixed.")
    services.fan_out_run(outage_id=outage.pk, event="closed")
    closing = Notice.objects.filter(topic="fallback.closed")
    assert sorted(closing.values_list("recipient__username", flat=True)) == sorted(TOLD)
    assert "Fixed." in closing.first().body
    assert OutboxMessage.objects.filter(template="continuity/email/fallback_closed").count() == 5


def test_the_worker_delivers_every_email_through_smtp(
    world, smtp_server, django_capture_on_commit_callbacks, monkeypatch
):
    # The fallback's fan-out task and the delivery tasks are queued once committed; the worker
    # runs them and the messages reach a real SMTP server, each in its reader's language.
    monkeypatch.setattr(notification_services, "DELIVERY_BATCH", 2)
    with django_capture_on_commit_callbacks(execute=True):
        outage = open_fallback(world)
    assert smtp_server.messages == []  # nothing sent inside the request
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()  # the fan-out: notices and outbox rows, delivery queued per batch
    deliveries = DBTaskResult.objects.filter(task_path__endswith="deliver_outbox_messages")
    assert sorted(len(task.args_kwargs["args"][0]) for task in deliveries) == [1, 2, 2]
    run_worker()  # the deliveries
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() == 5
    french = smtp_server.last_to(world.manager.email)
    assert outage.reference in french["Subject"]
    assert smtp_server.text(french).startswith("Bonjour,")
    german = smtp_server.last_to(world.employee.email)
    assert smtp_server.text(german).startswith("Guten Tag,")
    assert any(link.endswith("/status/") for link in smtp_server.links(german))
    assert len(smtp_server.messages) == 5


def test_operator_acknowledgement_reaches_smtp(world, smtp_server):
    outage = services.outage_report(
        person=world.manager, operator=world.operator, description="Down since noon."
    )
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    run_worker()
    french = smtp_server.last_to(world.manager.email)
    assert outage.reference in french["Subject"]
    assert smtp_server.text(french).startswith("Bonjour Ada Lovelace,")
    assert smtp_server.links(french)[0].endswith(f"/companies/{world.operator.pk}/outages/")
    assert smtp_server.to(world.employee.email) == []
    assert {str(m["To"]) for m in smtp_server.messages} == {
        world.manager.email,
        world.legal_representative.email,
    }


def test_suspended_and_requested_positions_are_not_told(world):
    PositionFactory(
        person=UserFactory(username="requested1"),
        operator=world.operator,
        status=Position.Status.REQUESTED,
    )
    outage = open_fallback(world)
    services.fan_out_run(outage_id=outage.pk, event="opened")
    assert "requested1" not in told() and "suspended1" not in told()
