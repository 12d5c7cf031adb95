"""The permission matrix of issue 3: every role × every action on a company's professional space
and in the deciders' queue, through the pages (Django test client on the HTML views) and through
the JSON API (/api/v1/, personal token).

Each row builds its own world (function-scoped database), signs the person in, takes a snapshot of
everything an action could change, does the action once and checks the outcome:

  ok    allowed: 2xx (a page may redirect after a POST) and the effect is in the database
        (the row changed, an audit event by this actor);
  403   refused in scope: 403 with a message that says why, nothing changed;
  404   outside the person's scope (DESIGN.md: "objects outside the caller's scope answer 404"),
        nothing changed;
  hide  pages only: the page shows, says why, and leaves the data out; nothing changed;
  anon  nobody signed in: the page redirects to sign-in, the API answers 401; nothing changed.

Where the code answers otherwise than the table, the row is marked xfail(strict=True) with the
code responsible (XFAIL below): fixing the code makes the row pass, and the strict marker then
fails until it is removed with the fix."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler
from django.utils import timezone

from comptoir.accounts import selectors as account_selectors
from comptoir.accounts import services as account_services
from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request, RequestEvent
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.notifications.services import notice_create
from comptoir.operators import invitations
from comptoir.operators.models import (
    Authority,
    CustomsOperation,
    Invitation,
    Operator,
    OperatorOperation,
    Position,
)
from comptoir.operators.services import operation_grant
from tests.factories import UserFactory
from tests.factories_operators import (
    AuthorityFactory,
    OperatorFactory,
    PositionFactory,
    member,
    officer,
)

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status
RS = Request.Status

# --- Roles, channels, outcomes ------------------------------------------------------------------

LR = "legal_representative"
MGR = "manager"
EMP = "employee"
SUSP = "suspended_member"  # an employee whose position is suspended
ENDED = "former_member"  # an employee whose position has ended
OUT = "outsider"  # an account with no position anywhere
OFF = "officer"  # officer of the competent authority
FOFF = "foreign_officer"  # officer of another authority
DESK = "service_desk"  # service desk of the competent authority
ADMIN = "administrator"  # superuser, no position
ANON = "anonymous"

ROLES = (LR, MGR, EMP, SUSP, ENDED, OUT, OFF, FOFF, DESK, ADMIN, ANON)

UI = "ui"
API = "api"
CHANNELS = (UI, API)

OK = "ok"
FORBIDDEN = "403"
NOT_FOUND = "404"
HIDDEN = "hide"
SIGN_IN = "anon"
OUTCOMES = {OK, FORBIDDEN, NOT_FOUND, HIDDEN, SIGN_IN}

# --- The matrix ---------------------------------------------------------------------------------
# One line per action, one column per role (ROLES order). Pages and API expect the same outcome
# unless CHANNEL_DIFFERENCES says otherwise.

MATRIX: dict[str, str] = {
    #                             LR    MGR   EMP   SUSP  ENDED OUT   OFF   FOFF  DESK  ADMIN ANON
    "view_space":                "ok    ok    ok    ok    404   404   404   404   404   404   anon",
    "view_members":              "ok    ok    ok    403   404   404   404   404   404   404   anon",
    "invite":                    "ok    ok    403   403   404   404   404   404   404   404   anon",
    "revoke_invitation":         "ok    ok    404   404   404   404   404   404   404   404   anon",
    "change_role":               "ok    ok    403   403   404   404   404   404   404   404   anon",
    "suspend":                   "ok    ok    403   403   404   404   404   404   404   404   anon",
    "reinstate":                 "ok    ok    403   403   404   404   404   404   404   404   anon",
    "end":                       "ok    ok    403   403   404   404   404   404   404   404   anon",
    "leave":                     "403   ok    ok    ok    404   404   404   404   404   404   anon",
    "operation_change":          "ok    403   403   403   404   404   404   404   404   404   anon",
    "transfer":                  "ok    403   403   403   404   404   404   404   404   404   anon",
    "merge":                     "ok    403   403   403   404   404   404   404   404   ok    anon",
    "delete":                    "ok    403   403   403   404   404   404   404   404   ok    anon",
    "operations_history":        "ok    ok    ok    403   404   404   404   404   404   404   anon",
    "see_registration":          "404   404   404   404   404   404   ok    404   404   ok    anon",
    "see_operation_change":      "404   404   404   404   404   404   ok    404   404   ok    anon",
    "see_membership":            "ok    ok    404   404   404   404   404   404   404   404   anon",
    "approve_registration":      "404   404   404   404   404   404   ok    404   404   403   anon",
    "reject_registration":       "404   404   404   404   404   404   ok    404   404   403   anon",
    "approve_operation_change":  "404   404   404   404   404   404   ok    404   404   403   anon",
    "reject_operation_change":   "404   404   404   404   404   404   ok    404   404   403   anon",
    "approve_membership":        "ok    ok    404   404   404   404   404   404   404   404   anon",
    "reject_membership":         "ok    ok    404   404   404   404   404   404   404   404   anon",
    "reassign":                  "404   404   404   404   404   404   403   404   404   ok    anon",
    "read_others_notice":        "404   404   404   404   404   404   404   404   404   404   anon",
}  # fmt: skip

# The pages have no members page of their own: the members are a section of the space's page,
# which a suspended member still sees, with a warning and without that section.
CHANNEL_DIFFERENCES: dict[tuple[str, str, str], str] = {
    ("view_members", SUSP, UI): HIDDEN,
}

# Rows where the code answers otherwise than the table (none today): (action, role, channel) →
# the reason, run as xfail(strict=True) so that a fix shows.
XFAIL: dict[tuple[str, str, str], str] = {}


# --- The world of one row -----------------------------------------------------------------------

NEW_EMAIL = "newcomer@example.test"
REASON = "The company's documents are incomplete."


@dataclass
class World:
    """An active operator with its legal representative and two colleagues, the person acting
    in the row (PEOPLE), the authorities, and what the row's action needs (its setup)."""

    authority: Authority  # the competent authority of French operators
    other_authority: Authority
    operator: Operator
    people: dict[str, User]
    colleague: User  # a valid employee: the member the managing actions aim at
    colleague_position: Position
    suspended_colleague: User  # a suspended employee: the member to reinstate
    suspended_colleague_position: Position
    request: Request | None = None
    applicant: User | None = None  # registers another company
    joiner: User | None = None  # asks to join the operator
    invitation: Invitation | None = None
    other_space: Operator | None = None
    notice: Notice | None = None


