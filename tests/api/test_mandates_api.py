"""/api/v1/mandates: list (by operator or all of the caller's), propose, accept, decline, end;
403 {"detail", "code"} for refusals within the caller's companies, 404 outside them, 409 when
the mandate's status no longer allows the change, 422 with field messages for bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from comptoir.accounts import services
from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.operators import mandates
from comptoir.operators.models import Mandate
from tests.factories import UserFactory
from tests.operators.test_mandates import Side, propose, side

pytestmark = pytest.mark.django_db

MS = Mandate.Status


@pytest.fixture
def principal(db) -> Side:
    return side("FR552100554", "Dupont SA", "principal")


@pytest.fixture
def provider(db) -> Side:
    return side("FR732829320", "Transit Services SARL", "provider")


def api_for(person: User) -> Client:
    _token, clear = services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en")


def post(client: Client, path: str, data: dict | None = None):
    return client.post(f"/api/v1/mandates{path}", data or {}, content_type="application/json")


def field_messages(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


def proposal(operator_id: int, **overrides) -> dict:
    data = {
        "operator_id": operator_id,
        "provider_eori": "FR732829320",
        "scope": "ics2_filing",
        "valid_from": timezone.localdate().isoformat(),
        "valid_until": None,
    }
    data.update(overrides)
    return data


def test_propose_list_accept_and_end(principal, provider):
    client = api_for(principal.manager)
    response = post(client, "", proposal(principal.operator.pk, provider_eori="fr732829320"))
    assert response.status_code == 201, response.content
    body = response.json()
    mandate = Mandate.objects.get()
    assert body["id"] == str(mandate.public_id) and body["reference"] == mandate.reference
    assert body["principal"]["eori"] == "FR552100554"
    assert body["provider"] == {
        "id": provider.operator.pk,
        "name": "Transit Services SARL",
        "eori": "FR732829320",
    }
    assert body["status"] == body["state"] == "proposed" and body["valid_until"] is None

    # Listed on both sides, by operator and for the person.
    provider_api = api_for(provider.lr)
    listed = provider_api.get(f"/api/v1/mandates?operator_id={provider.operator.pk}")
    assert [item["id"] for item in listed.json()] == [body["id"]]
    assert [item["id"] for item in api_for(provider.employee).get("/api/v1/mandates").json()] == [
        body["id"]
    ]
    assert client.get(f"/api/v1/mandates/{mandate.public_id}").json()["id"] == body["id"]

    accepted = post(provider_api, f"/{mandate.public_id}/accept")
    assert accepted.status_code == 200 and accepted.json()["state"] == "in_force"
    again = post(api_for(provider.manager), f"/{mandate.public_id}/accept")
    assert again.status_code == 409 and again.json()["code"] == "mandate_closed"

    no_reason = post(provider_api, f"/{mandate.public_id}/end", {"reason": ""})
    assert no_reason.status_code == 422
    # The provider's legal representative reads French: a token speaks the person's language.
    assert "Saisissez le motif" in field_messages(no_reason)["reason"][0]
    ended = post(provider_api, f"/{mandate.public_id}/end", {"reason": "Contract over"})
    assert ended.status_code == 200, ended.content
    assert ended.json()["status"] == "ended" and ended.json()["ended_side"] == "provider"
    assert ended.json()["reason"] == "Contract over"
    assert AuditEvent.objects.filter(action__startswith="mandate.").count() == 3


def test_decline_without_a_body(principal, provider):
    mandate = propose(principal, provider)
    response = post(api_for(provider.lr), f"/{mandate.public_id}/decline")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "declined"


def test_bad_input_answers_422_and_changes_nothing(principal, provider):
    client = api_for(principal.manager)
    cases = [
        ({"provider_eori": ""}, "provider_eori", "Enter the EORI number"),
        ({"provider_eori": "FR428754006"}, "provider_eori", "No company with this EORI"),
        ({"provider_eori": "FR552100554"}, "provider_eori", "your own company"),
        ({"scope": "all"}, "scope", "Choose what the service provider may do"),
        ({"valid_from": ""}, "valid_from", "Enter the date the mandate starts."),
        ({"valid_from": "2027-02-31"}, "valid_from", "YYYY-MM-DD"),
        ({"valid_until": "tomorrow"}, "valid_until", "YYYY-MM-DD"),
        ({"valid_from": "2020-01-01"}, "valid_from", "today or in the future"),
        (
            {"valid_from": "2040-01-10", "valid_until": "2040-01-09"},
            "valid_until",
            "same as or after",
        ),
    ]
    for overrides, field, message in cases:
        response = post(client, "", proposal(principal.operator.pk, **overrides))
        assert response.status_code == 422, (overrides, response.content)
        assert message in " ".join(field_messages(response)[field]), overrides
    propose(principal, provider, valid_until=None)
    overlap = post(client, "", proposal(principal.operator.pk))
    assert overlap.status_code == 422 and "overlaps" in field_messages(overlap)["valid_from"][0]
    assert Mandate.objects.count() == 1


def test_refusals_within_scope_answer_403_with_a_code(principal, provider):
    refused = post(api_for(principal.employee), "", proposal(principal.operator.pk))
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_allowed" and "managers" in refused.json()["detail"]
    assert not Mandate.objects.exists()
    mandate = propose(principal, provider)
    for person in (principal.lr, provider.employee):
        for action in ("accept", "decline"):
            response = post(api_for(person), f"/{mandate.public_id}/{action}")
            assert response.status_code == 403, (person, action)
            assert response.json()["code"] == "not_allowed"
    response = post(api_for(provider.employee), f"/{mandate.public_id}/end", {"reason": "x"})
    assert response.status_code == 403
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED


def test_outside_the_callers_companies_is_404(principal, provider):
    mandate = propose(principal, provider)
    other = side("FR428754006", "Autre SA", "other")
    for client in (api_for(UserFactory()), api_for(other.lr)):
        assert client.get(f"/api/v1/mandates?operator_id={principal.operator.pk}").status_code == (
            404
        )
        assert client.get("/api/v1/mandates").json() == []
        assert client.get(f"/api/v1/mandates/{mandate.public_id}").status_code == 404
        assert post(client, "", proposal(principal.operator.pk)).status_code == 404
        for action in ("accept", "decline", "end"):
            response = post(client, f"/{mandate.public_id}/{action}", {"reason": "x"})
            assert response.status_code == 404, action
    assert api_for(principal.lr).get("/api/v1/mandates/not-a-uuid").status_code == 404
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED and Mandate.objects.count() == 1


def test_anonymous_callers_get_401():
    assert Client().get("/api/v1/mandates").status_code == 401


def test_states_in_the_list(principal, provider):
    mandate = propose(
        principal, provider, valid_from=timezone.localdate() + timedelta(days=2), valid_until=None
    )
    mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    body = api_for(principal.employee).get(f"/api/v1/mandates?operator_id={principal.operator.pk}")
    assert body.json()[0]["state"] == "scheduled" and body.json()[0]["status"] == "accepted"
