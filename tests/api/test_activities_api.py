"""Activities in the API: the catalogue (/api/v1/activity-types, labels in the caller's
language) and an operator's activities (/api/v1/operators/{id}/activities). Members read them;
the legal representative and managers add and remove them. Outside scope → 404, in scope but
not allowed → 403, bad input → 422 with field messages."""

from __future__ import annotations

import pytest
from django.test import Client

from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.operators import activities
from comptoir.operators.models import ActivityType, OperatorActivity, Position
from tests.api.test_api import bearer, token_for
from tests.factories_operators import OperatorFactory, member
from tests.operators.test_activities import Company, build_company

pytestmark = pytest.mark.django_db

Role = Position.Role


@pytest.fixture
def company() -> Company:
    return build_company()


def api_for(person: User) -> Client:
    return Client(**bearer(token_for(person)))


def base(company: Company) -> str:
    return f"/api/v1/operators/{company.operator.pk}/activities"


def type_id(code: str) -> int:
    return ActivityType.objects.get(code=code).pk


def errors(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


def add(company: Company, code: str, identifier: str = "") -> OperatorActivity:
    return activities.operator_activity_add(
        actor=company.manager,
        operator=company.operator,
        activity_type=ActivityType.objects.get(code=code),
        identifier=identifier,
    )


# --- The catalogue ------------------------------------------------------------------------------


def test_the_catalogue_by_section(company):
    response = api_for(company.employee).get("/api/v1/activity-types")
    assert response.status_code == 200
    sections = response.json()
    assert [section["code"] for section in sections] == [
        "PLANT_HEALTH",
        "CITES",
        "ORGANIC",
        "FLEGT",
    ]
    assert sections[0]["label"] == "Plant health"
    assert [item["code"] for item in sections[0]["types"]] == [
        "EUPO",
        "EURPO",
        "QUA-CONF",
        "PLANTS",
    ]
    assert sections[0]["types"][0] == {
        "id": type_id("EUPO"),
        "code": "EUPO",
        "label": "Professional operator (EU)",
    }


def test_the_catalogue_speaks_the_callers_language_and_leaves_retired_types_out(company):
    ActivityType.objects.filter(code="EURPO").update(active=False)
    company.outsider.language = "fr"
    company.outsider.save(update_fields=["language"])
    sections = api_for(company.outsider).get("/api/v1/activity-types").json()
    assert sections[0]["label"] == "Santé des végétaux"
    assert [item["code"] for item in sections[0]["types"]] == ["EUPO", "QUA-CONF", "PLANTS"]
    assert sections[2]["types"][0]["label"] == "Importateur biologique"


def test_the_catalogue_needs_a_caller(company):
    assert Client().get("/api/v1/activity-types").status_code == 401


# --- Reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["legal_representative", "manager", "employee", "suspended"])
def test_members_read_the_activities(company, who):
    add(company, "EUPO", "FR-PH-0042")
    add(company, "FLEGT")
    response = api_for(getattr(company, who)).get(base(company))
    assert response.status_code == 200
    items = response.json()
    assert [(item["section"], item["activity_type"]) for item in items] == [
        ("PLANT_HEALTH", "EUPO"),
        ("FLEGT", "FLEGT"),
    ]
    first = items[0]
    assert first["label"] == "Professional operator (EU)"
    assert first["section_label"] == "Plant health"
    assert first["identifier"] == "FR-PH-0042"
    assert first["activity_type_id"] == type_id("EUPO")
    assert first["added_by"] == "Ada Lovelace"


def test_outsiders_and_unknown_operators_get_404(company):
    add(company, "EUPO")
    api = api_for(company.outsider)
    assert api.get(base(company)).status_code == 404
    assert api.get("/api/v1/operators/999999/activities").status_code == 404
    assert Client().get(base(company)).status_code == 401


# --- Adding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["legal_representative", "manager"])
def test_a_manager_adds_an_activity(company, who):
    actor = getattr(company, who)
    response = api_for(actor).post(
        base(company),
        {"activity_type_id": type_id("EURPO"), "identifier": "  FR-RPO  7 "},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["activity_type"] == "EURPO"
    assert body["identifier"] == "FR-RPO 7"
    stored = OperatorActivity.objects.get(pk=body["id"])
    assert stored.operator == company.operator
    assert stored.added_by == actor
    event = AuditEvent.objects.get(action="operator.activity_added")
    assert event.actor_id == actor.pk
    assert event.data["activity_type"] == "PLANT_HEALTH/EURPO"


def test_the_identifier_may_be_left_out(company):
    response = api_for(company.manager).post(
        base(company), {"activity_type_id": type_id("FLEGT")}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["identifier"] == ""


@pytest.mark.parametrize("who", ["employee", "suspended"])
def test_employees_and_suspended_members_get_403(company, who):
    response = api_for(getattr(company, who)).post(
        base(company), {"activity_type_id": type_id("EUPO")}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the legal representative and managers can change the company's activities.",
        "code": "not_allowed",
    }
    assert not OperatorActivity.objects.exists()


def test_outsiders_cannot_add(company):
    response = api_for(company.outsider).post(
        base(company), {"activity_type_id": type_id("EUPO")}, content_type="application/json"
    )
    assert response.status_code == 404
    assert not OperatorActivity.objects.exists()


def test_bad_input_answers_422_with_the_field(company):
    api = api_for(company.manager)
    unknown = api.post(base(company), {"activity_type_id": 999999}, content_type="application/json")
    assert unknown.status_code == 422
    assert errors(unknown) == {
        "activity_type_id": [
            "Choose an activity type from the catalogue (GET /api/v1/activity-types)."
        ]
    }
    too_long = api.post(
        base(company),
        {"activity_type_id": type_id("EUPO"), "identifier": "A" * 61},
        content_type="application/json",
    )
    assert too_long.status_code == 422
    assert "Enter an identifier of 60 characters or fewer." in str(too_long.json())
    missing = api.post(base(company), {}, content_type="application/json")
    assert missing.status_code == 422
    assert "activity_type_id" in errors(missing)
    assert not OperatorActivity.objects.exists()


def test_a_retired_type_and_a_duplicate_are_refused(company):
    ActivityType.objects.filter(code="PLANTS").update(active=False)
    api = api_for(company.manager)
    retired = api.post(
        base(company), {"activity_type_id": type_id("PLANTS")}, content_type="application/json"
    )
    assert retired.status_code == 422
    assert errors(retired) == {
        "activity_type_id": [
            "This activity type is no longer offered. Choose another one from the list."
        ]
    }
    add(company, "EUPO", "FIRST")
    duplicate = api.post(
        base(company),
        {"activity_type_id": type_id("EUPO"), "identifier": "SECOND"},
        content_type="application/json",
    )
    assert duplicate.status_code == 422
    assert errors(duplicate) == {
        "activity_type_id": [
            "The company already has the activity “Professional operator (EU)”. To change its "
            "identifier, remove it first and add it again."
        ]
    }
    assert list(OperatorActivity.objects.values_list("identifier", flat=True)) == ["FIRST"]


# --- Removing -----------------------------------------------------------------------------------


def test_a_manager_removes_an_activity(company):
    activity = add(company, "EUPO")
    response = api_for(company.legal_representative).delete(f"{base(company)}/{activity.pk}")
    assert response.status_code == 204
    assert not OperatorActivity.objects.exists()
    event = AuditEvent.objects.get(action="operator.activity_removed")
    assert event.actor_id == company.legal_representative.pk
    # Gone: a second removal answers 404.
    again = api_for(company.manager).delete(f"{base(company)}/{activity.pk}")
    assert again.status_code == 404


def test_removing_by_an_employee_answers_403(company):
    activity = add(company, "EUPO")
    response = api_for(company.employee).delete(f"{base(company)}/{activity.pk}")
    assert response.status_code == 403
    assert OperatorActivity.objects.filter(pk=activity.pk).exists()


def test_removing_outside_ones_scope_answers_404(company):
    activity = add(company, "EUPO")
    assert api_for(company.outsider).delete(f"{base(company)}/{activity.pk}").status_code == 404
    other = OperatorFactory(name="Martin SARL")
    foreign = activities.operator_activity_add(
        actor=member(other, Role.MANAGER),
        operator=other,
        activity_type=ActivityType.objects.get(code="EUPO"),
    )
    api = api_for(company.manager)
    assert api.delete(f"{base(company)}/{foreign.pk}").status_code == 404
    assert api.delete(f"{base(company)}/999999").status_code == 404
    assert OperatorActivity.objects.count() == 2
