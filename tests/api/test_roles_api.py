"""Roles in the API: POST /api/v1/positions asks for a role at an operator or an authority,
GET /api/v1/authorities lists where one may ask, GET /api/v1/positions(/counts) the caller's
roles; the decisions go through /api/v1/requests/…. Bad input → 422 with field messages and no
change; no credentials → 401."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from comptoir.accounts import services as account_services
from comptoir.accounts.models import User
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import Notice
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, PositionFactory, officer

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status


def api_for(person: User) -> Client:
    """A personal token; staff pass the account gate only with TOTP."""
    if person.is_portal_staff:
        TOTP.activate(person, generate_totp_secret())
    _token, clear = account_services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}")


def post(api: Client, data: dict):
    return api.post("/api/v1/positions", data, content_type="application/json")


def errors(response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


def state() -> tuple[int, int, int]:
    return Position.objects.count(), Request.objects.count(), AuditEvent.objects.count()


@pytest.fixture
def national(db) -> Authority:
    return AuthorityFactory(
        code="FR-DGDDI", name="Direction générale des douanes", kind="national_administration"
    )


@pytest.fixture
def person(db) -> User:
    return UserFactory(username="newcomer1")


@pytest.fixture
def api(person) -> Client:
    return api_for(person)


def test_without_credentials_every_endpoint_answers_401(client, national):
    assert client.get("/api/v1/authorities").status_code == 401
    assert client.get("/api/v1/positions/counts").status_code == 401
    assert post(client, {"authority_id": national.pk, "role": "officer"}).status_code == 401
    assert Position.objects.count() == 0


def test_the_authorities_where_one_may_ask_for_a_role(api, national):
    AuthorityFactory(code="DE-HH", name="Zollamt Hamburg", country="DE")
    office = AuthorityFactory(code="FR-PARIS-1", name="Bureau de Paris")
    response = api.get("/api/v1/authorities")
    assert response.status_code == 200
    assert [item["code"] for item in response.json()] == ["DE-HH", "FR-PARIS-1", "FR-DGDDI"]
    french = api.get("/api/v1/authorities", {"country": "fr"}).json()
    assert french[0] == {
        "id": office.pk,
        "code": "FR-PARIS-1",
        "name": "Bureau de Paris",
        "country": "FR",
        "kind": "customs_office",
        "kind_label": "Customs office",
    }
    assert len(french) == 2


def test_a_role_at_an_operator_with_a_manager_who_approves_it(api, person, national):
    operator = OperatorFactory(name="Dupont SA")
    manager = UserFactory(username="manager_1")
    PositionFactory(person=manager, operator=operator, role=Role.MANAGER)

    response = post(
        api,
        {
            "operator_id": operator.pk,
            "role": "employee",
            "message": "Lyon warehouse",
            "email": "ada.work@example.test",
            "phone": "+33 4 72 00 00 00",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    submitted = Request.objects.get()
    position = Position.objects.get(person=person)
    assert body["id"] == str(submitted.public_id) and body["reference"] == submitted.reference
    assert body["kind"] == "membership" and body["status"] == "submitted"
    assert body["operator_id"] == operator.pk
    assert body["validated_by"] == "operator" and body["deciding_authority"] is None
    assert body["position"]["id"] == position.pk
    assert body["position"]["operator_name"] == "Dupont SA"
    assert (body["position"]["role"], body["position"]["status"]) == ("employee", "requested")

    manager_api = api_for(manager)
    detail = manager_api.get(f"/api/v1/requests/{submitted.public_id}").json()
    assert detail["payload"]["message"] == "Lyon warehouse" and detail["can_decide"] is True
    decided = manager_api.post(f"/api/v1/requests/{submitted.public_id}/approve")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    mine = api.get("/api/v1/positions").json()
    assert [(item["operator_id"], item["status"]) for item in mine] == [(operator.pk, "valid")]
    assert Notice.objects.filter(recipient=person, topic="request.approved").exists()


def test_a_role_at_a_new_operator_goes_to_the_national_authority(api, person, national):
    decider = officer(national)
    operator = OperatorFactory(name="Martin Logistique")
    response = post(api, {"operator_id": operator.pk, "role": "manager"})
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "operator_role" and body["validated_by"] == "national_authority"
    assert body["deciding_authority"] == {
        "id": national.pk,
        "code": "FR-DGDDI",
        "name": "Direction générale des douanes",
    }
    officer_api = api_for(decider)
    queue = officer_api.get("/api/v1/requests/queue", {"kind": "operator_role"}).json()
    assert [item["reference"] for item in queue["items"]] == [body["reference"]]
    rejected = officer_api.post(
        f"/api/v1/requests/{body['id']}/reject",
        {"reason": "Unknown at this company."},
        content_type="application/json",
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert Position.objects.get(person=person).status == PS.REJECTED
    counts = api.get("/api/v1/positions/counts")
    assert counts.status_code == 200
    assert counts.json() == {"requested": 0, "valid": 0, "suspended": 0, "rejected": 1, "ended": 0}


def test_a_role_at_an_authority_decided_by_its_officer(api, person, national):
    office = AuthorityFactory(code="FR-PARIS-1", name="Bureau de Paris")
    decider = officer(office)
    response = post(api, {"authority_id": office.pk, "role": "officer"})
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "authority_role" and body["validated_by"] == "authority"
    assert body["operator_id"] is None and body["deciding_authority"]["code"] == "FR-PARIS-1"
    assert body["position"]["authority_code"] == "FR-PARIS-1"
    # Another authority's officer does not see it: 404.
    stranger = api_for(officer(national))
    assert stranger.post(f"/api/v1/requests/{body['id']}/approve").status_code == 404
    approved = api_for(decider).post(f"/api/v1/requests/{body['id']}/approve")
    assert approved.status_code == 200
    assert Position.objects.get(person=person).status == PS.VALID


def test_several_roles_then_the_same_one_again(api, person, national):
    office = AuthorityFactory()
    officer(office)
    first, second = OperatorFactory(), OperatorFactory()
    for data in (
        {"operator_id": first.pk, "role": "employee"},
        {"operator_id": first.pk, "role": "manager"},
        {"operator_id": second.pk, "role": "employee"},
        {"authority_id": office.pk, "role": "service_desk"},
    ):
        assert post(api, data).status_code == 201
    assert api.get("/api/v1/positions/counts").json()["requested"] == 4
    before = state()
    assert errors(post(api, {"operator_id": first.pk, "role": "employee"})) == {
        "role": ["You already hold this role there, or your request for it is waiting."]
    }
    assert state() == before


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"role": "employee"}, "operator_id", "Give operator_id or authority_id"),
        ({"operator_id": "OP", "authority_id": "AU", "role": "employee"}, "operator_id", "Give"),
        ({"operator_id": 999999, "role": "employee"}, "operator_id", "No active operator"),
        ({"operator_id": "CLOSED", "role": "employee"}, "operator_id", "No active operator"),
        ({"authority_id": 999999, "role": "officer"}, "authority_id", "No authority has this id"),
        ({"operator_id": "OP", "role": "officer"}, "role", "manager or employee"),
        ({"authority_id": "AU", "role": "employee"}, "role", "officer or service desk"),
        ({"operator_id": "OP", "role": "employee", "email": "nope"}, "email", "correct format"),
        ({"operator_id": "OP", "role": "employee", "phone": "x"}, "phone", "phone number"),
        ({"operator_id": "OP", "role": "employee", "message": "x" * 1001}, "message", "1000"),
    ],
)
def test_bad_input_answers_422_and_changes_nothing(api, national, data, field, message):
    operator = OperatorFactory()
    closed = OperatorFactory(status=Operator.Status.CLOSED)
    replace = {"OP": operator.pk, "AU": national.pk, "CLOSED": closed.pk}
    data = {key: replace.get(value, value) for key, value in data.items()}
    before = state()
    found = errors(post(api, data))
    assert list(found) == [field]
    assert message in found[field][0]
    assert state() == before


def test_a_body_without_role_is_refused(api, national):
    response = post(api, {"authority_id": national.pk})
    assert response.status_code == 422
    assert Position.objects.count() == 0