def _person(username: str, first: str, last: str, **extra: Any) -> User:
    return UserFactory(username=username, first_name=first, last_name=last, **extra)


#: How each role's person is made (only the acting person is made for a row, besides the legal
#: representative and the two colleagues that every row needs).
PEOPLE: dict[str, Callable[[Operator, Authority, Authority], User]] = {
    MGR: lambda op, auth, other: member(op, Role.MANAGER, username="manager_1", first_name="Marc"),
    EMP: lambda op, auth, other: member(op, Role.EMPLOYEE, username="employee1", first_name="Emma"),
    SUSP: lambda op, auth, other: _member_in(op, PS.SUSPENDED, "suspended1", "Sam", "Stone"),
    ENDED: lambda op, auth, other: _member_in(op, PS.ENDED, "formerly1", "Fred", "Former"),
    OUT: lambda op, auth, other: _person("outsider1", "Olga", "Outis"),
    OFF: lambda op, auth, other: officer(auth, username="officer_1", first_name="Odile"),
    FOFF: lambda op, auth, other: officer(other, username="officer_x", first_name="Xavier"),
    DESK: lambda op, auth, other: officer(
        auth, Role.SERVICE_DESK, username="desk_0001", first_name="Denis"
    ),
    ADMIN: lambda op, auth, other: _person(
        "admin_001", "Ana", "Admin", is_superuser=True, is_staff=True
    ),
}


def _member_in(operator: Operator, status: str, username: str, first: str, last: str) -> User:
    """An employee of the operator whose position is suspended or has ended."""
    person = _person(username, first, last)
    PositionFactory(
        person=person,
        operator=operator,
        status=status,
        until=timezone.now() if status == PS.ENDED else None,
    )
    return person


