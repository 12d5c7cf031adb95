"""Managing the members of a professional space: change a role, suspend, reinstate, end a
position, leave. The rules live in the services (checked here directly) and the pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from comptoir.audit.models import AuditEvent
from comptoir.operators import services
from comptoir.operators.models import Position
from tests.operators.test_company_space import Company, build_company, client_for, space_url

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status


@pytest.fixture
def company() -> Company:
    return build_company()


def position_of(company: Company, who: str) -> Position:
    return Position.objects.get(
        person=getattr(company, who), operator=company.operator, status__in=(PS.VALID, PS.SUSPENDED)
    )


def member_url(company: Company, position: Position, action: str) -> str:
    return space_url(company, f"members/{position.pk}/{action}/")


# --- Change of role -----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["legal_representative", "manager"])
def test_role_change_ends_the_old_position_and_starts_a_new_one(company, actor):
    employee = position_of(company, "employee")
    client = client_for(getattr(company, actor))
    page = client.get(member_url(company, employee, "role"))
    assert page.status_code == 200 and "Change the role of Emma" in page.content.decode()
    response = client.post(member_url(company, employee, "role"), {"role": Role.MANAGER})
    assert response.status_code == 302 and response["Location"] == space_url(company)
    employee.refresh_from_db()
    assert employee.status == PS.ENDED and employee.until is not None
    new = Position.objects.get(person=company.employee, operator=company.operator, status=PS.VALID)
    assert new.role == Role.MANAGER and new.since is not None
    event = AuditEvent.objects.get(action="position.role_changed")
    assert event.actor == getattr(company, actor)
    assert event.subject_id == str(new.pk)
    assert event.data["before"] == {"position": employee.pk, "role": "employee"}
    assert event.data["after"] == {"position": new.pk, "role": "manager"}
    assert event.data["person"] == company.employee.pk
    ended = AuditEvent.objects.get(action="position.ended", subject_id=str(employee.pk))
    assert ended.data["from"] == "valid" and ended.data["to"] == "ended"
    followed = client.get(space_url(company)).content.decode()
    assert "The role of Emma Lovelace is now: Manager." in followed


def test_role_change_rules(company):
    lr = company.legal_representative
    manager = position_of(company, "manager")
    # Nobody changes their own role.
    with pytest.raises(PermissionDenied, match=r"You cannot change your own role\."):
        services.position_role_change(actor=company.manager, position=manager, role=Role.EMPLOYEE)
    # The legal representative's role changes only by transfer.
    with pytest.raises(PermissionDenied, match="transfer of the legal representation"):
        services.position_role_change(
            actor=company.manager,
            position=position_of(company, "legal_representative"),
            role=Role.MANAGER,
        )
    # Employees do not manage members.
    with pytest.raises(PermissionDenied, match="Only the legal representative and managers"):
        services.position_role_change(actor=company.employee, position=manager, role=Role.EMPLOYEE)
    # Only manager or employee; not the same role; not a suspended position.
    with pytest.raises(ValidationError) as bad_role:
        services.position_role_change(actor=lr, position=manager, role=Role.LEGAL_REPRESENTATIVE)
    assert bad_role.value.message_dict == {"role": ["Choose the new role: manager or employee."]}
    with pytest.raises(ValidationError, match="already has this role"):
        services.position_role_change(actor=lr, position=manager, role=Role.MANAGER)
    with pytest.raises(ValidationError, match="reinstate it first"):
        services.position_role_change(
            actor=lr, position=position_of(company, "suspended"), role=Role.MANAGER
        )
    assert not AuditEvent.objects.filter(action="position.role_changed").exists()
    assert Position.objects.filter(operator=company.operator, status=PS.ENDED).count() == 0


def test_role_change_page_refuses_and_changes_nothing(company):
    lr_position = position_of(company, "legal_representative")
    response = client_for(company.manager).post(
        member_url(company, lr_position, "role"), {"role": Role.EMPLOYEE}
    )
    assert response.status_code == 403
    assert "transfer of the legal representation" in response.content.decode()
    employee = position_of(company, "employee")
    response = client_for(company.employee).get(member_url(company, employee, "role"))
    assert response.status_code == 403
    empty = client_for(company.manager).post(member_url(company, employee, "role"), {})
    assert empty.status_code == 422
    assert "Choose the new role: manager or employee." in empty.content.decode()
    lr_position.refresh_from_db()
    employee.refresh_from_db()
    assert lr_position.status == PS.VALID and employee.role == Role.EMPLOYEE
    assert employee.status == PS.VALID


# --- Suspend, reinstate, end --------------------------------------------------------------------


def test_suspend_then_reinstate_then_end_through_the_pages(company):
    employee = position_of(company, "employee")
    client = client_for(company.manager)
    confirm = client.get(member_url(company, employee, "suspend")).content.decode()
    assert "Suspend this member" in confirm and "Emma" in confirm
    employee.refresh_from_db()
    assert employee.status == PS.VALID  # the confirmation page changes nothing
    assert client.post(member_url(company, employee, "suspend"))["Location"] == space_url(company)
    employee.refresh_from_db()
    assert employee.status == PS.SUSPENDED
    # A suspended employee can no longer see the members.
    assert "Marc" not in client_for(company.employee).get(space_url(company)).content.decode()
    client.post(member_url(company, employee, "reinstate"))
    employee.refresh_from_db()
    assert employee.status == PS.VALID
    client.post(member_url(company, employee, "end"))
    employee.refresh_from_db()
    assert employee.status == PS.ENDED and employee.until is not None
    actions = list(
        AuditEvent.objects.filter(subject_id=str(employee.pk), actor=company.manager)
        .order_by("sequence")
        .values_list("action", "data__from", "data__to")
    )
    assert actions == [
        ("position.suspended", "valid", "suspended"),
        ("position.reinstated", "suspended", "valid"),
        ("position.ended", "valid", "ended"),
    ]
    # An ended position is no longer a member's: its pages answer 404.
    assert client.get(member_url(company, employee, "end")).status_code == 404
    assert client_for(company.employee).get(space_url(company)).status_code == 404


def test_the_wrong_transition_gets_a_clear_message(company):
    employee = position_of(company, "employee")
    with pytest.raises(ValidationError, match=r"Only a suspended position can be reinstated\."):
        services.position_member_reinstate(actor=company.manager, position=employee)
    client = client_for(company.manager)
    response = client.post(member_url(company, employee, "reinstate"))
    assert response.status_code == 302
    page = client.get(space_url(company)).content.decode()
    assert "Only a suspended position can be reinstated." in page
    suspended = position_of(company, "suspended")
    with pytest.raises(ValidationError, match=r"Only a valid position can be suspended\."):
        services.position_member_suspend(actor=company.manager, position=suspended)
    employee.refresh_from_db()
    assert employee.status == PS.VALID


def test_a_request_to_join_is_decided_not_managed(company):
    requested = Position.objects.get(person=company.applicant)
    with pytest.raises(ValidationError, match="request to join is waiting"):
        services.position_member_end(actor=company.legal_representative, position=requested)
    requested.refresh_from_db()
    assert requested.status == PS.REQUESTED


@pytest.mark.parametrize("action", ["suspend", "end"])
def test_nobody_suspends_or_ends_the_legal_representative_or_themselves(company, action):
    service = {
        "suspend": services.position_member_suspend,
        "end": services.position_member_end,
    }[action]
    lr = position_of(company, "legal_representative")
    manager = position_of(company, "manager")
    with pytest.raises(PermissionDenied, match="transfer of the legal representation"):
        service(actor=company.manager, position=lr)
    with pytest.raises(PermissionDenied, match=r"You cannot change your own position\."):
        service(actor=company.manager, position=manager)
    with pytest.raises(PermissionDenied, match=r"You cannot change your own position\."):
        service(actor=company.legal_representative, position=lr)
    response = client_for(company.manager).post(member_url(company, lr, action))
    assert response.status_code == 403
    lr.refresh_from_db()
    manager.refresh_from_db()
    assert lr.status == PS.VALID and manager.status == PS.VALID


@pytest.mark.parametrize("who", ["employee", "suspended"])
@pytest.mark.parametrize("action", ["role", "suspend", "reinstate", "end"])
def test_employees_and_suspended_members_cannot_manage(company, who, action):
    target = position_of(company, "manager")
    client = client_for(getattr(company, who))
    assert client.get(member_url(company, target, action)).status_code == 403
    assert client.post(member_url(company, target, action), {"role": "employee"}).status_code == 403
    target.refresh_from_db()
    assert target.status == PS.VALID and target.role == Role.MANAGER


def test_a_suspended_manager_cannot_manage(company):
    Position.objects.filter(person=company.manager).update(status=PS.SUSPENDED)
    employee = position_of(company, "employee")
    with pytest.raises(PermissionDenied):
        services.position_member_suspend(actor=company.manager, position=employee)


def test_outsiders_and_other_operators_positions_get_404(company):
    employee = position_of(company, "employee")
    assert client_for(company.outsider).post(member_url(company, employee, "end")).status_code == (
        404
    )
    other = build_other_company_position()
    response = client_for(company.manager).post(space_url(company, f"members/{other.pk}/suspend/"))
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == PS.VALID


def build_other_company_position() -> Position:
    from tests.factories_operators import OperatorFactory, PositionFactory

    return PositionFactory(operator=OperatorFactory(), role=Role.EMPLOYEE)


# --- Leave --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["employee", "manager", "suspended"])
def test_a_member_leaves(company, who):
    person = getattr(company, who)
    position = position_of(company, who)
    client = client_for(person)
    confirm = client.get(space_url(company, "leave/")).content.decode()
    assert "Leave the company" in confirm
    response = client.post(space_url(company, "leave/"))
    assert response.status_code == 302 and response["Location"] == "/companies/"
    position.refresh_from_db()
    assert position.status == PS.ENDED
    event = AuditEvent.objects.get(action="position.left", subject_id=str(position.pk))
    assert event.actor == person and event.data["to"] == "ended"
    assert client.get(space_url(company)).status_code == 404


def test_the_legal_representative_must_transfer_before_leaving(company):
    client = client_for(company.legal_representative)
    page = client.get(space_url(company, "leave/")).content.decode()
    assert "transfer the legal representation to another member before you leave" in page
    assert "/transfer/" in page and "Leave the company</button>" not in page
    response = client.post(space_url(company, "leave/"), follow=True)
    assert "transfer the legal representation to another member before you leave" in (
        response.content.decode()
    )
    with pytest.raises(PermissionDenied):
        services.position_leave(actor=company.legal_representative, operator=company.operator)
    assert position_of(company, "legal_representative").status == PS.VALID
    assert not AuditEvent.objects.filter(action="position.left").exists()


def test_leave_refuses_someone_who_is_not_a_member(company):
    with pytest.raises(ValidationError, match=r"You are not a member of this company\."):
        services.position_leave(actor=company.outsider, operator=company.operator)
