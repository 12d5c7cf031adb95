"""The dashboard in Chromium with JavaScript off, axe-core on every state: a legal representative
signs in, sees a request to decide as a task (about to expire) and the notices, filters, pages,
marks one notice read and then all, decides the request and the task is gone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.notifications.models import Notice
from comptoir.notifications.services import notice_create
from comptoir.operators.models import Position
from tests.browser.test_company_pages import (
    error_summary,
    heading,
    main_text,
    sign_in,
    visit,
)
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Role = Position.Role


def test_dashboard_tasks_notices_filters_and_mark_read(browser, live_server, page, axe):
    operator = OperatorFactory(eori="FR552100554", name="Transports Martin SARL")
    representative = member(
        operator, Role.LEGAL_REPRESENTATIVE, username="lea_martin", first_name="Léa"
    )
    applicant = UserFactory(username="nina_nouvelle", first_name="Nina", last_name="Nouvelle")
    joining = approvals.membership_request_submit(requester=applicant, operator=operator)
    Request.objects.filter(pk=joining.pk).update(expires_at=timezone.now() + timedelta(days=2))
    issued = notice_create(
        recipient=representative,
        topic="lodging.issued",
        title="Reference 26LU000000000001A7 issued",
        priority="high",
        sector="lodging",
        reference="26LU000000000001A7",
        operator=operator,
    )
    for index in range(21):
        notice_create(
            recipient=representative,
            topic="test.paging",
            title=f"Old notice {index:02d}",
            priority="low",
        )
    Notice.objects.filter(topic="test.paging").update(
        created_at=timezone.now() - timedelta(days=3), read_at=timezone.now()
    )
    someone_else = notice_create(recipient=applicant, topic="test.private", title="Only for Nina")

    sign_in(page, representative)
    page.get_by_role("banner").get_by_role("link", name="Dashboard").click()
    assert page.url.endswith("/dashboard/")
    assert heading(page) == "Dashboard"
    text = main_text(page)
    assert "1 task expires within 7 days." in text
    assert "You have 2 unread notices." in text
    assert "Only for Nina" not in text
    tasks = page.get_by_role("table", name="Your tasks, soonest due first").inner_text()
    assert "Decide: Request to join an operator — Transports Martin SARL" in tasks
    assert joining.reference in tasks
    assert "expires soon" in tasks.lower()  # a tag: shown in capitals by the stylesheet
    notices = page.get_by_role("table", name="Your notices, newest first").inner_text()
    assert "Reference 26LU000000000001A7 issued" in notices
    assert "Lodging of declarations" in notices
    axe(page)

    # Paging: 23 notices, 20 a page.
    page.get_by_role("navigation", name="Pages of notices").get_by_role(
        "link", name=re.compile("Next")
    ).click()
    assert "page=2" in page.url
    assert "Page 2 of 2" in main_text(page)
    axe(page)

    # Filters: the reference, then unread lodging notices only.
    visit(page, "/dashboard/")
    page.get_by_label("Reference number").fill("26lu")
    page.get_by_role("button", name="Apply filters").click()
    assert "q=26lu" in page.url
    notices = page.get_by_role("table", name="Your notices, newest first").inner_text()
    assert "Reference 26LU000000000001A7 issued" in notices
    assert "Old notice" not in notices
    assert "No tasks match these filters." in main_text(page)
    axe(page)

    page.get_by_label("Reference number").fill("")
    page.get_by_label("Show (optional)", exact=True).select_option("notices")
    page.get_by_label("Sector").select_option("lodging")
    page.get_by_label("Show unread notices only").check()
    page.get_by_role("button", name="Apply filters").click()
    assert not page.get_by_role("heading", name="Tasks").count()
    rows = page.get_by_role("table", name="Your notices, newest first").locator("tbody tr")
    assert rows.count() == 1
    axe(page)

    # Mark that one read: back on the same filtered dashboard, now empty.
    filtered = page.url
    page.get_by_role("button", name=re.compile("^Mark as read")).click()
    assert page.url == filtered
    assert "marked as read" in page.locator(".notification-banner").inner_text()
    assert "No notices match these filters." in main_text(page)
    issued.refresh_from_db()
    assert issued.read_at is not None
    axe(page)

    # A bad filter is explained, nothing listed.
    visit(page, "/dashboard/?priority=urgent")
    assert "Choose a value from the list." in error_summary(page)
    axe(page)

    # Mark all as read.
    visit(page, "/dashboard/")
    page.get_by_role("button", name="Mark all as read").click()
    assert page.url.endswith("/dashboard/")
    assert "You have no unread notices." in main_text(page)
    assert not Notice.objects.filter(recipient=representative, read_at__isnull=True).exists()
    someone_else.refresh_from_db()
    assert someone_else.read_at is None
    axe(page)

    # Deciding the request ends the task.
    page.get_by_role("link", name=re.compile("^Decide: Request to join")).click()
    assert page.url.endswith(f"/requests/{joining.public_id}/")
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Send the decision").click()
    joining.refresh_from_db()
    assert joining.status == Request.Status.APPROVED
    visit(page, "/dashboard/")
    assert "0 tasks expire within 7 days." in main_text(page)
    assert "You have no tasks." in main_text(page)
    axe(page)
