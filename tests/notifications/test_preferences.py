"""Notification preferences: for each category of notices a person chooses "by e-mail and in the
portal" (the default) or "only in the portal", on /notices/preferences/ or through
/api/v1/notices/preferences. In-app notices are always written; the e-mails of the approvals
(requests to decide, decisions on one's requests) and of the companies (invitations accepted,
people attached) follow the choice; an invitation e-mail to an invitee is always sent."""

from __future__ import annotations

from dataclasses import dataclass
from html import unescape

import pytest
from django.test import Client

from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.notifications.models import Notice, NoticePreference, OutboxMessage
from comptoir.notifications.preferences import notice_preferences_set
from comptoir.notifications.selectors import notice_preferences, notice_wants_email
from comptoir.operators import invitations
from comptoir.operators.models import Authority, Operator, Position
from tests.api.test_api import bearer, token_for
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, member, officer
from tests.mail import run_worker

pytestmark = pytest.mark.django_db

Category = NoticePreference.Category
URL = "/notices/preferences/"
API = "/api/v1/notices/preferences"
ALL_BY_EMAIL = {"to_decide": True, "my_requests": True, "company": True}


@dataclass
class World:
    authority: Authority
    officer: User
    operator: Operator
    legal_representative: User
    manager: User
    outsider: User


@pytest.fixture
def world(db) -> World:
    authority = AuthorityFactory(code="FR-PARIS-1")
    operator = OperatorFactory(eori="FR552100554", name="Dupont SA")
    return World(
        authority=authority,
        officer=officer(authority, username="officer_1"),
        operator=operator,
        legal_representative=member(
            operator, Position.Role.LEGAL_REPRESENTATIVE, username="legalrep1"
        ),
        manager=member(operator, Position.Role.MANAGER, username="manager_1"),
        outsider=UserFactory(username="outsider1"),
    )


def signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def page(response) -> str:
    return unescape(response.content.decode())


def portal_only(person: User, *categories: str) -> None:
    notice_preferences_set(person=person, choices=dict.fromkeys(categories, False))


def mails_to(person: User) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(to=person.email))


# --- The choice and its default -----------------------------------------------------------------


def test_without_a_choice_every_notice_comes_by_e_mail_too():
    person = UserFactory()
    assert notice_preferences(person=person) == ALL_BY_EMAIL
    for category in Category.values:
        assert notice_wants_email(person=person, category=category) is True


def test_the_choice_is_per_person_and_per_category():
    person, other = UserFactory(), UserFactory()
    portal_only(person, Category.MY_REQUESTS)
    assert notice_wants_email(person=person, category=Category.MY_REQUESTS) is False
    assert notice_wants_email(person=person, category=Category.TO_DECIDE) is True
    assert notice_wants_email(person=other, category=Category.MY_REQUESTS) is True


def test_an_unknown_category_is_a_programming_error():
    with pytest.raises(ValueError):
        notice_wants_email(person=UserFactory(), category="newsletter")


def test_the_service_refuses_unknown_categories_and_changes_nothing():
    from django.core.exceptions import ValidationError

    person = UserFactory()
    with pytest.raises(ValidationError) as refused:
        notice_preferences_set(person=person, choices={"newsletter": False, "company": False})
    assert refused.value.message_dict == {"newsletter": ["This is not a category of notices."]}
    assert not NoticePreference.objects.exists()


# --- The page -----------------------------------------------------------------------------------


def test_the_page_shows_each_category_with_the_default_checked():
    person = UserFactory(email="ada@example.test")
    response = signed_in(person).get(URL)
    assert response.status_code == 200
    html = page(response)
    assert '<h1 class="heading-xl">Notification preferences</h1>' in html
    for label in (
        "Requests waiting for my decision",
        "Decisions on my requests",
        "News of my companies (invitations, new members)",
    ):
        assert f'<legend class="fieldset__legend">{label}</legend>' in html
    assert html.count("By e-mail and in the portal") == 3
    assert html.count("Only in the portal") == 3
    assert html.count("checked") == 3
    assert 'value="email" required id="id_to_decide_0" checked' in html
    assert "E-mails go to ada@example.test." in html


