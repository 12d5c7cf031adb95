"""The directory in the API (issue 4, point 7): GET /api/v1/directory searches it (country
required, 20 per page), POST /api/v1/directory/operators creates an operator with the caller's
role request. 401 without credentials, 422 with a message per field, 409 naming the operators
when the EORI number is taken or likely duplicates are not confirmed."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from comptoir.accounts import services as account_services
from comptoir.accounts.models import User
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.operators.models import ActivityType, Operator, OperatorActivity, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, officer
from tests.operators.test_directory_search import ListedOperatorFactory

pytestmark = pytest.mark.django_db


def api_for(person: User) -> Client:
    _token, clear = account_services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}")


def errors(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


def post(api: Client, body: dict[str, object]):
    return api.post(
        "/api/v1/directory/operators", json.dumps(body), content_type="application/json"
    )


@pytest.fixture
def person(db) -> User:
    return UserFactory(username="api_person")


@pytest.fixture
def api(person) -> Client:
    return api_for(person)


@pytest.fixture
def national_officer(db) -> User:
    national = AuthorityFactory(
        code="FR-DGDDI", name="Direction générale des douanes", kind="national_administration"
    )
    return officer(national, username="national1")


def new_operator(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "Société Dupont Frères",
        "country": "FR",
        "city": "Lyon",
        "address_line1": "3 quai Saint-Antoine",
        "postcode": "69002",
        "email": "contact@dupont.example",
        "eori": "FR552100554",
        "role": "employee",
        "message": "Bonjour",
    }
    body.update(overrides)
    return body


# --- search --------------------------------------------------------------------------------------


def test_search_needs_credentials():
    assert Client().get("/api/v1/directory", {"country": "FR"}).status_code == 401


def test_search_by_name_with_activities(api):
    plants = ActivityType.objects.get(code="PLANTS")
    operator = ListedOperatorFactory(
        name="Pépinières Müller", eori="FR552100554", postcode="67000", city="Strasbourg"
    )
    OperatorActivity.objects.create(operator=operator, activity_type=plants, identifier="FR-67-9")
    ListedOperatorFactory(name="Transports Martin")
    response = api.get("/api/v1/directory", {"country": "fr", "name": "MULLER pepin"})
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "more": False,
        "page": 1,
        "pages": 1,
        "page_size": 20,
        "results": [
            {
                "id": operator.pk,
                "name": "Pépinières Müller",
                "eori": "FR552100554",
                "national_id": "",
                "country": "FR",
                "region": "",
                "city": "Strasbourg",
                "address_line1": "",
                "address_line2": "",
                "postcode": "67000",
                "activities": [
                    {
                        "section": "PLANT_HEALTH",
                        "section_label": "Plant health",
                        "code": "PLANTS",
                        "label": "Plants and plant products",
                        "identifier": "FR-67-9",
                    }
                ],
            }
        ],
    }


def test_search_by_eori_section_and_activity_type(api):
    cites = ActivityType.objects.get(code="EU_CITES")
    reptiles = ListedOperatorFactory(name="Martin Reptiles", eori="FR123456782")
    OperatorActivity.objects.create(operator=reptiles, activity_type=cites)
    ListedOperatorFactory(name="Martin Transports", eori="FR552100554")
    by_eori = api.get("/api/v1/directory", {"country": "FR", "eori": "fr123 456 782"}).json()
    assert [row["name"] for row in by_eori["results"]] == ["Martin Reptiles"]
    by_section = api.get("/api/v1/directory", {"country": "FR", "section": "CITES"}).json()
    assert [row["name"] for row in by_section["results"]] == ["Martin Reptiles"]
    by_type = api.get(
        "/api/v1/directory", {"country": "FR", "name": "martin", "activity_type": "EU_CITES"}
    ).json()
    assert [row["name"] for row in by_type["results"]] == ["Martin Reptiles"]


def test_search_pages(api):
    for number in range(22):
        ListedOperatorFactory(name=f"Dupont {number:02d}")
    ListedOperatorFactory(name="Dupont fermé", status=Operator.Status.CLOSED)
    first = api.get("/api/v1/directory", {"country": "FR", "name": "dupont"}).json()
    assert (first["count"], first["pages"], len(first["results"])) == (22, 2, 20)
    second = api.get("/api/v1/directory", {"country": "FR", "name": "dupont", "page": 2}).json()
    assert [row["name"] for row in second["results"]] == ["Dupont 20", "Dupont 21"]
    beyond = api.get("/api/v1/directory", {"country": "FR", "name": "dupont", "page": 9}).json()
    assert (beyond["page"], beyond["results"], beyond["count"]) == (9, [], 22)
    zero = api.get("/api/v1/directory", {"country": "FR", "page": 0})
    assert zero.status_code == 422
    assert errors(zero) == {"page": ["Enter a page number of 1 or more."]}


def test_search_input_errors_are_422_with_messages(api):
    response = api.get("/api/v1/directory", {"name": "dupont"})
    assert response.status_code == 422
    assert errors(response) == {
        "country": ["Enter the country as a two-letter code, for example FR."]
    }
    response = api.get(
        "/api/v1/directory",
        {"country": "FRA", "eori": "GB1", "section": "NOPE", "activity_type": "EUPO"},
    )
    found = errors(response)
    assert found["country"] == ["Enter a two-letter country code (ISO 3166), for example FR."]
    assert found["eori"][0].startswith("EORI numbers that start with GB")
    assert found["section"][0].startswith("Select a valid choice.")


# --- create --------------------------------------------------------------------------------------


def test_create_needs_credentials():
    response = Client().post(
        "/api/v1/directory/operators", json.dumps(new_operator()), content_type="application/json"
    )
    assert response.status_code == 401
    assert not Operator.objects.exists()


def test_create_an_operator_and_ask_for_a_role(api, person, national_officer):
    response = post(
        api,
        new_operator(
            role="manager", latitude=45.7578, longitude="4.8320", contact_phone="+33 4 00 00 00 00"
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    operator = Operator.objects.get(eori="FR552100554")
    assert body["operator"]["id"] == operator.pk and body["operator"]["name"] == operator.name
    assert operator.search_name == "societe dupont freres"
    assert str(operator.latitude) == "45.757800"
    submitted = Request.objects.get(public_id=body["request"]["id"])
    assert (submitted.kind, submitted.status, submitted.requester) == (
        Request.Kind.OPERATOR_ROLE,
        Request.Status.SUBMITTED,
        person,
    )
    assert body["request"]["reference"] == submitted.reference
    assert submitted.payload["phone"] == "+33 4 00 00 00 00"
    position = Position.objects.get(pk=submitted.payload["position"])
    assert (position.role, position.status) == ("manager", "requested")
    assert AuditEvent.objects.filter(action="operator.created_in_directory").count() == 1
    found = api.get("/api/v1/directory", {"country": "FR", "name": "freres"}).json()
    assert [row["id"] for row in found["results"]] == [operator.pk]


def test_create_refuses_bad_input_with_messages_and_changes_nothing(api, national_officer):
    response = post(
        api,
        new_operator(
            name="",
            email="",
            eori="",
            latitude=95,
            role="legal_representative",
            contact_email="not-an-address",
        ),
    )
    assert response.status_code == 422
    assert errors(response) == {"role": ["Choose the role you ask for: manager or employee."]}
    response = post(api, new_operator(name="", email="", eori="", latitude=95, longitude=2))
    found = errors(response)
    assert found["name"] == ["Enter the operator's name."]
    assert found["phone"][0].startswith("Enter at least one way to contact the operator")
    assert found["eori"][0].startswith("Enter the operator's EORI number")
    assert found["latitude"] == [
        "Enter the latitude in decimal degrees, between -90 and 90, like 48.8566."
    ]
    response = post(api, new_operator(contact_email="not-an-address"))
    assert response.status_code == 422
    assert list(errors(response)) == ["contact_email"]
    assert not Operator.objects.exists() and not Request.objects.exists()


def test_a_taken_eori_is_409_naming_the_operator(api, national_officer):
    existing = ListedOperatorFactory(name="Dupont Logistique", eori="FR552100554", city="Lyon")
    response = post(api, new_operator())
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "eori_taken"
    assert "Dupont Logistique (FR)" in body["detail"]
    assert [(row["id"], row["name"]) for row in body["operators"]] == [
        (existing.pk, "Dupont Logistique")
    ]
    assert Operator.objects.count() == 1 and not Request.objects.exists()


def test_likely_duplicates_are_409_until_confirmed(api, national_officer):
    twin = ListedOperatorFactory(name="Dupont Frères", postcode="69002", eori="FR123456782")
    response = post(api, new_operator())
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "likely_duplicates"
    assert [row["id"] for row in body["operators"]] == [twin.pk]
    assert '"confirm_duplicate": true' in body["detail"]
    assert Operator.objects.count() == 1
    confirmed = post(api, new_operator(confirm_duplicate=True))
    assert confirmed.status_code == 201
    assert Operator.objects.count() == 2
