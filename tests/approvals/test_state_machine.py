"""The approvals state machine: transitions, permissions per kind, reasons, expiry, effects."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from comptoir.approvals import services
from comptoir.approvals.models import Request, RequestEvent
from comptoir.approvals.services import (
    ALLOWED,
    NotAllowedToDecide,
    RequestAlreadyDecided,
    RequestExpired,
)
from comptoir.approvals.tasks import expire_due_requests
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.notifications.models import OutboxMessage
from comptoir.operators import selectors
from comptoir.operators.models import CustomsOperation, Operator, OperatorOperation, Position
from comptoir.operators.services import operation_grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RS = Request.Status
Role = Position.Role


def _snapshot(request: Request) -> tuple:
    """Everything a refused action must leave untouched."""
    request.refresh_from_db()
    return (
        request.status,
        request.decided_by_id,
        request.decided_at,
        request.reason,
        RequestEvent.objects.count(),
        AuditEvent.objects.count(),
        OutboxMessage.objects.count(),
        list(Position.objects.order_by("pk").values_list("status", flat=True)),
        list(Operator.objects.order_by("pk").values_list("status", flat=True)),
        OperatorOperation.objects.count(),
    )


def _registration(world, **overrides) -> Request:
    fields = {
        "authority": world.authority,
        "operations": ["IMPORT", "ICS"],
        "eori": "FR987654324",
        "name": "Martin Logistique",
        "country": "FR",
        "city": "Lyon",
    }
    fields.update(overrides)
    if "requester" not in fields:
        fields["requester"] = UserFactory(username="applicant1")
    return services.operator_registration_submit(**fields)


def _membership(world, requester=None) -> Request:
    return services.membership_request_submit(
        requester=requester or world.outsider, operator=world.operator
    )


def _operation_change(world) -> Request:
    operation_grant(
        actor=None,
        operator=world.operator,
        operation=CustomsOperation.objects.get(code="IMPORT"),
    )
    return services.operation_change_submit(
        requester=world.legal_representative,
        operator=world.operator,
        authority=world.authority,
        add=["TRANSIT"],
        remove=["IMPORT"],
    )


def _transfer(world) -> Request:
    return services.legal_representative_transfer_submit(
        requester=world.legal_representative,
        operator=world.operator,
        authority=world.authority,
        to_person=world.manager,
    )


def _authority_role(world) -> Request:
    return services.role_request_submit(
        requester=world.outsider, authority=world.authority, role=Role.SERVICE_DESK
    )


def _operator_role(world) -> Request:
    """A role at an operator without managers: its country's national administration decides
    (here the world's authority, made the national administration)."""
    world.authority.kind = "national_administration"
    world.authority.save(update_fields=["kind"])
    operator = Operator.objects.create(
        eori="FR987654324", name="Martin Logistique", country="FR", status="active"
    )
    return services.role_request_submit(
        requester=UserFactory(username="applicant1"), operator=operator, role=Role.EMPLOYEE
    )


def _certificate_access(world) -> Request:
    """A request for access to certificate registration, naming the right it decides."""
    from comptoir.certificates.models import RegistrationRight

    right = RegistrationRight.objects.create(
        operator=world.operator,
        eori=world.operator.eori,
        company_name=world.operator.name,
        account_name="dupont_certs",
        wanted_on=timezone.localdate(),
        environment=RegistrationRight.Environment.PRODUCTION,
        requested_by=world.legal_representative,
    )
    return services.request_submit(
        requester=world.legal_representative,
        kind=Request.Kind.CERTIFICATE_ACCESS,
        operator=world.operator,
        authority=world.authority,
        payload={"registration_right": str(right.public_id), "environment": "production"},
    )


MAKERS = {
    Request.Kind.AUTHORITY_ROLE: _authority_role,
    Request.Kind.CERTIFICATE_ACCESS: _certificate_access,
    Request.Kind.OPERATOR_ROLE: _operator_role,
    Request.Kind.OPERATOR_REGISTRATION: _registration,
    Request.Kind.MEMBERSHIP: _membership,
    Request.Kind.OPERATION_CHANGE: _operation_change,
    Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER: _transfer,
}


# --- submission --------------------------------------------------------------------------------


def test_a_registration_is_submitted_with_a_reference_and_an_expiry(world, settings):
    settings.COMPTOIR_REQUEST_EXPIRY_DAYS = 5
    request = _registration(world)
    assert re.fullmatch(rf"REQ-{timezone.localdate().year}-000001", request.reference)
    assert _membership(world).reference.endswith("-000002")
    assert request.status == RS.SUBMITTED
    assert request.expires_at - request.submitted_at == timedelta(days=5)
    assert request.operator.status == Operator.Status.PENDING
    assert [(e.from_status, e.to_status) for e in request.events.all()] == [("", "submitted")]
    assert AuditEvent.objects.filter(action="request.submitted", subject_id=str(request.pk))


def test_the_expiry_defaults_to_thirty_days(world, settings):
    del settings.COMPTOIR_REQUEST_EXPIRY_DAYS
    request = _membership(world)
    assert request.expires_at - request.submitted_at == timedelta(days=30)


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"operations": []}, "operations", "Choose at least one customs operation."),
        ({"operations": ["IMPORT", "NOPE"]}, "operations", "no longer offered: NOPE."),
        ({"authority": None}, "authority", "Choose the competent customs authority."),
        ({"eori": "FR552100554"}, "eori", "ask to join it instead"),
    ],
)
def test_a_bad_registration_changes_nothing(world, overrides, field, message):
    overrides["requester"] = UserFactory(username="applicant1")
    before = (Operator.objects.count(), Position.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as caught:
        _registration(world, **overrides)
    assert message in caught.value.message_dict[field][0]
    after = (Operator.objects.count(), Position.objects.count(), AuditEvent.objects.count())
    assert after == before
    assert not Request.objects.exists()


@pytest.mark.parametrize(
    "kwargs, field, message",
    [
        ({"add": ["IMPORT"]}, "add", "already holds IMPORT"),
        ({"remove": ["TRANSIT"]}, "remove", "does not hold TRANSIT"),
        ({}, "add", "at least one operation"),
        ({"add": ["TRANSIT"], "remove": ["TRANSIT"]}, "add", "both added and removed"),
        (
            {"add": ["TRANSIT"], "requester": "employee"},
            "operator",
            "Only the legal representative",
        ),
    ],
)
def test_a_bad_operation_change_is_refused(world, kwargs, field, message):
    operation_grant(
        actor=None, operator=world.operator, operation=CustomsOperation.objects.get(code="IMPORT")
    )
    requester = getattr(world, kwargs.pop("requester", "legal_representative"))
    with pytest.raises(ValidationError) as caught:
        services.operation_change_submit(
            requester=requester, operator=world.operator, authority=world.authority, **kwargs
        )
    assert message in caught.value.message_dict[field][0]
    assert not Request.objects.exists()


def test_a_second_operation_change_waits_for_the_first(world):
    _operation_change(world)
    with pytest.raises(ValidationError, match="already waiting"):
        services.operation_change_submit(
            requester=world.legal_representative,
            operator=world.operator,
            authority=world.authority,
            add=["AC4"],
        )


# --- the transition table ----------------------------------------------------------------------


def test_the_table_allows_only_decisions_of_a_submitted_request():
    assert {
        "submitted": {"approved", "rejected", "withdrawn", "expired"},
        "approved": set(),
        "rejected": set(),
        "withdrawn": set(),
        "expired": set(),
    } == ALLOWED


def _move(world, request: Request, to_status: str) -> None:
    """Ask for the transition with the right person for it."""
    if to_status == RS.APPROVED:
        services.request_approve(actor=world.legal_representative, request_id=request.public_id)
    elif to_status == RS.REJECTED:
        services.request_reject(
            actor=world.legal_representative, request_id=request.public_id, reason="Unknown to us"
        )
    elif to_status == RS.WITHDRAWN:
        services.request_withdraw(actor=request.requester, request_id=request.public_id)
    else:
        services.request_expire(
            request_id=request.public_id, now=request.expires_at + timedelta(seconds=1)
        )


TARGETS = [RS.APPROVED, RS.REJECTED, RS.WITHDRAWN, RS.EXPIRED]


@pytest.mark.parametrize("from_status", list(RS))
@pytest.mark.parametrize("to_status", TARGETS)
def test_every_transition(world, from_status, to_status):
    request = _membership(world)
    if from_status != RS.SUBMITTED:
        _move(world, request, from_status)
    request.refresh_from_db()
    assert request.status == from_status
    if to_status in ALLOWED[from_status]:
        _move(world, request, to_status)
        request.refresh_from_db()
        assert request.status == to_status
        assert request.decided_at is not None
        assert list(request.events.values_list("from_status", "to_status")) == [
            ("", "submitted"),
            ("submitted", to_status),
        ]
        assert AuditEvent.objects.filter(action=f"request.{to_status}").count() == 1
    else:
        before = _snapshot(request)
        with pytest.raises(RequestAlreadyDecided) as caught:
            _move(world, request, to_status)
        assert caught.value.status == from_status
        assert RS(from_status).label.lower() in str(caught.value.message).lower()
        assert _snapshot(request) == before
    assert audit_verify() is None


# --- who decides --------------------------------------------------------------------------------

DECIDERS = {
    Request.Kind.AUTHORITY_ROLE: {"officer", "other_officer"},
    Request.Kind.OPERATOR_ROLE: {"officer", "other_officer"},
    Request.Kind.OPERATOR_REGISTRATION: {"officer", "other_officer"},
    Request.Kind.OPERATION_CHANGE: {"officer", "other_officer"},
    Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER: {"officer", "other_officer"},
    Request.Kind.MEMBERSHIP: {"legal_representative", "manager"},
    Request.Kind.CERTIFICATE_ACCESS: {"officer", "other_officer"},
}
PEOPLE = [
    "officer",
    "other_officer",
    "foreign_officer",
    "service_desk",
    "suspended_officer",
    "legal_representative",
    "manager",
    "employee",
    "outsider",
]


@pytest.mark.parametrize("kind", list(Request.Kind))
@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_only_the_right_people_decide(world, kind, who, decision):
    request = MAKERS[kind](world)
    actor = getattr(world, who)
    if who == "outsider" and kind == Request.Kind.MEMBERSHIP:
        actor = request.requester  # the outsider asked to join: they cannot decide for themselves

    def decide():
        if decision == "approve":
            return services.request_approve(actor=actor, request_id=request.public_id)
        return services.request_reject(actor=actor, request_id=request.public_id, reason="No")

    if who in DECIDERS[kind]:
        decide()
        request.refresh_from_db()
        assert request.status == (RS.APPROVED if decision == "approve" else RS.REJECTED)
        assert request.decided_by == actor
    else:
        before = _snapshot(request)
        with pytest.raises(NotAllowedToDecide, match="not allowed to decide"):
            decide()
        assert _snapshot(request) == before


def test_only_the_requester_withdraws(world):
    request = _membership(world)
    before = _snapshot(request)
    with pytest.raises(NotAllowedToDecide, match="Only the person who made the request"):
        services.request_withdraw(actor=world.manager, request_id=request.public_id)
    assert _snapshot(request) == before
    services.request_withdraw(actor=world.outsider, request_id=request.public_id, reason="Oops")
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.reason) == (
        RS.WITHDRAWN,
        world.outsider,
        "Oops",
    )
    assert Position.objects.get(pk=request.payload["position"]).status == Position.Status.ENDED


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_rejection_needs_a_reason(world, reason):
    request = _membership(world)
    before = _snapshot(request)
    with pytest.raises(ValidationError) as caught:
        services.request_reject(
            actor=world.legal_representative, request_id=request.public_id, reason=reason
        )
    assert caught.value.message_dict == {
        "reason": ["Enter the reason for rejecting the request: the requester will read it."]
    }
    assert _snapshot(request) == before


