from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from comptoir.approvals.models import Request
from tests.approvals.test_state_machine import _membership
from tests.mail import run_worker

pytestmark = pytest.mark.django_db


def test_the_command_queues_the_expiry_for_the_worker(world, capsys):
    overdue = _membership(world)
    Request.objects.filter(pk=overdue.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    call_command("requests_expire")
    assert "queued" in capsys.readouterr().out
    overdue.refresh_from_db()
    assert overdue.status == Request.Status.SUBMITTED  # nothing happens inside the command
    run_worker()
    overdue.refresh_from_db()
    assert overdue.status == Request.Status.EXPIRED


def test_the_command_can_expire_in_place(world, capsys):
    overdue = _membership(world)
    Request.objects.filter(pk=overdue.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    call_command("requests_expire", "--now")
    assert "1 request(s) expired." in capsys.readouterr().out
    overdue.refresh_from_db()
    assert overdue.status == Request.Status.EXPIRED
