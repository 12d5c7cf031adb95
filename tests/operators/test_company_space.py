"""Your companies, an operator's professional space, its operations (history, change), the
transfer of the legal representation and the private space: pages and scope by role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators.models import (
    Authority,
    CustomsOperation,
    Operator,
    OperatorOperation,
    Position,
)
from comptoir.operators.services import operation_grant
from tests.factories import UserFactory
from tests.factories_operators import (
    AuthorityFactory,
    OperatorFactory,
    PositionFactory,
    member,
    officer,
)

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status


@dataclass
class Company:
    """An active operator with one person in each role, and the customs who decide for it."""

    authority: Authority
    officer: User
    operator: Operator
    legal_representative: User
    manager: User
    employee: User
    suspended: User  # a suspended employee
    applicant: User  # asked to join (requested manager)
    outsider: User


def build_company() -> Company:
    authority = AuthorityFactory(
        code="FR-DGDDI", country="FR", kind=Authority.Kind.NATIONAL_ADMINISTRATION
    )
    operator = OperatorFactory(eori="FR552100554", name="Dupont SA", country="FR")
    company = Company(
        authority=authority,
        officer=officer(authority, username="officer_1"),
        operator=operator,
        legal_representative=member(
            operator, Role.LEGAL_REPRESENTATIVE, username="legalrep1", first_name="Lea"
        ),
        manager=member(operator, Role.MANAGER, username="manager_1", first_name="Marc"),
        employee=member(operator, Role.EMPLOYEE, username="employee1", first_name="Emma"),
        suspended=UserFactory(username="suspended1", first_name="Sam"),
        applicant=UserFactory(username="applicant1", first_name="Alex"),
        outsider=UserFactory(username="outsider1"),
    )
    PositionFactory(
        person=company.suspended, operator=operator, role=Role.EMPLOYEE, status=PS.SUSPENDED
    )
    approvals.membership_request_submit(
        requester=company.applicant, operator=operator, role=Role.MANAGER
    )
    for code in ("IMPORT", "TRANSIT"):
        operation_grant(
            actor=company.officer,
            operator=operator,
            operation=CustomsOperation.objects.get(code=code),
        )
    return company


@pytest.fixture
def company() -> Company:
    return build_company()


def client_for(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def space_url(company: Company, suffix: str = "") -> str:
    return f"/companies/{company.operator.pk}/{suffix}"


# --- Your companies -----------------------------------------------------------------------------


def test_your_companies_lists_positions_with_role_and_status(company):
    other = OperatorFactory(name="Autre SARL")
    PositionFactory(person=company.manager, operator=other, role=Role.EMPLOYEE, status=PS.ENDED)
    page = client_for(company.manager).get("/companies/").content.decode()
    assert "Dupont SA" in page and f'href="/companies/{company.operator.pk}/"' in page
    assert "Manager" in page and "Valid" in page
    assert "Autre SARL" not in page  # ended positions are not "your companies"
    assert 'href="/companies/register/"' in page and 'href="/companies/join/"' in page

    applicant_page = client_for(company.applicant).get("/companies/").content.decode()
    assert "Dupont SA" in applicant_page and "Requested" in applicant_page
    # Asked to join, not a member yet: no link to the space.
    assert f'href="/companies/{company.operator.pk}/"' not in applicant_page

    assert "You do not belong to any company yet." in (
        client_for(company.outsider).get("/companies/").content.decode()
    )


def test_your_companies_needs_sign_in():
    response = Client().get("/companies/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- The professional space by role -------------------------------------------------------------


def test_legal_representative_sees_details_members_with_actions_requests_and_operations(company):
    Notice.objects.create(
        recipient=company.legal_representative,
        operator=company.operator,
        topic="request.submitted",
        title="Alex asks to join Dupont SA",
        link="/requests/queue/",
    )
    Notice.objects.create(
        recipient=company.legal_representative,
        operator=OperatorFactory(),
        topic="request.submitted",
        title="About another company",
    )
    response = client_for(company.legal_representative).get(space_url(company))
    assert response.status_code == 200
    page = response.content.decode()
    assert "FR552100554" in page and "Dupont SA" in page and "Active" in page
    # Members, the request to join included, with actions on the others only.
    for name in ("Marc", "Emma", "Sam", "Alex"):
        assert name in page
    manager_position = Position.objects.get(person=company.manager)
    assert f"/members/{manager_position.pk}/role/" in page
    assert f"/members/{manager_position.pk}/suspend/" in page
    suspended_position = Position.objects.get(person=company.suspended)
    assert f"/members/{suspended_position.pk}/reinstate/" in page
    own = Position.objects.get(person=company.legal_representative)
    assert f"/members/{own.pk}/" not in page
    # The operator's requests, operations and messages.
    membership = Request.objects.get(requester=company.applicant)
    assert membership.reference in page and f"/requests/{membership.public_id}/" in page
    assert "Import (IMPORT)" in page and "Transit (TRANSIT)" in page
    assert "/operations/history/" in page and "/operations/change/" in page
    assert "Alex asks to join Dupont SA" in page and 'href="/requests/queue/"' in page
    assert "About another company" not in page
    assert "/transfer/" in page and "/merge/" in page and "/delete/" in page


def test_manager_manages_members_but_not_the_legal_representative(company):
    page = client_for(company.manager).get(space_url(company)).content.decode()
    lr = Position.objects.get(person=company.legal_representative)
    employee = Position.objects.get(person=company.employee)
    assert f"/members/{employee.pk}/suspend/" in page
    assert f"/members/{lr.pk}/" not in page
    assert "Alex" in page  # requests to join are shown to managers
    assert "/operations/change/" not in page and "/transfer/" not in page
    assert "/delete/" not in page and "/merge/" not in page


def test_employee_sees_valid_members_without_actions_nor_requests(company):
    page = client_for(company.employee).get(space_url(company)).content.decode()
    assert "Marc" in page and "Lea" in page
    assert "Alex" not in page and "Sam" not in page  # only the valid members
    assert "/members/" not in page
    membership = Request.objects.get(requester=company.applicant)
    assert membership.reference not in page
    assert "Import (IMPORT)" in page and "/operations/history/" in page
    assert "/operations/change/" not in page


def test_suspended_member_sees_the_space_but_nothing_to_act_on(company):
    response = client_for(company.suspended).get(space_url(company))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your position in this company is suspended" in page
    assert "Dupont SA" in page and "Marc" not in page and "Import (IMPORT)" not in page
    history = client_for(company.suspended).get(space_url(company, "operations/history/"))
    assert history.status_code == 403


@pytest.mark.parametrize("who", ["outsider", "applicant"])
@pytest.mark.parametrize(
    "suffix",
    [
        "",
        "operations/history/",
        "operations/change/",
        "transfer/",
        "leave/",
        "merge/",
        "delete/",
    ],
)
def test_people_outside_the_space_get_404(company, who, suffix):
    client = client_for(getattr(company, who))
    assert client.get(space_url(company, suffix)).status_code == 404
    assert client.get(f"/companies/999999/{suffix}").status_code == 404


def test_a_former_member_gets_404(company):
    Position.objects.filter(person=company.employee).update(status=PS.ENDED)
    assert client_for(company.employee).get(space_url(company)).status_code == 404


def test_a_deleted_space_answers_404_to_everyone(company):
    Operator.objects.filter(pk=company.operator.pk).update(deleted_at=timezone.now())
    for person in (company.legal_representative, company.manager, company.employee):
        assert client_for(person).get(space_url(company)).status_code == 404


def test_a_merged_space_redirects_to_the_one_kept(company):
    kept = OperatorFactory(eori="", name="Dupont SA (2)", country="FR")
    PositionFactory(person=company.manager, operator=kept, role=Role.MANAGER)
    Operator.objects.filter(pk=company.operator.pk).update(
        merged_into=kept, status=Operator.Status.CLOSED
    )
    client = client_for(company.manager)
    response = client.get(space_url(company))
    assert response.status_code == 302 and response["Location"] == f"/companies/{kept.pk}/"
    history = client.get(space_url(company, "operations/history/"))
    assert history["Location"] == f"/companies/{kept.pk}/operations/history/"
    # Someone who is not a member of the space kept gets 404, merged or not.
    assert client_for(company.outsider).get(space_url(company)).status_code == 404


# --- Operations ---------------------------------------------------------------------------------


def test_operations_history_shows_grants_and_revocations_with_their_requests(company):
    change = approvals.operation_change_submit(
        requester=company.legal_representative,
        operator=company.operator,
        authority=company.authority,
        add=["ICS"],
        remove=["IMPORT"],
    )
    approvals.request_approve(actor=company.officer, request_id=change.public_id)
    User.objects.filter(pk=company.employee.pk).update(language="fr")  # pages in French
    page = client_for(company.employee).get(space_url(company, "operations/history/"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Importation (IMPORT)" in text  # the label in the current language
    assert "Système de contrôle des importations (ICS)" in text
    assert text.count(change.reference) == 2  # granted ICS, revoked IMPORT
    import_grant = OperatorOperation.objects.get(operation__code="IMPORT")
    assert import_grant.revoked_by_request == change.public_id


def test_legal_representative_asks_to_change_operations(company):
    client = client_for(company.legal_representative)
    form = client.get(space_url(company, "operations/change/")).content.decode()
    # Add among those not held, remove among those held.
    assert 'name="add" id="id_add_0" value="TEMPORARY_STORAGE"' in form
    assert 'name="add"' in form and 'value="ICS"' in form
    assert 'name="remove" id="id_remove_0" value="IMPORT"' in form
    response = client.post(
        space_url(company, "operations/change/"), {"add": ["ICS"], "remove": ["TRANSIT"]}
    )
    assert response.status_code == 302 and response["Location"] == space_url(company)
    change = Request.objects.get(kind=Request.Kind.OPERATION_CHANGE)
    assert change.payload == {"add": ["ICS"], "remove": ["TRANSIT"]}
    assert change.authority == company.authority and change.operator == company.operator
    assert OutboxMessage.objects.filter(to=company.officer.email).exists()
    page = client.get(space_url(company)).content.decode()
    assert change.reference in page and "is waiting for a decision by customs" in page
    # A second change is refused by the request's handler, with its message.
    before = Request.objects.count()
    again = client.post(space_url(company, "operations/change/"), {"add": ["AC4"]})
    assert again.status_code == 422
    assert "A change of operations is already waiting for a decision." in again.content.decode()
    assert Request.objects.count() == before


def test_operation_change_needs_at_least_one_operation(company):
    client = client_for(company.legal_representative)
    response = client.post(space_url(company, "operations/change/"), {})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Select at least one operation to add or remove." in page
    assert 'href="#id_add_0"' in page and "error-summary" in page
    bogus = client.post(space_url(company, "operations/change/"), {"remove": ["ICS"]})
    assert bogus.status_code == 422 and "Select operations to remove from the list." in (
        bogus.content.decode()
    )
    assert not Request.objects.filter(kind=Request.Kind.OPERATION_CHANGE).exists()


@pytest.mark.parametrize("who", ["manager", "employee", "suspended"])
def test_only_the_legal_representative_changes_operations(company, who):
    client = client_for(getattr(company, who))
    assert client.get(space_url(company, "operations/change/")).status_code == 403
    response = client.post(space_url(company, "operations/change/"), {"add": ["ICS"]})
    assert response.status_code == 403
    assert "Only the legal representative" in response.content.decode()
    assert not Request.objects.filter(kind=Request.Kind.OPERATION_CHANGE).exists()


def test_operation_change_without_a_competent_authority_says_so(company):
    Authority.objects.filter(pk=company.authority.pk).update(kind=Authority.Kind.CUSTOMS_OFFICE)
    response = client_for(company.legal_representative).post(
        space_url(company, "operations/change/"), {"add": ["ICS"]}
    )
    assert response.status_code == 422
    assert "No customs authority can receive requests" in response.content.decode()
    assert not Request.objects.filter(kind=Request.Kind.OPERATION_CHANGE).exists()


# --- Transfer of the legal representation -------------------------------------------------------


def test_transfer_is_asked_then_decided_by_customs(company):
    client = client_for(company.legal_representative)
    form = client.get(space_url(company, "transfer/")).content.decode()
    assert "Marc" in form and "Emma" in form
    assert "Sam" not in form and "Alex" not in form  # only valid members
    response = client.post(space_url(company, "transfer/"), {"to_person": company.manager.pk})
    assert response.status_code == 302
    transfer = Request.objects.get(kind=Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER)
    assert transfer.payload == {"to_person": company.manager.pk}
    assert transfer.authority == company.authority
    page = client.get(space_url(company)).content.decode()
    assert transfer.reference in page and "to transfer the legal representation" in page
    # Customs approve: the manager becomes the legal representative, the former one leaves it.
    approvals.request_approve(actor=company.officer, request_id=transfer.public_id)
    assert (
        Position.objects.get(
            operator=company.operator, role=Role.LEGAL_REPRESENTATIVE, status=PS.VALID
        ).person
        == company.manager
    )


def test_transfer_refuses_a_person_who_is_not_a_valid_member(company):
    client = client_for(company.legal_representative)
    for person in (company.suspended, company.outsider):
        response = client.post(space_url(company, "transfer/"), {"to_person": person.pk})
        assert response.status_code == 422
        assert "Choose the member who will be the new legal representative." in (
            response.content.decode()
        )
    assert client_for(company.manager).get(space_url(company, "transfer/")).status_code == 403
    assert not Request.objects.filter(kind=Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER).exists()


# --- Private space ------------------------------------------------------------------------------


def test_private_space_shows_positions_counts_requests_and_notices(company):
    other = OperatorFactory(name="Ancienne SARL")
    PositionFactory(person=company.applicant, operator=other, status=PS.ENDED)
    PositionFactory(person=company.applicant, operator=OperatorFactory(name="Actuelle SAS"))
    Notice.objects.create(
        recipient=company.applicant, topic="t", title="Your request was received", link="/x/"
    )
    Notice.objects.create(
        recipient=company.manager, topic="t", title="Not for the applicant", link="/y/"
    )
    page = client_for(company.applicant).get("/space/").content.decode()
    membership = Request.objects.get(requester=company.applicant)
    assert "Dupont SA" in page and "Ancienne SARL" in page and "Actuelle SAS" in page
    assert membership.reference in page
    assert "Your request was received" in page and "Not for the applicant" not in page
    # Counts per status: one requested, one valid, one ended.
    for label in ("Requested", "Valid", "Ended"):
        assert f'<th scope="row">{label}</th><td>1</td>' in page
    assert '<th scope="row">Suspended</th><td>0</td>' in page
    # Links to the professional spaces the person may open only.
    actual = Operator.objects.get(name="Actuelle SAS")
    assert f'href="/companies/{actual.pk}/"' in page
    assert f'href="/companies/{other.pk}/"' not in page
    assert f'href="/companies/{company.operator.pk}/"' not in page


def test_existing_pages_still_work(company):
    client = client_for(company.employee)
    assert client.get("/requests/").status_code == 200
    assert client.get("/companies/join/").status_code == 200
    assert client.get("/companies/register/").status_code == 200


def test_actions_are_audited_with_the_actor(company):
    client = client_for(company.legal_representative)
    client.post(space_url(company, "operations/change/"), {"add": ["ICS"]})
    event = AuditEvent.objects.get(action="request.submitted", data__kind="operation_change")
    assert event.actor == company.legal_representative
