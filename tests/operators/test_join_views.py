"""Ask to join a company by its EORI number; follow and withdraw one's own requests."""

from __future__ import annotations

import pytest
from django.test import Client

from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.operators.models import Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    company = OperatorFactory()
    member(company, role=Position.Role.LEGAL_REPRESENTATIVE)
    return company


@pytest.fixture
def person():
    return UserFactory()


@pytest.fixture
def client(person):
    client = Client()
    client.force_login(person)
    return client


def counts() -> tuple[int, int]:
    return Position.objects.count(), Request.objects.count()


def test_join_sends_a_membership_request_and_shows_the_reference(client, person, operator):
    response = client.post(
        "/companies/join/", {"eori": operator.eori.lower(), "role": Position.Role.MANAGER}
    )
    assert response["Location"] == "/companies/join/done/"
    request = Request.objects.get(requester=person)
    assert request.kind == Request.Kind.MEMBERSHIP and request.operator == operator
    position = Position.objects.get(person=person, operator=operator)
    assert position.role == Position.Role.MANAGER
    assert position.status == Position.Status.REQUESTED
    done = client.get("/companies/join/done/").content.decode()
    assert request.reference in done and "panel--confirmation" in done


@pytest.mark.parametrize("status", [Operator.Status.PENDING, Operator.Status.CLOSED, None])
def test_unknown_or_inactive_company_gets_a_specific_error(client, status):
    eori = "FR123456782"
    if status is not None:
        OperatorFactory(eori=eori, status=status)
    before = counts()
    response = client.post("/companies/join/", {"eori": eori, "role": Position.Role.EMPLOYEE})
    assert response.status_code == 200
    assert "No active company is registered with this EORI number." in response.content.decode()
    assert counts() == before


def test_invalid_eori_and_role_are_refused(client, operator):
    before = counts()
    response = client.post("/companies/join/", {"eori": "XX", "role": "legal_representative"})
    content = response.content.decode()
    assert "There is a problem" in content
    assert "Choose the role you ask for: manager or employee." in content
    assert counts() == before


def test_second_request_while_one_is_open_is_refused(client, person, operator):
    client.post("/companies/join/", {"eori": operator.eori, "role": Position.Role.EMPLOYEE})
    before = counts()
    response = client.post(
        "/companies/join/", {"eori": operator.eori, "role": Position.Role.EMPLOYEE}
    )
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert counts() == before


def test_your_requests_lists_only_your_own(client, person, operator):
    mine = approvals.membership_request_submit(requester=person, operator=operator)
    other = approvals.membership_request_submit(requester=UserFactory(), operator=operator)
    content = client.get("/requests/").content.decode()
    assert mine.reference in content
    assert other.reference not in content
    assert f"/requests/{mine.public_id}/withdraw/" in content


def test_withdraw_own_request(client, person, operator):
    mine = approvals.membership_request_submit(requester=person, operator=operator)
    response = client.post(f"/requests/{mine.public_id}/withdraw/", follow=True)
    assert f"You have withdrawn request {mine.reference}." in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == Request.Status.WITHDRAWN
    assert Position.objects.get(person=person, operator=operator).status == Position.Status.ENDED
    # Already closed: a clear message, nothing changes.
    response = client.post(f"/requests/{mine.public_id}/withdraw/", follow=True)
    assert "This request has already been closed" in response.content.decode()
    assert f"/requests/{mine.public_id}/withdraw/" not in response.content.decode()


def test_withdraw_someone_elses_request_is_404(client, operator):
    other = approvals.membership_request_submit(requester=UserFactory(), operator=operator)
    assert client.post(f"/requests/{other.public_id}/withdraw/").status_code == 404
    other.refresh_from_db()
    assert other.status == Request.Status.SUBMITTED


def test_withdraw_needs_post(client, person, operator):
    mine = approvals.membership_request_submit(requester=person, operator=operator)
    assert client.get(f"/requests/{mine.public_id}/withdraw/").status_code == 405


def test_join_confirmation_without_a_request_is_404(client):
    assert client.get("/companies/join/done/").status_code == 404


@pytest.mark.parametrize("path", ["/companies/join/", "/requests/", "/companies/join/done/"])
def test_unauthenticated_goes_to_sign_in(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_unauthenticated_withdraw_goes_to_sign_in(operator):
    other = approvals.membership_request_submit(requester=UserFactory(), operator=operator)
    response = Client().post(f"/requests/{other.public_id}/withdraw/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_error_summary_links_to_the_first_radio(client):
    content = client.post("/companies/join/", {"eori": "", "role": ""}).content.decode()
    assert '<a href="#id_role_0">Choose the role you ask for: manager or employee.</a>' in content
    assert 'id="id_role_0"' in content
