"""The "approvals" source of dashboard tasks (requests waiting for the person's decision) and the
sector and reference the approvals flows put on their notices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from comptoir.approvals import services as approvals
from comptoir.approvals import worklist as approvals_worklist
from comptoir.approvals.models import Request
from comptoir.notifications import dashboard, services
from comptoir.notifications.models import Notice
from comptoir.notifications.worklist import work_items_for
from tests.approvals.conftest import world as world  # the fixture
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, member

pytestmark = pytest.mark.django_db

RK = Request.Kind


def join(world, requester=None) -> Request:
    return approvals.membership_request_submit(
        requester=requester or world.outsider, operator=world.operator
    )


def approval_tasks(person):
    return [task for task in work_items_for(person=person) if task.type == "approval"]


# --- notice_create: priority, sector, reference --------------------------------------------------


def test_notice_create_keeps_priority_sector_and_reference(world):
    notice = services.notice_create(
        recipient=world.employee,
        topic="lodging.issued",
        title="Reference issued",
        priority="high",
        sector=" lodging ",
        reference=" 26LU000000000001A7 ",
    )
    notice.refresh_from_db()
    assert (notice.priority, notice.sector, notice.reference) == (
        "high",
        "lodging",
        "26LU000000000001A7",
    )


def test_notice_create_defaults_stay_as_before(world):
    notice = services.notice_create(recipient=world.employee, topic="t", title="Title")
    notice.refresh_from_db()
    assert (notice.priority, notice.sector, notice.reference) == ("normal", "", "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"priority": ""}, "priority"),
        ({"sector": "s" * 31}, "sector"),
        ({"reference": "R" * 41}, "reference"),
    ],
)
def test_notice_create_refuses_a_bad_priority_sector_or_reference(world, fields, field):
    with pytest.raises(ValidationError) as caught:
        services.notice_create(recipient=world.employee, topic="t", title="Title", **fields)
    assert field in caught.value.message_dict
    assert not Notice.objects.exists()


# --- The approvals notices carry sector and reference -------------------------------------------


def test_membership_notices_are_in_the_company_sector_with_the_reference(world):
    request = join(world)
    notices = Notice.objects.filter(reference=request.reference)
    assert sorted(notice.recipient.username for notice in notices) == ["legalrep1", "manager_1"]
    assert {(notice.sector, notice.topic) for notice in notices} == {
        ("company", "request.submitted")
    }
    approvals.request_approve(actor=world.manager, request_id=request.public_id)
    decided = Notice.objects.get(recipient=world.outsider)
    assert (decided.sector, decided.reference, decided.topic) == (
        "company",
        request.reference,
        "request.approved",
    )


def test_registration_notices_are_in_the_customs_sector(world):
    request = approvals.operator_registration_submit(
        requester=UserFactory(username="applicant1"),
        authority=world.authority,
        operations=["IMPORT"],
        eori="FR987654324",
        name="Martin Logistique",
        country="FR",
    )
    notices = Notice.objects.filter(topic="request.submitted")
    assert notices.count() == 2
    assert set(notices.values_list("sector", "reference")) == {("customs", request.reference)}


@pytest.mark.parametrize(
    ("kind", "sector"),
    [
        (RK.MEMBERSHIP, "company"),
        (RK.OPERATOR_ROLE, "company"),
        (RK.LEGAL_REPRESENTATIVE_TRANSFER, "company"),
        (RK.OPERATOR_REGISTRATION, "customs"),
        (RK.OPERATION_CHANGE, "customs"),
        (RK.AUTHORITY_ROLE, "customs"),
    ],
)
def test_every_kind_has_its_sector(kind, sector):
    assert approvals_worklist.request_sector(kind) == sector


# --- The approvals work source ------------------------------------------------------------------


def test_a_decider_sees_the_request_as_a_task_until_it_is_decided(world):
    request = join(world)
    (task,) = approval_tasks(world.legal_representative)
    assert task.type == "approval"
    assert task.title == "Decide: Request to join an operator — Dupont SA"
    assert task.link == f"/requests/{request.public_id}/"
    assert (task.sector, task.reference, task.priority) == ("company", request.reference, "normal")
    assert task.due_at == request.expires_at
    assert task.created_at == request.submitted_at
    # The manager reads it in French, the language of their profile.
    (for_manager,) = approval_tasks(world.manager)
    with translation.override("fr"):
        kind = str(RK.MEMBERSHIP.label)
    assert kind == "Demande de rattachement à un opérateur"
    assert kind in for_manager.title
    assert for_manager.title.endswith("— Dupont SA")
    # Nobody else: the requester, an employee, an officer, an outsider.
    for person in (world.outsider, world.employee, world.officer, UserFactory()):
        assert approval_tasks(person) == []

    approvals.request_approve(actor=world.manager, request_id=request.public_id)
    assert approval_tasks(world.legal_representative) == []
    assert approval_tasks(world.manager) == []


def test_a_registration_is_a_customs_task_for_the_officers(world):
    request = approvals.operator_registration_submit(
        requester=UserFactory(username="applicant1"),
        authority=world.authority,
        operations=["IMPORT"],
        eori="FR987654324",
        name="Martin Logistique",
        country="FR",
    )
    (task,) = approval_tasks(world.officer)
    assert task.title == "Decide: Operator registration — Martin Logistique"
    assert (task.sector, task.reference) == ("customs", request.reference)
    assert approval_tasks(world.foreign_officer) == []
    assert approval_tasks(world.suspended_officer) == []  # type: ignore[attr-defined]
    assert approval_tasks(world.manager) == []


def test_a_task_about_to_expire_is_high_priority_and_counted(world, settings):
    soon, later = join(world), join(world, requester=UserFactory())
    Request.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + timedelta(days=3))
    tasks = approval_tasks(world.manager)
    assert [task.reference for task in tasks] == [soon.reference, later.reference]
    assert [task.priority for task in tasks] == ["high", "normal"]
    assert dashboard.tasks_due_soon_count(tasks=tasks) == 1
    settings.COMPTOIR_TASK_DUE_SOON_DAYS = 2
    tasks = approval_tasks(world.manager)
    assert [task.priority for task in tasks] == ["normal", "normal"]
    assert dashboard.tasks_due_soon_count(tasks=tasks) == 0
    settings.COMPTOIR_TASK_DUE_SOON_DAYS = 60
    tasks = approval_tasks(world.manager)
    assert [task.priority for task in tasks] == ["high", "high"]
    assert dashboard.tasks_due_soon_count(tasks=tasks) == 2


def test_an_expired_request_waiting_for_the_expiry_task_is_no_task(world):
    request = join(world)
    Request.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert approval_tasks(world.manager) == []


def test_the_source_reads_in_one_query_and_is_capped(world, monkeypatch):
    join(world)
    with CaptureQueriesContext(connection) as one:
        assert len(approvals_worklist.approval_tasks(world.manager)) == 1
    for _index in range(4):
        join(world, requester=UserFactory())
    other = OperatorFactory(name="Another SA")
    member(other, "manager", username="manager_2")
    with CaptureQueriesContext(connection) as five:
        assert len(approvals_worklist.approval_tasks(world.manager)) == 5
    assert len(five.captured_queries) == len(one.captured_queries) == 1
    monkeypatch.setattr(approvals_worklist, "MAX_ITEMS", 2)
    assert len(approvals_worklist.approval_tasks(world.manager)) == 2
