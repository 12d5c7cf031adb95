"""/api/v1/operators, registrations, memberships and the caller's requests: scope, 201/422/404."""

from __future__ import annotations

import pytest
from django.test import Client

from comptoir.accounts import services
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, PositionFactory, member

pytestmark = pytest.mark.django_db

EORI = "FR123456782"
REGISTRATION = {
    "eori": "fr 123 456 782",
    "operations": ["IMPORT", "ICS"],
    "name": "Transports Martin",
    "address_line1": "1 rue du Port",
    "postcode": "76600",
    "city": "Le Havre",
    "country": "FR",
    "phone": "+33 2 35 00 00 00",
    "email": "contact@martin.example",
    "accept_terms": True,
}


@pytest.fixture
def person():
    return UserFactory()


@pytest.fixture
def api(person):
    _token, clear = services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}")


@pytest.fixture
def authority():
    return AuthorityFactory(
        code="FR-DGDDI", country="FR", kind=Authority.Kind.NATIONAL_ADMINISTRATION
    )


def messages(response) -> list[str]:
    return [item["msg"] for item in response.json()["detail"]]


def counts() -> tuple[int, int, int]:
    return Operator.objects.count(), Position.objects.count(), Request.objects.count()


def test_operators_lists_only_the_callers(api, person):
    mine = OperatorFactory()

    PositionFactory(person=person, operator=mine)
    other = OperatorFactory()
    member(other)
    response = api.get("/api/v1/operators")
    assert response.status_code == 200
    assert [item["eori"] for item in response.json()] == [mine.eori]
    assert api.get(f"/api/v1/operators/{mine.pk}").json()["name"] == mine.name
    assert api.get(f"/api/v1/operators/{other.pk}").status_code == 404
    assert api.get("/api/v1/operators/999999").status_code == 404


def test_registration_happy_path(api, person, authority):
    response = api.post(
        "/api/v1/operators/registrations", REGISTRATION, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    request = Request.objects.get(reference=body["reference"])
    assert body["kind"] == "operator_registration" and body["status"] == "submitted"
    assert request.requester == person and request.authority == authority
    assert request.operator.eori == EORI and request.operator.status == Operator.Status.PENDING
    assert request.payload["operations"] == ["IMPORT", "ICS"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"eori": "FR123456789"}, "check"),
        ({"operations": []}, "Select at least one customs operation."),
        ({"operations": ["NOPE"]}, "NOPE"),
        ({"name": " "}, "Enter the company name."),
        ({"city": ""}, "Enter the company's town or city."),
        ({"country": "F1"}, "Enter a two-letter country code (ISO 3166), for example FR."),
        ({"email": "nope"}, "Enter a valid email address."),
        ({"accept_terms": False}, "accept the terms of use."),
    ],
)
def test_registration_bad_input_is_422_and_changes_nothing(api, authority, change, message):
    before = counts()
    response = api.post(
        "/api/v1/operators/registrations",
        {**REGISTRATION, **change},
        content_type="application/json",
    )
    assert response.status_code == 422, response.content
    assert any(message in text for text in messages(response)), messages(response)
    assert counts() == before


def test_registration_of_a_registered_eori_says_join_instead(api, authority):
    OperatorFactory(eori=EORI, status=Operator.Status.ACTIVE)
    before = counts()
    response = api.post(
        "/api/v1/operators/registrations", REGISTRATION, content_type="application/json"
    )
    assert response.status_code == 422
    assert "ask to join it instead" in messages(response)[0]
    assert counts() == before


def test_registration_without_competent_authority_is_422(api):
    response = api.post(
        "/api/v1/operators/registrations", REGISTRATION, content_type="application/json"
    )
    assert response.status_code == 422
    assert "No customs authority" in messages(response)[0]
    assert counts() == (0, 0, 0)


def test_membership_and_own_requests(api, person):
    operator = OperatorFactory()
    member(operator, role=Position.Role.LEGAL_REPRESENTATIVE)
    response = api.post(
        "/api/v1/memberships", {"eori": operator.eori}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    other = approvals.membership_request_submit(requester=UserFactory(), operator=operator)
    listed = api.get("/api/v1/requests").json()
    assert [item["reference"] for item in listed] == [reference]
    assert other.reference not in str(listed)


def test_membership_unknown_eori_is_422(api):
    OperatorFactory(eori=EORI, status=Operator.Status.PENDING)
    before = counts()
    response = api.post("/api/v1/memberships", {"eori": EORI}, content_type="application/json")
    assert response.status_code == 422
    assert "No active company is registered with this EORI number." in messages(response)[0]
    response = api.post("/api/v1/memberships", {"eori": "12"}, content_type="application/json")
    assert response.status_code == 422
    assert counts() == before


def test_membership_bad_role_is_422(api):
    operator = OperatorFactory()
    before = counts()
    response = api.post(
        "/api/v1/memberships",
        {"eori": operator.eori, "role": "legal_representative"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "Choose the role you ask for: manager or employee." in messages(response)
    assert counts() == before


def test_withdraw_own_request_then_409(api, person):
    operator = OperatorFactory()
    mine = approvals.membership_request_submit(requester=person, operator=operator)
    response = api.post(f"/api/v1/requests/{mine.public_id}/withdraw")
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    response = api.post(f"/api/v1/requests/{mine.public_id}/withdraw")
    assert response.status_code == 409
    assert response.json()["code"] == "request_closed"


def test_withdraw_someone_elses_or_unknown_request_is_404(api):
    operator = OperatorFactory()
    other = approvals.membership_request_submit(requester=UserFactory(), operator=operator)
    assert api.post(f"/api/v1/requests/{other.public_id}/withdraw").status_code == 404
    assert api.post("/api/v1/requests/not-a-uuid/withdraw").status_code == 404
    other.refresh_from_db()
    assert other.status == Request.Status.SUBMITTED


def test_session_caller_needs_csrf_on_post(person, authority):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)
    assert browser.get("/api/v1/operators").status_code == 200
    response = browser.post(
        "/api/v1/operators/registrations", REGISTRATION, content_type="application/json"
    )
    assert response.status_code == 403
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/operators"),
        ("get", "/api/v1/operators/1"),
        ("post", "/api/v1/operators/registrations"),
        ("post", "/api/v1/memberships"),
        ("get", "/api/v1/requests"),
        ("post", "/api/v1/requests/00000000-0000-0000-0000-000000000000/withdraw"),
    ],
)
def test_unauthenticated_is_401(method, path):
    response = getattr(Client(), method)(path, {}, content_type="application/json")
    assert response.status_code == 401