# --- effects ------------------------------------------------------------------------------------


def test_an_approved_registration_activates_the_operator_with_its_operations(world):
    request = _registration(world)
    services.request_approve(actor=world.officer, request_id=request.public_id, reason="Checked")
    operator = Operator.objects.get(pk=request.operator_id)
    assert operator.status == Operator.Status.ACTIVE
    position = Position.objects.get(pk=request.payload["position"])
    assert (position.status, position.role) == (Position.Status.VALID, Role.LEGAL_REPRESENTATIVE)
    grants = list(selectors.operations_current(operator=operator))
    assert [g.operation.code for g in grants] == ["IMPORT", "ICS"]  # catalogue order
    assert {(g.granted_by, g.granted_by_request) for g in grants} == {
        (world.officer, request.public_id)
    }
    assert selectors.operators_for_person(person=request.requester).get() == operator
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    decision = actions.index("request.approved")
    assert actions[decision:] == [
        "request.approved",
        "operator.activated",
        "position.validated",
        "operator.operation_granted",
        "operator.operation_granted",
    ]
    assert audit_verify() is None


def test_a_rejected_registration_closes_the_pending_operator(world):
    request = _registration(world)
    services.request_reject(actor=world.officer, request_id=request.public_id, reason="Bad EORI")
    assert Operator.objects.get(pk=request.operator_id).status == Operator.Status.CLOSED
    position = Position.objects.get(pk=request.payload["position"])
    assert position.status == Position.Status.REJECTED
    assert not OperatorOperation.objects.filter(operator_id=request.operator_id).exists()


