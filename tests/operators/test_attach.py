"""Attach one's account to a company by its national number (SIRET style): give the country and
the number, check the company found, confirm; attached at once where the administration allows
it, otherwise a membership request for the company's legal representative or managers."""

from __future__ import annotations

import pytest
from django.test import Client
from stdnum import luhn

from comptoir.accounts.models import User
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.notifications.models import OutboxMessage
from comptoir.operators.models import Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, PositionFactory, member
from tests.mail import run_worker

pytestmark = pytest.mark.django_db

Role = Position.Role
SIREN = "552100554"
SIRET = "55210055400013"  # an establishment of the SIREN above
BE_NUMBER = "0403170701"
NOT_FOUND = "No active company is registered on Comptoir with this company number."


def siren(prefix: str) -> str:
    return prefix + luhn.calc_check_digit(prefix)


@pytest.fixture
def operator() -> Operator:
    company = OperatorFactory(
        eori=f"FR{SIREN}",
        name="Dupont SA",
        address_line1="1 quai de la Douane",
        postcode="76600",
        city="Le Havre",
    )
    member(company, Role.LEGAL_REPRESENTATIVE, username="legalrep1")
    member(company, Role.MANAGER, username="manager_1", language="fr")
    return company


@pytest.fixture
def person() -> User:
    return UserFactory(username="newcomer1", email="newcomer@example.test")


@pytest.fixture
def client(person) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(person)
    return client


def page(response) -> str:
    return response.content.decode()


def counts() -> tuple[int, int, int]:
    return Position.objects.count(), Request.objects.count(), OutboxMessage.objects.count()


def check(client, country: str, number: str):
    return client.post("/companies/attach/", {"country": country, "number": number})


def test_a_siren_number_finds_the_company_and_confirming_sends_a_request(client, person, operator):
    assert client.get("/companies/attach/").status_code == 200
    response = check(client, "fr", "552 100 554")
    assert response.status_code == 302
    assert response["Location"] == "/companies/attach/confirm/"

    summary = client.get("/companies/attach/confirm/")
    content = page(summary)
    for text in ("Is this your company?", "Dupont SA", "FR552100554", "1 quai de la Douane"):
        assert text in content
    assert "76600 Le Havre" in content
    assert "Its legal representative or a manager will approve or reject it" in content
    assert counts()[0:2] == (2, 0)  # nothing happens before confirming

    done = client.post("/companies/attach/confirm/")
    assert done["Location"] == "/companies/attach/done/"
    request = Request.objects.get(requester=person)
    assert request.kind == Request.Kind.MEMBERSHIP and request.operator == operator
    assert request.payload["role"] == Role.EMPLOYEE
    position = Position.objects.get(person=person)
    assert (position.role, position.status) == (Role.EMPLOYEE, Position.Status.REQUESTED)
    content = page(client.get("/companies/attach/done/"))
    assert request.reference in content
    assert "The legal representative or a manager of Dupont SA will decide." in content
    # The deciders are told, as for any membership request.
    assert {m.to for m in OutboxMessage.objects.all()} == {
        "legalrep1@example.test",
        "manager_1@example.test",
    }


def test_a_siret_number_finds_the_company_of_its_siren(client, operator):
    check(client, "FR", "552 100 554 00013")
    assert "Dupont SA" in page(client.get("/companies/attach/confirm/"))


def test_a_company_registered_with_the_legacy_siret_eori_is_found_too(client):
    legacy_siren = siren("73282932")
    legacy_siret = legacy_siren + "0001" + luhn.calc_check_digit(legacy_siren + "0001")
    OperatorFactory(eori=f"FR{legacy_siret}", name="Martin Logistique")
    assert check(client, "FR", legacy_siret).status_code == 302
    assert "Martin Logistique" in page(client.get("/companies/attach/confirm/"))


def test_a_belgian_enterprise_number_finds_the_company(client, person):
    company = OperatorFactory(eori=f"BE{BE_NUMBER}", name="Brussels Freight", country="BE")
    member(company, Role.LEGAL_REPRESENTATIVE)
    assert check(client, "BE", "0403.170.701").status_code == 302
    content = page(client.get("/companies/attach/confirm/"))
    assert "Brussels Freight" in content and "BE0403170701" in content
    client.post("/companies/attach/confirm/")
    assert Request.objects.get(requester=person).operator == company