def test_saving_writes_the_choice_and_audits_it():
    person = UserFactory()
    client = signed_in(person)
    response = client.post(
        URL, {"to_decide": "email", "my_requests": "portal", "company": "portal"}
    )
    assert response.status_code == 302
    assert response["Location"] == URL
    stored = dict(
        NoticePreference.objects.filter(person=person).values_list("category", "by_email")
    )
    assert stored == {"to_decide": True, "my_requests": False, "company": False}
    event = AuditEvent.objects.get(action="profile.notice_preferences_changed")
    assert event.actor_id == person.pk and event.subject_id == str(person.pk)
    assert event.data == {
        "changes": {
            "my_requests": {"from": True, "to": False},
            "company": {"from": True, "to": False},
        }
    }
    assert audit_verify() is None
    shown = page(client.get(URL))
    assert "Your notification preferences have been saved." in shown
    assert 'value="portal" required id="id_my_requests_1" checked' in shown
    # Saving the same choices again changes nothing and records nothing more.
    client.post(URL, {"to_decide": "email", "my_requests": "portal", "company": "portal"})
    assert AuditEvent.objects.filter(action="profile.notice_preferences_changed").count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"to_decide": "email", "my_requests": "portal"},
        {"to_decide": "email", "my_requests": "sms", "company": "email"},
    ],
)
def test_a_missing_or_unknown_choice_gets_a_message_and_changes_nothing(data):
    person = UserFactory()
    response = signed_in(person).post(URL, data)
    assert response.status_code == 422
    html = page(response)
    assert "There is a problem" in html
    assert "<title>Error: Notification preferences" in html
    if "company" not in data:
        field, label = "company", "News of my companies (invitations, new members)"
    else:
        field, label = "my_requests", "Decisions on my requests"
    message = f"Choose how you want to receive the notices “{label}”."
    assert f'<a href="#id_{field}_0">{message}</a>' in html
    assert html.count("Choose how you want to receive") == 2  # the summary and the field
    assert not NoticePreference.objects.exists()
    assert not AuditEvent.objects.filter(action="profile.notice_preferences_changed").exists()


def test_the_page_is_for_signed_in_people():
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_profile_and_the_notices_link_to_the_page():
    client = signed_in(UserFactory())
    assert f'href="{URL}"' in page(client.get("/profile/"))
    assert f'href="{URL}"' in page(client.get("/notices/"))


# --- The approvals honour it --------------------------------------------------------------------


def test_portal_only_for_my_requests_gives_the_notice_but_no_e_mail_on_a_decision(world):
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    portal_only(world.outsider, Category.MY_REQUESTS)
    approvals.request_reject(
        actor=world.manager, request_id=request.public_id, reason="We do not know you."
    )
    notice = Notice.objects.get(recipient=world.outsider, topic="request.rejected")
    assert request.reference in notice.title
    assert mails_to(world.outsider) == []


def test_by_default_a_decision_comes_both_ways(world, smtp_server):
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    approvals.request_approve(actor=world.manager, request_id=request.public_id)
    assert Notice.objects.filter(recipient=world.outsider, topic="request.approved").exists()
    [mail] = mails_to(world.outsider)
    assert mail.template == "approvals/email/decided"
    run_worker()
    assert smtp_server.last_to(world.outsider.email)["Subject"] == (
        f"[Comptoir] Request {request.reference}: Approved"
    )


def test_an_expiry_follows_the_choice_for_my_requests(world):
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    portal_only(world.outsider, Category.MY_REQUESTS)
    approvals.request_expire(request_id=request.public_id, now=request.expires_at)
    assert Notice.objects.filter(recipient=world.outsider, topic="request.expired").exists()
    assert mails_to(world.outsider) == []


def test_deciders_who_chose_the_portal_only_are_not_e_mailed_at_submission(world):
    portal_only(world.manager, Category.TO_DECIDE)
    # Another category does not stop these e-mails.
    portal_only(world.legal_representative, Category.MY_REQUESTS, Category.COMPANY)
    request = approvals.membership_request_submit(requester=world.outsider, operator=world.operator)
    for decider in (world.manager, world.legal_representative):
        notice = Notice.objects.get(recipient=decider, topic="request.submitted")
        assert request.reference in notice.title
    assert mails_to(world.manager) == []
    assert [m.template for m in mails_to(world.legal_representative)] == [
        "approvals/email/submitted"
    ]


