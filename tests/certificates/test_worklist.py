"""Certificates about to expire as tasks on the dashboard of their operator's legal
representative and managers (60 days ahead; high priority within the due-soon window)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from comptoir.certificates.models import Certificate
from comptoir.certificates.services import eori_identity_for
from comptoir.notifications.worklist import work_items_for
from comptoir.operators.models import Position
from tests.factories_operators import OperatorFactory, member

pytestmark = pytest.mark.django_db


def _certificate(operator, *, name: str, days_left: int, status=Certificate.Status.ACTIVE):
    now = timezone.now()
    return Certificate.objects.create(
        identity=eori_identity_for(operator),
        name=name,
        purpose=Certificate.Purpose.SEAL,
        status=status,
        serial=f"0A{days_left:04d}",
        not_before=now - timedelta(days=300),
        not_after=now + timedelta(days=days_left),
    )


def _certificate_tasks(person):
    return [item for item in work_items_for(person=person) if item.type == "certificate"]


def test_managers_see_the_certificates_that_expire_within_sixty_days():
    operator = OperatorFactory(name="Durand SA")
    manager = member(operator, username="cert_manager", role=Position.Role.MANAGER)
    employee = member(operator, username="cert_employee", role=Position.Role.EMPLOYEE)
    _certificate(operator, name="ICS2 seal 2026", days_left=5)
    _certificate(operator, name="Portal seal", days_left=40)
    _certificate(operator, name="Far away", days_left=200)
    _certificate(operator, name="Revoked", days_left=10, status=Certificate.Status.REVOKED)
    OperatorFactory(name="Other SA")  # nothing of another operator

    tasks = _certificate_tasks(manager)
    assert [(task.title, task.priority) for task in tasks] == [
        ("Certificate “ICS2 seal 2026” of Durand SA expires soon: register its successor", "high"),
        ("Certificate “Portal seal” of Durand SA expires soon: register its successor", "normal"),
    ]
    first = Certificate.objects.get(name="ICS2 seal 2026")
    assert tasks[0].link == f"/companies/{operator.pk}/certificates/{first.public_id}/"
    assert tasks[0].sector == "certificates" and tasks[0].due_at is not None
    assert _certificate_tasks(employee) == []


def test_the_dashboard_counts_them_as_due_soon(client):
    operator = OperatorFactory(name="Durand SA")
    manager = member(operator, username="cert_manager2", role=Position.Role.MANAGER)
    _certificate(operator, name="ICS2 seal", days_left=3)
    client.force_login(manager)
    response = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Certificate “ICS2 seal” of Durand SA expires soon" in text
    assert "1 task expires within 7 days" in text