def build_world(actor: str) -> World:
    authority = AuthorityFactory(
        code="FR-DGDDI", country="FR", kind=Authority.Kind.NATIONAL_ADMINISTRATION
    )
    other_authority = AuthorityFactory(
        code="FR-ROISSY", country="FR", kind=Authority.Kind.CUSTOMS_OFFICE
    )
    operator = OperatorFactory(eori="FR552100554", name="Dupont SA", country="FR")
    people = {
        LR: member(
            operator,
            Role.LEGAL_REPRESENTATIVE,
            username="legalrep1",
            first_name="Lea",
            last_name="Legrand",
            accepted_terms=actor == LR,
        )
    }
    if actor in PEOPLE:
        people[actor] = PEOPLE[actor](operator, authority, other_authority)
    # People who do not sign in need not accept the terms of use (it costs an audit event each).
    colleague = _person("colleague1", "Colin", "Collins", accepted_terms=False)
    suspended_colleague = _person("colleague2", "Suzy", "Sleeper", accepted_terms=False)
    operation_grant(
        actor=None, operator=operator, operation=CustomsOperation.objects.get(code="IMPORT")
    )
    return World(
        authority=authority,
        other_authority=other_authority,
        operator=operator,
        people=people,
        colleague=colleague,
        colleague_position=PositionFactory(person=colleague, operator=operator),
        suspended_colleague=suspended_colleague,
        suspended_colleague_position=PositionFactory(
            person=suspended_colleague, operator=operator, status=PS.SUSPENDED
        ),
    )


#: One request handler for every row: a new Client builds Django's middleware chain again on its
#: first request (WhiteNoise scans every static file then), which costs more than a whole row.
_HANDLER = ClientHandler(enforce_csrf_checks=False)


def _client(**defaults: Any) -> Client:
    client = Client(**defaults)
    client.handler = _HANDLER
    return client


def client_for(world: World, role: str, channel: str) -> Client:
    """Signed in as the role's person: a session for the pages, a personal token for the API.
    Staff pass the account gate only with TOTP."""
    if role == ANON:
        return _client()
    person = world.people[role]
    if person.is_portal_staff:
        TOTP.activate(person, generate_totp_secret())
    if channel == UI:
        client = _client()
        client.force_login(person)
        return client
    _token, clear = account_services.api_token_create(user=person, name="matrix")
    return _client(HTTP_AUTHORIZATION=f"Bearer {clear}")


def snapshot() -> dict[str, Any]:
    """Everything the actions of the matrix could change."""
    return {
        "audit": list(AuditEvent.objects.order_by("sequence").values_list("action", "actor_id")),
        "operators": list(
            Operator.objects.order_by("pk").values_list("pk", "status", "deleted_at", "merged_into")
        ),
        "positions": list(
            Position.objects.order_by("pk").values_list(
                "pk", "person_id", "operator_id", "authority_id", "role", "status"
            )
        ),
        "grants": list(
            OperatorOperation.objects.order_by("pk").values_list(
                "pk", "operator_id", "operation__code", "revoked_at"
            )
        ),
        "requests": list(
            Request.objects.order_by("pk").values_list(
                "pk", "kind", "status", "authority_id", "decided_by_id", "reason"
            )
        ),
        "request_events": RequestEvent.objects.count(),
        "invitations": list(
            Invitation.objects.order_by("pk").values_list(
                "pk", "email", "revoked_at", "accepted_at"
            )
        ),
        "notices": list(Notice.objects.order_by("pk").values_list("pk", "recipient_id", "read_at")),
        "outbox": OutboxMessage.objects.count(),
    }


def text_of(response: HttpResponse) -> str:
    return html.unescape(response.content.decode())


def audited(action: str, actor: User) -> None:
    assert AuditEvent.objects.filter(action=action, actor=actor).exists(), action


def post_json(client: Client, url: str, body: dict[str, Any] | None = None) -> HttpResponse:
    return client.post(url, body or {}, content_type="application/json")


