"""Outbox delivery by the background worker: queued on commit, retried with back-off while the
SMTP server answers 4xx, given up after COMPTOIR_MAIL_MAX_ATTEMPTS or at once on a 5xx."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from comptoir.notifications.models import OutboxMessage
from comptoir.notifications.services import outbox_deliver, outbox_enqueue, retry_delay
from tests.mail import run_worker

pytestmark = pytest.mark.django_db


def make_due(message: OutboxMessage) -> None:
    """Let the back-off delay elapse."""
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_the_delivery_task_is_queued_when_the_transaction_commits(
    smtp_server, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = outbox_enqueue(to="ada@example.test", subject="Hello", body_text="Hi")
    assert not DBTaskResult.objects.exists()  # nothing before the commit
    for callback in callbacks:
        callback()
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["args"] == [str(message.id)]
    assert smtp_server.messages == []  # queued, not sent

    # The worker alone, without run_worker()'s safety net: it finds the task queued on commit.
    # (Keep the test's connection open, as run_worker() does.)
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert smtp_server.last_to("ada@example.test")["Subject"] == "Hello"
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 1
    assert message.sent_at is not None


def test_a_refused_message_is_retried_with_growing_delays_then_delivered(smtp_server, settings):
    settings.COMPTOIR_MAIL_RETRY_BASE_SECONDS = 30
    smtp_server.refuse = True
    message = outbox_enqueue(to="ada@example.test", subject="Hello", body_text="Hi")

    delays = []
    for attempt in (1, 2, 3):
        before = timezone.now()
        run_worker()
        message.refresh_from_db()
        assert message.status == OutboxMessage.Status.QUEUED
        assert message.attempts == attempt
        assert message.last_error.startswith("SMTPDataError: (451")
        delays.append(message.next_attempt_at - before)

        run_worker()  # not due yet: the worker leaves it alone
        message.refresh_from_db()
        assert message.attempts == attempt
        make_due(message)

    # 30 s, 60 s, 120 s (give or take the time the worker took)
    for delay, expected in zip(delays, (30, 60, 120), strict=True):
        assert timedelta(seconds=expected) <= delay < timedelta(seconds=expected + 5)
    assert smtp_server.messages == []

    smtp_server.refuse = False
    run_worker()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 4
    assert message.last_error == ""
    assert len(smtp_server.to("ada@example.test")) == 1


def test_delivery_stops_after_the_maximum_number_of_attempts(smtp_server, settings):
    settings.COMPTOIR_MAIL_MAX_ATTEMPTS = 3
    smtp_server.refuse = True
    message = outbox_enqueue(to="ada@example.test", subject="Hello", body_text="Hi")

    for _ in range(3):
        run_worker()
        make_due(message)
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 3

    smtp_server.refuse = False  # too late: a failed message is not sent again
    run_worker()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 3
    assert smtp_server.messages == []


def test_the_back_off_is_capped_at_six_hours(settings):
    settings.COMPTOIR_MAIL_RETRY_BASE_SECONDS = 30
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20) == timedelta(hours=6)


def test_a_permanent_refusal_fails_at_once(smtp_server):
    smtp_server.unknown_recipients = True
    message = outbox_enqueue(to="nobody@example.test", subject="Hello", body_text="Hi")
    run_worker()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 1
    assert "550" in message.last_error


def test_an_unreachable_server_is_a_temporary_failure(settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    message = outbox_enqueue(to="ada@example.test", subject="Hello", body_text="Hi")
    run_worker()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.QUEUED
    assert message.attempts == 1
    assert message.last_error.startswith("ConnectionRefusedError")


def test_delivery_is_idempotent(smtp_server):
    message = outbox_enqueue(to="ada@example.test", subject="Hello", body_text="Hi")
    outbox_deliver(message_id=str(message.id))
    outbox_deliver(message_id=str(message.id))  # a duplicate task
    run_worker()
    assert len(smtp_server.to("ada@example.test")) == 1
    message.refresh_from_db()
    assert message.attempts == 1


def test_a_message_being_sent_is_not_taken_by_another_worker(smtp_server):
    """A worker claims the message before talking to the SMTP server: until its lease ends, a
    second task for the same message does nothing."""
    message = outbox_enqueue(to="ada@example.test", subject="Hello", body_text="Hi")
    claimed_until = timezone.now() + timedelta(minutes=1)
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=1, next_attempt_at=claimed_until)
    outbox_deliver(message_id=str(message.id))
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.QUEUED, 1)
    assert smtp_server.messages == []


def test_the_message_carries_its_id_language_and_html_part(smtp_server):
    message = outbox_enqueue(
        to="ada@example.test",
        subject="Hallo",
        body_text="Text",
        body_html="<p>HTML</p>",
        language="de",
    )
    run_worker()
    received = smtp_server.last_to("ada@example.test")
    assert received["Message-ID"] == message.message_id
    assert received["Content-Language"] == "de"
    assert received.get_body(preferencelist=("html",)).get_content().strip() == "<p>HTML</p>"


def test_a_message_that_cannot_be_built_fails_at_once(smtp_server):
    """A header injection attempt is refused by Django: retrying would fail the same way."""
    message = outbox_enqueue(
        to="ada@example.test", subject="Hello\nBcc: eve@example.test", body_text="Hi"
    )
    run_worker()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 1
    assert message.last_error.startswith("BadHeaderError")
    assert smtp_server.messages == []
