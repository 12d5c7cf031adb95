"""Register a company through the question pages: EORI, operations, company details, contact,
check your answers, confirmation with the reference. Bad input changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import OutboxMessage
from comptoir.operators import selectors
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, officer

pytestmark = pytest.mark.django_db

EORI = "FR123456782"  # FR + a SIREN with a valid Luhn check digit
COMPANY = {
    "name": "Transports Martin",
    "address_line1": "1 rue du Port",
    "address_line2": "",
    "postcode": "76600",
    "city": "Le Havre",
    "country": "fr",
    "phone": "+33 2 35 00 00 00",
    "email": "contact@martin.example",
}


@pytest.fixture
def authority():
    administration = AuthorityFactory(
        code="FR-DGDDI", country="FR", kind=Authority.Kind.NATIONAL_ADMINISTRATION
    )
    officer(administration)
    return administration


@pytest.fixture
def person():
    return UserFactory(phone="+33 6 00 00 00 00")


@pytest.fixture
def client(person):
    client = Client()
    client.force_login(person)
    return client


DECLARATION = {"accept_terms": "on"}


def answer_all(client: Client) -> None:
    assert client.post("/companies/register/eori/", {"eori": "fr 1234 56782"}).status_code == 302
    response = client.post("/companies/register/operations/", {"operations": ["IMPORT", "TRANSIT"]})
    assert response.status_code == 302
    assert client.post("/companies/register/company/", COMPANY).status_code == 302
    response = client.post(
        "/companies/register/contact/",
        {"contact_phone": "+33 6 11 11 11 11", "contact_email": "rep@martin.example"},
    )
    assert response["Location"] == "/companies/register/check/"


def counts() -> tuple[int, int, int, int]:
    return (
        Operator.objects.count(),
        Position.objects.count(),
        Request.objects.count(),
        OutboxMessage.objects.count(),
    )


def test_start_page_links_to_the_questions_and_to_joining(client):
    response = client.get("/companies/register/")
    assert response.status_code == 200
    assert b'href="/companies/register/eori/"' in response.content
    assert b'href="/companies/join/"' in response.content


def test_sending_without_the_declaration_changes_nothing(client, authority):
    answer_all(client)
    before = counts()
    response = client.post("/companies/register/check/")
    assert response.status_code == 422
    content = response.content.decode()
    assert content.count("accept the terms of use.</a>") == 1  # in the error summary, linked
    assert 'href="#id_accept_terms"' in content and 'id="id_accept_terms"' in content
    assert counts() == before
    assert not Operator.objects.filter(eori=EORI).exists()


def test_happy_path_registers_a_pending_operator_and_shows_the_reference(client, person, authority):
    client.get("/companies/register/")
    answer_all(client)
    check = client.get("/companies/register/check/")
    assert check.status_code == 200
    content = check.content.decode()
    for text in ("FR123456782", "Import", "Transit", "Transports Martin", "rep@martin.example"):
        assert text in content
    assert 'href="/companies/register/operations/?change=1"' in content

    response = client.post("/companies/register/check/", DECLARATION)
    assert response["Location"] == "/companies/register/done/"
    operator = Operator.objects.get(eori=EORI)
    assert operator.status == Operator.Status.PENDING
    assert operator.country == "FR" and operator.city == "Le Havre"
    request = Request.objects.get(operator=operator)
    assert request.kind == Request.Kind.OPERATOR_REGISTRATION
    assert request.requester == person and request.authority == authority
    assert request.payload["operations"] == ["IMPORT", "TRANSIT"]
    assert request.payload["contact"] == {
        "phone": "+33 6 11 11 11 11",
        "email": "rep@martin.example",
    }
    position = Position.objects.get(operator=operator)
    assert position.person == person and position.role == Position.Role.LEGAL_REPRESENTATIVE
    assert position.status == Position.Status.REQUESTED

    done = client.get("/companies/register/done/")
    assert request.reference in done.content.decode()
    assert "panel--confirmation" in done.content.decode()
    # The answers are gone: a new registration starts from the first question.
    assert client.get("/companies/register/check/")["Location"] == "/companies/register/eori/"


def test_contact_is_prefilled_from_the_profile(client, person):
    client.post("/companies/register/eori/", {"eori": EORI})
    client.post("/companies/register/operations/", {"operations": ["IMPORT"]})
    client.post("/companies/register/company/", COMPANY)
    content = client.get("/companies/register/contact/").content.decode()
    assert 'value="+33 6 00 00 00 00"' in content
    assert f'value="{person.email}"' in content


def test_company_country_is_prefilled_from_the_eori(client):
    client.post("/companies/register/eori/", {"eori": EORI})
    client.post("/companies/register/operations/", {"operations": ["IMPORT"]})
    assert 'value="FR"' in client.get("/companies/register/company/").content.decode()


def test_pages_cannot_be_skipped(client):
    assert client.get("/companies/register/operations/")["Location"] == "/companies/register/eori/"
    assert client.get("/companies/register/check/")["Location"] == "/companies/register/eori/"
    client.post("/companies/register/eori/", {"eori": EORI})
    response = client.get("/companies/register/contact/")
    assert response["Location"] == "/companies/register/operations/"


def test_change_link_returns_to_the_check_page(client, authority):
    answer_all(client)
    response = client.post("/companies/register/operations/?change=1", {"operations": ["AC4"]})
    assert response["Location"] == "/companies/register/check/"
    assert (
        "Release for free circulation" in client.get("/companies/register/check/").content.decode()
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter"),
        ("FR12345678", "SIREN"),
        ("FR123456789", "check"),
        ("1234", "country"),
    ],
)
def test_invalid_eori_is_refused(client, value, message):
    response = client.post("/companies/register/eori/", {"eori": value})
    assert response.status_code == 200
    content = response.content.decode()
    assert "There is a problem" in content and message in content
    assert "operator_registration" not in client.session


@pytest.mark.parametrize("status", [Operator.Status.ACTIVE, Operator.Status.PENDING])
def test_second_registration_for_a_registered_eori_explains_how_to_join(client, status):
    OperatorFactory(eori=EORI, status=status)
    before = counts()
    response = client.post("/companies/register/eori/", {"eori": EORI})
    content = response.content.decode()
    assert response.status_code == 200
    assert "already registered or waiting for approval" in content
    assert "ask to join it instead" in content
    assert 'href="/companies/join/"' in content
    assert counts() == before


def test_at_least_one_operation(client):
    client.post("/companies/register/eori/", {"eori": EORI})
    response = client.post("/companies/register/operations/", {})
    assert "Select at least one customs operation." in response.content.decode()
    response = client.post("/companies/register/operations/", {"operations": ["NOPE"]})
    assert "Select customs operations from the list." in response.content.decode()
    assert "operations" not in client.session["operator_registration"]


def test_inactive_operation_is_not_offered(client):
    from comptoir.operators.models import CustomsOperation

    CustomsOperation.objects.filter(code="TRANSIT").update(active=False)
    client.post("/companies/register/eori/", {"eori": EORI})
    content = client.get("/companies/register/operations/").content.decode()
    assert 'value="IMPORT"' in content and 'value="TRANSIT"' not in content


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter the company name."),
        ("address_line1", "", "Enter the first line of the company&#x27;s address."),
        ("postcode", "", "Enter the company&#x27;s postcode."),
        ("city", "", "Enter the company&#x27;s town or city."),
        ("country", "F1", "Enter a two-letter country code (ISO 3166), for example FR."),
        ("phone", "", "Enter the company&#x27;s phone number."),
        ("email", "not-an-email", "Enter an email address in the correct format"),
    ],
)
def test_company_details_have_specific_messages(client, field, value, message):
    client.post("/companies/register/eori/", {"eori": EORI})
    client.post("/companies/register/operations/", {"operations": ["IMPORT"]})
    response = client.post("/companies/register/company/", {**COMPANY, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "company" not in client.session["operator_registration"]


def test_contact_needs_phone_and_email(client):
    client.post("/companies/register/eori/", {"eori": EORI})
    client.post("/companies/register/operations/", {"operations": ["IMPORT"]})
    client.post("/companies/register/company/", COMPANY)
    response = client.post(
        "/companies/register/contact/", {"contact_phone": "", "contact_email": ""}
    )
    content = response.content.decode()
    assert "Enter your phone number." in content and "Enter your email address." in content


def test_eori_registered_meanwhile_changes_nothing(client, authority):
    answer_all(client)
    OperatorFactory(eori=EORI, status=Operator.Status.PENDING)
    before = counts()
    audit_before = AuditEvent.objects.count()
    response = client.post("/companies/register/check/", DECLARATION)
    assert response.status_code == 422
    assert "already registered or waiting for approval" in response.content.decode()
    assert counts() == before
    assert AuditEvent.objects.count() == audit_before


def test_without_any_national_administration_nothing_is_written(client):
    AuthorityFactory(kind=Authority.Kind.CUSTOMS_OFFICE)
    answer_all(client)
    before = counts()
    response = client.post("/companies/register/check/", DECLARATION)
    assert response.status_code == 422
    assert "No customs authority can receive registrations" in response.content.decode()
    assert counts() == before


def test_competent_authority_prefers_the_country_then_any_national_administration():
    AuthorityFactory(code="BE-ADMIN", country="BE", kind=Authority.Kind.NATIONAL_ADMINISTRATION)
    french = AuthorityFactory(
        code="FR-ADMIN", country="FR", kind=Authority.Kind.NATIONAL_ADMINISTRATION
    )
    AuthorityFactory(code="FR-OFFICE", country="FR", kind=Authority.Kind.CUSTOMS_OFFICE)
    assert selectors.competent_authority_for("fr") == french
    assert selectors.competent_authority_for("LU").code == "BE-ADMIN"
    Authority.objects.filter(kind=Authority.Kind.NATIONAL_ADMINISTRATION).delete()
    assert selectors.competent_authority_for("FR") is None


def test_confirmation_without_a_registration_is_404(client):
    assert client.get("/companies/register/done/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/companies/register/",
        "/companies/register/eori/",
        "/companies/register/check/",
        "/companies/register/done/",
    ],
)
def test_unauthenticated_goes_to_sign_in(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_error_summary_links_to_the_first_checkbox(client):
    client.post("/companies/register/eori/", {"eori": EORI})
    content = client.post("/companies/register/operations/", {}).content.decode()
    assert '<a href="#id_operations_0">Select at least one customs operation.</a>' in content
    assert 'id="id_operations_0"' in content
