"""/api/v1/operators/{id}/invitations, /api/v1/invitations/accept and /api/v1/attachments:
scope (404), bad input (422 with field messages), and the token never in an answer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from comptoir.accounts import services
from comptoir.accounts.models import User
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import OutboxMessage
from comptoir.operators.models import Invitation, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, PositionFactory, member

pytestmark = pytest.mark.django_db

Role = Position.Role
INVITED = "new.person@example.test"
SIREN = "552100554"
TOKEN = re.compile(r"/invitations/([A-Za-z0-9_-]{20,})/")


@pytest.fixture
def operator() -> Operator:
    return OperatorFactory(eori=f"FR{SIREN}", name="Dupont SA", address_line1="1 quai")


@pytest.fixture
def boss(operator) -> User:
    return member(operator, Role.LEGAL_REPRESENTATIVE, username="legalrep1")


def api_for(person: User) -> Client:
    _token, clear = services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en")


def post(client: Client, path: str, data: dict | None = None):
    return client.post(f"/api/v1{path}", data or {}, content_type="application/json")


def field_messages(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


def invite(client: Client, operator: Operator, email: str = INVITED, role: str = "employee"):
    return post(client, f"/operators/{operator.pk}/invitations", {"email": email, "role": role})


def mailed_token(email: str = INVITED) -> str:
    message = OutboxMessage.objects.filter(template="operators/email/invitation", to=email).latest(
        "created_at"
    )
    found = TOKEN.search(message.body_text)
    assert found
    return found.group(1)


# --- Invitations --------------------------------------------------------------------------------


def test_invite_list_and_revoke(operator, boss):
    client = api_for(boss)
    response = invite(client, operator, email="New.Person@Example.test", role="manager")
    assert response.status_code == 201, response.content
    body = response.json()
    invitation = Invitation.objects.get()
    assert body["id"] == str(invitation.public_id)
    assert body["email"] == "New.Person@example.test" and body["role"] == "manager"
    assert body["status"] == "open" and body["invited_by"] == "legalrep1"
    assert body["operator_id"] == operator.pk
    assert "token" not in body and "token_digest" not in body
    token = mailed_token("New.Person@example.test")
    assert token not in response.content.decode()
    assert invitation.token_digest not in response.content.decode()
    assert AuditEvent.objects.filter(action="invitation.created", actor=boss).exists()

    listed = client.get(f"/api/v1/operators/{operator.pk}/invitations")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [body["id"]]

    revoked = post(client, f"/operators/{operator.pk}/invitations/{body['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.get(f"/api/v1/operators/{operator.pk}/invitations").json() == []
    again = post(client, f"/operators/{operator.pk}/invitations/{body['id']}/revoke")
    assert again.status_code == 409
    assert again.json() == {
        "detail": "This invitation has already been revoked.",
        "code": "invitation_closed",
    }


def test_a_manager_may_invite(operator, boss):
    manager = member(operator, Role.MANAGER)
    assert invite(api_for(manager), operator).status_code == 201


@pytest.mark.parametrize("who", ["employee", "outsider", "requested_manager"])
def test_outside_the_scope_everything_answers_404_and_employees_403(operator, boss, who):
    invitation_id = invite(api_for(boss), operator).json()["id"]
    if who == "employee":
        person = member(operator, Role.EMPLOYEE)
    elif who == "outsider":
        person = UserFactory()
    else:
        person = UserFactory()
        PositionFactory(
            person=person, operator=operator, role=Role.MANAGER, status=Position.Status.REQUESTED
        )
    client = api_for(person)
    # An employee sees the company's space: inviting there is refused with the reason (403).
    expected = 403 if who == "employee" else 404
    assert invite(client, operator, email="other@example.test").status_code == expected
    assert client.get(f"/api/v1/operators/{operator.pk}/invitations").status_code == expected
    revoke = post(client, f"/operators/{operator.pk}/invitations/{invitation_id}/revoke")
    assert revoke.status_code == 404
    assert Invitation.objects.count() == 1
    assert Invitation.objects.get().revoked_at is None


def test_unknown_operators_and_invitations_answer_404(operator, boss):
    client = api_for(boss)
    assert invite(client, Operator(pk=999999)).status_code == 404
    assert client.get("/api/v1/operators/999999/invitations").status_code == 404
    for invitation_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = post(client, f"/operators/{operator.pk}/invitations/{invitation_id}/revoke")
        assert response.status_code == 404
    # Another company's invitation, through one's own company.
    other = OperatorFactory()
    other_boss = member(other, Role.LEGAL_REPRESENTATIVE)
    theirs = invite(api_for(other_boss), other).json()["id"]
    response = post(client, f"/operators/{operator.pk}/invitations/{theirs}/revoke")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"email": "", "role": "employee"}, "email", "Enter the email address of the person"),
        (
            {"email": "nobody", "role": "employee"},
            "email",
            "Enter an email address in the correct format, like name@example.com.",
        ),
        (
            {"email": INVITED, "role": "legal_representative"},
            "role",
            "Choose the role to offer: manager or employee.",
        ),
    ],
)
def test_bad_input_answers_422_with_field_messages(operator, boss, payload, field, message):
    response = post(api_for(boss), f"/operators/{operator.pk}/invitations", payload)
    assert response.status_code == 422
    assert any(message in text for text in field_messages(response)[field])
    assert not Invitation.objects.exists() and not OutboxMessage.objects.exists()


def test_a_second_open_invitation_and_a_member_are_refused(operator, boss):
    client = api_for(boss)
    invite(client, operator)
    again = invite(client, operator, email=INVITED.upper())
    assert again.status_code == 422
    assert "still waiting to be accepted" in field_messages(again)["email"][0]
    employee = member(operator, Role.EMPLOYEE)
    response = invite(client, operator, email=employee.email)
    assert response.status_code == 422
    assert field_messages(response)["email"] == [
        "The person with this email address already works for the company."
    ]
    assert Invitation.objects.count() == 1


def test_accept_with_the_mailed_token(operator, boss):
    invite(api_for(boss), operator, role="manager")
    token = mailed_token()
    person = UserFactory(email=INVITED)
    client = api_for(person)
    response = post(client, "/invitations/accept", {"token": token})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["operator_id"] == operator.pk and body["operator_name"] == "Dupont SA"
    assert body["role"] == "manager" and body["status"] == "valid"
    assert Position.objects.get(pk=body["id"]).person == person
    assert OutboxMessage.objects.filter(
        template="operators/email/invitation_accepted", to=boss.email
    ).exists()

    used = post(client, "/invitations/accept", {"token": token})
    assert used.status_code == 404
    unknown = post(client, "/invitations/accept", {"token": "x" * 43})
    assert unknown.status_code == 404
    assert used.json() == unknown.json()
    assert used.json()["code"] == "invitation_unknown"


def test_accept_refusals_answer_422_on_the_token(operator, boss):
    client = api_for(boss)
    invite(client, operator)
    token = mailed_token()
    someone = api_for(UserFactory(email="someone@example.test"))
    wrong = post(someone, "/invitations/accept", {"token": token})
    assert wrong.status_code == 422
    assert f"This invitation was sent to {INVITED}" in field_messages(wrong)["token"][0]

    person = api_for(UserFactory(email=INVITED))
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = post(person, "/invitations/accept", {"token": token})
    assert expired.status_code == 422
    assert field_messages(expired)["token"][0].startswith("This invitation has expired.")

    Invitation.objects.update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    revoked = post(person, "/invitations/accept", {"token": token})
    assert revoked.status_code == 422
    assert "cancelled by the company" in field_messages(revoked)["token"][0]

    empty = post(person, "/invitations/accept", {"token": " "})
    assert empty.status_code == 422
    assert field_messages(empty)["token"] == ["Enter the token of the invitation link."]
    assert not Position.objects.filter(person__email__in=[INVITED, "someone@example.test"])


def test_anonymous_callers_get_401(operator, boss):
    client = Client()
    assert client.get(f"/api/v1/operators/{operator.pk}/invitations").status_code == 401
    assert post(client, "/invitations/accept", {"token": "x"}).status_code == 401
    assert post(client, "/attachments/check", {"country": "FR"}).status_code == 401


# --- Attachments --------------------------------------------------------------------------------


def test_check_shows_the_company_and_what_confirming_does(operator, boss, settings):
    person = UserFactory()
    client = api_for(person)
    response = post(client, "/attachments/check", {"country": "fr", "number": "552 100 554 00013"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["country"] == "FR" and body["number"] == "55210055400013"
    assert body["operator"]["name"] == "Dupont SA" and body["operator"]["eori"] == "FR552100554"
    assert body["operator"]["address_line1"] == "1 quai"
    assert body["outcome_on_confirm"] == "request" and body["already_member"] is False
    settings.COMPTOIR_DIRECT_ATTACH_COUNTRIES = ["FR"]
    again = post(client, "/attachments/check", {"country": "FR", "number": SIREN}).json()
    assert again["outcome_on_confirm"] == "attach"
    assert not Position.objects.filter(person=person).exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"country": "FR", "number": "552100555"}, "number", "This SIREN number is not valid"),
        ({"country": "BE", "number": "0403170702"}, "number", "enterprise number is not valid"),
        ({"country": "DE", "number": "123"}, "country", "not available for this country"),
        ({"country": "", "number": SIREN}, "country", "Enter the company's country"),
        ({"country": "FR", "number": " "}, "number", "Enter the company number."),
        ({"country": "FR", "number": "123456782"}, "number", "No active company is registered"),
    ],
)
def test_bad_numbers_answer_422(operator, boss, payload, field, message):
    client = api_for(UserFactory())
    before = Position.objects.count(), Request.objects.count()
    for path in ("/attachments/check", "/attachments"):
        response = post(client, path, payload)
        assert response.status_code == 422, response.content
        assert any(message in text for text in field_messages(response)[field])
    assert (Position.objects.count(), Request.objects.count()) == before


def test_attach_sends_a_request_or_attaches_at_once(operator, boss, settings):
    person = UserFactory()
    response = post(api_for(person), "/attachments", {"country": "FR", "number": SIREN})
    assert response.status_code == 201, response.content
    body = response.json()
    request = Request.objects.get(requester=person)
    assert body["outcome"] == "requested" and body["reference"] == request.reference
    assert body["request_id"] == str(request.public_id) and body["position"] is None
    assert body["operator"]["id"] == operator.pk

    settings.COMPTOIR_DIRECT_ATTACH_COUNTRIES = ["FR"]
    other = UserFactory()
    attached = post(api_for(other), "/attachments", {"country": "FR", "number": SIREN})
    assert attached.status_code == 201
    body = attached.json()
    assert body["outcome"] == "attached" and body["request_id"] is None
    assert body["position"]["status"] == "valid" and body["position"]["role"] == "employee"
    assert not Request.objects.filter(requester=other).exists()
    assert AuditEvent.objects.filter(action="position.attached", actor=other).exists()


@pytest.mark.parametrize("direct", [[], ["FR"]])
def test_someone_already_in_the_company_gets_422(operator, boss, settings, direct):
    settings.COMPTOIR_DIRECT_ATTACH_COUNTRIES = direct
    client = api_for(boss)
    check = post(client, "/attachments/check", {"country": "FR", "number": SIREN})
    assert check.json()["already_member"] is True
    before = Position.objects.count(), Request.objects.count()
    response = post(client, "/attachments", {"country": "FR", "number": SIREN})
    assert response.status_code == 422
    assert field_messages(response)["number"] == [
        "You already work for this company: there is nothing more to do."
    ]
    assert (Position.objects.count(), Request.objects.count()) == before