@pytest.mark.parametrize(
    ("country", "number", "field", "message"),
    [
        ("FR", "552100555", "number", "This SIREN number is not valid: check the digits"),
        ("FR", "55210055400014", "number", "This SIRET number is not valid: check the digits"),
        ("FR", "5521005", "number", "Enter the 9-digit SIREN number or the 14-digit SIRET number"),
        (
            "BE",
            "0403.170.702",
            "number",
            "This Belgian enterprise number is not valid: check the digits",
        ),
        (
            "BE",
            "2403170701",
            "number",
            "A Belgian enterprise number is 10 digits and starts with 0 or 1",
        ),
        ("FR", "", "number", "Enter the company number."),
        ("", SIREN, "country", "Enter the company&#x27;s country as a two-letter code"),
        ("FRA", SIREN, "country", "Enter a two-letter country code (ISO 3166), for example FR."),
        (
            "DE",
            "123456789",
            "country",
            "Attaching by company number is not available for this country",
        ),
    ],
)
def test_bad_numbers_get_their_own_message_and_change_nothing(
    client, operator, country, number, field, message
):
    before = counts()
    response = check(client, country, number)
    assert response.status_code == 200
    content = page(response)
    assert "There is a problem" in content
    assert message in content
    assert f'href="#id_{field}"' in content
    assert counts() == before
    assert "operator_attach" not in client.session


def test_an_unknown_company_is_explained_with_a_link_to_register(client, operator):
    before = counts()
    response = check(client, "FR", siren("12345678"))
    content = page(response)
    assert NOT_FOUND in content
    assert 'href="/companies/register/"' in content and "Register the company" in content
    assert counts() == before


@pytest.mark.parametrize("status", [Operator.Status.PENDING, Operator.Status.SUSPENDED])
def test_a_company_not_active_is_not_found(client, operator, status):
    Operator.objects.filter(pk=operator.pk).update(status=status)
    assert NOT_FOUND in page(check(client, "FR", SIREN))


def test_direct_attach_makes_the_person_an_employee_at_once(
    client, person, operator, settings, smtp_server
):
    settings.COMPTOIR_DIRECT_ATTACH_COUNTRIES = ["FR"]
    check(client, "FR", SIRET)
    summary = page(client.get("/companies/attach/confirm/"))
    assert "You will work for Dupont SA as an employee at once." in summary
    response = client.post("/companies/attach/confirm/")
    assert response["Location"] == "/companies/attach/done/"
    position = Position.objects.get(person=person)
    assert (position.operator, position.role, position.status) == (
        operator,
        Role.EMPLOYEE,
        Position.Status.VALID,
    )
    assert not Request.objects.exists()
    assert "You now work for Dupont SA as an employee." in page(
        client.get("/companies/attach/done/")
    )
    event = AuditEvent.objects.get(action="position.attached")
    assert event.actor == person
    assert event.data["country"] == "FR" and event.data["number"] == SIRET
    assert AuditEvent.objects.filter(action="position.appointed", actor=person).exists()
    assert audit_verify() is None

    run_worker()
    assert sorted(str(m["To"]) for m in smtp_server.messages) == [
        "legalrep1@example.test",
        "manager_1@example.test",
    ]
    notice = smtp_server.last_to("legalrep1@example.test")
    assert "gave the company number 55210055400013" in smtp_server.text(notice)
    assert smtp_server.last_to("manager_1@example.test")["Content-Language"] == "fr"


def test_direct_attach_applies_only_to_the_countries_listed(client, person, operator, settings):
    settings.COMPTOIR_DIRECT_ATTACH_COUNTRIES = ["BE"]
    check(client, "FR", SIREN)
    client.post("/companies/attach/confirm/")
    assert Position.objects.get(person=person).status == Position.Status.REQUESTED
    assert Request.objects.filter(requester=person).count() == 1


@pytest.mark.parametrize("direct", [[], ["FR"]])
@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Position.Status.VALID, "You already work for this company: there is nothing more to do."),
        (Position.Status.SUSPENDED, "You already work for this company"),
        (Position.Status.REQUESTED, "You have already asked to join this company"),
    ],
)
def test_someone_already_in_the_company_is_told(
    client, person, operator, settings, direct, status, message
):
    settings.COMPTOIR_DIRECT_ATTACH_COUNTRIES = direct
    PositionFactory(person=person, operator=operator, role=Role.MANAGER, status=status)
    check(client, "FR", SIREN)
    summary = page(client.get("/companies/attach/confirm/"))
    assert message in summary
    assert ">Confirm</button>" not in summary
    before = counts()
    response = client.post("/companies/attach/confirm/")
    assert response.status_code == 422 and message in page(response)
    assert counts() == before


def test_the_steps_keep_their_order(client, operator):
    assert client.get("/companies/attach/confirm/")["Location"] == "/companies/attach/"
    assert client.post("/companies/attach/confirm/")["Location"] == "/companies/attach/"
    assert client.get("/companies/attach/done/").status_code == 404
    check(client, "FR", SIREN)
    # The first page shows the answers kept, to change them.
    assert 'value="552100554"' in page(client.get("/companies/attach/"))


def test_anonymous_visitors_are_sent_to_sign_in():
    for path in ("/companies/attach/", "/companies/attach/confirm/", "/companies/attach/done/"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