def test_an_approved_operation_change_keeps_the_history(world):
    request = _operation_change(world)
    services.request_approve(actor=world.officer, request_id=request.public_id)
    current = [g.operation.code for g in selectors.operations_current(operator=world.operator)]
    assert current == ["TRANSIT"]
    history = [
        (g.operation.code, g.revoked_by_request, g.granted_by_request)
        for g in selectors.operation_history(operator=world.operator)
    ]
    assert history == [("IMPORT", request.public_id, None), ("TRANSIT", None, request.public_id)]


def test_an_approved_transfer_moves_the_legal_representation(world):
    request = _transfer(world)
    services.request_approve(actor=world.officer, request_id=request.public_id)
    valid = Position.objects.filter(
        operator=world.operator, role=Role.LEGAL_REPRESENTATIVE, status=Position.Status.VALID
    )
    assert valid.get().person == world.manager
    assert (
        Position.objects.get(
            person=world.legal_representative, role=Role.LEGAL_REPRESENTATIVE
        ).status
        == Position.Status.ENDED
    )


def test_an_approved_membership_makes_a_valid_position(world):
    request = _membership(world)
    services.request_approve(actor=world.manager, request_id=request.public_id)
    assert selectors.operators_for_person(person=world.outsider).get() == world.operator


# --- expiry -------------------------------------------------------------------------------------


