"""Mandates: the services (each transition allowed and refused, overlap, period), the reads
(mandate_in_force at its boundaries, acting for whom, scope by person), the database guard
against overlaps, and two acceptances at once on PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import Notice, NoticePreference, OutboxMessage
from comptoir.operators import mandates
from comptoir.operators.models import Mandate, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, PositionFactory, member
from tests.markers import requires_postgresql

pytestmark = pytest.mark.django_db

Role = Position.Role
MS = Mandate.Status
ICS2 = Mandate.Scope.ICS2_FILING
PORTAL = Mandate.Scope.PORTAL_ACTIONS


@dataclass
class Side:
    operator: Operator
    lr: User
    manager: User
    employee: User


def side(eori: str, name: str, prefix: str) -> Side:
    operator = OperatorFactory(eori=eori, name=name)
    return Side(
        operator=operator,
        lr=member(operator, Role.LEGAL_REPRESENTATIVE, username=f"{prefix}_lr", language="fr"),
        manager=member(operator, Role.MANAGER, username=f"{prefix}_manager"),
        employee=member(operator, Role.EMPLOYEE, username=f"{prefix}_employee"),
    )


def today() -> date:
    return timezone.localdate()


def propose(principal: Side, provider: Side, **overrides) -> Mandate:
    arguments = {
        "actor": principal.lr,
        "principal": principal.operator,
        "provider_eori": provider.operator.eori,
        "scope": ICS2,
        "valid_from": today(),
        "valid_until": today() + timedelta(days=30),
    }
    arguments.update(overrides)
    return mandates.mandate_propose(**arguments)


def field_codes(exc: ValidationError) -> dict[str, list[str]]:
    return {
        field: [error.code or "" for error in errors] for field, errors in exc.error_dict.items()
    }


# --- Proposal -----------------------------------------------------------------------------------


def test_propose_stores_audits_and_tells_the_provider_in_their_language(principal, provider):
    mandate = propose(principal, provider, provider_eori=" fr 732829320 ")
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED
    assert mandate.principal == principal.operator and mandate.provider == provider.operator
    assert mandate.created_by == principal.lr and mandate.scope == ICS2
    assert mandate.reference.startswith("MDT-") and len(mandate.reference) == 14
    event = AuditEvent.objects.get(action="mandate.proposed")
    assert event.actor == principal.lr and event.data["provider"] == "FR732829320"

    # The provider's legal representative (in French) and manager are told; not the employee,
    # not the principal's people.
    notices = Notice.objects.filter(topic="mandate.proposed")
    assert {n.recipient for n in notices} == {provider.lr, provider.manager}
    for notice in notices:
        assert notice.operator == provider.operator and notice.sector == "company"
        assert notice.reference == mandate.reference
        assert notice.link == (f"/companies/{provider.operator.pk}/mandates/{mandate.public_id}/")
    french = notices.get(recipient=provider.lr)
    assert "propose" in french.title and "Dupont SA" in french.title
    mails = OutboxMessage.objects.filter(template="operators/mandates/email/proposed")
    assert {m.to for m in mails} == {provider.lr.email, provider.manager.email}
    assert mails.get(to=provider.lr.email).language == "fr"


def test_email_follows_the_company_notice_preference(principal, provider):
    NoticePreference.objects.create(
        person=provider.manager, category=NoticePreference.Category.COMPANY, by_email=False
    )
    propose(principal, provider)
    assert Notice.objects.filter(recipient=provider.manager).count() == 1
    assert not OutboxMessage.objects.filter(to=provider.manager.email).exists()
    assert OutboxMessage.objects.filter(to=provider.lr.email).exists()


def test_a_manager_may_propose_but_not_an_employee_nor_an_outsider(principal, provider):
    assert propose(principal, provider, actor=principal.manager).created_by == principal.manager
    for actor in (principal.employee, provider.lr, UserFactory()):
        with pytest.raises(mandates.MandateNotAllowed):
            propose(principal, provider, actor=actor, scope=PORTAL)
    assert Mandate.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"provider_eori": ""}, "provider_eori", "provider_eori_empty"),
        ({"provider_eori": "FR552100554"}, "provider_eori", "self_mandate"),
        ({"provider_eori": "FR428754006"}, "provider_eori", "provider_unknown"),
        ({"scope": "everything"}, "scope", "scope_invalid"),
        ({"valid_from": None}, "valid_from", "valid_from_empty"),
        ({"valid_from": date(2020, 1, 1), "valid_until": None}, "valid_from", "valid_from_past"),
        ({"valid_until": "before"}, "valid_until", "period_invalid"),
    ],
)
def test_bad_proposals_are_refused_with_a_specific_message(
    principal, provider, overrides, field, code
):
    if overrides.get("valid_until") == "before":
        overrides = {"valid_from": today() + timedelta(days=5), "valid_until": today()}
    with pytest.raises(ValidationError) as caught:
        propose(principal, provider, **overrides)
    assert code in field_codes(caught.value)[field]
    assert caught.value.messages[0]
    assert not Mandate.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="mandate.").exists()
    assert not Notice.objects.exists() and not OutboxMessage.objects.exists()


def test_a_malformed_eori_gets_the_eori_message(principal, provider):
    with pytest.raises(ValidationError) as caught:
        propose(principal, provider, provider_eori="FR12")
    assert "provider_eori" in caught.value.message_dict
    assert not Mandate.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"status": Operator.Status.SUSPENDED},
        {"status": Operator.Status.PENDING},
        {"deleted_at": "now"},
    ],
)
def test_a_provider_not_active_cannot_receive_mandates(principal, provider, change):
    if change.get("deleted_at") == "now":
        change = {"deleted_at": timezone.now()}
    Operator.objects.filter(pk=provider.operator.pk).update(**change)
    with pytest.raises(ValidationError) as caught:
        propose(principal, provider)
    assert field_codes(caught.value)["provider_eori"] == ["provider_inactive"]
    assert not Mandate.objects.exists()


def test_an_inactive_principal_cannot_give_mandates(principal, provider):
    Operator.objects.filter(pk=principal.operator.pk).update(status=Operator.Status.SUSPENDED)
    principal.operator.refresh_from_db()
    with pytest.raises(ValidationError):
        propose(principal, provider)
    assert not Mandate.objects.exists()


def test_overlapping_open_mandates_are_refused(principal, provider):
    first = propose(principal, provider, valid_from=today() + timedelta(days=10), valid_until=None)
    # Same scope, a period that meets the open-ended one (even on its first day): refused.
    for start, end in [
        (today(), today() + timedelta(days=10)),
        (today() + timedelta(days=400), None),
        (today() + timedelta(days=11), today() + timedelta(days=12)),
    ]:
        with pytest.raises(ValidationError) as caught:
            propose(principal, provider, valid_from=start, valid_until=end)
        assert field_codes(caught.value)["valid_from"] == ["overlap"]
    # Ending the day before it starts, another scope, or another provider: allowed.
    propose(principal, provider, valid_from=today(), valid_until=today() + timedelta(days=9))
    propose(principal, provider, scope=PORTAL)
    other = side("FR428754006", "Autre SA", "other")
    propose(principal, other)
    assert Mandate.objects.count() == 4
    # Once the first is ended (or declined), its period is free again.
    mandates.mandate_end(actor=principal.lr, mandate_id=first.public_id, reason="Changed plans")
    propose(principal, provider, valid_from=today() + timedelta(days=10), valid_until=None)
    assert Mandate.objects.filter(status__in=Mandate.OPEN_STATUSES).count() == 4


def test_the_database_refuses_an_overlap_the_service_did_not_see(principal, provider):
    """The last line of defence (PostgreSQL exclusion constraint, SQLite triggers)."""
    propose(principal, provider, valid_until=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Mandate.objects.create(
            principal=principal.operator,
            provider=provider.operator,
            scope=ICS2,
            valid_from=today() + timedelta(days=100),
            status=MS.PROPOSED,
            created_by=principal.lr,
        )
    # Closed rows do not count, and updating one into an overlap is refused too.
    closed = Mandate.objects.create(
        principal=principal.operator,
        provider=provider.operator,
        scope=ICS2,
        valid_from=today() + timedelta(days=100),
        status=MS.DECLINED,
        created_by=principal.lr,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Mandate.objects.filter(pk=closed.pk).update(status=MS.ACCEPTED)
    assert Mandate.objects.filter(status__in=Mandate.OPEN_STATUSES).count() == 1


def test_the_database_refuses_self_mandates_and_backward_periods(principal):
    with pytest.raises(IntegrityError), transaction.atomic():
        Mandate.objects.create(
            principal=principal.operator,
            provider=principal.operator,
            scope=ICS2,
            valid_from=today(),
            created_by=principal.lr,
        )
    other = OperatorFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Mandate.objects.create(
            principal=principal.operator,
            provider=other,
            scope=ICS2,
            valid_from=today(),
            valid_until=today() - timedelta(days=1),
            created_by=principal.lr,
        )


# --- Accept, decline, end -----------------------------------------------------------------------


def test_accept_by_the_provider_tells_the_principal(principal, provider):
    mandate = propose(principal, provider)
    Notice.objects.all().delete()
    accepted = mandates.mandate_accept(actor=provider.manager, mandate_id=mandate.public_id)
    mandate.refresh_from_db()
    assert accepted.status == mandate.status == MS.ACCEPTED
    assert mandate.accepted_by == provider.manager and mandate.accepted_at is not None
    assert AuditEvent.objects.filter(action="mandate.accepted", actor=provider.manager).exists()
    assert {n.recipient for n in Notice.objects.filter(topic="mandate.accepted")} == {
        principal.lr,
        principal.manager,
    }


def test_only_the_providers_managers_accept_or_decline(principal, provider):
    mandate = propose(principal, provider)
    for service in (mandates.mandate_accept, mandates.mandate_decline):
        for actor in (principal.lr, principal.manager, provider.employee):
            with pytest.raises(mandates.MandateNotAllowed):
                service(actor=actor, mandate_id=mandate.public_id)
        # Outside both companies: as if it did not exist.
        with pytest.raises(Mandate.DoesNotExist):
            service(actor=UserFactory(), mandate_id=mandate.public_id)
    with pytest.raises(Mandate.DoesNotExist):
        mandates.mandate_accept(actor=provider.lr, mandate_id="not-a-uuid")
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED and mandate.accepted_by is None
    assert not AuditEvent.objects.filter(action__in=["mandate.accepted", "mandate.declined"])


def test_decline_with_a_reason(principal, provider):
    mandate = propose(principal, provider)
    mandates.mandate_decline(actor=provider.lr, mandate_id=mandate.public_id, reason=" Too busy ")
    mandate.refresh_from_db()
    assert mandate.status == MS.DECLINED and mandate.declined_by == provider.lr
    assert mandate.end_reason == "Too busy"
    notice = Notice.objects.get(topic="mandate.declined", recipient=principal.manager)
    assert "Too busy" in notice.body
    # Declined is final.
    for service, kwargs in (
        (mandates.mandate_accept, {}),
        (mandates.mandate_decline, {}),
        (mandates.mandate_end, {"reason": "x"}),
    ):
        with pytest.raises(mandates.MandateClosed):
            service(actor=provider.lr, mandate_id=mandate.public_id, **kwargs)


def test_accepted_cannot_be_accepted_or_declined_again(principal, provider):
    mandate = propose(principal, provider)
    mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    with pytest.raises(mandates.MandateClosed) as caught:
        mandates.mandate_accept(actor=provider.manager, mandate_id=mandate.public_id)
    assert "accepted" in str(caught.value.message)
    with pytest.raises(mandates.MandateClosed):
        mandates.mandate_decline(actor=provider.manager, mandate_id=mandate.public_id)
    mandate.refresh_from_db()
    assert mandate.accepted_by == provider.lr and mandate.declined_by is None
    assert AuditEvent.objects.filter(action="mandate.accepted").count() == 1


def test_a_mandate_whose_period_is_over_cannot_be_accepted(principal, provider):
    mandate = propose(principal, provider, valid_until=today())
    Mandate.objects.filter(pk=mandate.pk).update(
        valid_from=today() - timedelta(days=5), valid_until=today() - timedelta(days=1)
    )
    with pytest.raises(ValidationError) as caught:
        mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    assert field_codes(caught.value) == {"mandate": ["period_over"]}
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED


def test_a_suspended_provider_cannot_accept(principal, provider):
    mandate = propose(principal, provider)
    Operator.objects.filter(pk=provider.operator.pk).update(status=Operator.Status.SUSPENDED)
    with pytest.raises(ValidationError):
        mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED


def test_either_side_ends_an_accepted_mandate_with_a_reason(principal, provider):
    first = propose(principal, provider)
    mandates.mandate_accept(actor=provider.lr, mandate_id=first.public_id)
    with pytest.raises(ValidationError) as caught:
        mandates.mandate_end(actor=provider.lr, mandate_id=first.public_id, reason="  ")
    assert field_codes(caught.value) == {"reason": ["reason_empty"]}
    with pytest.raises(mandates.MandateNotAllowed):
        mandates.mandate_end(actor=provider.employee, mandate_id=first.public_id, reason="x")
    with pytest.raises(Mandate.DoesNotExist):
        mandates.mandate_end(actor=UserFactory(), mandate_id=first.public_id, reason="x")
    first.refresh_from_db()
    assert first.status == MS.ACCEPTED
    Notice.objects.all().delete()

    mandates.mandate_end(actor=provider.lr, mandate_id=first.public_id, reason="Contract over")
    first.refresh_from_db()
    assert first.status == MS.ENDED and first.ended_by == provider.lr
    assert first.ended_side == Mandate.Side.PROVIDER and first.end_reason == "Contract over"
    assert {n.recipient for n in Notice.objects.filter(topic="mandate.ended")} == {
        principal.lr,
        principal.manager,
    }
    with pytest.raises(mandates.MandateClosed):
        mandates.mandate_end(actor=principal.lr, mandate_id=first.public_id, reason="again")

    second = propose(principal, provider, scope=PORTAL)
    mandates.mandate_accept(actor=provider.lr, mandate_id=second.public_id)
    mandates.mandate_end(actor=principal.manager, mandate_id=second.public_id, reason="Done")
    second.refresh_from_db()
    assert second.ended_side == Mandate.Side.PRINCIPAL
    assert AuditEvent.objects.filter(action="mandate.ended").count() == 2


def test_the_principal_withdraws_a_proposal(principal, provider):
    mandate = propose(principal, provider)
    mandates.mandate_end(actor=principal.lr, mandate_id=mandate.public_id, reason="Wrong one")
    mandate.refresh_from_db()
    assert mandate.status == MS.ENDED and mandate.ended_side == Mandate.Side.PRINCIPAL
    with pytest.raises(mandates.MandateClosed):
        mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)


def test_someone_managing_both_sides_chooses_the_side(principal, provider):
    mandate = propose(principal, provider)
    PositionFactory(person=principal.manager, operator=provider.operator, role=Role.MANAGER)
    with pytest.raises(mandates.MandateNotAllowed):
        mandates.mandate_end(
            actor=principal.employee, mandate_id=mandate.public_id, reason="x", side="provider"
        )
    mandates.mandate_end(
        actor=principal.manager, mandate_id=mandate.public_id, reason="x", side="provider"
    )
    mandate.refresh_from_db()
    assert mandate.ended_side == Mandate.Side.PROVIDER


def test_transition_table_is_explicit():
    assert mandates.MANDATE_TRANSITIONS[MS.PROPOSED] == {MS.ACCEPTED, MS.DECLINED, MS.ENDED}
    assert mandates.MANDATE_TRANSITIONS[MS.ACCEPTED] == {MS.ENDED}
    assert not mandates.MANDATE_TRANSITIONS[MS.DECLINED]
    assert not mandates.MANDATE_TRANSITIONS[MS.ENDED]


# --- Reads --------------------------------------------------------------------------------------


def test_mandate_in_force_at_the_boundaries(principal, provider):
    start = today() + timedelta(days=3)
    end = start + timedelta(days=10)
    mandate = propose(principal, provider, valid_from=start, valid_until=end)
    eori = principal.operator.eori

    def found(at, **kwargs):
        arguments = {"principal_eori": eori, "provider": provider.operator, "scope": ICS2}
        arguments.update(kwargs)
        return mandates.mandate_in_force(at=at, **arguments)

    assert found(start) is None  # proposed only
    mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    assert found(start - timedelta(days=1)) is None
    assert found(start) == mandate and found(end) == mandate
    assert found(end + timedelta(days=1)) is None
    # Aware datetimes are taken in the deployment's time zone (Europe/Paris by default):
    # 23:30 UTC the evening before the first day is already the first day in Paris.
    local = timezone.get_current_timezone()
    first_moment = datetime.combine(start, datetime.min.time(), tzinfo=local)
    assert found(first_moment) == mandate
    assert found(first_moment - timedelta(seconds=1)) is None
    if str(local) == "Europe/Paris":
        evening = datetime.combine(start - timedelta(days=1), datetime.min.time()).replace(
            hour=23, minute=30, tzinfo=ZoneInfo("UTC")
        )
        assert found(evening) == mandate
    # Other scope, other provider, lower-case EORI, unknown EORI.
    assert found(start, scope=PORTAL) is None
    assert found(start, provider=principal.operator) is None
    assert found(start, principal_eori=eori.lower()) == mandate
    assert found(start, principal_eori="FR428754006") is None
    # Not while either company is suspended; not once ended.
    Operator.objects.filter(pk=principal.operator.pk).update(status=Operator.Status.SUSPENDED)
    assert found(start) is None
    Operator.objects.filter(pk=principal.operator.pk).update(status=Operator.Status.ACTIVE)
    assert found(start) == mandate
    mandates.mandate_end(actor=principal.lr, mandate_id=mandate.public_id, reason="Stop")
    assert found(start) is None


def test_open_ended_mandate_in_force_far_ahead(principal, provider):
    mandate = propose(principal, provider, valid_until=None)
    mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    assert (
        mandates.mandate_in_force(
            principal_eori=principal.operator.eori,
            provider=provider.operator,
            scope=ICS2,
            at=today() + timedelta(days=3650),
        )
        == mandate
    )
    assert (
        mandates.mandate_in_force(
            principal_eori=principal.operator.eori, provider=provider.operator, scope=ICS2
        )
        == mandate
    )


def test_acting_for_whom(principal, provider):
    portal = propose(principal, provider, scope=PORTAL, valid_until=None)
    assert not mandates.mandate_principals_for_person(person=provider.employee).exists()
    mandates.mandate_accept(actor=provider.lr, mandate_id=portal.public_id)
    assert list(mandates.mandate_principals_for_person(person=provider.employee)) == [
        principal.operator
    ]
    assert not mandates.mandate_principals_for_person(person=principal.employee).exists()
    assert not mandates.mandate_principals_for_person(person=provider.employee, scope=ICS2).exists()
    Position.objects.filter(person=provider.employee).update(status=Position.Status.SUSPENDED)
    assert not mandates.mandate_principals_for_person(person=provider.employee).exists()


def test_lists_are_scoped_by_person_and_operator(principal, provider):
    given = propose(principal, provider)
    other = side("FR428754006", "Autre SA", "other")
    unrelated = propose(other, side("FR300000007", "Loin SA", "far"))
    assert set(mandates.mandates_for_operator(operator=provider.operator)) == {given}
    assert set(mandates.mandates_given(operator=principal.operator)) == {given}
    assert not mandates.mandates_received(operator=principal.operator).exists()
    assert set(mandates.mandates_for_person(person=provider.employee)) == {given}
    assert set(mandates.mandates_for_person(person=other.employee)) == {unrelated}
    assert not mandates.mandates_for_person(person=UserFactory()).exists()
    assert (
        mandates.mandate_for_person(person=principal.employee, mandate_id=given.public_id) == given
    )
    with pytest.raises(Mandate.DoesNotExist):
        mandates.mandate_for_person(person=other.lr, mandate_id=given.public_id)
    with pytest.raises(Mandate.DoesNotExist):
        mandates.mandate_for_person(
            person=principal.lr, mandate_id=given.public_id, operator=other.operator
        )


def test_state_shown_for_accepted_mandates(principal, provider):
    mandate = propose(principal, provider, valid_from=today() + timedelta(days=2))
    assert mandates.mandate_state(mandate) == "proposed"
    mandate = mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    assert mandates.mandate_state(mandate) == "scheduled"
    assert mandates.mandate_state(mandate, today=today() + timedelta(days=2)) == "in_force"
    assert mandates.mandate_state(mandate, today=today() + timedelta(days=31)) == "expired"


# --- Race ---------------------------------------------------------------------------------------


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_acceptances_at_once_give_one_decision(monkeypatch):
    principal = side("FR552100554", "Dupont SA", "principal")
    provider = side("FR732829320", "Transit Services SARL", "provider")
    mandate = propose(principal, provider)

    # Both read the mandate as proposed before either writes: the conditional update decides.
    barrier = threading.Barrier(2, timeout=20)
    load = mandates._load_for

    def load_then_wait(**kwargs):
        found = load(**kwargs)
        barrier.wait()
        return found

    monkeypatch.setattr(mandates, "_load_for", load_then_wait)
    outcomes: list[object] = []

    def accept(actor: User) -> None:
        try:
            with translation.override("en"):
                outcomes.append(mandates.mandate_accept(actor=actor, mandate_id=mandate.public_id))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=accept, args=(person,))
        for person in (provider.lr, provider.manager)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    accepted = [item for item in outcomes if isinstance(item, Mandate)]
    refused = [item for item in outcomes if isinstance(item, mandates.MandateClosed)]
    assert len(accepted) == 1 and len(refused) == 1, outcomes
    assert refused[0].status == MS.ACCEPTED
    assert AuditEvent.objects.filter(action="mandate.accepted").count() == 1
    assert Notice.objects.filter(topic="mandate.accepted").count() == 2  # principal lr+manager
    mandate.refresh_from_db()
    assert mandate.status == MS.ACCEPTED and mandate.accepted_by == accepted[0].accepted_by


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_overlapping_proposals_at_once_give_one_mandate(monkeypatch):
    principal = side("FR552100554", "Dupont SA", "principal")
    provider = side("FR732829320", "Transit Services SARL", "provider")
    barrier = threading.Barrier(2, timeout=20)
    outcomes: list[object] = []

    def propose_in_thread(actor: User) -> None:
        try:
            barrier.wait()
            with translation.override("en"):
                outcomes.append(propose(principal, provider, actor=actor))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=propose_in_thread, args=(person,))
        for person in (principal.lr, principal.manager)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    created = [item for item in outcomes if isinstance(item, Mandate)]
    refused = [item for item in outcomes if isinstance(item, ValidationError)]
    assert len(created) == 1 and len(refused) == 1, outcomes
    assert field_codes(refused[0]) == {"valid_from": ["overlap"]}
    assert Mandate.objects.count() == 1