def page(world: World, suffix: str = "") -> str:
    return f"/companies/{world.operator.pk}/{suffix}"


def api(world: World, suffix: str = "") -> str:
    return f"/api/v1/operators/{world.operator.pk}{suffix}"


def the_request(world: World) -> Request:
    assert world.request is not None
    world.request.refresh_from_db()
    return world.request


# --- Actions ------------------------------------------------------------------------------------

Do = Callable[[World, Client], HttpResponse]
Effect = Callable[[World, User, str, str, HttpResponse], None]


def _nothing(world: World) -> None:
    return None


@dataclass(frozen=True)
class Action:
    ui: Do
    api: Do
    #: Checks the effect of an allowed row: (world, actor, role, channel, response).
    effect: Effect
    setup: Callable[[World], None] = _nothing
    #: What a 403 says (part of it).
    message: str = ""
    #: The "hide" outcome: the page shows without the data.
    hidden: Callable[[World, HttpResponse], None] | None = None
    #: Lists: whether the object shows in the queue (world, client, channel, visible).
    listing: Callable[[World, Client, str, bool], None] | None = None


ACTIONS: dict[str, Action] = {}


# Space and members ------------------------------------------------------------------------------


def _view_space_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    assert response.status_code == 200
    if channel == UI:
        assert "Dupont SA" in text_of(response) and "FR552100554" in text_of(response)
    else:
        assert response.json()["id"] == world.operator.pk
        assert response.json()["eori"] == "FR552100554"


ACTIONS["view_space"] = Action(
    ui=lambda w, c: c.get(page(w)),
    api=lambda w, c: c.get(api(w)),
    effect=_view_space_effect,
)


def _membership_request(world: World) -> None:
    world.joiner = _person("joiner_01", "Jonas", "Joiner")
    world.request = approvals.membership_request_submit(
        requester=world.joiner, operator=world.operator, role=Role.EMPLOYEE
    )


def _view_members_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    """Everyone sees the valid members; the legal representative and managers also see who
    asks to join."""
    assert response.status_code == 200
    managing = role in (LR, MGR)
    if channel == UI:
        page_text = text_of(response)
        assert "Colin Collins" in page_text
        assert ("Jonas Joiner" in page_text) is managing
    else:
        usernames = {item["username"] for item in response.json()}
        assert {"colleague1", "legalrep1", actor.username} <= usernames
        assert ("joiner_01" in usernames) is managing
        assert "formerly1" not in usernames


def _view_members_hidden(world: World, response) -> None:
    page_text = text_of(response)
    assert "Your position in this company is suspended" in page_text
    assert "Colin Collins" not in page_text and "Jonas Joiner" not in page_text


ACTIONS["view_members"] = Action(
    setup=_membership_request,
    ui=lambda w, c: c.get(page(w)),
    api=lambda w, c: c.get(api(w, "/members")),
    effect=_view_members_effect,
    hidden=_view_members_hidden,
    message="Your position in this company is suspended.",
)


def _invite_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    invitation = Invitation.objects.get(operator=world.operator, email=NEW_EMAIL)
    assert invitation.invited_by == actor and invitation.role == Role.EMPLOYEE
    assert invitation.revoked_at is None and invitation.accepted_at is None
    audited("invitation.created", actor)
    assert OutboxMessage.objects.filter(to=NEW_EMAIL).count() == 1


ACTIONS["invite"] = Action(
    ui=lambda w, c: c.post(page(w, "invite/"), {"email": NEW_EMAIL, "role": "employee"}),
    api=lambda w, c: post_json(c, api(w, "/invitations"), {"email": NEW_EMAIL, "role": "employee"}),
    effect=_invite_effect,
    message="Only the company's legal representative and its managers can invite people.",
)


def _open_invitation(world: World) -> None:
    world.invitation = invitations.invitation_create(
        actor=world.people[LR],
        operator=world.operator,
        email="invitee@example.test",
        role=Role.EMPLOYEE,
        base_url="http://testserver/",
    )


def _invitation_id(world: World) -> str:
    assert world.invitation is not None
    return str(world.invitation.public_id)


def _revoke_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    assert world.invitation is not None
    world.invitation.refresh_from_db()
    assert world.invitation.revoked_at is not None
    audited("invitation.revoked", actor)


ACTIONS["revoke_invitation"] = Action(
    setup=_open_invitation,
    ui=lambda w, c: c.post(page(w, f"invitations/{_invitation_id(w)}/revoke/")),
    api=lambda w, c: post_json(c, api(w, f"/invitations/{_invitation_id(w)}/revoke")),
    effect=_revoke_effect,
)

_MANAGE_MEMBERS = "Only the legal representative and managers can manage members."


def _status_of(position: Position) -> str:
    position.refresh_from_db()
    return position.status


def _role_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    assert _status_of(world.colleague_position) == PS.ENDED
    assert Position.objects.filter(
        person=world.colleague, operator=world.operator, role=Role.MANAGER, status=PS.VALID
    ).exists()
    audited("position.role_changed", actor)


ACTIONS["change_role"] = Action(
    ui=lambda w, c: c.post(
        page(w, f"members/{w.colleague_position.pk}/role/"), {"role": "manager"}
    ),
    api=lambda w, c: post_json(
        c, api(w, f"/members/{w.colleague_position.pk}/role"), {"role": "manager"}
    ),
    effect=_role_effect,
    message=_MANAGE_MEMBERS,
)


def _member_action(verb: str, to_status: str, audit_action: str, *, suspended: bool) -> Action:
    def target(world: World) -> Position:
        return world.suspended_colleague_position if suspended else world.colleague_position

    def effect(world: World, actor: User, role: str, channel: str, response) -> None:
        assert _status_of(target(world)) == to_status
        audited(audit_action, actor)

    return Action(
        ui=lambda w, c: c.post(page(w, f"members/{target(w).pk}/{verb}/")),
        api=lambda w, c: post_json(c, api(w, f"/members/{target(w).pk}/{verb}")),
        effect=effect,
        message=_MANAGE_MEMBERS,
    )


ACTIONS["suspend"] = _member_action("suspend", PS.SUSPENDED, "position.suspended", suspended=False)
ACTIONS["reinstate"] = _member_action("reinstate", PS.VALID, "position.reinstated", suspended=True)
ACTIONS["end"] = _member_action("end", PS.ENDED, "position.ended", suspended=False)


def _leave_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    assert not Position.objects.filter(
        person=actor, operator=world.operator, status__in=(PS.VALID, PS.SUSPENDED)
    ).exists()
    assert Position.objects.filter(person=actor, operator=world.operator, status=PS.ENDED).exists()
    audited("position.left", actor)


ACTIONS["leave"] = Action(
    ui=lambda w, c: c.post(page(w, "leave/")),
    api=lambda w, c: post_json(c, api(w, "/leave")),
    effect=_leave_effect,
    message="transfer the legal representation to another member before you leave",
)


# What the legal representative asks customs; merge and delete ---------------------------------


def _operation_change_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    change = Request.objects.get(kind=Request.Kind.OPERATION_CHANGE, operator=world.operator)
    assert change.requester == actor and change.status == RS.SUBMITTED
    assert change.authority == world.authority
    assert change.payload == {"add": ["ICS"], "remove": []}
    audited("request.submitted", actor)


ACTIONS["operation_change"] = Action(
    ui=lambda w, c: c.post(page(w, "operations/change/"), {"add": ["ICS"]}),
    api=lambda w, c: post_json(c, api(w, "/operation-changes"), {"add": ["ICS"]}),
    effect=_operation_change_effect,
    message="Only the legal representative can ask to change the company's customs operations.",
)


def _transfer_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    transfer = Request.objects.get(
        kind=Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER, operator=world.operator
    )
    assert transfer.requester == actor and transfer.status == RS.SUBMITTED
    assert transfer.payload == {"to_person": world.colleague.pk}
    # The legal representative stays in place until customs approve.
    assert Position.objects.filter(
        person=actor, operator=world.operator, role=Role.LEGAL_REPRESENTATIVE, status=PS.VALID
    ).exists()
    audited("request.submitted", actor)


ACTIONS["transfer"] = Action(
    ui=lambda w, c: c.post(page(w, "transfer/"), {"to_person": w.colleague.pk}),
    api=lambda w, c: post_json(c, api(w, "/transfer"), {"to_person": w.colleague.pk}),
    effect=_transfer_effect,
    message="Only the legal representative can transfer the legal representation.",
)


def _other_space(world: World) -> None:
    """A second space of the same company (no EORI), also represented by the legal
    representative."""
    world.other_space = OperatorFactory(eori="", name="Dupont SA (ancien espace)", country="FR")
    PositionFactory(
        person=world.people[LR], operator=world.other_space, role=Role.LEGAL_REPRESENTATIVE
    )


def _other_space_id(world: World) -> int:
    assert world.other_space is not None
    return world.other_space.pk


def _merge_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    assert world.other_space is not None
    world.other_space.refresh_from_db()
    assert world.other_space.merged_into_id == world.operator.pk
    assert world.other_space.status == Operator.Status.CLOSED
    world.operator.refresh_from_db()
    assert world.operator.status == Operator.Status.ACTIVE and world.operator.deleted_at is None
    audited("operator.merged", actor)


ACTIONS["merge"] = Action(
    setup=_other_space,
    ui=lambda w, c: c.post(page(w, "merge/"), {"other_operator": _other_space_id(w)}),
    api=lambda w, c: post_json(c, api(w, "/merge"), {"other_operator_id": _other_space_id(w)}),
    effect=_merge_effect,
    message="Only the legal representative of both spaces can merge them.",
)


def _delete_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    world.operator.refresh_from_db()
    assert world.operator.deleted_at is not None
    assert world.operator.status == Operator.Status.CLOSED
    assert not Position.objects.filter(
        operator=world.operator, status__in=Position.OPEN_STATUSES
    ).exists()
    audited("operator.deleted", actor)


ACTIONS["delete"] = Action(
    ui=lambda w, c: c.post(page(w, "delete/")),
    api=lambda w, c: c.delete(api(w)),
    effect=_delete_effect,
    message="Only the legal representative can delete the company's space.",
)


def _history_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    assert response.status_code == 200
    if channel == UI:
        assert "(IMPORT)" in text_of(response)
    else:
        assert [row["code"] for row in response.json()] == ["IMPORT"]


ACTIONS["operations_history"] = Action(
    ui=lambda w, c: c.get(page(w, "operations/history/")),
    api=lambda w, c: c.get(api(w, "/operations/history")),
    effect=_history_effect,
    message="Your position in this company is suspended.",
)


# The deciders' queue ----------------------------------------------------------------------------


def _registration(world: World) -> None:
    """Another company registers; customs (the competent authority) decide."""
    world.applicant = _person("applicant1", "Alice", "Applicant")
    world.request = approvals.operator_registration_submit(
        requester=world.applicant,
        authority=world.authority,
        operations=["IMPORT"],
        eori="FR987654324",
        name="Martin Logistique",
        country="FR",
    )


def _operation_change(world: World) -> None:
    world.request = approvals.operation_change_submit(
        requester=world.people[LR],
        operator=world.operator,
        authority=world.authority,
        add=["ICS"],
    )


def _request_id(world: World) -> str:
    assert world.request is not None
    return str(world.request.public_id)


def _see_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    reference = the_request(world).reference
    assert response.status_code == 200
    if channel == UI:
        assert f"Request {reference}" in text_of(response)
    else:
        assert response.json()["reference"] == reference


def _queue_lists(world: World, client: Client, channel: str, visible: bool) -> None:
    reference = the_request(world).reference
    if channel == UI:
        response = client.get("/requests/queue/")
        assert response.status_code == 200
        assert (reference in text_of(response)) is visible
    else:
        response = client.get("/api/v1/requests/queue")
        assert response.status_code == 200
        listed = {item["reference"] for item in response.json()["items"]}
        assert (reference in listed) is visible