def test_due_requests_expire_with_their_effect(world):
    registration = _registration(world)
    membership = _membership(world)
    later = _membership(world, requester=UserFactory(username="latecomer"))
    Request.objects.filter(pk=later.pk).update(expires_at=timezone.now() + timedelta(days=60))
    decided = _membership(world, requester=UserFactory(username="decided1"))
    services.request_approve(actor=world.manager, request_id=decided.public_id)

    now = timezone.now() + timedelta(days=31)
    assert services.requests_expire_due(now=now) == 2
    statuses = dict(Request.objects.values_list("pk", "status"))
    assert statuses == {
        registration.pk: RS.EXPIRED,
        membership.pk: RS.EXPIRED,
        later.pk: RS.SUBMITTED,
        decided.pk: RS.APPROVED,
    }
    assert Operator.objects.get(pk=registration.operator_id).status == Operator.Status.CLOSED
    assert Position.objects.get(pk=membership.payload["position"]).status == "ended"
    expiry = AuditEvent.objects.filter(action="request.expired")
    assert expiry.count() == 2 and all(event.actor_id is None for event in expiry)
    assert services.requests_expire_due(now=now) == 0
    assert audit_verify() is None


def test_an_overdue_request_can_no_longer_be_decided(world):
    request = _membership(world)
    Request.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = _snapshot(request)
    with pytest.raises(RequestExpired, match="expired"):
        services.request_approve(actor=world.manager, request_id=request.public_id)
    assert _snapshot(request) == before


def test_the_expiry_task_runs_in_the_worker(world):
    request = _membership(world)
    Request.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_due_requests.call() == 1
    request.refresh_from_db()
    assert request.status == RS.EXPIRED
