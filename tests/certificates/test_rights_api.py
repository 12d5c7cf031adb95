"""/api/v1/certificate-access: ask customs for access to certificate registration, list an
operator's rights (or all of the caller's), read one; 404 outside the caller's companies, 403
{"detail", "code"} for members who may not ask, 422 with field messages for bad input; customs
decide through /api/v1/requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.utils import timezone

from comptoir.accounts import services
from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.certificates import rights
from comptoir.certificates.models import RegistrationRight
from tests.certificates.test_rights import Company, ask, make_company, request_of, snapshot

pytestmark = pytest.mark.django_db

RRS = RegistrationRight.Status
URL = "/api/v1/certificate-access"


@pytest.fixture
def company(db) -> Company:
    return make_company()


def api_for(person: User) -> Client:
    if person.is_portal_staff:
        TOTP.activate(person, generate_totp_secret())
    _token, clear = services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en")


def body(company: Company, **overrides) -> dict:
    data = {
        "operator_id": company.operator.pk,
        "account_name": "dupont_certs",
        "wanted_on": (timezone.localdate() + timedelta(days=2)).isoformat(),
        "environment": "conformance",
    }
    data.update(overrides)
    return data


def post(client: Client, data: dict):
    return client.post(URL, data, content_type="application/json")


def field_messages(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


def test_ask_list_and_read(company):
    client = api_for(company.legal_representative)
    response = post(client, body(company))
    assert response.status_code == 201, response.content
    right = RegistrationRight.objects.get()
    data = response.json()
    assert data["id"] == str(right.public_id)
    assert data["operator_id"] == company.operator.pk
    assert (data["eori"], data["company_name"]) == ("FR552100554", "Dupont SA")
    assert data["account_name"] == "dupont_certs"
    assert data["environment"] == "conformance" and data["status"] == "requested"
    assert data["request_reference"] == request_of(right).reference
    assert data["request_id"] == str(right.request_id)
    assert data["requested_by"] == "legalrep1"
    assert data["decided_at"] is None

    employee = api_for(company.employee)
    listed = employee.get(URL, {"operator_id": company.operator.pk})
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [data["id"]]
    assert [item["id"] for item in employee.get(URL).json()] == [data["id"]]
    one = employee.get(f"{URL}/{right.public_id}")
    assert one.status_code == 200 and one.json()["status"] == "requested"

    # Customs grant it; the list says so.
    approvals.request_approve(actor=company.officer, request_id=right.request_id)
    granted = client.get(URL, {"operator_id": company.operator.pk}).json()[0]
    assert granted["status"] == "granted" and granted["decided_at"] is not None
    assert rights.registration_right_for(operator=company.operator) == right


def test_the_officer_grants_it_through_the_requests_api(company):
    right = ask(company)
    officer = api_for(company.officer)
    response = officer.post(
        f"/api/v1/requests/{right.request_id}/approve", {}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    right.refresh_from_db()
    assert right.status == RRS.GRANTED


def test_outside_the_callers_companies_404_and_nothing_written(company):
    right = ask(company)
    for person in (company.outsider, company.other_legal_representative):
        client = api_for(person)
        before = snapshot()
        assert post(client, body(company)).status_code == 404
        assert client.get(URL, {"operator_id": company.operator.pk}).status_code == 404
        assert client.get(f"{URL}/{right.public_id}").status_code == 404
        assert snapshot() == before
    assert api_for(company.outsider).get(URL).json() == []
    assert api_for(company.employee).get(f"{URL}/not-a-uuid").status_code == 404
    assert post(api_for(company.outsider), body(company, operator_id=99999)).status_code == 404


def test_an_employee_gets_403_with_a_code(company):
    client = api_for(company.employee)
    before = snapshot()
    response = post(client, body(company))
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert "legal representative and its managers" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"account_name": ""}, "account_name", "Enter the name of the account"),
        ({"wanted_on": "tomorrow"}, "wanted_on", "in the form YYYY-MM-DD"),
        ({"wanted_on": "2001-01-01"}, "wanted_on", "today or in the future"),
        ({"wanted_on": ""}, "wanted_on", "Enter the date from which"),
        ({"environment": "staging"}, "environment", "production or conformance testing"),
    ],
)
def test_bad_input_422_with_field_messages(company, overrides, field, message):
    client = api_for(company.manager)
    before = snapshot()
    response = post(client, body(company, **overrides))
    assert response.status_code == 422
    messages = field_messages(response)
    assert field in messages and message in messages[field][0], messages
    assert snapshot() == before


def test_a_duplicate_is_refused_naming_the_first(company):
    first = ask(company, environment="conformance")
    client = api_for(company.manager)
    before = snapshot()
    response = post(client, body(company))
    assert response.status_code == 422
    assert request_of(first).reference in field_messages(response)["environment"][0]
    assert snapshot() == before


def test_signed_out_401(company):
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert anonymous.get(URL).status_code == 401
    assert post(anonymous, body(company)).status_code == 401
    assert not RegistrationRight.objects.exists()