def test_a_choice_for_decisions_does_not_silence_the_requests_to_decide(world):
    portal_only(world.officer, Category.MY_REQUESTS, Category.COMPANY)
    approvals.operation_change_submit(
        requester=world.legal_representative,
        operator=world.operator,
        authority=world.authority,
        add=["TRANSIT"],
    )
    assert [m.template for m in mails_to(world.officer)] == ["approvals/email/submitted"]


# --- The companies' e-mails honour it -----------------------------------------------------------


def _invite(world, *, email: str) -> str:
    invitations.invitation_create(
        actor=world.manager,
        operator=world.operator,
        email=email,
        role=Position.Role.EMPLOYEE,
        base_url="http://testserver/",
    )
    message = OutboxMessage.objects.get(template="operators/email/invitation", to=email)
    return message.body_text.split("/invitations/")[1].split("/")[0]


def test_an_invitation_is_sent_even_to_someone_who_chose_the_portal_only(world):
    invitee = UserFactory(email="invitee@example.test")
    portal_only(invitee, *Category.values)
    _invite(world, email=invitee.email)
    assert [m.template for m in mails_to(invitee)] == ["operators/email/invitation"]


def test_the_inviter_who_chose_the_portal_only_for_companies_gets_only_the_notice(world):
    invitee = UserFactory(email="invitee@example.test")
    token = _invite(world, email=invitee.email)
    portal_only(world.manager, Category.COMPANY)
    invitations.invitation_accept(actor=invitee, token=token)
    assert Notice.objects.filter(
        recipient=world.manager, topic="operators.invitation_accepted"
    ).exists()
    assert not OutboxMessage.objects.filter(
        to=world.manager.email, template="operators/email/invitation_accepted"
    ).exists()


def test_by_default_the_inviter_is_told_both_ways(world):
    invitee = UserFactory(email="invitee@example.test")
    token = _invite(world, email=invitee.email)
    invitations.invitation_accept(actor=invitee, token=token)
    assert Notice.objects.filter(
        recipient=world.manager, topic="operators.invitation_accepted"
    ).exists()
    assert OutboxMessage.objects.filter(
        to=world.manager.email, template="operators/email/invitation_accepted"
    ).exists()


# --- The API ------------------------------------------------------------------------------------


def test_the_api_reads_the_defaults_and_changes_only_what_is_given():
    person = UserFactory()
    api = Client(**bearer(token_for(person)))
    assert api.get(API).json() == ALL_BY_EMAIL
    response = api.put(API, {"company": False}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"to_decide": True, "my_requests": True, "company": False}
    response = api.put(API, {"to_decide": False, "company": True}, content_type="application/json")
    assert response.json() == {"to_decide": False, "my_requests": True, "company": True}
    assert notice_wants_email(person=person, category=Category.TO_DECIDE) is False
    assert api.get(API).json() == {"to_decide": False, "my_requests": True, "company": True}
    changes = [
        event.data["changes"]
        for event in AuditEvent.objects.filter(
            action="profile.notice_preferences_changed", actor=person
        ).order_by("sequence")
    ]
    assert changes == [
        {"company": {"from": True, "to": False}},
        {"to_decide": {"from": True, "to": False}, "company": {"from": False, "to": True}},
    ]


@pytest.mark.parametrize(
    "body",
    [{"newsletter": False}, {"company": "no"}, {"company": 0}, {"to_decide": None, "x": 1}],
)
def test_the_api_refuses_bad_input_with_422(body):
    person = UserFactory()
    api = Client(**bearer(token_for(person)))
    response = api.put(API, body, content_type="application/json")
    assert response.status_code == 422
    assert not NoticePreference.objects.exists()


def test_the_api_needs_a_caller():
    assert Client().get(API).status_code == 401
    assert Client().put(API, {"company": False}, content_type="application/json").status_code == 401
