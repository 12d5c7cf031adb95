"""The roles pages: /roles/ (the person's roles, counted by status), /roles/new/ (at an operator
handed over by the directory, or at an authority), the confirmation that says who validates,
the profile's summary and what the deciders read."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from comptoir.approvals import services
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, PositionFactory, officer

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status


@pytest.fixture
def national(db) -> Authority:
    return AuthorityFactory(
        code="FR-DGDDI", name="Direction générale des douanes", kind="national_administration"
    )


@pytest.fixture
def person(db):
    return UserFactory(username="newcomer1", phone="+33 6 00 00 00 00")


@pytest.fixture
def signed_in(client, person):
    client.force_login(person)
    return client


def state() -> tuple[int, int, int]:
    return Position.objects.count(), Request.objects.count(), AuditEvent.objects.count()


def html(response) -> str:
    return response.content.decode()


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/roles/", "/roles/new/", f"/roles/requested/{uuid.uuid4()}/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("query", ["?operator=999999", "?operator=abc", "?operator=closed"])
def test_an_operator_not_in_the_directory_answers_404(signed_in, query):
    closed = OperatorFactory(status=Operator.Status.CLOSED)
    merged = OperatorFactory(merged_into=closed)
    query = query.replace("closed", str(closed.pk))
    assert signed_in.get(f"/roles/new/{query}").status_code == 404
    assert signed_in.get(f"/roles/new/?operator={merged.pk}").status_code == 404
    deleted = OperatorFactory(deleted_at=timezone.now())
    assert signed_in.get(f"/roles/new/?operator={deleted.pk}").status_code == 404
    assert signed_in.post(f"/roles/new/{query}", {"role": "employee"}).status_code == 404
    assert Position.objects.count() == 0


# --- the person's roles -------------------------------------------------------------------------


def test_the_roles_page_lists_every_role_with_its_organisation_and_counts_them(signed_in, person):
    operator = OperatorFactory(name="Dupont SA", eori="FR552100554")
    other = OperatorFactory(name="Martin Logistique")
    office = AuthorityFactory(code="FR-PARIS-1", name="Bureau de Paris")
    PositionFactory(person=person, operator=operator, role=Role.EMPLOYEE)
    PositionFactory(person=person, operator=operator, role=Role.MANAGER, status=PS.REQUESTED)
    PositionFactory(person=person, operator=other, role=Role.EMPLOYEE, status=PS.REJECTED)
    PositionFactory(person=person, authority=office, role=Role.OFFICER, status=PS.SUSPENDED)
    PositionFactory(operator=operator)  # someone else's

    response = signed_in.get("/roles/")
    assert response.status_code == 200
    page = html(response)
    assert response.context["counts"] == [
        ("requested", "Requested", 1),
        ("valid", "Valid", 1),
        ("suspended", "Suspended", 1),
        ("rejected", "Rejected", 1),
        ("ended", "Ended", 0),
    ]
    assert len(response.context["positions"]) == 4
    assert '<th scope="row">Ended</th><td>0</td>' in page
    assert f'href="/companies/{operator.pk}/">Dupont SA</a>' in page  # valid: its space
    assert "Martin Logistique" in page and f"/companies/{other.pk}/" not in page
    assert "Bureau de Paris" in page and "Customs office" in page
    assert 'href="/roles/new/"' in page and "Request a new role" in page


def test_with_no_role_the_page_says_so(signed_in):
    page = html(signed_in.get("/roles/"))
    assert "You do not hold any role yet." in page


def test_the_profile_counts_the_roles_by_status_and_links_to_them(signed_in, person):
    operator = OperatorFactory()
    PositionFactory(person=person, operator=operator, role=Role.EMPLOYEE)
    PositionFactory(person=person, operator=OperatorFactory(), role=Role.EMPLOYEE)
    PositionFactory(person=person, operator=operator, role=Role.MANAGER, status=PS.REQUESTED)
    page = html(signed_in.get("/profile/"))
    assert '<th scope="row">Valid</th><td>2</td>' in page
    assert '<th scope="row">Requested</th><td>1</td>' in page
    assert 'href="/roles/"' in page and 'href="/roles/new/"' in page


# --- at an operator of the directory ------------------------------------------------------------


def test_a_role_at_an_operator_with_managers_is_validated_by_them(signed_in, person, national):
    operator = OperatorFactory(name="Dupont SA", postcode="69001", city="Lyon")
    manager = UserFactory(username="manager_1")
    PositionFactory(person=manager, operator=operator, role=Role.MANAGER)

    form_page = signed_in.get(f"/roles/new/?operator={operator.pk}")
    assert form_page.status_code == 200
    page = html(form_page)
    assert "Dupont SA" in page and 'value="manager"' in page and 'value="officer"' not in page
    assert form_page.context["form"]["email"].value() == person.email  # from the profile
    assert form_page.context["form"]["phone"].value() == "+33 6 00 00 00 00"

    response = signed_in.post(
        f"/roles/new/?operator={operator.pk}",
        {
            "operator": operator.pk,
            "role": "manager",
            "message": "I run the Lyon warehouse.",
            "email": "ada.work@example.test",
            "phone": "04 72 00 00 00",
        },
    )
    submitted = Request.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/roles/requested/{submitted.public_id}/"
    assert submitted.kind == Request.Kind.MEMBERSHIP and submitted.requester == person
    assert submitted.payload["message"] == "I run the Lyon warehouse."
    position = Position.objects.get(person=person)
    assert (position.operator, position.role, position.status) == (
        operator,
        Role.MANAGER,
        PS.REQUESTED,
    )

    confirmation = signed_in.get(response["Location"])
    page = html(confirmation)
    assert confirmation.status_code == 200
    assert submitted.reference in page and "Dupont SA" in page and "Manager" in page
    assert "The operator's legal representative or a manager validates your role." in page

    # The manager reads the message and the contact on the request's page.
    signed_in.force_login(manager)
    detail = html(signed_in.get(f"/requests/{submitted.public_id}/"))
    assert "I run the Lyon warehouse." in detail
    assert "ada.work@example.test" in detail and "04 72 00 00 00" in detail


def test_a_role_at_a_new_operator_is_validated_by_the_national_authority(
    signed_in, person, national
):
    decider = officer(national)
    operator = OperatorFactory(name="Martin Logistique")
    response = signed_in.post(
        f"/roles/new/?operator={operator.pk}", {"operator": operator.pk, "role": "employee"}
    )
    submitted = Request.objects.get()
    assert submitted.kind == Request.Kind.OPERATOR_ROLE and submitted.authority == national
    page = html(signed_in.get(response["Location"]))
    assert "Your national authority validates your role." in page
    assert "Direction générale des douanes" in page
    services.request_approve(actor=decider, request_id=submitted.public_id)
    roles = signed_in.get("/roles/")
    assert ("valid", "Valid", 1) in roles.context["counts"]


def test_several_operators_from_the_directory_ask_which_one(signed_in, person, national):
    first = OperatorFactory(name="Alpha Transit")
    second = OperatorFactory(name="Beta Fret")
    url = f"/roles/new/?operator={second.pk}&operator={first.pk}"
    page = html(signed_in.get(url))
    assert "Which operator do you work for?" in page
    assert page.index("Alpha Transit") < page.index("Beta Fret")

    response = signed_in.post(url, {"role": "employee"})
    assert response.status_code == 200
    assert "Choose the operator where you ask for a role." in html(response)
    stranger = OperatorFactory()
    response = signed_in.post(url, {"role": "employee", "operator": stranger.pk})
    assert "Choose the operator where you ask for a role." in html(response)
    assert Position.objects.count() == 0

    response = signed_in.post(url, {"role": "employee", "operator": second.pk})
    assert response.status_code == 302
    assert Position.objects.get(person=person).operator == second


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose the role you ask for: manager or employee."),
        ({"role": "officer"}, "Choose the role you ask for: manager or employee."),
        (
            {"role": "employee", "email": "nope"},
            "Enter an email address in the correct format, like name@example.com.",
        ),
        ({"role": "employee", "phone": "call me"}, "Enter a phone number using only digits"),
        ({"role": "employee", "message": "x" * 1001}, "Enter a message of 1000 characters"),
    ],
)
def test_bad_input_shows_the_error_summary_and_changes_nothing(signed_in, national, data, message):
    operator = OperatorFactory()
    before = state()
    response = signed_in.post(
        f"/roles/new/?operator={operator.pk}", {"operator": operator.pk, **data}
    )
    assert response.status_code == 200
    page = html(response)
    assert page.count(message) == 2  # in the summary and at the field
    assert "There is a problem" in page and "<title>Error:" in page
    assert state() == before


def test_asking_again_for_a_waiting_role_is_refused_on_the_role(signed_in, person, national):
    operator = OperatorFactory()
    PositionFactory(person=person, operator=operator, role=Role.EMPLOYEE, status=PS.REQUESTED)
    before = state()
    response = signed_in.post(
        f"/roles/new/?operator={operator.pk}", {"operator": operator.pk, "role": "employee"}
    )
    assert response.status_code == 200
    assert (
        "You already hold this role there, or your request for it is waiting."
        in response.context["form"].errors["role"]
    )
    assert state() == before


# --- at an authority ----------------------------------------------------------------------------


def test_the_new_role_page_offers_the_directory_and_the_authorities(signed_in):
    AuthorityFactory(code="FR-PARIS-1", name="Bureau de Paris")
    page = html(signed_in.get("/roles/new/"))
    assert 'href="/directory/"' in page
    assert "Bureau de Paris (FR-PARIS-1, FR)" in page
    assert 'value="officer"' in page and 'value="service_desk"' in page
    assert 'value="manager"' not in page


def test_a_role_at_an_authority_is_validated_by_its_officers(signed_in, person, national):
    office = AuthorityFactory(code="FR-PARIS-1", name="Bureau de Paris")
    decider = officer(office)
    response = signed_in.post(
        "/roles/new/", {"authority": office.pk, "role": "service_desk", "message": "Hello"}
    )
    submitted = Request.objects.get()
    assert submitted.kind == Request.Kind.AUTHORITY_ROLE and submitted.authority == office
    position = Position.objects.get(person=person)
    assert (position.authority, position.role) == (office, Role.SERVICE_DESK)
    page = html(signed_in.get(response["Location"]))
    assert "The officers of Bureau de Paris validate your role." in page
    services.request_approve(actor=decider, request_id=submitted.public_id)
    position.refresh_from_db()
    assert position.status == PS.VALID


def test_an_authority_without_officers_sends_the_role_to_the_national_authority(
    signed_in, national
):
    post = AuthorityFactory(code="FR-BCP-1", name="Poste frontalier", kind="border_control_post")
    response = signed_in.post("/roles/new/", {"authority": post.pk, "role": "officer"})
    assert Request.objects.get().authority == national
    assert "Your national authority validates your role." in html(
        signed_in.get(response["Location"])
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "officer"}, "Choose the authority where you ask for a role."),
        ({"role": "officer", "authority": "999999"}, "Choose the authority where you ask"),
        ({"authority": "AUTH"}, "Choose the role you ask for: officer or service desk."),
        ({"authority": "AUTH", "role": "manager"}, "Choose the role you ask for: officer or"),
    ],
)
def test_bad_authority_input_is_refused(signed_in, data, message):
    office = AuthorityFactory()
    data = {key: str(office.pk) if value == "AUTH" else value for key, value in data.items()}
    before = state()
    response = signed_in.post("/roles/new/", data)
    assert response.status_code == 200
    assert message in html(response)
    assert state() == before


# --- the confirmation page ----------------------------------------------------------------------


def test_the_confirmation_shows_only_the_persons_own_role_requests(signed_in, person, national):
    office = AuthorityFactory()
    officer(office)
    mine = services.role_request_submit(requester=person, authority=office, role="officer")
    theirs = services.role_request_submit(requester=UserFactory(), authority=office, role="officer")
    registration = services.operator_registration_submit(
        requester=person,
        authority=national,
        operations=["IMPORT"],
        eori="FR987654324",
        name="Martin Logistique",
        country="FR",
    )
    assert signed_in.get(f"/roles/requested/{mine.public_id}/").status_code == 200
    assert signed_in.get(f"/roles/requested/{theirs.public_id}/").status_code == 404
    assert signed_in.get(f"/roles/requested/{registration.public_id}/").status_code == 404
    assert signed_in.get(f"/roles/requested/{uuid.uuid4()}/").status_code == 404
