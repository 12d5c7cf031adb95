from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_record, audit_verify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _three_events():
    person = UserFactory()
    for action in ("one", "two", "three"):
        audit_record(action=f"test.{action}", actor=person, subject=person, data={"n": action})
    return person


def test_an_intact_chain_verifies(capsys):
    _three_events()
    assert audit_verify() is None
    call_command("audit_verify")
    assert "intact" in capsys.readouterr().out


def test_an_edited_row_is_named(capsys):
    _three_events()
    target = AuditEvent.objects.get(action="test.two")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET action = %s WHERE id = %s",
            ["test.forged", target.id],
        )
    with pytest.raises(CommandError, match=rf"#{target.sequence}: content does not match"):
        call_command("audit_verify")


def test_a_deleted_row_is_named():
    _three_events()
    target = AuditEvent.objects.get(action="test.two")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [target.id])
    broken = audit_verify()
    assert broken is not None and broken.sequence == target.sequence


def test_deleting_the_newest_row_is_detected():
    _three_events()
    newest = AuditEvent.objects.order_by("-sequence").first()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [newest.id])
    broken = audit_verify()
    assert broken is not None and broken.sequence == newest.sequence


def test_events_carry_request_id_and_ip(client):
    person = UserFactory()
    client.post(
        "/accounts/login/",
        {"login": person.username, "password": "wrong-Passw0rd!"},
        HTTP_X_REQUEST_ID="req-123",
        REMOTE_ADDR="198.51.100.7",
    )
    event = AuditEvent.objects.get(action="login.failed")
    assert event.request_id == "req-123"
    assert event.ip == "198.51.100.7"
    assert event.subject_id == str(person.pk)


def test_deleting_a_person_keeps_the_chain_intact():
    person = _three_events()
    person_id = person.pk
    person.delete()
    assert audit_verify() is None
    assert AuditEvent.objects.filter(actor_id=person_id, action__startswith="test.").count() == 3
