"""Merging two spaces of the same company, deleting a space, and purging deleted spaces after
the retention period (by the task, run by the worker or by the command)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.approvals import spaces
from comptoir.approvals.models import Request, RequestEvent
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators.models import (
    CustomsOperation,
    Invitation,
    Operator,
    OperatorOperation,
    Position,
)
from comptoir.operators.services import operation_grant, operation_revoke
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, PositionFactory
from tests.mail import run_worker
from tests.operators.test_company_space import Company, build_company, client_for, space_url

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status
RS = Request.Status


@pytest.fixture
def company() -> Company:
    return build_company()


def operation(code: str) -> CustomsOperation:
    return CustomsOperation.objects.get(code=code)


def invitation(operator: Operator, by: User, email: str = "new@example.test") -> Invitation:
    return Invitation.objects.create(
        operator=operator,
        email=email,
        role=Role.EMPLOYEE,
        token_digest=uuid.uuid4().hex * 2,
        invited_by=by,
        expires_at=timezone.now() + timedelta(days=7),
    )


@dataclass
class Twin:
    """A second space of the same company (no EORI), opened by the same legal representative."""

    operator: Operator
    newcomer: User  # employee only in the twin
    joiner: User  # asked to join the twin
    duplicate_request: Request  # the applicant asked to join the twin as manager too


@pytest.fixture
def twin(company) -> Twin:
    operator = OperatorFactory(eori="", name="Dupont SA (ancien compte)", country="FR")
    PositionFactory(
        person=company.legal_representative, operator=operator, role=Role.LEGAL_REPRESENTATIVE
    )
    PositionFactory(person=company.manager, operator=operator, role=Role.MANAGER)  # duplicate
    PositionFactory(person=company.employee, operator=operator, role=Role.MANAGER)  # other role
    newcomer = UserFactory(username="newcomer1", first_name="Nora")
    PositionFactory(person=newcomer, operator=operator, role=Role.EMPLOYEE)
    PositionFactory(person=UserFactory(), operator=operator, role=Role.EMPLOYEE, status=PS.ENDED)
    joiner = UserFactory(username="joiner_01")
    approvals.membership_request_submit(requester=joiner, operator=operator)
    duplicate = approvals.membership_request_submit(
        requester=company.applicant, operator=operator, role=Role.MANAGER
    )
    operation_grant(actor=company.officer, operator=operator, operation=operation("IMPORT"))
    operation_grant(actor=company.officer, operator=operator, operation=operation("ICS"))
    operation_grant(actor=company.officer, operator=operator, operation=operation("AC4"))
    operation_revoke(actor=company.officer, operator=operator, operation=operation("AC4"))
    Notice.objects.create(
        recipient=company.legal_representative, operator=operator, topic="t", title="Old notice"
    )
    invitation(operator, company.legal_representative)
    return Twin(operator=operator, newcomer=newcomer, joiner=joiner, duplicate_request=duplicate)


# --- Merge --------------------------------------------------------------------------------------


def test_merge_moves_everything_to_the_space_kept(company, twin):
    kept, merged = company.operator, twin.operator
    notices_kept = Notice.objects.filter(operator=kept).count()
    client = client_for(company.legal_representative)
    form = client.get(space_url(company, "merge/")).content.decode()
    assert "Dupont SA (ancien compte)" in form
    response = client.post(space_url(company, "merge/"), {"other_operator": merged.pk})
    assert response.status_code == 302 and response["Location"] == space_url(company)

    merged.refresh_from_db()
    assert merged.status == Operator.Status.CLOSED and merged.merged_into == kept
    # Positions: duplicates ended and left behind, the others moved.
    left = Position.objects.filter(operator=merged)
    assert {(p.person, p.role, p.status) for p in left} == {
        (company.legal_representative, Role.LEGAL_REPRESENTATIVE, PS.ENDED),
        (company.manager, Role.MANAGER, PS.ENDED),
        (company.applicant, Role.MANAGER, PS.ENDED),
    }
    assert (
        Position.objects.get(operator=kept, person=company.employee, role=Role.MANAGER).status
        == PS.VALID
    )
    assert Position.objects.get(operator=kept, person=twin.newcomer).status == PS.VALID
    assert Position.objects.get(operator=kept, person=twin.joiner).status == PS.REQUESTED
    assert Position.objects.filter(operator=kept, status=PS.ENDED).count() == 1
    assert (
        Position.objects.get(operator=kept, role=Role.LEGAL_REPRESENTATIVE, status=PS.VALID).person
        == company.legal_representative
    )
    # Requests moved; the duplicate request to join was withdrawn (its requester told).
    assert not Request.objects.filter(operator=merged).exists()
    twin.duplicate_request.refresh_from_db()
    assert twin.duplicate_request.status == RS.WITHDRAWN
    assert twin.duplicate_request.operator == kept
    assert OutboxMessage.objects.filter(to=company.applicant.email, subject__icontains="withdrawn")
    joining = Request.objects.get(requester=twin.joiner)
    assert joining.operator == kept and joining.status == RS.SUBMITTED
    # Grants: IMPORT held by both → the twin's is revoked and kept as history; ICS moved.
    current = set(
        OperatorOperation.objects.filter(operator=kept, revoked_at__isnull=True).values_list(
            "operation__code", flat=True
        )
    )
    assert current == {"IMPORT", "TRANSIT", "ICS"}
    assert OperatorOperation.objects.filter(operator=kept, operation__code="IMPORT").count() == 2
    assert OperatorOperation.objects.filter(operator=kept, operation__code="AC4").count() == 1
    assert not OperatorOperation.objects.filter(operator=merged).exists()
    # Notices and invitations moved.
    assert Notice.objects.get(title="Old notice").operator == kept
    assert not Notice.objects.filter(operator=merged).exists()
    assert Invitation.objects.get().operator == kept
    # One audit event on each operator, with the counts.
    counts = {
        "positions_moved": 4,
        "positions_ended": 3,
        "requests_moved": 2,
        "requests_closed": 1,
        "grants_moved": 3,
        "grants_revoked": 1,
        # Every notice of the merged space, the one telling of the withdrawal included.
        "notices_moved": Notice.objects.filter(operator=kept).count() - notices_kept,
        "invitations_moved": 1,
    }
    on_merged = AuditEvent.objects.get(action="operator.merged_into")
    assert (
        on_merged.subject_id == str(merged.pk) and on_merged.actor == company.legal_representative
    )
    assert {key: on_merged.data[key] for key in counts} == counts
    on_kept = AuditEvent.objects.get(action="operator.merged")
    assert on_kept.subject_id == str(kept.pk) and on_kept.data["merged"] == merged.pk
    assert audit_verify() is None
    # The merged space's pages and API point to the one kept.
    old = client.get(f"/companies/{merged.pk}/")
    assert old.status_code == 302 and old["Location"] == f"/companies/{kept.pk}/"
    assert client.get(f"/api/v1/operators/{merged.pk}").json()["id"] == kept.pk
    page = client.get(old["Location"]).content.decode()
    assert "Nora" in page and "Old notice" in page


def test_a_superuser_merges_spaces_they_do_not_belong_to(company, twin):
    admin = UserFactory(username="admin_0001", is_superuser=True, is_staff=True)
    TOTP.activate(admin, generate_totp_secret())
    client = client_for(admin)
    assert client.get(space_url(company)).status_code == 404  # no staff view of the space
    form = client.get(space_url(company, "merge/"))
    assert form.status_code == 200 and "Dupont SA (ancien compte)" in form.content.decode()
    client.post(space_url(company, "merge/"), {"other_operator": twin.operator.pk})
    twin.operator.refresh_from_db()
    assert twin.operator.merged_into == company.operator
    assert AuditEvent.objects.get(action="operator.merged").actor == admin


def test_merge_refusals_change_nothing(company, twin):
    lr = company.legal_representative
    # Two EORI numbers: two companies.
    other_company = OperatorFactory(country="FR")
    PositionFactory(person=lr, operator=other_company, role=Role.LEGAL_REPRESENTATIVE)
    with pytest.raises(ValidationError, match="Both spaces have their own EORI number"):
        spaces.space_merge(actor=lr, kept=company.operator, merged=other_company)
    # Another country.
    german = OperatorFactory(eori="", country="DE")
    PositionFactory(person=lr, operator=german, role=Role.LEGAL_REPRESENTATIVE)
    with pytest.raises(ValidationError, match="different countries"):
        spaces.space_merge(actor=lr, kept=company.operator, merged=german)
    # Not active.
    closed = OperatorFactory(eori="", country="FR", status=Operator.Status.CLOSED)
    PositionFactory(person=lr, operator=closed, role=Role.LEGAL_REPRESENTATIVE)
    with pytest.raises(ValidationError, match="must be active"):
        spaces.space_merge(actor=lr, kept=company.operator, merged=closed)
    # Itself.
    with pytest.raises(ValidationError, match="another space than this one"):
        spaces.space_merge(actor=lr, kept=company.operator, merged=company.operator)
    # Not the legal representative of both.
    with pytest.raises(PermissionDenied):
        spaces.space_merge(actor=company.manager, kept=company.operator, merged=twin.operator)
    # A change of operations waiting in the space to merge.
    waiting = approvals.operation_change_submit(
        requester=lr, operator=twin.operator, authority=company.authority, add=["TRANSIT"]
    )
    with pytest.raises(ValidationError, match=waiting.reference):
        spaces.space_merge(actor=lr, kept=company.operator, merged=twin.operator)
    for operator in (twin.operator, other_company, german):
        operator.refresh_from_db()
        assert operator.merged_into is None and operator.status == Operator.Status.ACTIVE
    assert Position.objects.filter(operator=twin.operator).count() == 7
    assert not AuditEvent.objects.filter(action__startswith="operator.merged").exists()
    # The page offers only the spaces that can be merged, and refuses any other.
    client = client_for(lr)
    form = client.get(space_url(company, "merge/")).content.decode()
    assert "Dupont SA (ancien compte)" in form and german.name not in form
    response = client.post(space_url(company, "merge/"), {"other_operator": german.pk})
    assert response.status_code == 422
    assert "Choose the space to merge into this one." in response.content.decode()


def test_merge_refuses_two_different_legal_representatives(company, twin):
    admin = UserFactory(is_superuser=True)
    Position.objects.filter(operator=twin.operator, role=Role.LEGAL_REPRESENTATIVE).update(
        person=UserFactory()
    )
    with pytest.raises(ValidationError, match="different legal representatives"):
        spaces.space_merge(actor=admin, kept=company.operator, merged=twin.operator)


@pytest.mark.parametrize("who", ["manager", "employee", "suspended"])
def test_only_the_legal_representative_sees_merge_and_delete(company, twin, who):
    client = client_for(getattr(company, who))
    assert client.get(space_url(company, "merge/")).status_code == 403
    assert (
        client.post(space_url(company, "merge/"), {"other_operator": twin.operator.pk}).status_code
        == 403
    )
    assert client.get(space_url(company, "delete/")).status_code == 403
    assert client.post(space_url(company, "delete/")).status_code == 403
    company.operator.refresh_from_db()
    assert company.operator.deleted_at is None and company.operator.status == "active"


# --- Delete -------------------------------------------------------------------------------------


def test_delete_closes_the_space_and_its_waiting_requests(company):
    lr = company.legal_representative
    change = approvals.operation_change_submit(
        requester=lr, operator=company.operator, authority=company.authority, add=["ICS"]
    )
    membership = Request.objects.get(requester=company.applicant)
    invitation(company.operator, lr)
    client = client_for(lr)
    confirm = client.get(space_url(company, "delete/")).content.decode()
    assert "Delete the space" in confirm and "30 days" in confirm
    response = client.post(space_url(company, "delete/"))
    assert response.status_code == 302 and response["Location"] == "/companies/"

    operator = Operator.objects.get(pk=company.operator.pk)
    assert operator.deleted_at is not None and operator.status == Operator.Status.CLOSED
    assert not Position.objects.filter(
        operator=operator, status__in=Position.OPEN_STATUSES
    ).exists()
    for request in (change, membership):
        request.refresh_from_db()
        assert request.status == RS.WITHDRAWN and request.decided_by == lr
    assert OutboxMessage.objects.filter(to=company.applicant.email, subject__icontains="withdrawn")
    assert Invitation.objects.get().revoked_at is not None
    event = AuditEvent.objects.get(action="operator.deleted")
    assert event.actor == lr and event.subject_id == str(operator.pk)
    assert event.data["requests_closed"] == 2
    assert event.data["positions_ended"] == 4  # lr, manager, employee, suspended
    assert event.data["invitations_revoked"] == 1
    assert audit_verify() is None
    for person in (lr, company.manager, company.employee):
        assert client_for(person).get(space_url(company)).status_code == 404
    followed = client.get("/companies/").content.decode()
    assert "has been deleted" in followed and "Dupont SA</a>" not in followed


def test_delete_refusals(company):
    with pytest.raises(PermissionDenied):
        spaces.space_delete(actor=company.manager, operator=company.operator)
    spaces.space_delete(actor=company.legal_representative, operator=company.operator)
    admin = UserFactory(is_superuser=True)
    with pytest.raises(ValidationError, match="already been deleted"):
        spaces.space_delete(actor=admin, operator=company.operator)
    assert AuditEvent.objects.filter(action="operator.deleted").count() == 1


# --- Purge --------------------------------------------------------------------------------------


def _delete_days_ago(company: Company, days: int) -> Operator:
    spaces.space_delete(actor=company.legal_representative, operator=company.operator)
    Operator.objects.filter(pk=company.operator.pk).update(
        deleted_at=timezone.now() - timedelta(days=days)
    )
    return company.operator


def test_the_command_purges_after_the_retention_period_only(company, capsys, settings):
    settings.COMPTOIR_SPACE_RETENTION_DAYS = 30
    operator = _delete_days_ago(company, 29)
    Notice.objects.create(recipient=company.manager, operator=operator, topic="t", title="n")
    call_command("spaces_purge", "--now")
    assert "0 space(s) purged." in capsys.readouterr().out
    assert Operator.objects.filter(pk=operator.pk).exists()

    later = (timezone.now() + timedelta(days=2)).isoformat()
    call_command("spaces_purge", "--now", later)
    assert "1 space(s) purged." in capsys.readouterr().out
    assert not Operator.objects.filter(pk=operator.pk).exists()
    assert not Position.objects.filter(operator_id=operator.pk).exists()
    assert not Request.objects.filter(operator_id=operator.pk).exists()
    assert not RequestEvent.objects.filter(request__operator_id=operator.pk).exists()
    assert not OperatorOperation.objects.filter(operator_id=operator.pk).exists()
    assert not Notice.objects.filter(operator_id=operator.pk).exists()
    event = AuditEvent.objects.get(action="operator.purged")
    assert event.actor is None and event.subject_id == str(operator.pk)
    assert event.data["requests"] == 1 and event.data["positions"] == 5
    assert event.data["grants"] == 2 and event.data["notices"] >= 1
    assert audit_verify() is None
    # The people stay; only the company's data is gone.
    assert User.objects.filter(pk=company.manager.pk).exists()


def test_the_command_queues_the_purge_for_the_worker(company, capsys):
    operator = _delete_days_ago(company, 31)
    call_command("spaces_purge")
    assert "queued" in capsys.readouterr().out
    assert Operator.objects.filter(pk=operator.pk).exists()  # nothing happens in the command
    run_worker()
    assert not Operator.objects.filter(pk=operator.pk).exists()
    assert AuditEvent.objects.filter(action="operator.purged").count() == 1


def test_the_purge_takes_spaces_merged_into_the_deleted_one_and_spares_others(company, twin):
    spaces.space_merge(
        actor=company.legal_representative, kept=company.operator, merged=twin.operator
    )
    untouched = OperatorFactory(eori="", name="Untouched")
    _delete_days_ago(company, 40)
    assert spaces.spaces_purge_deleted() == 2
    assert not Operator.objects.filter(pk__in=[company.operator.pk, twin.operator.pk]).exists()
    assert Operator.objects.filter(pk=untouched.pk).exists()
    assert AuditEvent.objects.filter(action="operator.purged").count() == 2
    assert audit_verify() is None


def test_the_command_refuses_a_time_that_is_not_iso():
    with pytest.raises(CommandError, match="not an ISO 8601 time"):
        call_command("spaces_purge", "--now", "yesterday")
