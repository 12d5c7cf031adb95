"""An operator's activities: every member sees them in the professional space; the legal
representative and managers add one (type from the catalogue, grouped by section, in the page's
language, with an optional identifier) or remove one; each change is audited. Employees and
suspended members are refused (403), outsiders get 404. Administrators edit the catalogue and
an operator's activities in the admin, audited too."""

from __future__ import annotations

from dataclasses import dataclass
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.operators import activities
from comptoir.operators.models import (
    ActivitySection,
    ActivityType,
    Operator,
    OperatorActivity,
    Position,
)
from comptoir.operators.services import NotAllowed
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, PositionFactory, member

pytestmark = pytest.mark.django_db

Role = Position.Role


@dataclass
class Company:
    operator: Operator
    legal_representative: User
    manager: User
    employee: User
    suspended: User  # a suspended manager
    outsider: User


def build_company() -> Company:
    """An active operator with one person in each role and someone from outside."""
    operator = OperatorFactory(eori="FR552100554", name="Dupont SA")
    suspended = UserFactory(username="suspended1")
    PositionFactory(
        person=suspended, operator=operator, role=Role.MANAGER, status=Position.Status.SUSPENDED
    )
    return Company(
        operator=operator,
        legal_representative=member(operator, Role.LEGAL_REPRESENTATIVE, username="legalrep1"),
        manager=member(operator, Role.MANAGER, username="manager_1"),
        employee=member(operator, Role.EMPLOYEE, username="employee1"),
        suspended=suspended,
        outsider=UserFactory(username="outsider1"),
    )


@pytest.fixture
def company() -> Company:
    return build_company()


def seeded(code: str) -> ActivityType:
    """An activity type of the catalogue seeded by the migrations."""
    return ActivityType.objects.select_related("section").get(code=code)


def signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def page(response) -> str:
    return unescape(response.content.decode())


def add_url(company: Company) -> str:
    return f"/companies/{company.operator.pk}/activities/add/"


def remove_url(company: Company, activity: OperatorActivity) -> str:
    return f"/companies/{company.operator.pk}/activities/{activity.pk}/remove/"


def add(company: Company, code: str, identifier: str = "", actor: User | None = None):
    return activities.operator_activity_add(
        actor=actor or company.manager,
        operator=company.operator,
        activity_type=seeded(code),
        identifier=identifier,
    )


# --- The catalogue ------------------------------------------------------------------------------


def test_the_catalogue_is_seeded_with_the_sections_and_types_of_the_directory():
    offered = {(item.section.code, item.code) for item in activities.activity_types_catalogue()}
    assert offered == {
        ("PLANT_HEALTH", "EUPO"),
        ("PLANT_HEALTH", "EURPO"),
        ("PLANT_HEALTH", "QUA-CONF"),
        ("PLANT_HEALTH", "PLANTS"),
        ("CITES", "EU_CITES"),
        ("ORGANIC", "ORGANIC IMPORTER"),
        ("FLEGT", "FLEGT"),
    }
    sections = [section.code for section in activities.activity_sections_catalogue()]
    assert sections == ["PLANT_HEALTH", "CITES", "ORGANIC", "FLEGT"]


def test_a_retired_type_and_a_section_left_empty_are_no_longer_offered():
    ActivityType.objects.filter(code="EU_CITES").update(active=False)
    sections = activities.activity_sections_catalogue()
    assert "CITES" not in [section.code for section in sections]
    plant_health = next(section for section in sections if section.code == "PLANT_HEALTH")
    assert [item.code for item in plant_health.offered] == ["EUPO", "EURPO", "QUA-CONF", "PLANTS"]


# --- The list in the professional space ---------------------------------------------------------


def test_every_member_sees_the_activities_but_only_managers_may_change_them(company):
    add(company, "EUPO", "FR-PH-0042")
    add(company, "FLEGT")
    for who in ("legal_representative", "manager", "employee", "suspended"):
        html = page(signed_in(getattr(company, who)).get(f"/companies/{company.operator.pk}/"))
        assert '<h2 class="heading-l" id="activities">Activities</h2>' in html, who
        assert "Professional operator (EU) (EUPO)" in html, who
        assert "FR-PH-0042" in html, who
        assert "FLEGT-licensed timber importer (FLEGT)" in html, who
        can_change = who in ("legal_representative", "manager")
        assert (add_url(company) in html) is can_change, who
        assert ("/activities/" in html and "/remove/" in html) is can_change, who


def test_a_company_without_activity_says_so(company):
    html = page(signed_in(company.employee).get(f"/companies/{company.operator.pk}/"))
    assert "The company has declared no activity yet." in html


