"""The dashboard in the API: GET /api/v1/dashboard with the page's filters and paging; marking
read stays at /api/v1/notices (404 for anyone else's notice)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from comptoir.accounts import services as account_services
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.notifications.models import Notice
from tests.approvals.conftest import world as world  # the fixture
from tests.approvals.test_queue_views import sign_in
from tests.notifications.test_dashboard import FakeTasks, make_notices
from tests.notifications.test_dashboard import fake_tasks as fake_tasks  # the fixture

pytestmark = pytest.mark.django_db

URL = "/api/v1/dashboard"


def get(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_anonymous_is_401(client):
    assert client.get(URL).status_code == 401


def test_tasks_due_soon_and_a_page_of_notices(client, world, fake_tasks: FakeTasks):
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    Request.objects.filter(pk=request.pk).update(expires_at=timezone.now() + timedelta(days=2))
    fake_tasks.add(world.legal_representative, 1, title="Acknowledge", reference="OUT-1")
    make_notices(world.manager, 2)  # someone else's
    sign_in(client, world.legal_representative)
    body = get(client)
    assert body["tasks_due_soon"] == 1
    assert body["due_soon_days"] == 7
    first, second = body["tasks"]
    assert first["type"] == "approval"
    assert first["type_label"] == "Decision to take"
    assert first["title"] == "Decide: Request to join an operator — Dupont SA"
    assert first["link"] == f"/requests/{request.public_id}/"
    assert (first["sector"], first["priority"], first["reference"], first["due_soon"]) == (
        "company",
        "high",
        request.reference,
        True,
    )
    assert second["title"] == "Acknowledge"
    assert second["due_soon"] is False
    notices = body["notices"]
    assert (notices["count"], notices["page"], notices["pages"], notices["unread"]) == (1, 1, 1, 1)
    (notice,) = notices["items"]
    assert notice["type"] == "request.submitted"
    assert notice["type_label"] == "Request submitted"
    assert (notice["sector"], notice["reference"], notice["priority"]) == (
        "company",
        request.reference,
        "normal",
    )
    assert notice["read_at"] is None
    assert notice["id"] == str(Notice.objects.get(recipient=world.legal_representative).public_id)


def test_filters_and_paging(client, world, fake_tasks: FakeTasks):
    fake_tasks.add(world.employee, 3, reference="OUT-9")
    make_notices(world.employee, 5)
    make_notices(
        world.employee,
        1,
        title="Issued",
        topic="lodging.issued",
        sector="lodging",
        priority="high",
        reference="26LU000000000009A1",
    )
    sign_in(client, world.employee)
    body = get(client, page_size=2)
    assert len(body["tasks"]) == 3
    assert (body["notices"]["count"], body["notices"]["pages"]) == (6, 3)
    assert [item["title"] for item in body["notices"]["items"]] == ["Issued", "Notice number 04"]
    body = get(client, page_size=2, page=3)
    assert [item["title"] for item in body["notices"]["items"]] == [
        "Notice number 01",
        "Notice number 00",
    ]
    assert get(client, page=9)["notices"]["items"] == []
    body = get(client, kind="tasks")
    assert (len(body["tasks"]), body["notices"]["count"]) == (3, 0)
    body = get(client, kind="notices")
    assert (body["tasks"], body["notices"]["count"]) == ([], 6)
    body = get(client, type="lodging")
    assert (body["tasks"], body["notices"]["count"]) == ([], 1)
    body = get(client, sector="continuity")
    assert (len(body["tasks"]), body["notices"]["count"]) == (3, 0)
    body = get(client, priority="high")
    assert (body["tasks"], body["notices"]["count"]) == ([], 1)
    body = get(client, q="9")
    assert (len(body["tasks"]), body["notices"]["count"]) == (3, 1)
    Notice.objects.filter(title="Issued").update(read_at=timezone.now())
    body = get(client, unread="true")
    assert (len(body["tasks"]), body["notices"]["count"], body["notices"]["unread"]) == (3, 5, 5)


@pytest.mark.parametrize(
    "params",
    [
        {"priority": "urgent"},
        {"kind": "everything"},
        {"page": "0"},
        {"page_size": "101"},
        {"page_size": "0"},
        {"q": "X" * 41},
        {"unread": "maybe"},
    ],
)
def test_bad_query_is_422(client, world, params):
    sign_in(client, world.employee)
    assert client.get(URL, params).status_code == 422


def test_personal_token(client, world):
    make_notices(world.employee, 1)
    _token, clear = account_services.api_token_create(user=world.employee, name="cli")
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {clear}")
    assert response.status_code == 200, response.content
    assert response.json()["notices"]["count"] == 1


def test_mark_read_through_the_api_only_for_ones_own(client, world):
    (mine,) = make_notices(world.employee, 1)
    (theirs,) = make_notices(world.manager, 1)
    sign_in(client, world.employee)
    response = client.post(f"/api/v1/notices/{theirs.public_id}/read")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = client.post(f"/api/v1/notices/{mine.public_id}/read")
    assert response.status_code == 200
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert get(client, unread="true")["notices"]["count"] == 0
