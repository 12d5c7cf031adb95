"""The professional space in the API: members, roles, operations, changes, transfer, merge,
delete and the caller's positions. Outside scope → 404, in scope but not allowed → 403, bad
input → 422 with field messages."""

from __future__ import annotations

import pytest
from django.test import Client

from comptoir.accounts import services as account_services
from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.operators.models import Operator, Position
from tests.factories_operators import OperatorFactory, PositionFactory
from tests.operators.test_company_space import Company, build_company

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status


@pytest.fixture
def company() -> Company:
    return build_company()


def api_for(person: User) -> Client:
    _token, clear = account_services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}")


def base(company: Company) -> str:
    return f"/api/v1/operators/{company.operator.pk}"


def position_of(company: Company, who: str) -> Position:
    return Position.objects.get(
        person=getattr(company, who), operator=company.operator, status__in=(PS.VALID, PS.SUSPENDED)
    )


def errors(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


# --- Reads --------------------------------------------------------------------------------------


def test_members_by_role(company):
    lr_view = api_for(company.legal_representative).get(f"{base(company)}/members")
    assert lr_view.status_code == 200
    names = {(item["username"], item["role"], item["status"]) for item in lr_view.json()}
    assert names == {
        ("legalrep1", "legal_representative", "valid"),
        ("manager_1", "manager", "valid"),
        ("employee1", "employee", "valid"),
        ("suspended1", "employee", "suspended"),
        ("applicant1", "manager", "requested"),
    }
    employee_view = api_for(company.employee).get(f"{base(company)}/members").json()
    assert {item["status"] for item in employee_view} == {"valid"} and len(employee_view) == 3
    suspended = api_for(company.suspended).get(f"{base(company)}/members")
    assert suspended.status_code == 403
    assert suspended.json() == {
        "detail": "Your position in this company is suspended.",
        "code": "not_allowed",
    }


@pytest.mark.parametrize("who", ["outsider", "applicant"])
def test_outside_the_space_everything_is_404(company, who):
    api = api_for(getattr(company, who))
    target = position_of(company, "employee").pk
    gets = ["", "/members", "/operations", "/operations/history"]
    for suffix in gets:
        assert api.get(f"{base(company)}{suffix}").status_code == 404, suffix
    posts = [
        (f"/members/{target}/role", {"role": "manager"}),
        (f"/members/{target}/suspend", {}),
        (f"/members/{target}/reinstate", {}),
        (f"/members/{target}/end", {}),
        ("/leave", {}),
        ("/operation-changes", {"add": ["ICS"]}),
        ("/transfer", {"to_person": company.manager.pk}),
        ("/merge", {"other_operator_id": OperatorFactory(eori="").pk}),
    ]
    for suffix, body in posts:
        response = api.post(f"{base(company)}{suffix}", body, content_type="application/json")
        assert response.status_code == 404, suffix
    assert api.delete(base(company)).status_code == 404
    assert api.get("/api/v1/operators/999999/members").status_code == 404
    assert position_of(company, "employee").status == PS.VALID
    assert not Request.objects.filter(kind=Request.Kind.OPERATION_CHANGE).exists()


def test_operations_and_their_history(company):
    change = approvals.operation_change_submit(
        requester=company.legal_representative,
        operator=company.operator,
        authority=company.authority,
        add=["ICS"],
        remove=["IMPORT"],
    )
    approvals.request_approve(actor=company.officer, request_id=change.public_id)
    api = api_for(company.employee)
    current = api.get(f"{base(company)}/operations").json()
    assert [item["code"] for item in current] == ["TRANSIT", "ICS"]
    ics = next(item for item in current if item["code"] == "ICS")
    assert ics["label"] == "Import Control System"
    assert ics["granted_by_request"] == change.reference
    history = api.get(f"{base(company)}/operations/history").json()
    assert [item["code"] for item in history] == ["IMPORT", "TRANSIT", "ICS"]
    import_row = history[0]
    assert import_row["revoked_at"] is not None
    assert import_row["revoked_by_request"] == change.reference
    assert import_row["granted_by_request"] is None
    assert api_for(company.suspended).get(f"{base(company)}/operations").status_code == 403


def test_positions_lists_the_callers_own(company):
    PositionFactory(person=company.employee, operator=OperatorFactory(), status=PS.ENDED)
    response = api_for(company.employee).get("/api/v1/positions")
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 2 and {item["status"] for item in body} == {"valid", "ended"}
    assert all(item["operator_id"] for item in body)
    assert Client().get("/api/v1/positions").status_code == 401


# --- Members ------------------------------------------------------------------------------------


def test_manager_changes_a_role_and_suspends_reinstates_ends(company):
    api = api_for(company.manager)
    employee = position_of(company, "employee")
    response = api.post(
        f"{base(company)}/members/{employee.pk}/role",
        {"role": "manager"},
        content_type="application/json",
    )
    assert response.status_code == 200
    new = response.json()
    assert new["role"] == "manager" and new["status"] == "valid"
    assert new["position_id"] != employee.pk
    employee.refresh_from_db()
    assert employee.status == PS.ENDED
    event = AuditEvent.objects.get(action="position.role_changed")
    assert event.actor == company.manager and event.data["before"]["role"] == "employee"
    promoted = new["position_id"]
    for action, status in (("suspend", "suspended"), ("reinstate", "valid"), ("end", "ended")):
        response = api.post(f"{base(company)}/members/{promoted}/{action}")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status
    assert Position.objects.get(pk=promoted).status == PS.ENDED
    # An ended position is no longer a member's.
    assert api.post(f"{base(company)}/members/{promoted}/end").status_code == 404


def test_member_actions_refused_with_403_and_422(company):
    lr = position_of(company, "legal_representative")
    employee = position_of(company, "employee")
    manager_api = api_for(company.manager)
    refused = manager_api.post(f"{base(company)}/members/{lr.pk}/suspend")
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    assert "transfer of the legal representation" in refused.json()["detail"]
    own = manager_api.post(
        f"{base(company)}/members/{position_of(company, 'manager').pk}/role",
        {"role": "employee"},
        content_type="application/json",
    )
    assert own.status_code == 403 and own.json()["detail"] == "You cannot change your own role."
    employee_api = api_for(company.employee)
    assert employee_api.post(f"{base(company)}/members/{employee.pk}/end").status_code == 403
    other = position_of(company, "manager")
    assert employee_api.post(f"{base(company)}/members/{other.pk}/suspend").status_code == 403
    bad_role = manager_api.post(
        f"{base(company)}/members/{employee.pk}/role",
        {"role": "legal_representative"},
        content_type="application/json",
    )
    assert bad_role.status_code == 422
    assert errors(bad_role)["role"] == ["Value error, Choose the new role: manager or employee."]
    wrong_state = manager_api.post(f"{base(company)}/members/{employee.pk}/reinstate")
    assert wrong_state.status_code == 422
    assert errors(wrong_state) == {"position": ["Only a suspended position can be reinstated."]}
    for position in (lr, employee, other):
        position.refresh_from_db()
        assert position.status == PS.VALID
    assert not AuditEvent.objects.filter(action__in=["position.suspended", "position.ended"])


def test_leave(company):
    response = api_for(company.employee).post(f"{base(company)}/leave")
    assert response.status_code == 200
    assert [item["status"] for item in response.json()] == ["ended"]
    refused = api_for(company.legal_representative).post(f"{base(company)}/leave")
    assert refused.status_code == 403
    assert "transfer the legal representation" in refused.json()["detail"]
    assert position_of(company, "legal_representative").status == PS.VALID


# --- Requests to customs ------------------------------------------------------------------------


def test_operation_change_by_the_legal_representative_only(company):
    url = f"{base(company)}/operation-changes"
    refused = api_for(company.manager).post(url, {"add": ["ICS"]}, content_type="application/json")
    assert (
        refused.status_code == 403 and "Only the legal representative" in refused.json()["detail"]
    )
    api = api_for(company.legal_representative)
    empty = api.post(url, {}, content_type="application/json")
    assert empty.status_code == 422
    assert errors(empty) == {"add": ["Choose at least one operation to add or remove."]}
    held = api.post(url, {"add": ["IMPORT"]}, content_type="application/json")
    assert held.status_code == 422 and errors(held) == {
        "add": ["The operator already holds IMPORT."]
    }
    response = api.post(
        url, {"add": ["ICS"], "remove": ["TRANSIT"]}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "operation_change" and body["status"] == "submitted"
    assert body["operator_id"] == company.operator.pk
    again = api.post(url, {"add": ["AC4"]}, content_type="application/json")
    assert again.status_code == 422
    assert errors(again) == {
        "operator": ["A change of operations is already waiting for a decision."]
    }
    assert Request.objects.filter(kind=Request.Kind.OPERATION_CHANGE).count() == 1


def test_transfer(company):
    url = f"{base(company)}/transfer"
    api = api_for(company.legal_representative)
    bad = api.post(url, {"to_person": company.outsider.pk}, content_type="application/json")
    assert bad.status_code == 422 and "to_person" in errors(bad)
    missing = api.post(url, {}, content_type="application/json")
    assert missing.status_code == 422
    refused = api_for(company.employee).post(
        url, {"to_person": company.manager.pk}, content_type="application/json"
    )
    assert refused.status_code == 403
    response = api.post(url, {"to_person": company.employee.pk}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["kind"] == "legal_representative_transfer"
    approvals.request_approve(
        actor=company.officer,
        request_id=Request.objects.get(reference=response.json()["reference"]).public_id,
    )
    lr = Position.objects.get(
        operator=company.operator, role=Role.LEGAL_REPRESENTATIVE, status=PS.VALID
    )
    assert lr.person == company.employee


# --- Merge and delete ---------------------------------------------------------------------------


def test_merge_through_the_api(company):
    twin = OperatorFactory(eori="", country="FR", name="Twin")
    PositionFactory(
        person=company.legal_representative, operator=twin, role=Role.LEGAL_REPRESENTATIVE
    )
    stranger = OperatorFactory(eori="", country="FR")
    PositionFactory(operator=stranger, role=Role.LEGAL_REPRESENTATIVE)
    url = f"{base(company)}/merge"
    api = api_for(company.legal_representative)
    unknown = api.post(url, {"other_operator_id": stranger.pk}, content_type="application/json")
    assert unknown.status_code == 422 and "other_operator_id" in errors(unknown)
    itself = api.post(
        url, {"other_operator_id": company.operator.pk}, content_type="application/json"
    )
    assert errors(itself) == {"other_operator_id": ["Choose another space than this one."]}
    PositionFactory(person=company.manager, operator=twin, role=Role.MANAGER)
    refused = api_for(company.manager).post(
        url, {"other_operator_id": twin.pk}, content_type="application/json"
    )
    assert refused.status_code == 403
    response = api.post(url, {"other_operator_id": twin.pk}, content_type="application/json")
    assert response.status_code == 200 and response.json()["id"] == company.operator.pk
    twin.refresh_from_db()
    assert twin.merged_into_id == company.operator.pk and twin.status == Operator.Status.CLOSED
    # The merged space's API answers the one kept.
    moved = api.get(f"/api/v1/operators/{twin.pk}/members")
    assert moved.status_code == 200
    assert {item["username"] for item in moved.json()} >= {"legalrep1", "manager_1"}


def test_delete_through_the_api(company):
    refused = api_for(company.manager).delete(base(company))
    assert refused.status_code == 403
    assert (
        refused.json()["detail"] == "Only the legal representative can delete the company's space."
    )
    api = api_for(company.legal_representative)
    assert api.delete(base(company)).status_code == 204
    operator = Operator.objects.get(pk=company.operator.pk)
    assert operator.deleted_at is not None and operator.status == Operator.Status.CLOSED
    assert AuditEvent.objects.get(action="operator.deleted").actor == company.legal_representative
    assert api.get(base(company)).status_code == 404
    assert api.delete(base(company)).status_code == 404
