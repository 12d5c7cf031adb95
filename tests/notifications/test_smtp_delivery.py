from __future__ import annotations

import pytest

from comptoir.notifications.models import OutboxMessage
from comptoir.notifications.services import outbox_enqueue
from tests.mail import run_worker

pytestmark = pytest.mark.django_db


def test_a_message_reaches_the_smtp_server_through_the_worker(smtp_server):
    outbox_enqueue(to="ada@example.test", subject="Hello", body_text="Visit http://x.test/a")
    assert smtp_server.messages == []  # nothing is sent inside the request
    run_worker()
    received = smtp_server.last_to("ada@example.test")
    assert received["Subject"] == "Hello"
    assert smtp_server.links(received) == ["http://x.test/a"]
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT
