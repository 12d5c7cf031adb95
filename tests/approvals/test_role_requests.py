"""Role requests (issue 4, point 4): at an operator with a legal representative or managers they
decide; at an operator without any, the national authority of its country; at an authority, its
officers (or the national authority when it has none). Every decision goes through the approvals
state machine: the position follows, the people are told (in-app notice and e-mail) and every
step is audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from comptoir.approvals import selectors, services
from comptoir.approvals.handlers import deciders
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, PositionFactory, officer
from tests.mail import run_worker

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status
RS = Request.Status
Kind = Request.Kind


@pytest.fixture
def national(db) -> Authority:
    """The French national administration, competent for French operators."""
    return AuthorityFactory(
        code="FR-DGDDI", name="Direction générale des douanes", kind="national_administration"
    )


@pytest.fixture
def national_officer(national):
    return officer(national, username="national1")


@pytest.fixture
def new_operator(db) -> Operator:
    """An operator just added to the directory: nobody holds a position there yet."""
    return OperatorFactory(eori="FR987654324", name="Martin Logistique")


def audit_actions(subject) -> list[str]:
    return list(
        AuditEvent.objects.filter(
            subject_type=subject._meta.label_lower, subject_id=str(subject.pk)
        )
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def position_of(request: Request) -> Position:
    return Position.objects.get(pk=request.payload["position"])


def nothing_changed() -> tuple[int, int, int, int, int]:
    return (
        Position.objects.count(),
        Request.objects.count(),
        AuditEvent.objects.count(),
        Notice.objects.count(),
        OutboxMessage.objects.count(),
    )


# --- who decides --------------------------------------------------------------------------------


def test_at_an_operator_with_managers_they_decide_and_the_requester_hears_of_it(world, national):
    request = services.role_request_submit(
        requester=world.outsider,
        operator=world.operator,
        role=Role.EMPLOYEE,
        message="  I run the Lyon warehouse.  ",
        email="ada.work@example.test",
        phone="+33 4 72 00 00 00",
    )
    assert request.kind == Kind.MEMBERSHIP and request.status == RS.SUBMITTED
    assert request.operator == world.operator and request.authority is None
    position = position_of(request)
    assert (position.person, position.operator, position.role, position.status) == (
        world.outsider,
        world.operator,
        Role.EMPLOYEE,
        PS.REQUESTED,
    )
    assert request.payload == {
        "position": position.pk,
        "role": "employee",
        "validated_by": "operator",
        "message": "I run the Lyon warehouse.",
        "email": "ada.work@example.test",
        "phone": "+33 4 72 00 00 00",
    }
    assert set(deciders(request)) == {world.legal_representative, world.manager}
    # The deciders are told in the portal and by e-mail; nobody else is.
    told = set(Notice.objects.values_list("recipient__username", flat=True))
    assert told == {"legalrep1", "manager_1"}
    assert set(OutboxMessage.objects.values_list("to", flat=True)) == {
        world.legal_representative.email,
        world.manager.email,
    }
    assert audit_actions(position) == ["position.requested"]
    assert audit_actions(request) == ["request.submitted"]

    # Officers (even of the national authority) and employees do not decide it.
    for outsider in (world.officer, world.employee):
        with pytest.raises(services.NotAllowedToDecide):
            services.request_approve(actor=outsider, request_id=request.public_id)

    services.request_approve(actor=world.manager, request_id=request.public_id)
    position.refresh_from_db()
    assert position.status == PS.VALID and position.since is not None
    assert audit_actions(position) == ["position.requested", "position.validated"]
    assert audit_actions(request) == ["request.submitted", "request.approved"]
    notice = Notice.objects.get(recipient=world.outsider)
    assert notice.topic == "request.approved" and request.reference in notice.title
    assert OutboxMessage.objects.filter(to=world.outsider.email).count() == 1


def test_at_an_operator_without_managers_the_national_authority_decides(
    world, national, national_officer, new_operator
):
    requester = UserFactory(username="newcomer1")
    request = services.role_request_submit(
        requester=requester, operator=new_operator, role=Role.MANAGER, message="New branch."
    )
    assert request.kind == Kind.OPERATOR_ROLE
    assert request.operator == new_operator and request.authority == national
    assert request.payload["validated_by"] == "national_authority"
    assert list(deciders(request)) == [national_officer]
    assert list(Notice.objects.values_list("recipient__username", flat=True)) == ["national1"]
    assert list(OutboxMessage.objects.values_list("to", flat=True)) == [national_officer.email]
    # The request is in the national officer's queue, not in the customs office's.
    assert request in selectors.requests_to_decide(actor=national_officer)
    assert request not in selectors.requests_to_decide(actor=world.officer)
    with pytest.raises(services.NotAllowedToDecide):
        services.request_approve(actor=world.officer, request_id=request.public_id)

    services.request_approve(actor=national_officer, request_id=request.public_id)
    position = position_of(request)
    assert (position.role, position.status) == (Role.MANAGER, PS.VALID)
    assert audit_actions(position) == ["position.requested", "position.validated"]
    # From now on the new manager decides the next roles at the operator.
    second = services.role_request_submit(
        requester=UserFactory(), operator=new_operator, role=Role.EMPLOYEE
    )
    assert second.kind == Kind.MEMBERSHIP and list(deciders(second)) == [requester]


@pytest.mark.parametrize("who", ["suspended", "inactive_account", "requester_himself"])
def test_managers_who_cannot_decide_do_not_count(national, national_officer, new_operator, who):
    requester = UserFactory(username="newcomer1")
    manager = requester if who == "requester_himself" else UserFactory(username="manager_9")
    PositionFactory(
        person=manager,
        operator=new_operator,
        role=Role.MANAGER,
        status=PS.SUSPENDED if who == "suspended" else PS.VALID,
    )
    if who == "inactive_account":
        manager.is_active = False
        manager.save(update_fields=["is_active"])
    request = services.role_request_submit(
        requester=requester, operator=new_operator, role=Role.EMPLOYEE
    )
    assert request.kind == Kind.OPERATOR_ROLE and request.authority == national
    assert list(deciders(request)) == [national_officer]


def test_at_an_authority_its_officers_decide(world, national, national_officer):
    request = services.role_request_submit(
        requester=world.outsider, authority=world.authority, role=Role.SERVICE_DESK
    )
    assert request.kind == Kind.AUTHORITY_ROLE
    assert request.operator is None and request.authority == world.authority
    assert request.payload["validated_by"] == "authority"
    position = position_of(request)
    assert (position.authority, position.role, position.status) == (
        world.authority,
        Role.SERVICE_DESK,
        PS.REQUESTED,
    )
    # Valid officers of that authority: not its service desk, not a suspended officer, not the
    # officers of another authority (the national one included).
    assert set(deciders(request)) == {world.officer, world.other_officer}
    assert set(Notice.objects.values_list("recipient__username", flat=True)) == {
        "officer_1",
        "officer_2",
    }
    for refused in (world.service_desk, world.suspended_officer, world.foreign_officer):
        with pytest.raises(services.NotAllowedToDecide):
            services.request_approve(actor=refused, request_id=request.public_id)
    assert not world.outsider.is_portal_staff

    services.request_approve(actor=world.other_officer, request_id=request.public_id)
    position.refresh_from_db()
    assert position.status == PS.VALID
    assert world.outsider.is_portal_staff  # staff now: TOTP becomes mandatory
    assert audit_actions(position) == ["position.requested", "position.validated"]
    assert audit_actions(request) == ["request.submitted", "request.approved"]


def test_at_an_authority_without_officers_the_national_authority_decides(
    national, national_officer
):
    office = AuthorityFactory(code="FR-BCP-HAVRE", kind="border_control_post")
    request = services.role_request_submit(
        requester=UserFactory(), authority=office, role=Role.OFFICER
    )
    assert request.kind == Kind.AUTHORITY_ROLE and request.authority == national
    assert request.payload["validated_by"] == "national_authority"
    assert list(deciders(request)) == [national_officer]
    services.request_approve(actor=national_officer, request_id=request.public_id)
    position = position_of(request)
    assert (position.authority, position.status) == (office, PS.VALID)


def test_the_national_authority_itself_without_officers_keeps_the_request(national):
    # Nobody can decide: the request waits in the national authority's queue, where an
    # administrator sees it and can pass it to another authority.
    request = services.role_request_submit(
        requester=UserFactory(), authority=national, role=Role.OFFICER
    )
    assert request.authority == national and list(deciders(request)) == []
    administrator = UserFactory(is_superuser=True)
    assert request in selectors.requests_to_decide(actor=administrator)
    other = AuthorityFactory(kind="national_administration", code="FR-DGDDI-2")
    decider = officer(other)
    services.request_reassign(actor=administrator, request_id=request.public_id, authority=other)
    services.request_approve(actor=decider, request_id=request.public_id)
    assert position_of(request).status == PS.VALID


# --- rejection, withdrawal ----------------------------------------------------------------------


def test_a_rejection_rejects_the_position_and_tells_the_requester_why(
    national, national_officer, new_operator, smtp_server
):
    requester = UserFactory(username="newcomer1")
    request = services.role_request_submit(
        requester=requester, operator=new_operator, role=Role.EMPLOYEE
    )
    before = nothing_changed()
    with pytest.raises(ValidationError) as refused:
        services.request_reject(actor=national_officer, request_id=request.public_id, reason=" ")
    assert "reason" in refused.value.message_dict
    assert nothing_changed() == before

    services.request_reject(
        actor=national_officer,
        request_id=request.public_id,
        reason="This company does not employ you.",
    )
    request.refresh_from_db()
    position = position_of(request)
    assert request.status == RS.REJECTED and request.decided_by == national_officer
    assert position.status == PS.REJECTED and position.until is not None
    assert audit_actions(position) == ["position.requested", "position.rejected"]
    assert audit_actions(request) == ["request.submitted", "request.rejected"]
    notice = Notice.objects.get(recipient=requester)
    assert notice.topic == "request.rejected"
    assert "This company does not employ you." in notice.body
    run_worker()
    message = smtp_server.last_to(requester.email)
    assert message["Subject"] == f"[Comptoir] Request {request.reference}: Rejected"
    assert "Reason given: This company does not employ you." in smtp_server.text(message)
    # A rejected role is no longer open: the person may ask for it again.
    again = services.role_request_submit(
        requester=requester, operator=new_operator, role=Role.EMPLOYEE
    )
    assert position_of(again).status == PS.REQUESTED


def test_a_withdrawn_request_ends_the_requested_position(world):
    request = services.role_request_submit(
        requester=world.outsider, authority=world.authority, role=Role.OFFICER
    )
    services.request_withdraw(actor=world.outsider, request_id=request.public_id)
    position = position_of(request)
    assert position.status == PS.ENDED
    assert audit_actions(position) == ["position.requested", "position.ended"]


def test_a_second_decision_changes_nothing(world):
    request = services.role_request_submit(
        requester=world.outsider, authority=world.authority, role=Role.OFFICER
    )
    services.request_approve(actor=world.officer, request_id=request.public_id)
    before = nothing_changed()
    with pytest.raises(services.RequestAlreadyDecided):
        services.request_reject(
            actor=world.other_officer, request_id=request.public_id, reason="Too late."
        )
    assert nothing_changed() == before
    assert position_of(request).status == PS.VALID


# --- several positions --------------------------------------------------------------------------


def test_a_person_holds_several_roles_but_asks_for_each_only_once(
    world, national, national_officer, new_operator
):
    person = world.outsider
    at_operator = services.role_request_submit(
        requester=person, operator=world.operator, role=Role.EMPLOYEE
    )
    as_manager = services.role_request_submit(
        requester=person, operator=world.operator, role=Role.MANAGER
    )
    elsewhere = services.role_request_submit(
        requester=person, operator=new_operator, role=Role.EMPLOYEE
    )
    at_authority = services.role_request_submit(
        requester=person, authority=world.authority, role=Role.OFFICER
    )
    assert Position.objects.filter(person=person, status=PS.REQUESTED).count() == 4

    before = nothing_changed()
    with pytest.raises(ValidationError) as refused:
        services.role_request_submit(requester=person, operator=world.operator, role=Role.EMPLOYEE)
    assert refused.value.message_dict == {
        "role": ["You already hold this role there, or your request for it is waiting."]
    }
    assert nothing_changed() == before

    services.request_approve(actor=world.manager, request_id=at_operator.public_id)
    services.request_reject(actor=world.manager, request_id=as_manager.public_id, reason="No.")
    services.request_approve(actor=national_officer, request_id=elsewhere.public_id)
    services.request_approve(actor=world.officer, request_id=at_authority.public_id)
    statuses = sorted(
        Position.objects.filter(person=person).values_list("role", "status", "operator_id")
    )
    assert statuses == sorted(
        [
            ("employee", "valid", world.operator.pk),
            ("manager", "rejected", world.operator.pk),
            ("employee", "valid", new_operator.pk),
            ("officer", "valid", None),
        ]
    )
    with pytest.raises(ValidationError):  # valid now: still open
        services.role_request_submit(requester=person, authority=world.authority, role="officer")


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "role", "extra", "field"),
    [
        ("operator", "officer", {}, "role"),
        ("operator", "legal_representative", {}, "role"),
        ("authority", "manager", {}, "role"),
        ("authority", "chief", {}, "role"),
        ("both", "employee", {}, "organisation"),
        ("neither", "employee", {}, "organisation"),
        ("operator", "employee", {"email": "not-an-address"}, "email"),
        ("operator", "employee", {"phone": "call me maybe"}, "phone"),
        ("operator", "employee", {"message": "x" * 1001}, "message"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    world, national, where, role, extra, field
):
    organisation = {
        "operator": {"operator": world.operator},
        "authority": {"authority": world.authority},
        "both": {"operator": world.operator, "authority": world.authority},
        "neither": {},
    }[where]
    before = nothing_changed()
    with pytest.raises(ValidationError) as refused:
        services.role_request_submit(requester=world.outsider, role=role, **organisation, **extra)
    assert list(refused.value.message_dict) == [field]
    assert nothing_changed() == before


@pytest.mark.parametrize("state", ["pending", "closed", "merged", "deleted"])
def test_only_an_active_operator_of_the_directory_takes_role_requests(world, national, state):
    operator = OperatorFactory()
    if state in ("pending", "closed"):
        operator.status = state
    elif state == "merged":
        operator.merged_into = world.operator
    else:
        operator.deleted_at = timezone.now()
    operator.save()
    before = nothing_changed()
    with pytest.raises(ValidationError) as refused:
        services.role_request_submit(requester=world.outsider, operator=operator, role="employee")
    assert refused.value.message_dict == {
        "operator": ["You can only ask for a role at an active operator."]
    }
    assert nothing_changed() == before


def test_without_any_national_authority_an_operator_without_managers_is_refused(new_operator):
    requester = UserFactory()
    before = nothing_changed()
    with pytest.raises(ValidationError) as refused:
        services.role_request_submit(requester=requester, operator=new_operator, role="employee")
    assert "no national authority can do it" in refused.value.message_dict["operator"][0]
    assert nothing_changed() == before


def test_the_kinds_refuse_a_request_sent_to_the_wrong_deciders(world, national, new_operator):
    """The handlers guard their kind even when called directly: an operator with managers is
    not decided by customs, and an authority with officers is not decided by another one."""
    position = services.operators.position_request(
        actor=world.outsider, person=world.outsider, operator=world.operator, role=Role.EMPLOYEE
    )
    with pytest.raises(ValidationError) as refused:
        services.request_submit(
            requester=world.outsider,
            kind=Kind.OPERATOR_ROLE,
            operator=world.operator,
            authority=national,
            payload={"position": position.pk},
        )
    assert "operator" in refused.value.message_dict
    at_authority = services.operators.position_request(
        actor=world.outsider, person=world.outsider, authority=world.authority, role=Role.OFFICER
    )
    with pytest.raises(ValidationError) as refused:
        services.request_submit(
            requester=world.outsider,
            kind=Kind.AUTHORITY_ROLE,
            authority=national,
            payload={"position": at_authority.pk},
        )
    assert "authority" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:  # someone else's position
        services.request_submit(
            requester=world.employee,
            kind=Kind.AUTHORITY_ROLE,
            authority=world.authority,
            payload={"position": at_authority.pk},
        )
    assert "position" in refused.value.message_dict


# --- what the deciders read ---------------------------------------------------------------------


def test_the_deciders_read_the_message_and_the_contact(world):
    request = services.role_request_submit(
        requester=world.outsider,
        authority=world.authority,
        role=Role.OFFICER,
        message="Transferred from Lille.",
        email="ada.work@example.test",
        phone="03 20 00 00 00",
    )
    rows = {str(row.key): row.value for row in selectors.request_details(request=request)}
    assert rows == {
        "Role asked for": "Officer",
        "Authority where the role is asked": str(world.authority),
        "Message from the requester": "Transferred from Lille.",
        "Requester's contact email address": "ada.work@example.test",
        "Requester's contact phone number": "03 20 00 00 00",
    }
    plain = services.role_request_submit(
        requester=world.outsider, operator=world.operator, role=Role.MANAGER
    )
    rows = {str(row.key): row.value for row in selectors.request_details(request=plain)}
    assert rows == {"Role asked for": "Manager"}
