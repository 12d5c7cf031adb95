"""The person's notices in the API, /api/v1/notices…: the list with its unread filter and paging,
marking one or all read, 404 for anyone else's notice, authentication and CSRF."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from comptoir.approvals import services as approvals
from comptoir.notifications.models import Notice
from tests.api.test_api import bearer, token_for
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, member

pytestmark = pytest.mark.django_db

BASE = "/api/v1/notices"


def make_notices(person, count: int, **fields) -> list[Notice]:
    """`count` notices for the person, the last one the newest."""
    start = timezone.now() - timedelta(hours=count)
    return [
        Notice.objects.create(
            recipient=person,
            topic="test",
            title=f"Notice number {index:02d}",
            created_at=start + timedelta(hours=index),
            **fields,
        )
        for index in range(count)
    ]


@pytest.fixture
def person():
    return UserFactory(username="reader_01")


@pytest.fixture
def api(person) -> Client:
    """A client that calls the API with the person's personal token."""
    return Client(**bearer(token_for(person)))


def test_the_list_of_own_notices_newest_first(api, person):
    operator = OperatorFactory()
    older, newer = make_notices(person, 2)
    Notice.objects.filter(pk=older.pk).update(
        operator=operator, body="Text.", link="/requests/", read_at=timezone.now()
    )
    make_notices(UserFactory(), 3)  # someone else's
    response = api.get(BASE)
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["count"], data["unread"], data["page"], data["pages"]) == (2, 1, 1, 1)
    assert [item["id"] for item in data["items"]] == [str(newer.public_id), str(older.public_id)]
    item = data["items"][1]
    assert item["topic"] == "test"
    assert item["title"] == older.title
    assert item["body"] == "Text."
    assert item["link"] == "/requests/"
    assert item["operator"] == operator.pk
    assert item["read_at"] is not None
    assert item["created_at"].startswith(str(older.created_at.date()))
    assert data["items"][0]["operator"] is None
    assert data["items"][0]["read_at"] is None


def test_the_unread_filter_and_paging(api, person):
    notices = make_notices(person, 55)
    Notice.objects.filter(pk=notices[-1].pk).update(read_at=timezone.now())
    newest_first = [str(notice.public_id) for notice in reversed(notices)]

    first = api.get(BASE).json()
    assert (first["count"], first["unread"], first["pages"]) == (55, 54, 2)
    assert [item["id"] for item in first["items"]] == newest_first[:50]
    second = api.get(BASE, {"page": 2}).json()
    assert [item["id"] for item in second["items"]] == newest_first[50:]
    assert api.get(BASE, {"page": 3}).json()["items"] == []

    unread = api.get(BASE, {"unread": "true"}).json()
    assert (unread["count"], unread["unread"]) == (54, 54)
    assert [item["id"] for item in unread["items"]] == newest_first[1:51]


@pytest.mark.parametrize("query", [{"page": 0}, {"page": "x"}, {"unread": "maybe"}])
def test_bad_query_gets_422(api, query):
    response = api.get(BASE, query)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_mark_one_read_is_idempotent(api, person):
    notice, other = make_notices(person, 2)
    response = api.post(f"{BASE}/{notice.public_id}/read")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(notice.public_id)
    first_read = response.json()["read_at"]
    assert first_read is not None
    again = api.post(f"{BASE}/{notice.public_id}/read")
    assert again.status_code == 200
    assert again.json()["read_at"] == first_read
    other.refresh_from_db()
    assert other.read_at is None
    assert api.get(BASE).json()["unread"] == 1


def test_another_persons_notice_answers_404_and_stays_unread(api):
    (theirs,) = make_notices(UserFactory(), 1)
    for notice_id in (theirs.public_id, uuid.uuid4()):
        response = api.post(f"{BASE}/{notice_id}/read")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}
    assert api.post(f"{BASE}/not-a-uuid/read").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read(api, person):
    make_notices(person, 3)
    (theirs,) = make_notices(UserFactory(), 1)
    response = api.post(f"{BASE}/read-all")
    assert response.status_code == 200, response.content
    assert response.json() == {"marked": 3, "unread": 0}
    assert api.post(f"{BASE}/read-all").json() == {"marked": 0, "unread": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_notices_written_by_a_decision_show_in_the_api(person):
    operator = OperatorFactory()
    legal_representative = member(operator, "legal_representative")
    request = approvals.membership_request_submit(requester=person, operator=operator)
    decider = Client(**bearer(token_for(legal_representative)))
    (notice,) = decider.get(BASE).json()["items"]
    assert notice["topic"] == "request.submitted"
    assert notice["link"] == f"/requests/{request.public_id}/"
    assert notice["operator"] == operator.pk
    approvals.request_reject(
        actor=legal_representative, request_id=request.public_id, reason="Unknown to us."
    )
    requester = Client(**bearer(token_for(person)))
    (told,) = requester.get(BASE, {"unread": True}).json()["items"]
    assert told["topic"] == "request.rejected"
    assert "Reason given: Unknown to us." in told["body"]


def test_anonymous_callers_get_401(person):
    (notice,) = make_notices(person, 1)
    anonymous = Client()
    assert anonymous.get(BASE).status_code == 401
    assert anonymous.post(f"{BASE}/{notice.public_id}/read").status_code == 401
    assert anonymous.post(f"{BASE}/read-all").status_code == 401
    notice.refresh_from_db()
    assert notice.read_at is None


def test_by_session_the_changes_need_the_csrf_token(person):
    (notice,) = make_notices(person, 1)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)
    assert browser.get(BASE).json()["unread"] == 1
    assert browser.post(f"{BASE}/read-all").status_code == 403
    assert browser.post(f"{BASE}/{notice.public_id}/read").status_code == 403
    notice.refresh_from_db()
    assert notice.read_at is None
    browser.get("/notices/")  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(f"{BASE}/read-all", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    assert response.json()["marked"] == 1


def test_the_schema_lists_the_notice_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/notices"]
    assert "post" in paths["/api/v1/notices/read-all"]
    assert "post" in paths["/api/v1/notices/{notice_id}/read"]
