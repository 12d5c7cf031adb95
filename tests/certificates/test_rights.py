"""The right to register certificates: asked by an operator's legal representative or a manager,
decided by the officers of the competent authority through the approvals machinery (request kind
certificate_access). Granted, refused, withdrawn, expired; duplicates and bad input refused with
nothing written; registration_right_for only returns a GRANTED right."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation

from comptoir.accounts.models import User
from comptoir.approvals import selectors as approval_selectors
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request, RequestEvent
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.certificates import rights
from comptoir.certificates.models import RegistrationRight
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, member, officer
from tests.markers import requires_postgresql

RRS = RegistrationRight.Status
RS = Request.Status
Role = Position.Role
PRODUCTION = RegistrationRight.Environment.PRODUCTION
CONFORMANCE = RegistrationRight.Environment.CONFORMANCE


@dataclass
class Company:
    administration: Authority
    officer: User
    foreign_officer: User  # an officer of another national administration
    operator: Operator
    legal_representative: User
    manager: User
    employee: User
    outsider: User
    other_operator: Operator
    other_legal_representative: User


def make_company() -> Company:
    administration = AuthorityFactory(
        code="FR-DGDDI",
        name="Direction générale des douanes",
        country="FR",
        kind=Authority.Kind.NATIONAL_ADMINISTRATION,
    )
    foreign = AuthorityFactory(
        code="DE-GZD", name="Generalzolldirektion", country="DE",
        kind=Authority.Kind.NATIONAL_ADMINISTRATION,
    )  # fmt: skip
    operator = OperatorFactory(eori="FR552100554", name="Dupont SA")
    other = OperatorFactory(eori="FR732829320", name="Transit Services SARL")
    return Company(
        administration=administration,
        officer=officer(administration, username="officer_fr1"),
        foreign_officer=officer(foreign, username="officer_de1"),
        operator=operator,
        legal_representative=member(operator, Role.LEGAL_REPRESENTATIVE, username="legalrep1"),
        manager=member(operator, Role.MANAGER, username="manager_1"),
        employee=member(operator, Role.EMPLOYEE, username="employee1"),
        outsider=UserFactory(username="outsider1"),
        other_operator=other,
        other_legal_representative=member(other, Role.LEGAL_REPRESENTATIVE, username="otherrep1"),
    )


@pytest.fixture
def company(db) -> Company:
    return make_company()


def ask(company: Company, person: User | None = None, **overrides) -> RegistrationRight:
    arguments = {
        "person": person or company.legal_representative,
        "operator": company.operator,
        "account_name": "dupont_certs",
        "wanted_on": timezone.localdate() + timedelta(days=3),
        "environment": PRODUCTION,
    }
    arguments.update(overrides)
    return rights.registration_right_request(**arguments)


def request_of(right: RegistrationRight) -> Request:
    return Request.objects.get(public_id=right.request_id)


def snapshot() -> tuple[int, int, int, int, int]:
    return (
        RegistrationRight.objects.count(),
        Request.objects.count(),
        AuditEvent.objects.count(),
        Notice.objects.count(),
        OutboxMessage.objects.count(),
    )


# --- Asking -------------------------------------------------------------------------------------


def test_the_legal_representative_asks_and_the_officers_are_told(company):
    right = ask(company)

    right.refresh_from_db()
    assert right.status == RRS.REQUESTED
    assert (right.eori, right.company_name) == ("FR552100554", "Dupont SA")
    assert right.account_name == "dupont_certs"
    assert right.requested_by == company.legal_representative
    assert right.decided_at is None
    submitted = request_of(right)
    assert submitted.kind == Request.Kind.CERTIFICATE_ACCESS
    assert submitted.status == RS.SUBMITTED
    assert submitted.operator == company.operator
    assert submitted.authority == company.administration
    assert submitted.requester == company.legal_representative
    assert submitted.payload == {
        "registration_right": str(right.public_id),
        "eori": "FR552100554",
        "company_name": "Dupont SA",
        "account_name": "dupont_certs",
        "wanted_on": right.wanted_on.isoformat(),
        "environment": "production",
    }
    # The officers of the competent authority decide it, and were told (notice and e-mail).
    assert list(approvals.deciders(submitted)) == [company.officer]
    notice = Notice.objects.get(recipient=company.officer)
    assert notice.reference == submitted.reference
    assert OutboxMessage.objects.filter(to=company.officer.email).count() == 1
    assert not Notice.objects.filter(recipient=company.foreign_officer).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"request.submitted", "certificates.access.requested"} <= actions
    # Not granted yet: the wizard stays closed.
    assert rights.registration_right_for(operator=company.operator) is None
    assert list(rights.registration_rights_for_operator(operator=company.operator)) == [right]
    assert audit_verify() is None


def test_a_manager_may_ask_too(company):
    right = ask(company, person=company.manager, environment=CONFORMANCE)
    assert right.status == RRS.REQUESTED
    assert request_of(right).requester == company.manager


@pytest.mark.parametrize("who", ["employee", "outsider", "other_legal_representative"])
def test_others_may_not_ask_and_nothing_is_written(company, who):
    before = snapshot()
    with pytest.raises(rights.RightNotAllowed) as refused:
        ask(company, person=getattr(company, who))
    assert "legal representative and its managers" in str(refused.value.message)
    assert snapshot() == before


def test_a_suspended_legal_representative_may_not_ask(company):
    Position.objects.filter(person=company.legal_representative).update(
        status=Position.Status.SUSPENDED
    )
    with pytest.raises(rights.RightNotAllowed):
        ask(company)
    assert not RegistrationRight.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"account_name": "  "}, "account_name", "Enter the name of the account"),
        ({"account_name": "a b"}, "account_name", "only letters, digits"),
        ({"account_name": "x" * 151}, "account_name", "150 characters or fewer"),
        ({"wanted_on": None}, "wanted_on", "Enter the date from which"),
        ({"wanted_on": "past"}, "wanted_on", "today or in the future"),
        ({"environment": "staging"}, "environment", "production or conformance testing"),
        ({"environment": ""}, "environment", "production or conformance testing"),
    ],
)
def test_bad_input_gets_its_own_message_and_changes_nothing(company, overrides, field, message):
    if overrides.get("wanted_on") == "past":
        overrides["wanted_on"] = timezone.localdate() - timedelta(days=1)
    before = snapshot()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        ask(company, **overrides)
    errors = refused.value.message_dict
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert snapshot() == before


def test_every_bad_field_is_reported_at_once(company):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        ask(company, account_name="", wanted_on=None, environment="x")
    assert set(refused.value.message_dict) == {"account_name", "wanted_on", "environment"}


def test_today_is_a_valid_date(company):
    assert ask(company, wanted_on=timezone.localdate()).wanted_on == timezone.localdate()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"eori": ""}, "no EORI number"),
        ({"status": Operator.Status.SUSPENDED}, "Only an active company"),
        ({"deleted_at": "now"}, "Only an active company"),
    ],
)
def test_an_operator_without_eori_or_not_active_cannot_ask(company, change, message):
    if change.get("deleted_at") == "now":
        change["deleted_at"] = timezone.now()
    Operator.objects.filter(pk=company.operator.pk).update(**change)
    company.operator.refresh_from_db()
    before = snapshot()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        ask(company)
    assert message in " ".join(refused.value.messages)
    assert snapshot() == before


def test_without_a_competent_authority_nothing_is_written(company):
    Authority.objects.filter(kind=Authority.Kind.NATIONAL_ADMINISTRATION).update(
        kind=Authority.Kind.CUSTOMS_OFFICE
    )
    before = snapshot()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        ask(company)
    assert "No customs authority" in " ".join(refused.value.messages)
    assert snapshot() == before


def test_a_second_request_for_the_same_environment_is_refused_naming_the_first(company):
    first = ask(company)
    reference = request_of(first).reference
    before = snapshot()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        ask(company, person=company.manager, account_name="someone_else")
    message = refused.value.message_dict["environment"][0]
    assert reference in message and "already waiting for a decision" in message
    assert snapshot() == before
    # The other environment is another question.
    assert ask(company, environment=CONFORMANCE).status == RRS.REQUESTED


def test_once_granted_the_same_environment_is_refused_with_its_reference(company):
    right = ask(company)
    approvals.request_approve(actor=company.officer, request_id=right.request_id)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        ask(company)
    message = refused.value.message_dict["environment"][0]
    assert "already has access" in message and request_of(right).reference in message


def test_the_handler_refuses_a_request_that_names_no_right(company):
    """A certificate_access request comes only with the right it decides."""
    before = snapshot()
    for payload in ({}, {"registration_right": "not-a-uuid"}, {"registration_right": None}):
        with pytest.raises(ValidationError):
            approvals.request_submit(
                requester=company.legal_representative,
                kind=Request.Kind.CERTIFICATE_ACCESS,
                operator=company.operator,
                authority=company.administration,
                payload={**payload, "environment": PRODUCTION},
            )
    # Nor one for somebody else's right, or one already submitted.
    right = ask(company)
    with pytest.raises(ValidationError):
        approvals.request_submit(
            requester=company.legal_representative,
            kind=Request.Kind.CERTIFICATE_ACCESS,
            operator=company.operator,
            authority=company.administration,
            payload={"registration_right": str(right.public_id), "environment": PRODUCTION},
        )
    with pytest.raises(ValidationError):
        approvals.request_submit(
            requester=company.other_legal_representative,
            kind=Request.Kind.CERTIFICATE_ACCESS,
            operator=company.other_operator,
            authority=company.administration,
            payload={"registration_right": str(right.public_id), "environment": PRODUCTION},
        )
    assert Request.objects.count() == before[1] + 1


# --- Deciding -----------------------------------------------------------------------------------


def test_the_officer_approves_and_the_right_is_granted(company):
    right = ask(company)
    approvals.request_approve(actor=company.officer, request_id=right.request_id)

    right.refresh_from_db()
    assert right.status == RRS.GRANTED
    assert right.decided_at is not None
    assert request_of(right).status == RS.APPROVED
    assert rights.registration_right_for(operator=company.operator) == right
    assert rights.registration_right_for(operator=company.operator, environment=CONFORMANCE) is None
    assert rights.registration_right_for(operator=company.other_operator) is None
    granted = AuditEvent.objects.get(action="certificates.access.granted")
    assert granted.actor == company.officer
    assert granted.subject_id == str(right.pk)
    # The requester is told.
    assert Notice.objects.filter(
        recipient=company.legal_representative, topic="request.approved"
    ).exists()
    assert audit_verify() is None


def test_the_officer_rejects_and_the_right_is_refused(company):
    right = ask(company)
    approvals.request_reject(
        actor=company.officer, request_id=right.request_id, reason="Unknown account."
    )
    right.refresh_from_db()
    assert right.status == RRS.REFUSED
    assert right.decided_at is not None
    assert rights.registration_right_for(operator=company.operator) is None
    assert AuditEvent.objects.filter(action="certificates.access.refused").count() == 1
    # The company may ask again.
    again = ask(company)
    assert again.status == RRS.REQUESTED and again.pk != right.pk


def test_withdrawn_by_the_requester_the_right_is_withdrawn(company):
    right = ask(company)
    approvals.request_withdraw(actor=company.legal_representative, request_id=right.request_id)
    right.refresh_from_db()
    assert right.status == RRS.WITHDRAWN
    assert rights.registration_right_for(operator=company.operator) is None
    assert ask(company).status == RRS.REQUESTED


def test_expired_without_a_decision_the_right_is_withdrawn(company):
    right = ask(company)
    later = timezone.now() + timedelta(days=approvals.request_expiry_days() + 1)
    assert approvals.requests_expire_due(now=later) == 1
    right.refresh_from_db()
    assert right.status == RRS.WITHDRAWN
    assert request_of(right).status == RS.EXPIRED
    assert AuditEvent.objects.get(action="certificates.access.withdrawn").actor is None


@pytest.mark.parametrize("who", ["foreign_officer", "legal_representative", "employee"])
def test_only_the_competent_officers_decide(company, who):
    right = ask(company)
    with pytest.raises(approvals.NotAllowedToDecide):
        approvals.request_approve(actor=getattr(company, who), request_id=right.request_id)
    right.refresh_from_db()
    assert right.status == RRS.REQUESTED
    assert request_of(right).status == RS.SUBMITTED
    assert not AuditEvent.objects.filter(action="certificates.access.granted").exists()


def test_a_decided_request_cannot_be_decided_again(company):
    right = ask(company)
    approvals.request_approve(actor=company.officer, request_id=right.request_id)
    with pytest.raises(approvals.RequestAlreadyDecided):
        approvals.request_reject(actor=company.officer, request_id=right.request_id, reason="No.")
    right.refresh_from_db()
    assert right.status == RRS.GRANTED


def test_production_comes_first_when_both_are_granted(company):
    conformance = ask(company, environment=CONFORMANCE)
    approvals.request_approve(actor=company.officer, request_id=conformance.request_id)
    assert rights.registration_right_for(operator=company.operator) == conformance
    production = ask(company)
    approvals.request_approve(actor=company.officer, request_id=production.request_id)
    assert rights.registration_right_for(operator=company.operator) == production
    assert (
        rights.registration_right_for(operator=company.operator, environment=CONFORMANCE)
        == conformance
    )


def test_the_queue_shows_what_was_asked(company):
    right = ask(company)
    submitted = request_of(right)
    assert submitted in approval_selectors.requests_to_decide(actor=company.officer)
    with translation.override("en"):
        rows = {
            str(row.key): row.value for row in approval_selectors.request_details(request=submitted)
        }
    assert rows["EORI number"] == "FR552100554"
    assert rows["Company name"] == "Dupont SA"
    assert rows["Account name"] == "dupont_certs"
    assert rows["Environment"] == "Production"
    assert rows["Access wanted from"] not in ("", "—")
    with translation.override("en"):
        assert submitted.get_kind_display() == "Access to certificate registration"


def test_the_access_state_for_the_closed_wizard(company):
    state = rights.registration_access_state(
        operator=company.operator, person=company.legal_representative
    )
    assert state.granted is None and state.waiting == [] and state.can_request
    right = ask(company)
    state = rights.registration_access_state(operator=company.operator, person=company.employee)
    assert state.waiting == [(right, request_of(right).reference)]
    assert not state.can_request
    approvals.request_approve(actor=company.officer, request_id=right.request_id)
    state = rights.registration_access_state(operator=company.operator, person=company.employee)
    assert state.granted == right and state.waiting == []


def test_person_scoped_selectors(company):
    right = ask(company)
    found = rights.registration_right_for_person(person=company.employee, right_id=right.public_id)
    assert found == right
    with pytest.raises(RegistrationRight.DoesNotExist):
        rights.registration_right_for_person(person=company.outsider, right_id=right.public_id)
    with pytest.raises(RegistrationRight.DoesNotExist):
        rights.registration_right_for_person(
            person=company.other_legal_representative, right_id=right.public_id
        )
    with pytest.raises(RegistrationRight.DoesNotExist):
        rights.registration_right_for_person(person=company.employee, right_id="nonsense")
    with pytest.raises(Operator.DoesNotExist):
        rights.registration_rights_for_person(
            person=company.outsider, operator_id=company.operator.pk
        )
    assert list(rights.registration_rights_for_person(person=company.manager)) == [right]
    assert not rights.registration_rights_for_person(person=company.outsider).exists()


# --- At the same moment (PostgreSQL) ------------------------------------------------------------


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_requests_for_the_same_environment_at_once_give_one(monkeypatch):
    company = make_company()
    barrier = threading.Barrier(2, timeout=20)
    live = rights.registration_right_live

    waited: set[int] = set()

    def live_then_wait(**kwargs):
        found = live(**kwargs)
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()  # both have found nothing before either writes
        return found

    monkeypatch.setattr(rights, "registration_right_live", live_then_wait)
    outcomes: dict[str, object] = {}

    def request(person: User) -> None:
        try:
            with translation.override("en"):
                ask(company, person=person)
            outcomes[person.username] = "requested"
        except Exception as exc:
            outcomes[person.username] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=request, args=(person,))
        for person in (company.legal_representative, company.manager)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    values = list(outcomes.values())
    assert values.count("requested") == 1, outcomes
    refused = next(value for value in values if value != "requested")
    assert isinstance(refused, ValidationError), refused
    assert "already waiting for a decision" in refused.message_dict["environment"][0]
    assert RegistrationRight.objects.count() == 1
    assert Request.objects.filter(kind=Request.Kind.CERTIFICATE_ACCESS).count() == 1
    assert RequestEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="certificates.access.requested").count() == 1
    assert audit_verify() is None