def _see(setup: Callable[[World], None]) -> Action:
    return Action(
        setup=setup,
        ui=lambda w, c: c.get(f"/requests/{_request_id(w)}/"),
        api=lambda w, c: c.get(f"/api/v1/requests/{_request_id(w)}"),
        effect=_see_effect,
        listing=_queue_lists,
    )


ACTIONS["see_registration"] = _see(_registration)
ACTIONS["see_operation_change"] = _see(_operation_change)
ACTIONS["see_membership"] = _see(_membership_request)


def _decided(world: World, actor: User, status: str) -> Request:
    request = the_request(world)
    assert request.status == status and request.decided_by == actor
    assert request.reason == (REASON if status == RS.REJECTED else "")
    audited(f"request.{status}", actor)
    return request


def _registration_decided(world: World, actor: User, status: str) -> None:
    request = _decided(world, actor, status)
    operator = request.operator
    assert operator is not None
    operator.refresh_from_db()
    position = Position.objects.get(person=world.applicant, operator=operator)
    if status == RS.APPROVED:
        assert operator.status == Operator.Status.ACTIVE and position.status == PS.VALID
        assert operator.operation_grants.filter(operation__code="IMPORT").exists()
    else:
        assert operator.status == Operator.Status.CLOSED and position.status == PS.REJECTED


def _operation_change_decided(world: World, actor: User, status: str) -> None:
    _decided(world, actor, status)
    held = set(
        OperatorOperation.objects.filter(
            operator=world.operator, revoked_at__isnull=True
        ).values_list("operation__code", flat=True)
    )
    assert held == ({"IMPORT", "ICS"} if status == RS.APPROVED else {"IMPORT"})


def _membership_decided(world: World, actor: User, status: str) -> None:
    _decided(world, actor, status)
    position = Position.objects.get(person=world.joiner, operator=world.operator)
    assert position.status == (PS.VALID if status == RS.APPROVED else PS.REJECTED)


def _decide(
    setup: Callable[[World], None],
    check: Callable[[World, User, str], None],
    decision: str,
) -> Action:
    status = RS.APPROVED if decision == "approve" else RS.REJECTED
    reason = REASON if decision == "reject" else ""

    def effect(world: World, actor: User, role: str, channel: str, response) -> None:
        check(world, actor, status)

    def by_api(world: World, client: Client) -> HttpResponse:
        url = f"/api/v1/requests/{_request_id(world)}/{decision}"
        return post_json(client, url, {"reason": reason} if reason else None)

    return Action(
        setup=setup,
        ui=lambda w, c: c.post(
            f"/requests/{_request_id(w)}/", {"decision": decision, "reason": reason}
        ),
        api=by_api,
        effect=effect,
        message="You are not allowed to decide this request.",
    )


for _decision in ("approve", "reject"):
    ACTIONS[f"{_decision}_registration"] = _decide(_registration, _registration_decided, _decision)
    ACTIONS[f"{_decision}_operation_change"] = _decide(
        _operation_change, _operation_change_decided, _decision
    )
    ACTIONS[f"{_decision}_membership"] = _decide(
        _membership_request, _membership_decided, _decision
    )


def _reassign_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    request = the_request(world)
    assert request.authority == world.other_authority and request.status == RS.SUBMITTED
    audited("request.reassigned", actor)


ACTIONS["reassign"] = Action(
    setup=_registration,
    ui=lambda w, c: c.post(
        f"/requests/{_request_id(w)}/reassign/", {"authority": w.other_authority.pk}
    ),
    api=lambda w, c: post_json(
        c, f"/api/v1/requests/{_request_id(w)}/reassign", {"authority": w.other_authority.code}
    ),
    effect=_reassign_effect,
    message="Only administrators can reassign a request.",
)


# Notices ---------------------------------------------------------------------------------------


def _colleagues_notice(world: World) -> None:
    world.notice = notice_create(
        recipient=world.colleague,
        topic="request.submitted",
        title="A notice for Colin only",
        link="/requests/",
        operator=world.operator,
    )


def _notice_id(world: World) -> str:
    assert world.notice is not None
    return str(world.notice.public_id)