def test_the_list_is_in_the_language_of_the_person(company):
    add(company, "QUA-CONF")
    company.employee.language = "fr"
    company.employee.save(update_fields=["language"])
    html = page(signed_in(company.employee).get(f"/companies/{company.operator.pk}/"))
    assert "Santé des végétaux" in html
    assert "Station de quarantaine ou de confinement (QUA-CONF)" in html


# --- Adding -------------------------------------------------------------------------------------


def test_the_form_offers_the_active_types_grouped_by_section(company):
    ActivityType.objects.filter(code="PLANTS").update(active=False)
    response = signed_in(company.manager).get(add_url(company))
    assert response.status_code == 200
    html = page(response)
    assert '<optgroup label="Plant health">' in html
    assert '<optgroup label="CITES (endangered species)">' in html
    assert f'<option value="{seeded("EURPO").pk}">' in html
    assert "Registered professional operator (EU) (EURPO)" in html
    assert "(PLANTS)" not in html
    assert '<label class="label" for="id_identifier">Identifier (optional)</label>' in html


def test_the_form_speaks_the_persons_language(company):
    company.manager.language = "de"
    company.manager.save(update_fields=["language"])
    html = page(signed_in(company.manager).get(add_url(company)))
    assert '<optgroup label="Pflanzengesundheit">' in html
    assert "Importeur ökologischer Erzeugnisse (ORGANIC IMPORTER)" in html


@pytest.mark.parametrize("who", ["legal_representative", "manager"])
def test_a_manager_adds_an_activity_with_its_identifier(company, who):
    actor = getattr(company, who)
    client = signed_in(actor)
    response = client.post(
        add_url(company),
        {"activity_type": seeded("EUPO").pk, "identifier": "  FR-PH   0042 "},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{company.operator.pk}/"
    activity = OperatorActivity.objects.get(operator=company.operator)
    assert activity.activity_type == seeded("EUPO")
    assert activity.identifier == "FR-PH 0042"
    assert activity.added_by == actor
    assert activity.added_at is not None
    event = AuditEvent.objects.get(action="operator.activity_added")
    assert event.actor_id == actor.pk
    assert event.subject_id == str(company.operator.pk)
    assert event.data["activity_type"] == "PLANT_HEALTH/EUPO"
    assert event.data["identifier"] == "FR-PH 0042"
    assert audit_verify() is None
    html = page(client.get(response["Location"]))
    assert "The activity “Professional operator (EU)” has been added." in html
    assert "FR-PH 0042" in html


def test_the_identifier_is_optional(company):
    response = signed_in(company.manager).post(
        add_url(company), {"activity_type": seeded("EU_CITES").pk, "identifier": "   "}
    )
    assert response.status_code == 302
    assert OperatorActivity.objects.get(operator=company.operator).identifier == ""


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"identifier": "X"}, "activity_type", "Select the activity type."),
        ({"activity_type": "999999"}, "activity_type", "Select an activity type from the list."),
        ({"activity_type": "EUPO"}, "activity_type", "Select an activity type from the list."),
        (
            {"activity_type": "EUPO-PK", "identifier": "A" * 61},
            "identifier",
            "Enter an identifier of 60 characters or fewer.",
        ),
    ],
)
def test_bad_input_gets_a_specific_message_and_changes_nothing(company, data, field, message):
    data = {
        key: (str(seeded("EUPO").pk) if value == "EUPO-PK" else value)
        for key, value in data.items()
    }
    response = signed_in(company.manager).post(add_url(company), data)
    assert response.status_code == 422
    html = page(response)
    assert "There is a problem" in html
    assert f'<a href="#id_{field}">{message}</a>' in html
    assert html.count(message) == 2  # in the summary and by the field
    assert "<title>Error: Add an activity" in html
    assert not OperatorActivity.objects.exists()
    assert not AuditEvent.objects.filter(action="operator.activity_added").exists()


def test_a_type_the_company_already_has_is_refused_with_a_clear_message(company):
    add(company, "EUPO", "FR-PH-0042")
    response = signed_in(company.manager).post(
        add_url(company), {"activity_type": seeded("EUPO").pk, "identifier": "OTHER"}
    )
    assert response.status_code == 422
    assert (
        "The company already has the activity “Professional operator (EU)”. To change its "
        "identifier, remove it first and add it again."
    ) in page(response)
    assert list(
        OperatorActivity.objects.filter(operator=company.operator).values_list(
            "identifier", flat=True
        )
    ) == ["FR-PH-0042"]


