"""The fallback procedure in the API: public status (no authentication), scoped lists, report,
acknowledge, recover, open and close. Outside scope 404, refusals 403, conflicts 409, bad input
422; nothing changed by a refusal."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from comptoir.accounts import services as account_services
from comptoir.accounts.models import User
from comptoir.accounts.selectors import user_has_totp
from comptoir.continuity import services
from comptoir.continuity.models import FanOut, Outage
from tests.continuity.test_services import open_fallback, report

pytestmark = pytest.mark.django_db

OS = Outage.Status


def api_for(person: User) -> Client:
    if person.is_portal_staff and not user_has_totp(user=person):
        TOTP.activate(person, generate_totp_secret())
    _token, clear = account_services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en")


def post(client: Client, url: str, data: dict | None = None):
    return client.post(url, data or {}, content_type="application/json")


def fields(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


def test_status_without_authentication(world):
    anonymous = Client()
    body = anonymous.get("/api/v1/status").json()
    assert body["state"] == "normal" and body["outages"] == []
    assert body["online_lodging"] is True
    outage = report(world)
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    fallback = open_fallback(world)
    body = anonymous.get("/api/v1/status").json()
    assert body["state"] == "fallback"
    assert body["portal_lodging_for_b2g_operators"] is True
    assert [item["id"] for item in body["outages"]] == [str(fallback.public_id)]
    item = body["outages"][0]
    assert item["kind"] == "administration" and item["status"] == "open"
    assert item["contact_office"] == "Bureau de Paris-Orly, 01 23 45 67 89"
    assert item["instructions"] == "Lodge through the portal and keep the paper copies."
    assert item["opened_at"]
    assert "operator_id" not in item  # never names an operator
    open_fallback(world, kind=Outage.Kind.EXCEPTION)
    body = anonymous.get("/api/v1/status").json()
    assert body["state"] == "exception" and body["online_lodging"] is False
    assert [item["kind"] for item in body["outages"]] == ["exception", "administration"]


def test_report_acknowledge_recover_through_the_api(world):
    representative = api_for(world.legal_representative)
    response = post(
        representative,
        "/api/v1/outages",
        {"operator_id": world.operator.pk, "description": "Access point down."},
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "reported" and created["operator_id"] == world.operator.pk
    outage_id = created["id"]

    desk = api_for(world.desk)
    response = post(desk, f"/api/v1/outages/{outage_id}/acknowledge")
    assert response.status_code == 200 and response.json()["status"] == "open"
    response = post(desk, f"/api/v1/outages/{outage_id}/acknowledge")
    assert response.status_code == 409
    assert response.json()["code"] == "outage_state_changed"

    response = post(api_for(world.manager), f"/api/v1/outages/{outage_id}/recover")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert Outage.objects.get(public_id=outage_id).closed_by == world.manager


def test_report_refusals(world):
    url = "/api/v1/outages"
    body = {"operator_id": world.operator.pk, "description": "Down."}
    # Not a member: 404. An employee: 403. A suspended manager: 403.
    assert post(api_for(world.other_legal_representative), url, body).status_code == 404
    response = post(api_for(world.employee), url, body)
    assert response.status_code == 403 and response.json()["code"] == "not_allowed"
    assert post(api_for(world.suspended_manager), url, body).status_code == 403
    # Bad input: 422 with the field.
    representative = api_for(world.legal_representative)
    response = post(representative, url, {"operator_id": world.operator.pk, "description": " "})
    assert response.status_code == 422
    assert fields(response) == {"description": ["Describe what is not working in your B2G system."]}
    response = post(representative, url, {"description": "x"})
    assert response.status_code == 422  # operator_id missing
    assert not Outage.objects.exists()
    # A second one while the first is not closed: 409.
    assert post(representative, url, body).status_code == 201
    response = post(api_for(world.manager), url, body)
    assert response.status_code == 409 and response.json()["code"] == "outage_already_reported"
    assert Outage.objects.count() == 1


def test_scope_of_outages(world):
    mine = report(world)
    theirs = report(world, person=world.other_legal_representative, operator=world.other_operator)
    fallback = open_fallback(world)
    seen = {item["id"] for item in api_for(world.employee).get("/api/v1/outages").json()}
    assert seen == {str(mine.public_id)}
    seen = {item["id"] for item in api_for(world.desk).get("/api/v1/outages").json()}
    assert seen == {str(mine.public_id), str(theirs.public_id), str(fallback.public_id)}
    assert api_for(world.outsider).get("/api/v1/outages").json() == []
    employee = api_for(world.employee)
    assert employee.get(f"/api/v1/outages/{mine.public_id}").status_code == 200
    assert employee.get(f"/api/v1/outages/{theirs.public_id}").status_code == 404
    assert employee.get("/api/v1/outages/not-a-uuid").status_code == 404
    # Acting on another company's outage: 404, nothing changed.
    response = post(
        api_for(world.legal_representative), f"/api/v1/outages/{theirs.public_id}/recover"
    )
    assert response.status_code == 404
    # Acknowledging as a member of the company: in scope but not allowed, 403.
    response = post(
        api_for(world.legal_representative), f"/api/v1/outages/{mine.public_id}/acknowledge"
    )
    assert response.status_code == 403
    assert Outage.objects.get(pk=theirs.pk).status == OS.REPORTED
    assert Outage.objects.get(pk=mine.pk).status == OS.REPORTED
    response = api_for(world.desk).get("/api/v1/outages?status=bogus")
    assert response.status_code == 422
    only_open = api_for(world.desk).get("/api/v1/outages?status=open").json()
    assert [item["id"] for item in only_open] == [str(fallback.public_id)]


def test_unauthenticated_calls_are_401(world):
    anonymous = Client()
    assert anonymous.get("/api/v1/outages").status_code == 401
    response = anonymous.post(
        "/api/v1/fallbacks", {"kind": "exception"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert not Outage.objects.exists()


def test_desk_opens_and_closes_through_the_api(world, django_capture_on_commit_callbacks):
    desk = api_for(world.desk)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(
            desk,
            "/api/v1/fallbacks",
            {"kind": "exception", "contact_office": "Bureau de Lyon", "instructions": "Call us."},
        )
    assert response.status_code == 201, response.content
    assert len(callbacks) == 1
    body = response.json()
    assert body["kind"] == "exception" and body["status"] == "open"
    response = post(
        desk,
        "/api/v1/fallbacks",
        {"kind": "exception", "contact_office": "Bureau de Lyon", "instructions": "Call us."},
    )
    assert response.status_code == 409 and response.json()["code"] == "fallback_already_open"
    response = post(desk, f"/api/v1/fallbacks/{body['id']}/close", {"closing_note": "Back."})
    assert response.status_code == 200 and response.json()["closing_note"] == "Back."
    assert response.json()["status"] == "closed"
    assert FanOut.objects.filter(outage__public_id=body["id"]).count() == 2
    response = post(desk, f"/api/v1/fallbacks/{body['id']}/close")
    assert response.status_code == 409


def test_opening_refusals(world):
    body = {"kind": "administration", "contact_office": "Roissy", "instructions": "Portal."}
    for person in (world.officer, world.legal_representative):
        response = post(api_for(person), "/api/v1/fallbacks", body)
        assert response.status_code == 403 and response.json()["code"] == "not_allowed"
    desk = api_for(world.desk)
    response = post(desk, "/api/v1/fallbacks", {"kind": "administration"})
    assert response.status_code == 422
    assert fields(response) == {
        "contact_office": ["Enter the customs office operators should contact."],
        "instructions": ["Enter the instructions operators should follow."],
    }
    response = post(desk, "/api/v1/fallbacks", {**body, "kind": "operator"})
    assert response.status_code == 422 and "kind" in fields(response)
    assert not Outage.objects.exists()


def test_closing_refusals(world):
    fallback = open_fallback(world)
    operator_outage = report(world)
    url = f"/api/v1/fallbacks/{fallback.public_id}/close"
    # Outside their scope for anyone but the service desk: 404.
    assert post(api_for(world.legal_representative), url).status_code == 404
    assert post(api_for(world.officer), url).status_code == 404
    # The desk cannot close an operator's own outage as a fallback: 403.
    response = post(api_for(world.desk), f"/api/v1/fallbacks/{operator_outage.public_id}/close")
    assert response.status_code == 403
    assert Outage.objects.get(pk=fallback.pk).status == OS.OPEN
    assert Outage.objects.get(pk=operator_outage.pk).status == OS.REPORTED
