"""The dashboard at /dashboard/: the person's tasks and notices, filters, paging, the count of
tasks about to expire, marking notices read from it, and never anyone else's notices."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from comptoir.approvals import services as approvals
from comptoir.notifications import dashboard, worklist
from comptoir.notifications.dashboard import DashboardFilters
from comptoir.notifications.models import Notice
from comptoir.notifications.worklist import WorkItem, work_source
from tests.approvals.conftest import world as world  # the fixture
from tests.approvals.test_queue_views import sign_in

pytestmark = pytest.mark.django_db

DASHBOARD = "/dashboard/"


@dataclass
class FakeTasks:
    """A work source for the tests: tasks per person id."""

    by_person: dict[int, list[WorkItem]] = field(default_factory=dict)

    def add(self, person, count: int = 1, **fields) -> list[WorkItem]:
        now = timezone.now()
        items = [
            WorkItem(
                type=fields.get("type", "fallback"),
                title=fields.get("title", f"Task number {index:02d}"),
                link=fields.get("link", "/space/"),
                sector=fields.get("sector", "continuity"),
                priority=fields.get("priority", "normal"),
                reference=fields.get("reference", f"OUT-{index:04d}"),
                created_at=now - timedelta(hours=index),
                due_at=fields.get("due_at", now + timedelta(days=30 + index)),
            )
            for index in range(count)
        ]
        self.by_person.setdefault(person.pk, []).extend(items)
        return items


@pytest.fixture
def fake_tasks() -> Iterator[FakeTasks]:
    tasks = FakeTasks()
    before = dict(worklist._SOURCES)
    work_source("test")(lambda person: list(tasks.by_person.get(person.pk, [])))
    try:
        yield tasks
    finally:
        worklist._SOURCES.clear()
        worklist._SOURCES.update(before)


def make_notices(person, count: int, **fields) -> list[Notice]:
    """`count` notices for the person, the last one the newest."""
    start = timezone.now() - timedelta(hours=count)
    return [
        Notice.objects.create(
            recipient=person,
            topic=fields.get("topic", "request.approved"),
            title=fields.get("title", f"Notice number {index:02d}"),
            priority=fields.get("priority", "normal"),
            sector=fields.get("sector", "company"),
            reference=fields.get("reference", f"REQ-2026-{index:05d}"),
            created_at=start + timedelta(hours=index),
        )
        for index in range(count)
    ]


def task_titles(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [row["title"] for row in response.context["task_rows"]]


def notice_titles(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [row["notice"].title for row in response.context["notice_rows"]]


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- Selectors ----------------------------------------------------------------------------------


def test_dashboard_notices_filters(world):
    lodging = Notice.objects.create(
        recipient=world.employee,
        topic="lodging.issued",
        title="Reference 26LU000000000001A7 issued",
        priority="low",
        sector="lodging",
        reference="26LU000000000001A7",
    )
    (request_notice,) = make_notices(world.employee, 1, priority="high")
    make_notices(world.manager, 1, priority="high")  # someone else's

    def titles(**filters) -> list[str]:
        rows = dashboard.dashboard_notices(
            person=world.employee, filters=DashboardFilters(**filters)
        )
        return [notice.title for notice in rows]

    assert titles() == [lodging.title, request_notice.title]
    assert titles(kind="tasks") == []
    assert titles(kind="notices") == [lodging.title, request_notice.title]
    assert titles(type="lodging") == [lodging.title]
    assert titles(type="lodging.issued") == [lodging.title]
    assert titles(type="lodg") == []
    assert titles(type="request") == [request_notice.title]
    assert titles(sector="company") == [request_notice.title]
    assert titles(priority="high") == [request_notice.title]
    assert titles(priority="normal") == []
    assert titles(q="26lu 0000") == [lodging.title]
    assert titles(q="req-2026") == [request_notice.title]
    assert titles(q="NOWHERE") == []
    Notice.objects.filter(pk=lodging.pk).update(read_at=timezone.now())
    assert titles(unread=True) == [request_notice.title]


def test_dashboard_tasks_filters_keep_the_order():
    now = timezone.now()

    def task(type_, sector, priority, reference, days) -> WorkItem:
        return WorkItem(
            type=type_,
            title=reference,
            link="/",
            sector=sector,
            priority=priority,
            reference=reference,
            created_at=now,
            due_at=now + timedelta(days=days),
        )

    tasks = [
        task("approval", "company", "high", "REQ-2026-00001", 2),
        task("fallback", "continuity", "normal", "OUT-1", 5),
        task("approval", "customs", "normal", "REQ-2026-00002", 9),
    ]

    def refs(**filters) -> list[str]:
        return [
            item.reference
            for item in dashboard.dashboard_tasks_filter(
                tasks=tasks, filters=DashboardFilters(**filters)
            )
        ]

    assert refs() == ["REQ-2026-00001", "OUT-1", "REQ-2026-00002"]
    assert refs(kind="notices") == []
    assert refs(type="approval") == ["REQ-2026-00001", "REQ-2026-00002"]
    assert refs(sector="customs") == ["REQ-2026-00002"]
    assert refs(priority="normal") == ["OUT-1", "REQ-2026-00002"]
    assert refs(q="out") == ["OUT-1"]
    assert refs(unread=True) == ["REQ-2026-00001", "OUT-1", "REQ-2026-00002"]
    # Due within 7 days, by default.
    assert dashboard.tasks_due_soon_count(tasks=tasks) == 2


# --- The page -----------------------------------------------------------------------------------


def test_the_dashboard_needs_signing_in(client):
    response = client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_header_links_to_the_dashboard(client, world):
    sign_in(client, world.employee)
    response = client.get("/notices/")
    assert '<a class="header__link" href="/dashboard/">Dashboard</a>' in response.content.decode()


def test_tasks_and_notices_of_the_person_only(client, world, fake_tasks):
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    fake_tasks.add(world.legal_representative, 1, title="Acknowledge the outage", priority="high")
    fake_tasks.add(world.employee, 1, title="Someone else's task")
    Notice.objects.create(
        recipient=world.employee, topic="request.approved", title="Someone else's notice"
    )
    sign_in(client, world.legal_representative)
    response = client.get(DASHBOARD)
    # Both due in 30 days; the test task was created later than the request.
    assert task_titles(response) == [
        "Decide: Request to join an operator — Dupont SA",
        "Acknowledge the outage",
    ]
    (notice,) = notice_titles(response)
    assert request.reference in notice
    page = text(response)
    assert "Someone else" not in page
    assert request.reference in page
    assert f'<a href="/requests/{request.public_id}/">Decide:' in page


def test_columns_and_the_count_of_tasks_about_to_expire(client, world, fake_tasks):
    now = timezone.now()
    fake_tasks.add(world.employee, 2, due_at=now + timedelta(days=2), priority="high")
    fake_tasks.add(world.employee, 1, due_at=now + timedelta(days=20), title="Later")
    fake_tasks.add(world.employee, 1, due_at=None, title="Whenever", priority="low")
    make_notices(world.employee, 1, topic="lodging.issued", sector="lodging", reference="26LU1")
    sign_in(client, world.employee)
    response = client.get(DASHBOARD)
    assert response.context["due_soon"] == 2
    page = text(response)
    assert '<p class="body-l"><strong>2 tasks expire within 7 days.</strong></p>' in page
    assert "You have 4 tasks in all." in page
    assert "You have 1 unread notice." in page
    assert task_titles(response) == ["Task number 00", "Task number 01", "Later", "Whenever"]
    row = response.context["task_rows"][0]
    assert (row["type"], row["sector"], row["priority_label"], row["due_soon"]) == (
        "Fallback procedure",
        "Fallback procedure",
        "High",
        True,
    )
    assert '<strong class="tag tag--red">High</strong>' in page
    assert '<strong class="tag tag--grey">Low</strong>' in page
    assert "Expires soon" in page
    (notice_row,) = response.context["notice_rows"]
    assert (notice_row["type"], notice_row["sector"]) == (
        "Lodging of declarations (issued)",
        "Lodging of declarations",
    )
    assert "26LU1" in page


def test_one_task_about_to_expire_is_said_in_the_singular(client, world, fake_tasks, settings):
    settings.COMPTOIR_TASK_DUE_SOON_DAYS = 3
    fake_tasks.add(world.employee, 1, due_at=timezone.now() + timedelta(days=2))
    fake_tasks.add(world.employee, 1, due_at=timezone.now() + timedelta(days=4))
    sign_in(client, world.employee)
    assert "1 task expires within 3 days." in text(client.get(DASHBOARD))


def test_filters_on_the_page(client, world, fake_tasks):
    fake_tasks.add(world.employee, 1, title="Outage task", reference="OUT-77")
    make_notices(world.employee, 1, title="Approved", reference="REQ-2026-00077")
    make_notices(
        world.employee,
        1,
        title="Issued",
        topic="lodging.issued",
        sector="lodging",
        priority="high",
        reference="26LU000000000077A1",
    )
    sign_in(client, world.employee)
    response = client.get(DASHBOARD, {"kind": "tasks"})
    assert task_titles(response) == ["Outage task"]
    assert response.context["notices_page"] is None
    assert "Notices only" in text(response)
    response = client.get(DASHBOARD, {"kind": "notices"})
    assert response.context["tasks_page"] is None
    assert notice_titles(response) == ["Issued", "Approved"]
    response = client.get(DASHBOARD, {"type": "lodging"})
    assert (task_titles(response), notice_titles(response)) == ([], ["Issued"])
    response = client.get(DASHBOARD, {"type": "fallback"})
    assert (task_titles(response), notice_titles(response)) == (["Outage task"], [])
    response = client.get(DASHBOARD, {"sector": "lodging", "priority": "high"})
    assert (task_titles(response), notice_titles(response)) == ([], ["Issued"])
    response = client.get(DASHBOARD, {"q": " 77 "})
    assert (task_titles(response), notice_titles(response)) == (
        ["Outage task"],
        ["Issued", "Approved"],
    )
    response = client.get(DASHBOARD, {"q": "req-2026"})
    assert (task_titles(response), notice_titles(response)) == ([], ["Approved"])
    assert "No tasks match these filters." in text(response)
    Notice.objects.filter(title="Issued").update(read_at=timezone.now())
    response = client.get(DASHBOARD, {"unread": "on"})
    assert (task_titles(response), notice_titles(response)) == (["Outage task"], ["Approved"])
    # The type and sector lists offer what the person has.
    types = dict(response.context["form"].fields["type"].choices)
    assert types["lodging.issued"] == "Lodging of declarations (issued)"
    assert types["lodging"] == "Lodging of declarations"
    assert types["request.approved"] == "Request approved"
    assert types["fallback"] == "Fallback procedure"
    labels = [label for value, label in response.context["form"].fields["type"].choices]
    assert len(labels) == len(set(labels))
    sectors = dict(response.context["form"].fields["sector"].choices)
    assert sectors["lodging"] == "Lodging of declarations"
    assert sectors["continuity"] == "Fallback procedure"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"priority": "urgent"}, "Choose a value from the list."),
        ({"kind": "everything"}, "Choose a value from the list."),
        ({"type": "nothing-of-mine"}, "Choose a value from the list."),
        ({"sector": "space"}, "Choose a value from the list."),
        ({"q": "X" * 41}, "Enter a reference number of 40 characters or fewer."),
    ],
)
def test_a_bad_filter_says_what_is_wrong_and_lists_nothing(
    client, world, fake_tasks, query, message
):
    fake_tasks.add(world.employee, 1)
    make_notices(world.employee, 1)
    sign_in(client, world.employee)
    response = client.get(DASHBOARD, query)
    assert response.status_code == 200
    page = text(response)
    assert "<title>Error: Dashboard – Comptoir</title>" in page
    assert 'class="error-summary"' in page
    assert message in page
    assert response.context["tasks_page"] is None
    assert response.context["notices_page"] is None
    # The count of tasks about to expire stays.
    assert "0 tasks expire within 7 days." in page


def test_paging_of_notices_and_tasks_each_on_its_own(client, world, fake_tasks):
    fake_tasks.add(world.employee, 23)
    make_notices(world.employee, 25)
    sign_in(client, world.employee)
    response = client.get(DASHBOARD, {"priority": "normal"})
    assert len(task_titles(response)) == 20
    assert notice_titles(response)[0] == "Notice number 24"
    assert len(notice_titles(response)) == 20
    page = text(response)
    assert 'href="?priority=normal&amp;tasks_page=2"' in page
    assert 'href="?priority=normal&amp;page=2"' in page
    response = client.get(DASHBOARD, {"priority": "normal", "page": "2"})
    assert notice_titles(response) == [f"Notice number {index:02d}" for index in (4, 3, 2, 1, 0)]
    assert len(task_titles(response)) == 20
    # The tasks' next page keeps the notices' page, and the other way round.
    assert 'href="?priority=normal&amp;page=2&amp;tasks_page=2"' in text(response)
    response = client.get(DASHBOARD, {"priority": "normal", "page": "2", "tasks_page": "2"})
    assert task_titles(response) == [f"Task number {index:02d}" for index in range(20, 23)]
    assert len(notice_titles(response)) == 5
    # A page out of range shows the last one.
    response = client.get(DASHBOARD, {"tasks_page": "99", "page": "x"})
    assert len(task_titles(response)) == 3
    assert len(notice_titles(response)) == 20


# --- Marking read from the dashboard ------------------------------------------------------------


def test_mark_one_read_and_come_back_to_the_dashboard(client, world):
    first, second = make_notices(world.employee, 2)
    sign_in(client, world.employee)
    back = f"{DASHBOARD}?unread=on&page=1"
    response = client.post(f"/notices/{second.public_id}/read/", {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.read_at is not None
    assert first.read_at is None
    assert notice_titles(client.get(back)) == [first.title]


def test_mark_all_read_from_the_dashboard_reads_only_ones_own(client, world):
    make_notices(world.employee, 3)
    (theirs,) = make_notices(world.manager, 1)
    sign_in(client, world.employee)
    response = client.post("/notices/read-all/", {"next": DASHBOARD})
    assert response["Location"] == DASHBOARD
    assert not Notice.objects.filter(recipient=world.employee, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "You have no unread notices." in text(client.get(DASHBOARD))


def test_mark_read_on_someone_elses_notice_is_404_and_changes_nothing(client, world):
    (theirs,) = make_notices(world.manager, 1)
    sign_in(client, world.employee)
    for action in ("read", "open"):
        response = client.post(f"/notices/{theirs.public_id}/{action}/", {"next": DASHBOARD})
        assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert theirs.title not in text(client.get(DASHBOARD))


def test_mark_read_needs_a_post(client, world):
    (notice,) = make_notices(world.employee, 1)
    sign_in(client, world.employee)
    assert client.get(f"/notices/{notice.public_id}/read/").status_code == 405
    notice.refresh_from_db()
    assert notice.read_at is None


def test_only_a_path_of_the_dashboard_or_the_notices_is_followed_back(client, world):
    (notice,) = make_notices(world.employee, 1)
    sign_in(client, world.employee)
    for target in ("https://evil.example/dashboard/", "//evil.example/dashboard/", "/space/"):
        response = client.post(f"/notices/{notice.public_id}/read/", {"next": target})
        assert response["Location"] == "/notices/"


def test_the_dashboard_has_forms_to_mark_read(client, world):
    (notice,) = make_notices(world.employee, 1)
    sign_in(client, world.employee)
    page = text(client.get(DASHBOARD, {"unread": "on"}))
    assert f'action="/notices/{notice.public_id}/read/"' in page
    assert 'action="/notices/read-all/"' in page
    assert 'name="next" value="/dashboard/?unread=on"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_a_task_leading_outside_the_portal_is_shown_without_its_link(client, world, fake_tasks):
    fake_tasks.add(world.employee, 1, title="Sneaky", link="https://evil.example/")
    sign_in(client, world.employee)
    response = client.get(DASHBOARD)
    assert task_titles(response) == ["Sneaky"]
    assert response.context["task_rows"][0]["link"] == ""
    assert "evil.example" not in text(response)
