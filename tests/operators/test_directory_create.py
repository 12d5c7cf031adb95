"""Creating an operator that is not in the directory (issue 4, point 2): its details, at least one
way to contact it, optional coordinates, the EORI number "to avoid duplicates" (required in the
EU; outside it the national identification number will do), a duplicate EORI refused naming the
operator, likely duplicates shown first; creating it and the requester's role request are one
step, validated by the national authority. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from comptoir.approvals import services as approvals
from comptoir.approvals.directory import operator_create_in_directory
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators.directory import EoriTaken, LikelyDuplicates, directory_search
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, officer
from tests.operators.test_directory_search import ListedOperatorFactory

pytestmark = pytest.mark.django_db

Role = Position.Role


@pytest.fixture
def national(db) -> Authority:
    """The French national administration: it validates roles at operators nobody runs yet."""
    return AuthorityFactory(
        code="FR-DGDDI", name="Direction générale des douanes", kind="national_administration"
    )


@pytest.fixture
def national_officer(national):
    return officer(national, username="national1")


@pytest.fixture
def person(db):
    return UserFactory(username="creator_1")


def details(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Transports Dupont",
        "country": "FR",
        "region": "Île-de-France",
        "city": "Paris",
        "address_line1": "1 rue de la Paix",
        "address_line2": "",
        "postcode": "75002",
        "phone": "+33 1 23 45 67 89",
        "fax": "",
        "email": "",
        "website": "",
        "latitude": "",
        "longitude": "",
        "eori": "FR552100554",
        "national_id": "",
    }
    data.update(overrides)
    return data


def create(person, *, role: str = Role.EMPLOYEE, **overrides: object):
    return operator_create_in_directory(requester=person, role=role, **details(**overrides))


def state() -> tuple[int, int, int, int, int, int]:
    return (
        Operator.objects.count(),
        Position.objects.count(),
        Request.objects.count(),
        AuditEvent.objects.count(),
        Notice.objects.count(),
        OutboxMessage.objects.count(),
    )


def refused(person, **overrides: object) -> dict[str, list[str]]:
    """The messages of a refused creation, after checking that nothing was written."""
    before = state()
    with pytest.raises(ValidationError) as caught:
        create(person, **overrides)
    assert state() == before
    return caught.value.message_dict


def audit_actions(subject) -> list[str]:
    return list(
        AuditEvent.objects.filter(
            subject_type=subject._meta.label_lower, subject_id=str(subject.pk)
        )
        .order_by("sequence")
        .values_list("action", flat=True)
    )


# --- the service ---------------------------------------------------------------------------------


def test_the_operator_and_the_role_request_are_created_together(person, national_officer):
    operator, submitted = create(
        person, role=Role.MANAGER, message="Je suis le gérant.", latitude="48.8698",
        longitude="2.3311", email="contact@dupont.example", website="www.dupont.example",
    )  # fmt: skip
    operator.refresh_from_db()
    assert operator.status == Operator.Status.ACTIVE
    assert (operator.name, operator.search_name, operator.eori) == (
        "Transports Dupont",
        "transports dupont",
        "FR552100554",
    )
    assert (operator.latitude, operator.longitude) == (Decimal("48.869800"), Decimal("2.331100"))
    assert operator.website == "https://www.dupont.example"
    assert [row.pk for row in directory_search(country="FR", name="dupont")] == [operator.pk]
    # The role request goes to the national authority: nobody works for the operator yet.
    assert submitted.kind == Request.Kind.OPERATOR_ROLE
    assert submitted.authority.code == "FR-DGDDI"
    assert submitted.payload["message"] == "Je suis le gérant."
    position = Position.objects.get(pk=submitted.payload["position"])
    assert (position.person, position.operator, position.role, position.status) == (
        person,
        operator,
        Role.MANAGER,
        Position.Status.REQUESTED,
    )
    assert audit_actions(operator) == ["operator.created_in_directory"]
    event = AuditEvent.objects.get(action="operator.created_in_directory")
    assert event.actor == person
    assert event.data["eori"] == "FR552100554"
    assert audit_actions(submitted) == ["request.submitted"]
    assert Notice.objects.filter(recipient=national_officer).count() == 1
    assert OutboxMessage.objects.filter(to=national_officer.email).count() == 1
    # The national authority validates the role: the requester is then a manager there.
    approvals.request_approve(actor=national_officer, request_id=submitted.public_id)
    position.refresh_from_db()
    assert position.status == Position.Status.VALID


def test_nothing_is_created_when_the_role_request_cannot_be_sent(person):
    """No national authority to validate the role: the operator is not created either."""
    messages = refused(person)
    assert "no national authority can do it" in " ".join(messages["operator"])


def test_an_unknown_role_is_refused(person, national_officer):
    messages = refused(person, role=Role.LEGAL_REPRESENTATIVE)
    assert messages == {"role": ["Choose the role you ask for: manager or employee."]}


def test_required_details_have_their_own_messages(person, national_officer):
    messages = refused(person, name=" ", city="", address_line1="", country="")
    assert messages["name"] == ["Enter the operator's name."]
    assert messages["city"] == ["Enter the operator's town or city."]
    assert messages["address_line1"] == ["Enter the first line of the operator's address."]
    assert messages["country"] == ["Enter the operator's country as a two-letter code, like FR."]
    assert refused(person, country="FRA")["country"] == [
        "Enter a two-letter country code (ISO 3166), like FR."
    ]


def test_at_least_one_way_to_contact_the_operator(person, national_officer):
    messages = refused(person, phone="", fax="", email="", website="")
    assert messages == {
        "phone": [
            "Enter at least one way to contact the operator: a phone number, a fax number, "
            "an email address or a website."
        ]
    }
    ways = ({"fax": "+33 1 00 00 00 00"}, {"email": "a@b.example"}, {"website": "b.example"})
    for number, (name, way) in enumerate(zip(("Alpha", "Beta", "Gamma"), ways, strict=True)):
        operator, _submitted = create(
            person, phone="", eori="", country="US", national_id=f"US-{number}", name=name, **way
        )
        assert operator.pk


def test_email_website_phone_and_fax_must_be_well_formed(person, national_officer):
    messages = refused(person, email="not an email", website="http://", phone="call me", fax="1")
    assert messages["phone"] == [
        "Enter a phone number using only digits, spaces, brackets, dots, hyphens and a "
        "leading +, like +33 1 23 45 67 89."
    ]
    assert messages["fax"][0].startswith("Enter a fax number using only digits")
    assert messages["email"] == [
        "Enter an email address in the correct format, like name@example.com."
    ]
    assert messages["website"] == [
        "Enter a website address in the correct format, like www.example.com."
    ]


def test_coordinates_are_optional_but_checked(person, national_officer):
    assert refused(person, latitude="91", longitude="2")["latitude"] == [
        "Enter the latitude in decimal degrees, between -90 and 90, like 48.8566."
    ]
    assert refused(person, latitude="48", longitude="-180.5")["longitude"] == [
        "Enter the longitude in decimal degrees, between -180 and 180, like 2.3522."
    ]
    assert refused(person, latitude="north", longitude="2")["latitude"]
    assert refused(person, latitude="48.85")["longitude"] == [
        "Enter both the latitude and the longitude, or neither of them."
    ]
    operator, _submitted = create(person, latitude="-33,8688", longitude="151.2093")
    assert (operator.latitude, operator.longitude) == (Decimal("-33.868800"), Decimal("151.209300"))


def test_an_eu_operator_needs_a_valid_eori(person, national_officer):
    assert refused(person, eori="")["eori"] == [
        "Enter the operator's EORI number: every operator established in the EU has one, and "
        "it keeps the directory free of duplicates."
    ]
    assert refused(person, eori="FR123")["eori"] == [
        "A French EORI number is FR followed by the 9-digit SIREN number or the 14-digit "
        "SIRET number"
    ]
    assert refused(person, eori="GB123456789000")["eori"][0].startswith(
        "EORI numbers that start with GB"
    )


def test_outside_the_eu_the_national_identifier_will_do(person, db):
    AuthorityFactory(code="US-CBP", country="US", kind="national_administration")
    assert refused(person, country="US", eori="")["national_id"] == [
        "Enter the operator's EORI number or, if it has none, its national identification number."
    ]
    operator, submitted = create(person, country="us", eori="", national_id="12-3456789")
    assert (operator.country, operator.eori, operator.national_id) == ("US", "", "12-3456789")
    assert submitted.authority.code == "US-CBP"
    # An operator outside the EU may also hold an EU EORI number.
    operator, _submitted = create(
        person, country="CH", eori="FR123456782", name="Suisse SA", postcode="1200"
    )
    assert operator.eori == "FR123456782"


def test_a_duplicate_eori_is_refused_and_names_the_operator(person, national_officer):
    existing = ListedOperatorFactory(name="Dupont Logistique", eori="FR552100554", country="FR")
    before = state()
    with pytest.raises(EoriTaken) as caught:
        create(person, eori="fr 552 100 554")
    assert state() == before
    assert caught.value.operator == existing
    assert caught.value.message_dict == {
        "eori": [
            "This EORI number belongs to an operator already in the directory: Dupont "
            "Logistique (FR). Request a role there instead of creating it again."
        ]
    }
    # Whatever its status: a closed operator keeps its number.
    Operator.objects.filter(pk=existing.pk).update(status=Operator.Status.CLOSED)
    with pytest.raises(EoriTaken):
        create(person)


def test_likely_duplicates_are_shown_before_creating(person, national_officer):
    twin = ListedOperatorFactory(
        name="TRANSPORTS DUPONT S.A.", eori="FR123456782", postcode="75 002", city="Paris"
    )
    ListedOperatorFactory(name="Transports Dupont", postcode="69001", eori="FR987654324")
    ListedOperatorFactory(name="Boulangerie Martin", postcode="75002", eori="FR732829320")
    ListedOperatorFactory(
        name="Transports Dupont", postcode="75002", status=Operator.Status.CLOSED, eori=""
    )
    before = state()
    with pytest.raises(LikelyDuplicates) as caught:
        create(person, postcode="75002")
    assert state() == before
    assert caught.value.operators == [twin]
    operator, _submitted = create(person, postcode="75002", confirm_duplicate=True)
    event = AuditEvent.objects.get(action="operator.created_in_directory")
    assert event.data["confirmed_not_duplicate"] is True
    assert operator.name == "Transports Dupont"


def test_no_likely_duplicate_without_a_postcode(person, national_officer):
    ListedOperatorFactory(name="Transports Dupont", postcode="", eori="FR123456782")
    operator, _submitted = create(person, postcode="")
    assert operator.pk


# --- the pages -----------------------------------------------------------------------------------


@pytest.fixture
def client(person) -> Client:
    browser = Client()
    browser.force_login(person)
    return browser


def form_data(**overrides: object) -> dict[str, object]:
    data = {**details(), "role": Role.EMPLOYEE, "message": ""}
    data.update(overrides)
    return data


def test_the_page_needs_an_account():
    response = Client().get("/directory/new/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_form_starts_with_what_was_searched(client):
    response = client.get("/directory/new/", {"country": "be", "name": "Dupont Frères"})
    assert response.status_code == 200
    form = response.context["form"]
    assert (form.initial["country"], form.initial["name"]) == ("BE", "Dupont Frères")
    body = response.content.decode()
    assert "We ask for it to avoid duplicates." in body
    assert 'name="role"' in body and 'value="manager"' in body


def test_create_then_see_the_reference(client, person, national_officer):
    response = client.post("/directory/new/", form_data(role=Role.MANAGER, message="Bonjour"))
    submitted = Request.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/directory/new/{submitted.public_id}/"
    page = client.get(response["Location"])
    body = page.content.decode()
    assert submitted.reference in body
    assert "Transports Dupont (FR) is now in the directory." in body
    assert "your national authority validates your role" in body
    assert "Direction générale des douanes" in body
    # Someone else cannot read this confirmation.
    other = Client()
    other.force_login(UserFactory())
    assert other.get(response["Location"]).status_code == 404


def test_bad_input_is_explained_and_changes_nothing(client, national_officer):
    before = state()
    response = client.post(
        "/directory/new/",
        form_data(phone="", eori="", latitude="100", longitude="", role="boss"),
    )
    assert state() == before
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("There is a problem") == 1
    assert "Choose the role you ask for: manager or employee." in body
    # The form's own checks come first; the service's then (contact, EORI, coordinates).
    response = client.post(
        "/directory/new/", form_data(phone="", eori="", latitude="100", longitude="")
    )
    body = response.content.decode()
    assert state() == before
    assert "Enter at least one way to contact the operator" in body
    assert "Enter the operator&#x27;s EORI number" in body
    assert "between -90 and 90" in body
    assert 'href="#id_phone"' in body and 'href="#id_eori"' in body


def test_a_duplicate_eori_links_to_the_operator_found(client, national_officer):
    existing = ListedOperatorFactory(name="Dupont Logistique", eori="FR552100554")
    before = state()
    response = client.post("/directory/new/", form_data())
    assert state() == before
    body = response.content.decode()
    assert "Dupont Logistique (FR). Request a role there instead" in body
    assert f'href="/roles/new/?operator={existing.pk}"' in body


def test_likely_duplicates_page_then_create_anyway(client, national_officer):
    twin = ListedOperatorFactory(name="Transports Dupont SA", postcode="75002", eori="FR123456782")
    response = client.post("/directory/new/", form_data())
    body = response.content.decode()
    assert Operator.objects.count() == 1
    assert "Is it one of these operators?" in body
    assert f'href="/roles/new/?operator={twin.pk}"' in body
    assert 'name="name" value="Transports Dupont"' in body
    assert 'name="confirm_duplicate" value="true"' in body
    # "Change the details" brings the form back, filled in.
    back = client.post("/directory/new/", {**form_data(), "edit": "1"})
    assert back.context["form"]["city"].value() == "Paris"
    assert "There is a problem" not in back.content.decode()
    assert Operator.objects.count() == 1
    # "No, create a new operator".
    response = client.post("/directory/new/", {**form_data(), "confirm_duplicate": "true"})
    assert response.status_code == 302
    assert Operator.objects.filter(name="Transports Dupont").count() == 1


def test_created_page_for_a_request_that_is_not_about_an_operator_is_404(client, person):
    assert client.get("/directory/new/6b1e9a4e-0000-4000-8000-000000000000/").status_code == 404
    authority = AuthorityFactory()
    Request.objects.create(
        reference="REQ-2099-000001",
        kind=Request.Kind.AUTHORITY_ROLE,
        requester=person,
        authority=authority,
        expires_at=timezone.now(),
    )
    public_id = Request.objects.get().public_id
    assert client.get(f"/directory/new/{public_id}/").status_code == 404