def test_a_retired_type_is_refused(company):
    retired = seeded("PLANTS")
    retired.active = False
    retired.save(update_fields=["active"])
    response = signed_in(company.manager).post(add_url(company), {"activity_type": retired.pk})
    assert response.status_code == 422
    assert "Select an activity type from the list." in page(response)
    # The service refuses it too, whoever calls it.
    with pytest.raises(ValidationError) as refused:
        activities.operator_activity_add(
            actor=company.manager, operator=company.operator, activity_type=retired
        )
    assert refused.value.message_dict == {
        "activity_type": [
            "This activity type is no longer offered. Choose another one from the list."
        ]
    }
    assert not OperatorActivity.objects.exists()


@pytest.mark.parametrize("who", ["employee", "suspended"])
def test_employees_and_suspended_members_may_not_add(company, who):
    client = signed_in(getattr(company, who))
    for response in (
        client.get(add_url(company)),
        client.post(add_url(company), {"activity_type": seeded("EUPO").pk}),
    ):
        assert response.status_code == 403
        assert (
            "Only the legal representative and managers can change the company's activities."
            in page(response)
        )
    assert not OperatorActivity.objects.exists()


def test_outsiders_get_404_and_anonymous_visitors_sign_in(company):
    client = signed_in(company.outsider)
    assert client.get(add_url(company)).status_code == 404
    assert client.post(add_url(company), {"activity_type": seeded("EUPO").pk}).status_code == 404
    assert client.get("/companies/999999/activities/add/").status_code == 404
    anonymous = Client().get(add_url(company))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert not OperatorActivity.objects.exists()


def test_the_service_checks_who_may_add(company):
    for person in (company.employee, company.suspended, company.outsider):
        with pytest.raises(NotAllowed):
            add(company, "EUPO", actor=person)
    assert not OperatorActivity.objects.exists()


def test_a_deleted_space_takes_no_new_activity(company):
    Operator.objects.filter(pk=company.operator.pk).update(deleted_at=timezone.now())
    with pytest.raises(ValidationError) as refused:
        add(company, "EUPO")
    assert refused.value.message_dict == {
        "operator": ["This company's professional space no longer exists."]
    }
    assert not OperatorActivity.objects.exists()


def test_the_same_type_may_be_held_by_several_operators(company):
    add(company, "EUPO", "A")
    other = OperatorFactory(name="Martin SARL")
    manager = member(other, Role.MANAGER)
    activities.operator_activity_add(
        actor=manager, operator=other, activity_type=seeded("EUPO"), identifier="B"
    )
    assert OperatorActivity.objects.filter(activity_type=seeded("EUPO")).count() == 2


# --- Removing -----------------------------------------------------------------------------------


def test_a_manager_removes_an_activity(company):
    activity = add(company, "EUPO", "FR-PH-0042")
    kept = add(company, "FLEGT")
    client = signed_in(company.legal_representative)
    response = client.post(remove_url(company, activity))
    assert response.status_code == 302
    assert list(OperatorActivity.objects.filter(operator=company.operator)) == [kept]
    event = AuditEvent.objects.get(action="operator.activity_removed")
    assert event.actor_id == company.legal_representative.pk
    assert event.data == {
        "activity": activity.pk,
        "activity_type": "PLANT_HEALTH/EUPO",
        "identifier": "FR-PH-0042",
    }
    assert audit_verify() is None
    html = page(client.get(response["Location"]))
    assert "The activity “Professional operator (EU)” has been removed." in html
    # Removed, it may be added again.
    assert (
        signed_in(company.manager)
        .post(add_url(company), {"activity_type": seeded("EUPO").pk})
        .status_code
        == 302
    )


def test_removing_takes_a_post(company):
    activity = add(company, "EUPO")
    assert signed_in(company.manager).get(remove_url(company, activity)).status_code == 405
    assert OperatorActivity.objects.filter(pk=activity.pk).exists()


@pytest.mark.parametrize("who", ["employee", "suspended"])
def test_employees_and_suspended_members_may_not_remove(company, who):
    activity = add(company, "EUPO")
    response = signed_in(getattr(company, who)).post(remove_url(company, activity))
    assert response.status_code == 403
    assert OperatorActivity.objects.filter(pk=activity.pk).exists()
    assert not AuditEvent.objects.filter(action="operator.activity_removed").exists()


