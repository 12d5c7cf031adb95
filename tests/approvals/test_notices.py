"""Notices: deciders are told at submission, the requester at the decision or the expiry;
each e-mail is written to the outbox in the transaction and reaches a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from comptoir.approvals import services
from comptoir.notifications.models import OutboxMessage
from tests.mail import run_worker

pytestmark = pytest.mark.django_db


def _join(world):
    return services.membership_request_submit(requester=world.outsider, operator=world.operator)


def test_the_deciders_are_told_at_submission(world, smtp_server):
    request = _join(world)
    assert smtp_server.messages == []  # written to the outbox only
    run_worker()

    recipients = sorted(str(m["To"]) for m in smtp_server.messages)
    assert recipients == sorted([world.legal_representative.email, world.manager.email])
    message = smtp_server.last_to(world.legal_representative.email)
    assert message["Subject"] == (
        f"[Comptoir] Request {request.reference} waits for your decision: "
        "Request to join an operator"
    )
    text = smtp_server.text(message)
    assert f"submitted request {request.reference}" in text
    assert "Operator: Dupont SA (EORI FR552100554)" in text
    # Each recipient's mail is written in their own language (the manager's profile says fr).
    french = smtp_server.last_to(world.manager.email)
    assert french["Content-Language"] == "fr"
    assert OutboxMessage.objects.get(to=world.manager.email).language == "fr"


def test_the_requester_is_told_of_a_rejection_with_the_reason(world, smtp_server):
    request = _join(world)
    services.request_reject(
        actor=world.manager, request_id=request.public_id, reason="We do not know you."
    )
    run_worker()
    message = smtp_server.last_to(world.outsider.email)
    assert message["Subject"] == f"[Comptoir] Request {request.reference}: Rejected"
    text = smtp_server.text(message)
    assert "has been rejected" in text
    assert "Reason given: We do not know you." in text


def test_the_requester_is_told_of_an_approval(world, smtp_server):
    request = services.operation_change_submit(
        requester=world.legal_representative,
        operator=world.operator,
        authority=world.authority,
        add=["TRANSIT"],
    )
    run_worker()
    # Officers of the competent authority only: not the foreign officer nor the service desk.
    assert sorted(str(m["To"]) for m in smtp_server.messages) == sorted(
        [world.officer.email, world.other_officer.email]
    )
    services.request_approve(actor=world.officer, request_id=request.public_id)
    run_worker()
    message = smtp_server.last_to(world.legal_representative.email)
    assert message["Subject"] == f"[Comptoir] Request {request.reference}: Approved"
    assert "Change of customs operations) has been approved" in smtp_server.text(message)


def test_the_requester_is_told_of_an_expiry(world, smtp_server):
    request = _join(world)
    services.requests_expire_due(now=request.expires_at + timedelta(minutes=1))
    run_worker()
    message = smtp_server.last_to(world.outsider.email)
    assert "has expired without a decision" in smtp_server.text(message)


def test_a_refused_decision_writes_no_mail(world):
    request = _join(world)
    before = OutboxMessage.objects.count()
    with pytest.raises(services.NotAllowedToDecide):
        services.request_approve(actor=world.employee, request_id=request.public_id)
    services.request_approve(actor=world.manager, request_id=request.public_id)
    with pytest.raises(services.RequestAlreadyDecided):
        services.request_approve(actor=world.legal_representative, request_id=request.public_id)
    assert OutboxMessage.objects.count() == before + 1  # the one approval notice