def _notice_read_effect(world: World, actor: User, role: str, channel: str, response) -> None:
    assert world.notice is not None
    world.notice.refresh_from_db()
    assert world.notice.read_at is not None


ACTIONS["read_others_notice"] = Action(
    setup=_colleagues_notice,
    ui=lambda w, c: c.post(f"/notices/{_notice_id(w)}/read/"),
    api=lambda w, c: post_json(c, f"/api/v1/notices/{_notice_id(w)}/read"),
    effect=_notice_read_effect,
)


# --- The rows -----------------------------------------------------------------------------------


def _expected(action: str, role: str, channel: str) -> str:
    outcomes = dict(zip(ROLES, MATRIX[action].split(), strict=True))
    return CHANNEL_DIFFERENCES.get((action, role, channel), outcomes[role])


def _rows() -> list[Any]:
    rows = []
    for action in MATRIX:
        for channel in CHANNELS:
            for role in ROLES:
                key = (action, role, channel)
                marks = [pytest.mark.xfail(strict=True, reason=XFAIL[key])] if key in XFAIL else []
                rows.append(
                    pytest.param(
                        action,
                        role,
                        channel,
                        _expected(action, role, channel),
                        marks=marks,
                        id=f"{action}-{channel}-{role}",
                    )
                )
    return rows


def test_the_matrix_covers_every_action_and_role_once():
    assert set(MATRIX) == set(ACTIONS)
    for action, line in MATRIX.items():
        outcomes = line.split()
        assert len(outcomes) == len(ROLES), action
        assert set(outcomes) <= OUTCOMES, action
        assert outcomes[ROLES.index(ANON)] == SIGN_IN, action
    for action, role, channel in [*CHANNEL_DIFFERENCES, *XFAIL]:
        assert action in MATRIX and role in ROLES and channel in CHANNELS
    for (action, _role, _channel), outcome in CHANNEL_DIFFERENCES.items():
        assert outcome != HIDDEN or ACTIONS[action].hidden is not None
    for action, spec in ACTIONS.items():
        if FORBIDDEN in MATRIX[action].split():
            assert spec.message, action


def _check_refusal(spec: Action, world: World, channel: str, expected: str, response) -> None:
    if expected == SIGN_IN:
        if channel == UI:
            assert response.status_code == 302, response.status_code
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 401, response.status_code
    elif expected == NOT_FOUND:
        assert response.status_code == 404, response.status_code
    elif expected == FORBIDDEN:
        assert response.status_code == 403, response.status_code
        said = text_of(response) if channel == UI else response.json()["detail"]
        assert spec.message in said
    else:
        assert expected == HIDDEN and channel == UI and spec.hidden is not None
        assert response.status_code == 200, response.status_code
        spec.hidden(world, response)


@pytest.mark.parametrize(("action", "role", "channel", "expected"), _rows())
def test_permission(action: str, role: str, channel: str, expected: str):
    spec = ACTIONS[action]
    world = build_world(role)
    spec.setup(world)
    client = client_for(world, role, channel)
    before = snapshot()

    response = (spec.ui if channel == UI else spec.api)(world, client)

    if expected == OK:
        limit = 400 if channel == UI else 300
        assert 200 <= response.status_code < limit, (response.status_code, response.content[:300])
        spec.effect(world, world.people[role], role, channel, response)
    else:
        _check_refusal(spec, world, channel, expected, response)
        assert snapshot() == before
    if spec.listing is not None and role != ANON:
        spec.listing(world, client, channel, expected == OK)


# --- Controls: the refused rows above refuse something that does work for its owner ------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_recipient_reads_their_own_notice(channel: str):
    world = build_world(OUT)
    _colleagues_notice(world)
    terms = account_selectors.terms_current()
    if terms is not None:
        account_services.terms_accept(user=world.colleague, terms=terms, ip=None)
    world.people["colleague"] = world.colleague
    client = client_for(world, "colleague", channel)
    spec = ACTIONS["read_others_notice"]
    response = (spec.ui if channel == UI else spec.api)(world, client)
    assert response.status_code == (302 if channel == UI else 200)
    spec.effect(world, world.colleague, "colleague", channel, response)
