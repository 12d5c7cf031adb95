"""Operators, positions and granted operations: database constraints, catalogue, services."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.operators import selectors, services
from comptoir.operators.models import CustomsOperation, Operator, OperatorOperation, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, PositionFactory, member

pytestmark = pytest.mark.django_db

Role = Position.Role
Status = Position.Status


def _integrity_error(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


# --- constraints ----------------------------------------------------------------------------


def test_an_eori_is_unique_but_many_operators_may_have_none():
    OperatorFactory(eori="FR552100554")
    _integrity_error(lambda: OperatorFactory(eori="FR552100554"))
    OperatorFactory(eori="", country="US", national_id="12-3456789")
    OperatorFactory(eori="", country="CH", national_id="CHE-123.456.789")
    assert Operator.objects.filter(eori="").count() == 2


def test_an_operator_has_at_most_one_valid_legal_representative():
    operator = OperatorFactory()
    PositionFactory(operator=operator, role=Role.LEGAL_REPRESENTATIVE)
    _integrity_error(lambda: PositionFactory(operator=operator, role=Role.LEGAL_REPRESENTATIVE))
    # A requested or ended one beside the valid one is fine.
    PositionFactory(operator=operator, role=Role.LEGAL_REPRESENTATIVE, status=Status.REQUESTED)
    PositionFactory(operator=operator, role=Role.LEGAL_REPRESENTATIVE, status=Status.ENDED)


@pytest.mark.parametrize("organisations", ["both", "neither"])
def test_a_position_belongs_to_exactly_one_organisation(organisations):
    kwargs = (
        {"operator": OperatorFactory(), "authority": AuthorityFactory()}
        if organisations == "both"
        else {}
    )
    _integrity_error(lambda: PositionFactory(role=Role.EMPLOYEE, **kwargs))


@pytest.mark.parametrize(
    "organisation, role",
    [
        ("operator", Role.OFFICER),
        ("operator", Role.SERVICE_DESK),
        ("authority", Role.MANAGER),
        ("authority", Role.LEGAL_REPRESENTATIVE),
        ("authority", Role.EMPLOYEE),
    ],
)
def test_a_role_must_fit_its_organisation(organisation, role):
    target = OperatorFactory() if organisation == "operator" else AuthorityFactory()
    _integrity_error(lambda: PositionFactory(role=role, **{organisation: target}))


def test_a_person_may_hold_several_positions_but_each_once():
    person = UserFactory()
    first, second, authority = OperatorFactory(), OperatorFactory(), AuthorityFactory()
    PositionFactory(person=person, operator=first, role=Role.EMPLOYEE)
    PositionFactory(person=person, operator=first, role=Role.MANAGER)
    PositionFactory(person=person, operator=second, role=Role.EMPLOYEE)
    PositionFactory(person=person, authority=authority, role=Role.OFFICER)
    _integrity_error(lambda: PositionFactory(person=person, operator=first, role=Role.EMPLOYEE))
    assert selectors.positions_for_person(person=person).count() == 4
    assert set(selectors.operators_for_person(person=person)) == {first, second}


def test_two_current_grants_of_the_same_operation_are_refused_by_the_database():
    operator = OperatorFactory()
    operation = CustomsOperation.objects.get(code="IMPORT")
    OperatorOperation.objects.create(operator=operator, operation=operation)
    _integrity_error(
        lambda: OperatorOperation.objects.create(operator=operator, operation=operation)
    )


# --- catalogue --------------------------------------------------------------------------------


def test_the_catalogue_is_seeded_in_three_languages():
    rows = {
        op.code: (op.label_en, op.label_fr, op.label_de)
        for op in CustomsOperation.objects.filter(active=True)
    }
    assert list(rows) == [
        "IMPORT",
        "TRANSIT",
        "TEMPORARY_STORAGE",
        "AC4",
        "ICS",
        "NATIONAL_GUARANTEE",
    ]
    assert rows["AC4"] == (
        "Release for free circulation",
        "Mise en libre pratique",
        "Überlassung zum zollrechtlich freien Verkehr",
    )
    assert rows["ICS"][0] == "Import Control System"
    assert rows["NATIONAL_GUARANTEE"][0] == "National guarantee management"
    assert rows["TEMPORARY_STORAGE"][1] == "Stockage temporaire"
    assert CustomsOperation.objects.get(code="IMPORT").label_in("de") == "Einfuhr"


def test_administrators_edit_the_catalogue(client):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    admin = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(admin, generate_totp_secret())  # staff must have TOTP to reach the admin
    client.force_login(admin)
    response = client.post(
        "/admin/operators/customsoperation/add/",
        {
            "code": "EXPORT",
            "label_fr": "Exportation",
            "label_en": "Export",
            "label_de": "Ausfuhr",
            "active": "on",
            "ordering": "70",
        },
    )
    assert response.status_code == 302, response.content[:800]
    assert CustomsOperation.objects.get(code="EXPORT").label_de == "Ausfuhr"
    assert AuditEvent.objects.get(action="customs_operation.created_by_admin").actor_id == admin.pk
    # Granted operations refer to the catalogue: entries are retired, never deleted.
    export = CustomsOperation.objects.get(code="EXPORT")
    assert client.get(f"/admin/operators/customsoperation/{export.pk}/delete/").status_code == 403


# --- services ----------------------------------------------------------------------------------


def test_register_makes_a_pending_operator_and_a_requested_legal_representative():
    person = UserFactory()
    operator, position = services.operator_register(
        actor=person, eori=" fr 552 100 554 ", name="Dupont SA", country="fr"
    )
    assert (operator.eori, operator.country, operator.status) == ("FR552100554", "FR", "pending")
    assert (position.role, position.status, position.person) == (
        Role.LEGAL_REPRESENTATIVE,
        Status.REQUESTED,
        person,
    )
    assert list(
        AuditEvent.objects.filter(
            action__in=["operator.registered", "position.requested"]
        ).values_list("action", flat=True)
    ) == ["operator.registered", "position.requested"]


def test_a_second_registration_of_an_eori_is_refused_with_a_hint_to_join():
    OperatorFactory(eori="FR552100554", status=Operator.Status.PENDING)
    with pytest.raises(ValidationError) as caught:
        services.operator_register(
            actor=UserFactory(), eori="FR552100554", name="Other", country="FR"
        )
    assert "ask to join it instead" in caught.value.message_dict["eori"][0]
    assert Operator.objects.count() == 1
    assert not Position.objects.exists()


def test_operator_status_follows_its_transitions():
    operator = OperatorFactory(status=Operator.Status.PENDING)
    services.operator_activate(actor=None, operator=operator)
    services.operator_suspend(actor=None, operator=operator)
    services.operator_activate(actor=None, operator=operator)
    services.operator_close(actor=None, operator=operator)
    with pytest.raises(services.TransitionNotAllowed):
        services.operator_activate(actor=None, operator=operator)
    operator.refresh_from_db()
    assert operator.status == Operator.Status.CLOSED


def test_position_transitions_and_the_single_legal_representative():
    operator = OperatorFactory()
    PositionFactory(operator=operator, role=Role.LEGAL_REPRESENTATIVE)
    waiting = services.position_request(
        actor=UserFactory(), person=UserFactory(), operator=operator, role=Role.LEGAL_REPRESENTATIVE
    )
    with pytest.raises(ValidationError, match="already has a legal representative"):
        services.position_validate(actor=None, position=waiting)
    waiting.refresh_from_db()
    assert waiting.status == Status.REQUESTED

    employee = services.position_request(
        actor=UserFactory(), person=UserFactory(), operator=operator, role=Role.EMPLOYEE
    )
    services.position_validate(actor=None, position=employee)
    assert employee.since is not None
    services.position_suspend(actor=None, position=employee)
    services.position_reinstate(actor=None, position=employee)
    services.position_end(actor=None, position=employee)
    employee.refresh_from_db()
    assert employee.status == Status.ENDED and employee.until is not None
    with pytest.raises(services.TransitionNotAllowed):
        services.position_validate(actor=None, position=employee)
    with pytest.raises(ValidationError, match="role does not exist"):
        services.position_request(
            actor=UserFactory(), person=UserFactory(), operator=operator, role=Role.OFFICER
        )


def test_grant_and_revoke_keep_the_history():
    operator = OperatorFactory()
    officer = UserFactory()
    importing = CustomsOperation.objects.get(code="IMPORT")
    transit = CustomsOperation.objects.get(code="TRANSIT")
    services.operation_grant(actor=officer, operator=operator, operation=importing)
    services.operation_grant(actor=officer, operator=operator, operation=transit)
    with pytest.raises(services.OperationAlreadyGranted):
        services.operation_grant(actor=officer, operator=operator, operation=importing)
    services.operation_revoke(actor=officer, operator=operator, operation=importing)
    with pytest.raises(services.OperationNotGranted):
        services.operation_revoke(actor=officer, operator=operator, operation=importing)
    services.operation_grant(actor=officer, operator=operator, operation=importing)

    current = [grant.operation.code for grant in selectors.operations_current(operator=operator)]
    assert current == ["IMPORT", "TRANSIT"]
    history = [
        (grant.operation.code, grant.revoked_at is None)
        for grant in selectors.operation_history(operator=operator)
    ]
    assert history == [("IMPORT", False), ("TRANSIT", True), ("IMPORT", True)]
    assert AuditEvent.objects.filter(action="operator.operation_granted").count() == 3
    assert AuditEvent.objects.filter(action="operator.operation_revoked").count() == 1
    assert audit_verify() is None


def test_a_person_sees_only_their_own_operators():
    mine, other = OperatorFactory(), OperatorFactory()
    person = member(mine)
    member(other)
    assert selectors.operator_for_person(person=person, operator_id=mine.pk) == mine
    with pytest.raises(Operator.DoesNotExist):
        selectors.operator_for_person(person=person, operator_id=other.pk)