def test_removing_outside_ones_scope_answers_404(company):
    activity = add(company, "EUPO")
    assert signed_in(company.outsider).post(remove_url(company, activity)).status_code == 404
    # Another operator's activity through this operator's address.
    other = OperatorFactory(name="Martin SARL")
    other_manager = member(other, Role.MANAGER)
    foreign = activities.operator_activity_add(
        actor=other_manager, operator=other, activity_type=seeded("EUPO")
    )
    client = signed_in(company.manager)
    assert client.post(remove_url(company, foreign)).status_code == 404
    assert (
        client.post(f"/companies/{company.operator.pk}/activities/999999/remove/").status_code
        == 404
    )
    assert OperatorActivity.objects.count() == 2


def test_removing_twice_says_it_is_gone(company):
    activity = add(company, "EUPO")
    activities.operator_activity_remove(
        actor=company.manager, operator=company.operator, activity=activity
    )
    with pytest.raises(ValidationError) as refused:
        activities.operator_activity_remove(
            actor=company.legal_representative, operator=company.operator, activity=activity
        )
    assert refused.value.message_dict == {
        "activity": ["This activity has already been removed. Nothing was changed."]
    }
    assert AuditEvent.objects.filter(action="operator.activity_removed").count() == 1


# --- Administration -----------------------------------------------------------------------------


def _admin_client(client: Client) -> User:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    admin = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(admin, generate_totp_secret())  # staff must have TOTP to reach the admin
    client.force_login(admin)
    return admin


def test_administrators_edit_the_catalogue_audited(client):
    admin = _admin_client(client)
    assert client.get("/admin/operators/activitysection/").status_code == 200
    listing = client.get("/admin/operators/activitytype/")
    assert listing.status_code == 200
    assert "EURPO" in page(listing)
    section = ActivitySection.objects.get(code="CITES")
    response = client.post(
        "/admin/operators/activitytype/add/",
        {
            "section": section.pk,
            "code": "CITES_BREEDER",
            "label_fr": "Éleveur CITES",
            "label_en": "CITES breeder",
            "label_de": "CITES-Züchter",
            "active": "on",
            "ordering": "20",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = ActivityType.objects.get(code="CITES_BREEDER")
    event = AuditEvent.objects.get(action="activity_type.created_by_admin")
    assert event.actor_id == admin.pk and event.subject_id == str(created.pk)
    assert "CITES_BREEDER" in [item.code for item in activities.activity_types_catalogue()]
    # Types are retired, not deleted: operators' activities refer to them.
    assert client.get(f"/admin/operators/activitytype/{created.pk}/delete/").status_code == 403


def test_administrators_edit_an_operators_activities_audited(client, company):
    admin = _admin_client(client)
    kept = add(company, "FLEGT", "OLD")
    gone = add(company, "EU_CITES")
    url = f"/admin/operators/operator/{company.operator.pk}/change/"
    form_page = client.get(url)
    assert form_page.status_code == 200
    form = form_page.context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and key in form.fields
    }
    data["name"] = "Dupont Équipements & Fils"
    prefix = "activities"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "3",
            f"{prefix}-INITIAL_FORMS": "2",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-id": str(kept.pk),
            f"{prefix}-0-operator": str(company.operator.pk),
            f"{prefix}-0-activity_type": str(kept.activity_type_id),
            f"{prefix}-0-identifier": "NEW-ID",
            f"{prefix}-1-id": str(gone.pk),
            f"{prefix}-1-operator": str(company.operator.pk),
            f"{prefix}-1-activity_type": str(gone.activity_type_id),
            f"{prefix}-1-identifier": "",
            f"{prefix}-1-DELETE": "on",
            f"{prefix}-2-operator": str(company.operator.pk),
            f"{prefix}-2-activity_type": str(seeded("EURPO").pk),
            f"{prefix}-2-identifier": "FR-RPO-7",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    current = {
        item.activity_type.code: item.identifier
        for item in activities.operator_activities(operator=company.operator)
    }
    assert current == {"FLEGT": "NEW-ID", "EURPO": "FR-RPO-7"}
    # The directory's folded name follows a renaming in the admin.
    company.operator.refresh_from_db()
    assert company.operator.search_name == "dupont equipements fils"
    assert OperatorActivity.objects.get(activity_type__code="EURPO").added_by == admin
    actions = {
        event.action: event.data
        for event in AuditEvent.objects.filter(actor=admin, action__startswith="operator.activity")
    }
    assert actions["operator.activity_changed_by_admin"]["identifier"] == "NEW-ID"
    assert actions["operator.activity_removed_by_admin"]["activity_type"] == "CITES/EU_CITES"
    assert actions["operator.activity_added_by_admin"]["activity_type"] == "PLANT_HEALTH/EURPO"
    assert audit_verify() is None
