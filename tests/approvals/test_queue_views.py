"""The deciders' work queue pages: filters, paging, scope (404 outside it), decide, reassign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone

from comptoir.approvals import services, views
from comptoir.approvals.models import Request, RequestEvent
from comptoir.approvals.services import NotAllowedToDecide
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import OutboxMessage
from comptoir.operators.models import CustomsOperation, Operator, Position
from comptoir.operators.services import operation_grant
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, officer

pytestmark = pytest.mark.django_db

RS = Request.Status
QUEUE = "/requests/queue/"


def sign_in(client, person) -> None:
    """Staff pass the account gate only with TOTP."""
    if person.is_portal_staff:
        TOTP.activate(person, generate_totp_secret())
    client.force_login(person)


def detail_url(request: Request) -> str:
    return f"/requests/{request.public_id}/"


@dataclass
class Queue:
    registration: Request  # FR, IMPORT + ICS, 10 days old
    foreign_registration: Request  # DE, TRANSIT
    membership: Request  # the outsider asks to join world.operator
    change: Request  # world.operator: add TRANSIT, remove IMPORT


@pytest.fixture
def queue(world) -> Queue:
    registration = services.operator_registration_submit(
        requester=UserFactory(username="applicant1"),
        authority=world.authority,
        operations=["IMPORT", "ICS"],
        eori="FR987654324",
        name="Martin Logistique",
        country="FR",
    )
    Request.objects.filter(pk=registration.pk).update(
        submitted_at=timezone.now() - timedelta(days=10)
    )
    foreign = services.operator_registration_submit(
        requester=UserFactory(username="applicant2"),
        authority=world.authority,
        operations=["TRANSIT"],
        eori="DE1234567",
        name="Schmidt Spedition",
        country="DE",
    )
    membership = services.membership_request_submit(
        requester=world.outsider, operator=world.operator
    )
    operation_grant(
        actor=None, operator=world.operator, operation=CustomsOperation.objects.get(code="IMPORT")
    )
    change = services.operation_change_submit(
        requester=world.legal_representative,
        operator=world.operator,
        authority=world.authority,
        add=["TRANSIT"],
        remove=["IMPORT"],
    )
    return Queue(
        registration=Request.objects.get(pk=registration.pk),
        foreign_registration=foreign,
        membership=membership,
        change=change,
    )


def references(response) -> list[str]:
    return [item.reference for item in response.context["page"].object_list]


def snapshot(request: Request) -> tuple:
    request.refresh_from_db()
    return (
        request.status,
        request.authority_id,
        request.decided_by_id,
        request.reason,
        RequestEvent.objects.count(),
        AuditEvent.objects.count(),
        OutboxMessage.objects.count(),
        list(Position.objects.order_by("pk").values_list("status", flat=True)),
        list(Operator.objects.order_by("pk").values_list("status", flat=True)),
    )


# --- the queue ----------------------------------------------------------------------------------


def test_an_officer_sees_the_customs_requests_of_their_authority_oldest_first(client, world, queue):
    sign_in(client, world.officer)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert references(response) == [
        queue.registration.reference,
        queue.foreign_registration.reference,
        queue.change.reference,
    ]
    html = response.content.decode()
    assert "Martin Logistique" in html
    assert "FR987654324" in html
    assert detail_url(queue.registration) in html


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"kind": "operator_registration"}, ["registration", "foreign_registration"]),
        ({"kind": "operation_change"}, ["change"]),
        ({"age": "7"}, ["registration"]),
        ({"country": "de"}, ["foreign_registration"]),
        ({"operation": "ICS"}, ["registration"]),
        ({"operation": "TRANSIT"}, ["foreign_registration", "change"]),
        ({"q": "fr 987654324"}, ["registration"]),
        ({"q": "schmidt"}, ["foreign_registration"]),
        ({"q": "Dupont", "kind": "operation_change"}, ["change"]),
        ({"status": "approved"}, []),
    ],
)
def test_the_filters(client, world, queue, params, expected):
    sign_in(client, world.officer)
    response = client.get(QUEUE, params)
    assert response.status_code == 200
    assert references(response) == [getattr(queue, name).reference for name in expected]


def test_the_status_filter_shows_decided_requests(client, world, queue):
    services.request_approve(actor=world.other_officer, request_id=queue.change.public_id)
    sign_in(client, world.officer)
    assert references(client.get(QUEUE, {"status": "approved"})) == [queue.change.reference]
    assert queue.change.reference not in references(client.get(QUEUE))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"age": "soon"}, "Enter the number of days as a whole number, for example 7."),
        ({"age": "0"}, "Enter a number of days of 1 or more."),
        ({"country": "FRA"}, "Enter a two-letter country code, for example FR."),
        ({"kind": "nonsense"}, "Choose a value from the list."),
    ],
)
def test_bad_filters_get_a_specific_message(client, world, queue, params, message):
    sign_in(client, world.officer)
    response = client.get(QUEUE, params)
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert message in html
    assert response.context["page"] is None


def test_paging_keeps_the_filters(client, world, queue, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    sign_in(client, world.officer)
    response = client.get(QUEUE, {"kind": "operator_registration"})
    assert references(response) == [queue.registration.reference]
    assert 'href="?kind=operator_registration&amp;page=2"' in response.content.decode()
    second = client.get(QUEUE, {"kind": "operator_registration", "page": "2"})
    assert references(second) == [queue.foreign_registration.reference]
    assert 'href="?kind=operator_registration&amp;page=1"' in second.content.decode()


# --- scope --------------------------------------------------------------------------------------


def test_an_officer_of_another_authority_sees_nothing_and_gets_404(client, world, queue):
    sign_in(client, world.foreign_officer)
    assert references(client.get(QUEUE)) == []
    for request in (queue.registration, queue.change, queue.membership):
        assert client.get(detail_url(request)).status_code == 404
        before = snapshot(request)
        response = client.post(detail_url(request), {"decision": "approve"})
        assert response.status_code == 404
        assert snapshot(request) == before


def test_a_manager_sees_only_their_operators_membership_requests(client, world, queue):
    sign_in(client, world.manager)
    assert references(client.get(QUEUE)) == [queue.membership.reference]
    assert client.get(detail_url(queue.membership)).status_code == 200
    assert client.get(detail_url(queue.change)).status_code == 404
    assert client.get(detail_url(queue.registration)).status_code == 404


@pytest.mark.parametrize("who", ["employee", "outsider", "service_desk", "suspended_officer"])
def test_people_who_may_not_decide_see_nothing(client, world, queue, who):
    sign_in(client, getattr(world, who))
    assert references(client.get(QUEUE)) == []
    assert client.get(detail_url(queue.registration)).status_code == 404
    assert client.get(detail_url(queue.membership)).status_code == 404


def test_an_unknown_request_answers_404(client, world, queue):
    sign_in(client, world.officer)
    assert client.get("/requests/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_queue_needs_a_signed_in_person(client, queue):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_staff_without_totp_are_stopped_by_the_gate(client, world, queue):
    client.force_login(world.officer)
    response = client.get(detail_url(queue.registration))
    assert response.status_code == 302
    assert "/requests/" not in response["Location"]


# --- the detail page ----------------------------------------------------------------------------


def test_the_detail_page_shows_the_request_its_details_and_history(client, world, queue):
    sign_in(client, world.officer)
    response = client.get(detail_url(queue.change))
    assert response.status_code == 200
    html = response.content.decode()
    assert queue.change.reference in html
    assert "Operations to add" in html
    assert "(TRANSIT)" in html
    assert "Operations to remove" in html
    assert "History" in html
    assert "Submitted" in html
    assert 'name="decision"' in html
    assert "Pass to another authority" not in html  # officers do not reassign


# --- deciding -----------------------------------------------------------------------------------


def test_an_officer_approves(client, world, queue):
    sign_in(client, world.officer)
    response = client.post(detail_url(queue.registration), {"decision": "approve"}, follow=True)
    assert response.redirect_chain[-1][0] == QUEUE
    assert f"Request {queue.registration.reference} approved." in response.content.decode()
    queue.registration.refresh_from_db()
    assert queue.registration.status == RS.APPROVED
    assert queue.registration.decided_by == world.officer
    assert queue.registration.operator.status == Operator.Status.ACTIVE


def test_an_officer_rejects_with_a_reason(client, world, queue):
    sign_in(client, world.officer)
    response = client.post(
        detail_url(queue.change), {"decision": "reject", "reason": "  Missing guarantee.  "}
    )
    assert response.status_code == 302
    queue.change.refresh_from_db()
    assert queue.change.status == RS.REJECTED
    assert queue.change.reason == "Missing guarantee."
    page = client.get(detail_url(queue.change)).content.decode()
    assert "Missing guarantee." in page
    assert 'name="decision"' not in page  # decided: no form any more


def test_a_manager_approves_a_membership_request(client, world, queue):
    sign_in(client, world.manager)
    client.post(detail_url(queue.membership), {"decision": "approve"})
    queue.membership.refresh_from_db()
    assert queue.membership.status == RS.APPROVED


@pytest.mark.parametrize(
    "data, message",
    [
        ({"decision": "reject", "reason": "   "}, "Enter the reason for rejecting the request."),
        ({"reason": "fine"}, "Choose whether to approve or reject the request."),
        ({"decision": "maybe"}, "Choose whether to approve or reject the request."),
    ],
)
def test_a_bad_decision_changes_nothing(client, world, queue, data, message):
    sign_in(client, world.officer)
    before = snapshot(queue.registration)
    response = client.post(detail_url(queue.registration), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert message in html
    assert "<title>Error:" in html
    assert snapshot(queue.registration) == before


def test_the_second_decider_is_told_and_nothing_changes(client, world, queue):
    sign_in(client, world.officer)
    client.get(detail_url(queue.registration))  # the officer opens the page…
    services.request_approve(actor=world.other_officer, request_id=queue.registration.public_id)
    before = snapshot(queue.registration)
    response = client.post(
        detail_url(queue.registration), {"decision": "reject", "reason": "No."}, follow=True
    )
    assert response.redirect_chain[-1][0] == detail_url(queue.registration)
    assert "This request was already approved by someone else" in response.content.decode()
    assert snapshot(queue.registration) == before
    assert queue.registration.decided_by == world.other_officer


def test_an_expired_request_cannot_be_decided(client, world, queue):
    Request.objects.filter(pk=queue.change.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    sign_in(client, world.officer)
    before = snapshot(queue.change)
    response = client.post(detail_url(queue.change), {"decision": "approve"}, follow=True)
    assert "This request has expired and can no longer be decided." in response.content.decode()
    assert snapshot(queue.change) == before


# --- reassigning --------------------------------------------------------------------------------


@pytest.fixture
def administrator(world):
    return UserFactory(username="admin_001", is_superuser=True, is_staff=True)


def test_an_administrator_reassigns_a_customs_request(client, world, queue, administrator):
    other = AuthorityFactory(code="FR-LYON-1", name="Lyon")
    lyon_officer = officer(other, username="officer_lyon")
    sign_in(client, administrator)
    page = client.get(detail_url(queue.registration)).content.decode()
    assert "Pass to another authority" in page
    assert 'name="decision"' not in page  # an administrator is not a decider
    outbox = OutboxMessage.objects.count()

    response = client.post(
        f"{detail_url(queue.registration)}reassign/", {"authority": other.pk}, follow=True
    )
    assert f"passed to {other}" in response.content.decode()
    queue.registration.refresh_from_db()
    assert queue.registration.authority == other
    assert queue.registration.status == RS.SUBMITTED
    event = AuditEvent.objects.get(action="request.reassigned")
    assert event.data["from"] == world.authority.code
    assert event.data["to"] == "FR-LYON-1"
    assert OutboxMessage.objects.count() == outbox + 1  # the Lyon officer is told

    client.logout()
    sign_in(client, world.officer)
    assert client.get(detail_url(queue.registration)).status_code == 404
    client.logout()
    sign_in(client, lyon_officer)
    assert references(client.get(QUEUE, {"kind": "operator_registration"})) == [
        queue.registration.reference
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Choose the authority to pass the request to."),
        ({"authority": "999999"}, "Choose an authority from the list."),
        ("same", "The request is already with this authority. Choose another one."),
    ],
)
def test_a_bad_reassignment_changes_nothing(client, world, queue, administrator, data, message):
    if data == "same":
        data = {"authority": world.authority.pk}
    sign_in(client, administrator)
    before = snapshot(queue.registration)
    response = client.post(f"{detail_url(queue.registration)}reassign/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot(queue.registration) == before


def test_only_administrators_reassign(client, world, queue):
    other = AuthorityFactory()
    sign_in(client, world.officer)
    before = snapshot(queue.registration)
    response = client.post(f"{detail_url(queue.registration)}reassign/", {"authority": other.pk})
    # The officer sees the request (in scope) but may not pass it on: 403 with the reason.
    assert response.status_code == 403
    assert "Only administrators can reassign a request." in response.content.decode()
    assert snapshot(queue.registration) == before
    with pytest.raises(NotAllowedToDecide):
        services.request_reassign(
            actor=world.officer, request_id=queue.registration.public_id, authority=other
        )
    assert snapshot(queue.registration) == before


def test_a_decided_or_membership_request_cannot_be_reassigned(client, world, queue, administrator):
    other = AuthorityFactory()
    services.request_approve(actor=world.officer, request_id=queue.change.public_id)
    sign_in(client, administrator)
    before = snapshot(queue.change)
    response = client.post(
        f"{detail_url(queue.change)}reassign/", {"authority": other.pk}, follow=True
    )
    assert "This request was already approved by someone else" in response.content.decode()
    assert snapshot(queue.change) == before
    # Membership requests are the operator's business: not even in an administrator's scope.
    assert client.get(detail_url(queue.membership)).status_code == 404
