"""In-app notices: the services, the notices the approvals flows write (to whom, in which language,
leading where), the /notices/ pages (list, filter, paging, open, mark read, mark all, 404 outside
one's own) and the header (unread count, link to the requests to decide)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.notifications import selectors, services
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators.models import CustomsOperation, Position
from comptoir.operators.services import operation_grant
from tests.approvals.conftest import world as world  # the fixture
from tests.approvals.test_queue_views import sign_in
from tests.factories import UserFactory
from tests.factories_operators import officer

pytestmark = pytest.mark.django_db

NOTICES = "/notices/"
RS = Request.Status


def make_notices(person, count: int, **fields) -> list[Notice]:
    """`count` notices for the person, the last one the newest."""
    start = timezone.now() - timedelta(hours=count)
    return [
        Notice.objects.create(
            recipient=person,
            topic=fields.get("topic", "test"),
            title=fields.get("title", f"Notice number {index:02d}"),
            body=fields.get("body", ""),
            link=fields.get("link", ""),
            created_at=start + timedelta(hours=index),
        )
        for index in range(count)
    ]


def registration(world, requester=None) -> Request:
    return approvals.operator_registration_submit(
        requester=requester or UserFactory(username="applicant1"),
        authority=world.authority,
        operations=["IMPORT", "ICS"],
        eori="FR987654324",
        name="Martin Logistique",
        country="FR",
    )


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [notice.title for notice in response.context["page"].object_list]


# --- Services -----------------------------------------------------------------------------------


def test_notice_create_stores_the_notice(world):
    notice = services.notice_create(
        recipient=world.employee,
        topic="test.topic",
        title="  A title\n on two lines ",
        body=" Some text. ",
        link="/requests/",
        operator=world.operator,
    )
    notice.refresh_from_db()
    assert (notice.recipient, notice.operator, notice.topic) == (
        world.employee,
        world.operator,
        "test.topic",
    )
    assert (notice.title, notice.body, notice.link, notice.read_at) == (
        "A title on two lines",
        "Some text.",
        "/requests/",
        None,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "   "}, "title"),
        ({"topic": ""}, "topic"),
        ({"topic": "t" * 121}, "topic"),
        ({"link": "https://evil.example/"}, "link"),
        ({"link": "//evil.example/"}, "link"),
        ({"link": "/\\evil.example/"}, "link"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "requests/"}, "link"),
        ({"link": "/" + "a" * 300}, "link"),
    ],
)
def test_notice_create_refuses_bad_input_and_stores_nothing(world, fields, field):
    data = {"recipient": world.employee, "topic": "test", "title": "Title", **fields}
    with pytest.raises(ValidationError) as caught:
        services.notice_create(**data)
    assert field in caught.value.message_dict
    assert not Notice.objects.exists()


def test_a_long_title_is_shortened_not_refused(world):
    notice = services.notice_create(recipient=world.employee, topic="t", title="x" * 400)
    assert len(notice.title) == 255
    assert notice.title.endswith("…")


def test_notice_mark_read_is_idempotent_and_keeps_the_first_time(world):
    (notice,) = make_notices(world.employee, 1)
    first = services.notice_mark_read(person=world.employee, notice_id=notice.public_id)
    assert first.read_at is not None
    again = services.notice_mark_read(person=world.employee, notice_id=str(notice.public_id))
    assert again.read_at == first.read_at
    notice.refresh_from_db()
    assert notice.read_at == first.read_at


def test_notice_mark_read_refuses_another_persons_notice(world):
    (notice,) = make_notices(world.employee, 1)
    with pytest.raises(Notice.DoesNotExist):
        services.notice_mark_read(person=world.manager, notice_id=notice.public_id)
    with pytest.raises(Notice.DoesNotExist):
        services.notice_mark_read(person=world.manager, notice_id="not-a-uuid")
    notice.refresh_from_db()
    assert notice.read_at is None


def test_notices_mark_all_read_counts_only_the_persons_unread_notices(world):
    mine = make_notices(world.employee, 3)
    services.notice_mark_read(person=world.employee, notice_id=mine[0].public_id)
    (theirs,) = make_notices(world.manager, 1)
    assert selectors.notices_unread_count(person=world.employee) == 2
    assert services.notices_mark_all_read(person=world.employee) == 2
    assert services.notices_mark_all_read(person=world.employee) == 0
    assert selectors.notices_unread_count(person=world.employee) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_selectors_scope_filter_and_order(world):
    old, new = make_notices(world.employee, 2)
    make_notices(world.manager, 1)
    Notice.objects.filter(pk=old.pk).update(operator=world.operator)
    services.notice_mark_read(person=world.employee, notice_id=new.public_id)
    assert list(selectors.notices_for_person(person=world.employee)) == [new, old]
    assert list(selectors.notices_for_person(person=world.employee, unread_only=True)) == [old]
    assert list(
        selectors.notices_for_person(person=world.employee, operator_id=world.operator.pk)
    ) == [old]
    assert selectors.notice_for_person(person=world.employee, public_id=str(old.public_id)) == old
    with pytest.raises(Notice.DoesNotExist):
        selectors.notice_for_person(person=world.manager, public_id=old.public_id)


# --- The approvals flows write notices ----------------------------------------------------------


def test_a_registration_tells_the_officers_of_the_authority_only(world):
    request = registration(world)
    notices = Notice.objects.order_by("recipient__username")
    assert [notice.recipient for notice in notices] == [world.officer, world.other_officer]
    for notice in notices:
        assert notice.topic == "request.submitted"
        assert notice.title == (
            f"Request {request.reference} waits for your decision: Operator registration"
        )
        assert notice.body.startswith(
            f"Ada Lovelace submitted request {request.reference} (Operator registration)."
        )
        assert "Operator: Martin Logistique (EORI FR987654324)" in notice.body
        assert notice.link == f"/requests/{request.public_id}/"
        assert notice.operator == request.operator
        assert notice.read_at is None
    # Not the requester, the officer of another authority, the service desk nor the suspended.
    assert not Notice.objects.filter(recipient=request.requester).exists()


def test_a_person_without_an_email_address_still_gets_the_notice(world):
    no_mail = officer(world.authority, username="officer_3", email="")
    registration(world)
    assert Notice.objects.filter(recipient=no_mail, topic="request.submitted").count() == 1
    assert sorted(OutboxMessage.objects.values_list("to", flat=True)) == sorted(
        [world.officer.email, world.other_officer.email]
    )


def test_the_notice_is_in_the_recipients_language(world):
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    french = Notice.objects.get(recipient=world.manager)  # the manager's profile says fr
    english = Notice.objects.get(recipient=world.legal_representative)
    assert french.title.startswith(f"La demande {request.reference} attend votre décision")
    assert english.title.startswith(f"Request {request.reference} waits for your decision")
    assert french.link == english.link == f"/requests/{request.public_id}/"


def test_an_approval_tells_the_requester_with_a_link_to_their_requests(world):
    operation_grant(
        actor=None, operator=world.operator, operation=CustomsOperation.objects.get(code="IMPORT")
    )
    request = approvals.operation_change_submit(
        requester=world.legal_representative,
        operator=world.operator,
        authority=world.authority,
        add=["TRANSIT"],
    )
    approvals.request_approve(actor=world.officer, request_id=request.public_id, reason="Fine.")
    notice = Notice.objects.get(recipient=world.legal_representative)
    assert notice.topic == "request.approved"
    assert notice.title == f"Request {request.reference}: Approved"
    assert "(Change of customs operations) has been approved." in notice.body
    assert "Reason given: Fine." in notice.body
    assert notice.link == "/requests/"
    assert notice.operator == world.operator


def test_a_rejection_tells_the_requester_with_the_reason(world):
    request = registration(world)
    approvals.request_reject(
        actor=world.officer, request_id=request.public_id, reason="The EORI is not yours."
    )
    notice = Notice.objects.get(recipient=request.requester)
    assert notice.topic == "request.rejected"
    assert notice.title == f"Request {request.reference}: Rejected"
    assert "has been rejected." in notice.body
    assert "Reason given: The EORI is not yours." in notice.body
    assert notice.link == "/requests/"
    # The officers' submission notices are still theirs only.
    assert Notice.objects.filter(topic="request.submitted").count() == 2


def test_an_expiry_tells_the_requester(world):
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    assert approvals.requests_expire_due(now=request.expires_at + timedelta(minutes=1)) == 1
    notice = Notice.objects.get(recipient=world.outsider)
    assert notice.topic == "request.expired"
    assert "has expired without a decision" in notice.body
    assert notice.link == "/requests/"


def test_a_refused_decision_writes_no_notice(world):
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    before = Notice.objects.count()
    with pytest.raises(approvals.NotAllowedToDecide):
        approvals.request_approve(actor=world.employee, request_id=request.public_id)
    with pytest.raises(ValidationError):
        approvals.request_reject(actor=world.manager, request_id=request.public_id, reason=" ")
    assert Notice.objects.count() == before
    approvals.request_approve(actor=world.manager, request_id=request.public_id)
    with pytest.raises(approvals.RequestAlreadyDecided):
        approvals.request_approve(actor=world.legal_representative, request_id=request.public_id)
    assert Notice.objects.count() == before + 1


def test_a_reassigned_request_tells_the_new_authoritys_officers(world):
    request = registration(world)
    admin = UserFactory(username="admin_001", is_superuser=True, is_staff=True)
    other_authority = Position.objects.get(person=world.foreign_officer).authority
    approvals.request_reassign(actor=admin, request_id=request.public_id, authority=other_authority)
    notice = Notice.objects.get(recipient=world.foreign_officer)
    assert notice.topic == "request.submitted"
    assert notice.link == f"/requests/{request.public_id}/"


# --- Pages --------------------------------------------------------------------------------------


def test_the_notices_page_needs_signing_in(client):
    response = client.get(NOTICES)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_list_shows_own_notices_newest_first_with_the_unread_marked(client, world):
    older, newer = make_notices(world.employee, 2)
    Notice.objects.filter(pk=older.pk).update(body="First line\nSecond line")
    make_notices(world.manager, 1, title="Not for the employee")
    services.notice_mark_read(person=world.employee, notice_id=older.public_id)
    client.force_login(world.employee)
    response = client.get(NOTICES)
    assert titles(response) == [newer.title, older.title]
    html = response.content.decode()
    assert "Not for the employee" not in html
    assert "You have 1 unread notice." in html
    newer_row = re.search(rf'<tr id="notice-{newer.public_id}">.*?</tr>', html, re.S)
    older_row = re.search(rf'<tr id="notice-{older.public_id}">.*?</tr>', html, re.S)
    assert newer_row and older_row
    assert '<strong class="tag">Unread</strong>' in newer_row.group(0)
    assert f"<strong>{newer.title}</strong>" in newer_row.group(0)
    assert "Mark as read" in newer_row.group(0)
    assert '<strong class="tag tag--grey">Read</strong>' in older_row.group(0)
    assert "Mark as read" not in older_row.group(0)
    assert "First line<br>Second line" in older_row.group(0)
    # Buttons name their notice for screen readers.
    assert f'Open<span class="visually-hidden"> {newer.title}</span>' in newer_row.group(0)


def test_the_unread_filter(client, world):
    first, second, third = make_notices(world.employee, 3)
    services.notice_mark_read(person=world.employee, notice_id=second.public_id)
    client.force_login(world.employee)
    assert titles(client.get(NOTICES, {"unread": "on"})) == [third.title, first.title]
    assert titles(client.get(NOTICES)) == [third.title, second.title, first.title]
    services.notices_mark_all_read(person=world.employee)
    response = client.get(NOTICES, {"unread": "on"})
    assert titles(response) == []
    assert "You have no unread notices." in response.content.decode()


def test_paging_keeps_the_filter(client, world):
    notices = make_notices(world.employee, 25)
    newest_first = [notice.title for notice in reversed(notices)]
    client.force_login(world.employee)
    first = client.get(NOTICES, {"unread": "on"})
    assert titles(first) == newest_first[:20]
    assert 'href="?unread=on&amp;page=2"' in first.content.decode()
    second = client.get(NOTICES, {"unread": "on", "page": "2"})
    assert titles(second) == newest_first[20:]
    assert "Page 2 of 2" in second.content.decode()
    # A page out of range shows the last one; a page that is not a number, the first.
    assert titles(client.get(NOTICES, {"page": "99"})) == newest_first[20:]
    assert titles(client.get(NOTICES, {"page": "x"})) == newest_first[:20]


def test_a_person_without_notices(client, world):
    client.force_login(world.outsider)
    html = client.get(NOTICES).content.decode()
    assert "You have no notices yet." in html
    assert "Mark all as read" not in html


def test_open_marks_read_and_follows_the_link(client, world):
    request = registration(world)
    notice = Notice.objects.get(recipient=world.officer)
    sign_in(client, world.officer)
    assert client.get(f"{NOTICES}{notice.public_id}/open/").status_code == 405
    response = client.post(f"{NOTICES}{notice.public_id}/open/")
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{request.public_id}/"
    notice.refresh_from_db()
    assert notice.read_at is not None
    # The link leads to a page the officer can open.
    assert client.get(response["Location"]).status_code == 200


def test_open_without_a_link_goes_back_to_the_list(client, world):
    (notice,) = make_notices(world.employee, 1)
    client.force_login(world.employee)
    response = client.post(f"{NOTICES}{notice.public_id}/open/", {"next": "/notices/?page=1"})
    assert response.status_code == 302
    assert response["Location"] == "/notices/?page=1"
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_open_refuses_a_link_that_leaves_the_portal(client, world):
    (notice,) = make_notices(world.employee, 1)
    Notice.objects.filter(pk=notice.pk).update(link="//evil.example/")  # bypassing the service
    client.force_login(world.employee)
    response = client.post(f"{NOTICES}{notice.public_id}/open/")
    assert response["Location"] == NOTICES


def test_mark_as_read_goes_back_to_where_the_person_was(client, world):
    notices = make_notices(world.employee, 2)
    client.force_login(world.employee)
    response = client.post(
        f"{NOTICES}{notices[0].public_id}/read/", {"next": "/notices/?unread=on&page=1"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/notices/?unread=on&page=1"
    notices[0].refresh_from_db()
    assert notices[0].read_at is not None
    notices[1].refresh_from_db()
    assert notices[1].read_at is None
    followed = client.get(response["Location"])
    assert "marked as read" in followed.content.decode()
    # Elsewhere than the list (or another site): back to the list.
    for unsafe in ("https://evil.example/notices/", "//evil.example/notices/", "/requests/"):
        response = client.post(f"{NOTICES}{notices[1].public_id}/read/", {"next": unsafe})
        assert response["Location"] == NOTICES


def test_mark_all_as_read(client, world):
    make_notices(world.employee, 3)
    (theirs,) = make_notices(world.manager, 1)
    client.force_login(world.employee)
    assert client.get(f"{NOTICES}read-all/").status_code == 405
    response = client.post(f"{NOTICES}read-all/", follow=True)
    assert response.redirect_chain == [(NOTICES, 302)]
    assert "3 notices marked as read." in response.content.decode()
    assert not Notice.objects.filter(recipient=world.employee, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    again = client.post(f"{NOTICES}read-all/", follow=True)
    assert "You have no unread notices." in again.content.decode()


@pytest.mark.parametrize("action", ["open", "read"])
def test_another_persons_notice_answers_404_and_stays_unread(client, world, action):
    (theirs,) = make_notices(world.manager, 1, link="/requests/")
    client.force_login(world.employee)
    assert client.post(f"{NOTICES}{theirs.public_id}/{action}/").status_code == 404
    assert client.post(f"{NOTICES}{uuid.uuid4()}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_actions_need_signing_in(client, world):
    (notice,) = make_notices(world.employee, 1)
    for url in (f"{NOTICES}{notice.public_id}/open/", f"{NOTICES}read-all/"):
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    notice.refresh_from_db()
    assert notice.read_at is None


# --- Header -------------------------------------------------------------------------------------


def _header(client) -> str:
    html = client.get("/").content.decode()
    return html.split('<header class="header">', 1)[1].split("</header>", 1)[0]


def test_the_header_shows_the_unread_count(client, world):
    client.force_login(world.employee)
    header = _header(client)
    assert 'href="/notices/">Notices</a>' in header
    make_notices(world.employee, 3)
    header = _header(client)
    assert 'href="/notices/">Notices (3)<span class="visually-hidden"> unread</span></a>' in header
    services.notices_mark_all_read(person=world.employee)
    assert 'href="/notices/">Notices</a>' in _header(client)


def test_the_header_counts_with_one_query_and_none_for_anonymous_visitors(client, world):
    make_notices(world.employee, 2)
    with CaptureQueriesContext(connection) as anonymous:
        header = _header(client)
    assert "/notices/" not in header
    assert "Requests to decide" not in header
    assert not [q for q in anonymous.captured_queries if "notifications_notice" in q["sql"]]
    assert not [q for q in anonymous.captured_queries if "operators_position" in q["sql"]]
    client.force_login(world.employee)
    with CaptureQueriesContext(connection) as signed_in:
        _header(client)
    assert len([q for q in signed_in.captured_queries if "notifications_notice" in q["sql"]]) == 1


@pytest.mark.parametrize(
    ("who", "shown"),
    [
        ("officer", True),
        ("legal_representative", True),
        ("manager", True),
        ("employee", False),
        ("service_desk", False),
        ("suspended_officer", False),
        ("outsider", False),
    ],
)
def test_the_requests_to_decide_link_only_for_deciders(client, world, who, shown):
    sign_in(client, getattr(world, who))
    header = _header(client)
    assert ('href="/requests/queue/"' in header) is shown  # the manager reads French


def test_administrators_see_the_queue_link(client):
    admin = UserFactory(username="admin_001", is_superuser=True, is_staff=True)
    sign_in(client, admin)
    assert 'href="/requests/queue/"' in _header(client)


def test_an_ended_position_no_longer_shows_the_queue_link(client, world):
    Position.objects.filter(person=world.manager).update(status=Position.Status.ENDED)
    client.force_login(world.manager)
    assert "Requests to decide" not in _header(client)
