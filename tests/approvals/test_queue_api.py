"""The work queue in the API: /api/v1/requests/… with the same filters, scope (404 outside it),
decisions, 409 with a code when already decided, 422 when a rejection has no reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from comptoir.accounts import services as account_services
from comptoir.approvals import services
from comptoir.approvals.models import Request
from tests.approvals.test_queue_views import Queue, sign_in, snapshot
from tests.approvals.test_queue_views import queue as queue  # the fixture

pytestmark = pytest.mark.django_db

RS = Request.Status
BASE = "/api/v1/requests"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["reference"] for item in response.json()["items"]]


def test_the_queue_with_filters(client, world, queue: Queue):
    sign_in(client, world.officer)
    assert ids(client.get(f"{BASE}/queue")) == [
        queue.registration.reference,
        queue.foreign_registration.reference,
        queue.change.reference,
    ]
    assert ids(client.get(f"{BASE}/queue", {"kind": "operation_change"})) == [
        queue.change.reference
    ]
    assert ids(client.get(f"{BASE}/queue", {"age": 7})) == [queue.registration.reference]
    assert ids(client.get(f"{BASE}/queue", {"country": "DE"})) == [
        queue.foreign_registration.reference
    ]
    assert ids(client.get(f"{BASE}/queue", {"operation": "ICS"})) == [queue.registration.reference]
    assert ids(client.get(f"{BASE}/queue", {"q": "FR987654324"})) == [queue.registration.reference]
    assert ids(client.get(f"{BASE}/queue", {"status": "approved"})) == []
    first = client.get(f"{BASE}/queue").json()
    assert first["count"] == 3
    assert first["pages"] == 1
    item = first["items"][0]
    assert item["id"] == str(queue.registration.public_id)
    assert item["eori"] == "FR987654324"
    assert item["operator_name"] == "Martin Logistique"
    assert item["age_days"] == 10
    assert item["status"] == "submitted"


@pytest.mark.parametrize(
    "params", [{"kind": "nope"}, {"age": 0}, {"country": "FRA"}, {"status": "maybe"}]
)
def test_bad_filters_answer_422(client, world, queue, params):
    sign_in(client, world.officer)
    assert client.get(f"{BASE}/queue", params).status_code == 422


def test_scope_404_outside_it(client, world, queue):
    sign_in(client, world.foreign_officer)
    assert ids(client.get(f"{BASE}/queue")) == []
    for request in (queue.registration, queue.membership):
        before = snapshot(request)
        assert client.get(f"{BASE}/{request.public_id}").status_code == 404
        assert client.post(f"{BASE}/{request.public_id}/approve").status_code == 404
        response = client.post(
            f"{BASE}/{request.public_id}/reject",
            {"reason": "No."},
            content_type="application/json",
        )
        assert response.status_code == 404
        assert snapshot(request) == before


def test_a_manager_sees_only_membership_requests_by_token(world, queue):
    _token, clear = account_services.api_token_create(user=world.manager, name="test")
    program = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {clear}")
    assert ids(program.get(f"{BASE}/queue")) == [queue.membership.reference]
    assert program.get(f"{BASE}/{queue.change.public_id}").status_code == 404
    response = program.post(f"{BASE}/{queue.membership.public_id}/approve")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"


def test_staff_without_totp_are_refused(client, world, queue):
    client.force_login(world.officer)
    response = client.get(f"{BASE}/queue")
    assert response.status_code == 403
    assert response.json()["code"] == "totp_required"


def test_detail_with_history(client, world, queue):
    sign_in(client, world.officer)
    body = client.get(f"{BASE}/{queue.change.public_id}").json()
    assert body["reference"] == queue.change.reference
    assert body["payload"] == {"add": ["TRANSIT"], "remove": ["IMPORT"]}
    assert body["can_decide"] is True
    assert [(e["from_status"], e["to_status"]) for e in body["events"]] == [("", "submitted")]


def test_approve_and_reject(client, world, queue):
    sign_in(client, world.officer)
    approved = client.post(f"{BASE}/{queue.registration.public_id}/approve")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == world.officer.username
    rejected = client.post(
        f"{BASE}/{queue.change.public_id}/reject",
        {"reason": " Missing guarantee. "},
        content_type="application/json",
    )
    assert rejected.status_code == 200
    assert rejected.json()["reason"] == "Missing guarantee."
    assert [e["to_status"] for e in rejected.json()["events"]] == ["submitted", "rejected"]


@pytest.mark.parametrize("body", [{"reason": "   "}, {"reason": ""}, {}])
def test_reject_without_a_reason_is_422_and_changes_nothing(client, world, queue, body):
    sign_in(client, world.officer)
    before = snapshot(queue.change)
    response = client.post(
        f"{BASE}/{queue.change.public_id}/reject", body, content_type="application/json"
    )
    assert response.status_code == 422
    if body:
        assert "Enter the reason for rejecting the request." in response.content.decode()
    assert snapshot(queue.change) == before


def test_already_decided_is_409_with_a_code(client, world, queue):
    services.request_approve(actor=world.other_officer, request_id=queue.change.public_id)
    sign_in(client, world.officer)
    before = snapshot(queue.change)
    response = client.post(
        f"{BASE}/{queue.change.public_id}/reject",
        {"reason": "No."},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "already_decided"
    assert response.json()["status"] == "approved"
    assert "already approved by someone else" in response.json()["detail"]
    assert snapshot(queue.change) == before


def test_expired_is_409_with_its_own_code(client, world, queue):
    Request.objects.filter(pk=queue.change.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    sign_in(client, world.officer)
    response = client.post(f"{BASE}/{queue.change.public_id}/approve")
    assert response.status_code == 409
    assert response.json()["code"] == "expired"


def test_unsafe_methods_by_session_need_the_csrf_token(world, queue):
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, world.officer)
    before = snapshot(queue.change)
    assert browser.post(f"{BASE}/{queue.change.public_id}/approve").status_code == 403
    assert snapshot(queue.change) == before
