"""Invitations by e-mail: the legal representative or a manager invites someone with a role; the
link, delivered over SMTP, works once, until it expires or is revoked, and only for an account
whose confirmed address is the invited one; accepting gives the position at once."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.operators import invitations
from comptoir.operators.models import Invitation, Operator, Position
from tests.factories import PASSWORD, UserFactory, signup_data
from tests.factories_operators import OperatorFactory, PositionFactory, member
from tests.mail import run_worker
from tests.markers import requires_postgresql

pytestmark = pytest.mark.django_db

Role = Position.Role
INVITED = "new.person@example.test"
TOKEN = re.compile(r"/invitations/([A-Za-z0-9_-]{20,})/")
UNKNOWN = "This invitation link is not valid or has already been used."
EXPIRED = "This invitation has expired."
REVOKED = "This invitation has been cancelled by the company."


@dataclass
class Company:
    operator: Operator
    legal_representative: User
    manager: User
    employee: User
    outsider: User


@pytest.fixture
def company(db) -> Company:
    operator = OperatorFactory(
        eori="FR552100554", name="Dupont SA", address_line1="1 quai de la Douane"
    )
    return Company(
        operator=operator,
        legal_representative=member(operator, Role.LEGAL_REPRESENTATIVE, username="legalrep1"),
        manager=member(operator, Role.MANAGER, username="manager_1"),
        employee=member(operator, Role.EMPLOYEE, username="employee1"),
        outsider=UserFactory(username="outsider1"),
    )


def signed_in(person: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(person)
    return client


def token_in(message: OutboxMessage) -> str:
    found = TOKEN.search(message.body_text)
    assert found, message.body_text
    return found.group(1)


def invite(
    company: Company, email: str = INVITED, role: str = Role.EMPLOYEE, actor: User | None = None
) -> tuple[Invitation, str]:
    """Invite through the service; return the invitation and the token read from its e-mail."""
    invitation = invitations.invitation_create(
        actor=actor or company.legal_representative,
        operator=company.operator,
        email=email,
        role=role,
        base_url="http://testserver/",
    )
    message = OutboxMessage.objects.filter(
        template="operators/email/invitation", to=invitation.email
    ).latest("created_at")
    return invitation, token_in(message)


def invitee(email: str = INVITED, **kwargs) -> User:
    return UserFactory(email=email, **kwargs)


def page(response) -> str:
    return response.content.decode()


# --- Creating -----------------------------------------------------------------------------------


def test_the_legal_representative_invites_from_the_page(company):
    client = signed_in(company.legal_representative)
    url = f"/companies/{company.operator.pk}/invite/"
    form = client.get(url)
    assert form.status_code == 200
    assert 'name="email"' in page(form) and 'name="role"' in page(form)

    response = client.post(url, {"email": " New.Person@Example.TEST ", "role": Role.MANAGER})
    assert response.status_code == 302 and response["Location"] == url
    invitation = Invitation.objects.get()
    assert invitation.email == "New.Person@example.test"  # the domain is normalised
    assert invitation.role == Role.MANAGER
    assert invitation.invited_by == company.legal_representative
    days = invitation.expires_at - invitation.created_at
    assert days == timedelta(days=7)

    message = OutboxMessage.objects.get(template="operators/email/invitation")
    assert message.to == "New.Person@example.test"
    assert message.subject == "[Comptoir] Ada Lovelace invites you to join Dupont SA"
    token = token_in(message)
    assert f"http://testserver/invitations/{token}/" in message.body_text
    assert "as: Manager" in message.body_text
    # Only the digest is stored; the token appears nowhere else.
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(AuditEvent.objects.values_list("data", flat=True)))

    event = AuditEvent.objects.get(action="invitation.created")
    assert event.actor == company.legal_representative
    assert event.data["email"] == "New.Person@example.test" and event.data["role"] == "manager"
    assert audit_verify() is None

    listed = page(client.get(url))
    assert "We have sent an invitation to New.Person@example.test." in listed
    assert "Invitations waiting to be accepted" in listed and "Revoke" in listed


def test_a_manager_may_invite_too(company):
    invitation, _token = invite(company, actor=company.manager)
    assert invitation.invited_by == company.manager


@pytest.mark.parametrize(("who", "status"), [("employee", 403), ("outsider", 404)])
def test_employees_are_refused_outsiders_get_404_and_nothing_is_sent(company, who, status):
    """An employee sees the company's space, so the refusal says why (403); for an outsider the
    company is outside their scope (404)."""
    client = signed_in(getattr(company, who))
    url = f"/companies/{company.operator.pk}/invite/"
    assert client.get(url).status_code == status
    assert client.post(url, {"email": INVITED, "role": Role.EMPLOYEE}).status_code == status
    assert not Invitation.objects.exists() and not OutboxMessage.objects.exists()
    with pytest.raises(invitations.NotAllowedToInvite):
        invite(company, actor=getattr(company, who))


def test_an_unknown_company_gets_404(company):
    client = signed_in(company.legal_representative)
    assert client.get("/companies/999999/invite/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(company):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/companies/{company.operator.pk}/invite/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "role": "employee"}, "Enter the email address of the person to invite."),
        (
            {"email": "not-an-address", "role": "employee"},
            "Enter an email address in the correct format, like name@example.com.",
        ),
        ({"email": INVITED, "role": ""}, "Choose the role to offer: manager or employee."),
        (
            {"email": INVITED, "role": "legal_representative"},
            "Choose the role to offer: manager or employee.",
        ),
    ],
)
def test_bad_input_gets_a_specific_message_and_changes_nothing(company, data, message):
    client = signed_in(company.legal_representative)
    response = client.post(f"/companies/{company.operator.pk}/invite/", data)
    assert response.status_code == 200
    assert "There is a problem" in page(response)
    assert message in page(response)
    assert not Invitation.objects.exists() and not OutboxMessage.objects.exists()


def test_a_second_open_invitation_for_the_same_address_is_refused(company):
    invite(company)
    client = signed_in(company.manager)
    response = client.post(
        f"/companies/{company.operator.pk}/invite/",
        {"email": INVITED.upper(), "role": Role.EMPLOYEE},
    )
    assert "An invitation sent to this email address is still waiting" in page(response)
    assert Invitation.objects.count() == 1
    # Once it has expired or been revoked, a new one may be sent.
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    invite(company)
    assert Invitation.objects.count() == 2


def test_inviting_someone_who_already_works_there_is_refused(company):
    with pytest.raises(invitations.AlreadyMember) as refused:
        invite(company, email=company.employee.email.upper())
    assert refused.value.messages == [
        "The person with this email address already works for the company."
    ]
    # Someone who asked to join: decide their request rather than inviting them.
    asking = invitee("asking@example.test")
    approvals.membership_request_submit(requester=asking, operator=company.operator)
    before = Invitation.objects.count(), OutboxMessage.objects.count()
    with pytest.raises(invitations.AlreadyMember) as refused:
        invite(company, email="asking@example.test")
    assert "has already asked to join the company" in refused.value.messages[0]
    assert (Invitation.objects.count(), OutboxMessage.objects.count()) == before


def test_an_inactive_company_cannot_invite(company):
    Operator.objects.filter(pk=company.operator.pk).update(status=Operator.Status.SUSPENDED)
    company.operator.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        invite(company)
    assert refused.value.message_dict == {
        "operator": ["You can only invite people to join an active company."]
    }


def test_the_mail_is_in_the_invitees_language_when_they_have_an_account(company):
    invitee(language="de")
    invite(company)
    assert OutboxMessage.objects.get(to=INVITED).language == "de"


def test_otherwise_the_mail_is_in_the_inviters_language(company):
    company.legal_representative.language = "fr"
    company.legal_representative.save()
    client = signed_in(company.legal_representative)
    client.post(
        f"/companies/{company.operator.pk}/invite/", {"email": INVITED, "role": Role.EMPLOYEE}
    )
    assert OutboxMessage.objects.get(to=INVITED).language == "fr"


# --- Revoking -----------------------------------------------------------------------------------


def test_revoking_stops_the_link(company):
    invitation, token = invite(company)
    client = signed_in(company.manager)
    url = f"/companies/{company.operator.pk}/invitations/{invitation.public_id}/revoke/"
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert AuditEvent.objects.filter(action="invitation.revoked", actor=company.manager).exists()
    assert "No invitation is waiting to be accepted." in page(
        client.get(f"/companies/{company.operator.pk}/invite/")
    )

    again = client.post(url, follow=True)
    assert "This invitation has already been revoked." in page(again)

    person = invitee()
    response = signed_in(person).get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert REVOKED in page(response)
    assert "Dupont SA" not in page(response)
    with pytest.raises(invitations.InvitationRevoked):
        invitations.invitation_accept(actor=person, token=token)
    assert not Position.objects.filter(person=person).exists()


@pytest.mark.parametrize("who", ["employee", "outsider"])
def test_revoking_outside_ones_scope_answers_404(company, who):
    invitation, _token = invite(company)
    client = signed_in(getattr(company, who))
    response = client.post(
        f"/companies/{company.operator.pk}/invitations/{invitation.public_id}/revoke/"
    )
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_an_invitation_of_another_company_answers_404(company):
    invitation, _token = invite(company)
    other = OperatorFactory()
    boss = member(other, Role.LEGAL_REPRESENTATIVE)
    response = signed_in(boss).post(
        f"/companies/{other.pk}/invitations/{invitation.public_id}/revoke/"
    )
    assert response.status_code == 404


def test_an_accepted_invitation_cannot_be_revoked(company):
    invitation, token = invite(company)
    invitations.invitation_accept(actor=invitee(), token=token)
    with pytest.raises(invitations.InvitationClosed) as refused:
        invitations.invitation_revoke(actor=company.legal_representative, invitation=invitation)
    assert refused.value.messages == [
        "This invitation has already been accepted: it can no longer be revoked."
    ]


# --- Accepting ----------------------------------------------------------------------------------


def test_accepting_gives_the_position_at_once_and_tells_the_inviter(company, smtp_server):
    invitation, token = invite(company, role=Role.MANAGER, actor=company.manager)
    person = invitee()
    client = signed_in(person)
    summary = client.get(f"/invitations/{token}/")
    assert summary.status_code == 200
    for text in ("Dupont SA", "FR552100554", "Manager", INVITED, "Accept the invitation"):
        assert text in page(summary)

    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{company.operator.pk}/"
    position = Position.objects.get(person=person, operator=company.operator)
    assert (position.role, position.status) == (Role.MANAGER, Position.Status.VALID)
    assert position.since is not None
    invitation.refresh_from_db()
    assert invitation.accepted_by == person and invitation.accepted_at is not None
    # The company's space opens, with the confirmation.
    assert "You have joined Dupont SA as: Manager." in page(client.get(response["Location"]))

    actions = set(AuditEvent.objects.filter(actor=person).values_list("action", flat=True))
    assert {"invitation.accepted", "position.appointed"} <= actions
    # The inviter is told in the portal too, with a link to the company's space.
    notice = Notice.objects.get(recipient=company.manager, topic="operators.invitation_accepted")
    assert notice.operator == company.operator
    assert notice.link == f"/companies/{company.operator.pk}/"
    assert audit_verify() is None

    run_worker()
    told = smtp_server.last_to(company.manager.email)
    assert told["Subject"] == ("[Comptoir] Ada Lovelace accepted your invitation to join Dupont SA")
    assert "now works for Dupont SA (EORI FR552100554) as: Manager." in smtp_server.text(told)


def test_the_link_works_once(company):
    _invitation, token = invite(company)
    person = invitee()
    client = signed_in(person)
    client.post(f"/invitations/{token}/")
    for response in (client.get(f"/invitations/{token}/"), client.post(f"/invitations/{token}/")):
        assert response.status_code == 404
        assert UNKNOWN in page(response)
    with pytest.raises(invitations.InvitationUnknown):
        invitations.invitation_accept(actor=person, token=token)
    assert Position.objects.filter(person=person).count() == 1


def test_an_unknown_link_answers_like_a_used_one(company):
    invite(company)
    for client in (Client(HTTP_ACCEPT_LANGUAGE="en"), signed_in(invitee())):
        response = client.get("/invitations/not-a-real-token-at-all-0123456789/")
        assert response.status_code == 404
        assert UNKNOWN in page(response)
        assert "Dupont SA" not in page(response)


def test_an_expired_link_says_so(company):
    invitation, token = invite(company)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    person = invitee()
    for client in (Client(HTTP_ACCEPT_LANGUAGE="en"), signed_in(person)):
        response = client.get(f"/invitations/{token}/")
        assert response.status_code == 410
        assert EXPIRED in page(response)
        assert "Dupont SA" not in page(response)
    assert signed_in(person).post(f"/invitations/{token}/").status_code == 410
    assert not Position.objects.filter(person=person).exists()


def test_another_account_is_told_which_address_the_invitation_went_to(company):
    _invitation, token = invite(company)
    someone = UserFactory(email="someone.else@example.test")
    client = signed_in(someone)
    summary = client.get(f"/invitations/{token}/")
    expected = f"This invitation was sent to {INVITED}, which is not a confirmed email address"
    assert expected in page(summary)
    assert "Accept the invitation" not in page(summary)
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 422 and expected in page(response)
    assert not Position.objects.filter(person=someone).exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_unconfirmed_address_is_not_enough(company):
    _invitation, token = invite(company)
    person = UserFactory(email="someone.else@example.test")
    EmailAddress.objects.create(user=person, email=INVITED, verified=False, primary=False)
    with pytest.raises(invitations.InvitationWrongAccount):
        invitations.invitation_accept(actor=person, token=token)
    # Once confirmed (a second address of the account, any letter case), it works.
    EmailAddress.objects.filter(user=person, email=INVITED).update(
        verified=True, email=INVITED.upper()
    )
    position = invitations.invitation_accept(actor=person, token=token)
    assert position.status == Position.Status.VALID


def test_someone_already_in_the_company_is_told(company):
    _invitation, token = invite(company)
    person = invitee()
    PositionFactory(person=person, operator=company.operator, role=Role.MANAGER)
    client = signed_in(person)
    message = "You already work for this company: there is nothing more to do."
    assert message in page(client.get(f"/invitations/{token}/"))
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 422 and message in page(response)
    assert Position.objects.filter(person=person).count() == 1
    assert Invitation.objects.get().accepted_at is None


def test_a_company_no_longer_active_makes_the_link_unusable(company):
    _invitation, token = invite(company)
    Operator.objects.filter(pk=company.operator.pk).update(status=Operator.Status.SUSPENDED)
    response = signed_in(invitee()).get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert "This company is no longer active on Comptoir" in page(response)


def test_the_conditional_update_refuses_an_acceptance_that_lost_the_race(company, monkeypatch):
    """Another request accepts (or revokes) the invitation between this one's checks and its
    write: the conditional update finds nothing to change and nothing is written."""
    invitation, token = invite(company)
    person = invitee()
    rival = UserFactory(username="rival_0001")
    check = invitations.invitation_check

    def check_then_someone_else_accepts(**kwargs):
        result = check(**kwargs)
        Invitation.objects.filter(pk=invitation.pk).update(
            accepted_at=timezone.now(), accepted_by=rival
        )
        return result

    monkeypatch.setattr(invitations, "invitation_check", check_then_someone_else_accepts)
    with pytest.raises(invitations.InvitationUnknown):
        invitations.invitation_accept(actor=person, token=token)
    assert not Position.objects.filter(person=person).exists()
    assert not AuditEvent.objects.filter(action="invitation.accepted").exists()
    assert not OutboxMessage.objects.filter(template="operators/email/invitation_accepted")

    second, second_token = invite(company, email="second@example.test")
    invitee("second@example.test", username="second_001")

    def check_then_revoked(**kwargs):
        result = check(**kwargs)
        Invitation.objects.filter(pk=second.pk).update(revoked_at=timezone.now())
        return result

    monkeypatch.setattr(invitations, "invitation_check", check_then_revoked)
    with pytest.raises(invitations.InvitationRevoked):
        invitations.invitation_accept(
            actor=User.objects.get(username="second_001"), token=second_token
        )
    assert not Position.objects.filter(person__username="second_001").exists()


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_acceptances_at_once_give_one_position(monkeypatch):
    operator = OperatorFactory(eori="FR552100554", name="Dupont SA")
    boss = member(operator, Role.LEGAL_REPRESENTATIVE, username="legalrep1")
    company = Company(operator, boss, boss, boss, boss)
    invitation, token = invite(company)
    person = invitee()

    # Both requests pass every check before either writes: the conditional UPDATE decides.
    barrier = threading.Barrier(2, timeout=20)
    check = invitations.invitation_check

    def check_then_wait(**kwargs):
        result = check(**kwargs)
        barrier.wait()
        return result

    monkeypatch.setattr(invitations, "invitation_check", check_then_wait)
    outcomes: list[object] = []

    def accept():
        try:
            with translation.override("en"):
                outcomes.append(invitations.invitation_accept(actor=person, token=token))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    positions = [item for item in outcomes if isinstance(item, Position)]
    refusals = [item for item in outcomes if isinstance(item, invitations.InvitationUnknown)]
    assert len(positions) == 1 and len(refusals) == 1, outcomes
    assert Position.objects.filter(person=person, operator=operator).count() == 1
    assert AuditEvent.objects.filter(action="invitation.accepted").count() == 1
    invitation.refresh_from_db()
    assert invitation.accepted_by == person
    assert OutboxMessage.objects.filter(template="operators/email/invitation_accepted").count() == 1


# --- Anonymous visitors and the account gate ----------------------------------------------------


def test_anonymous_visitors_see_the_company_and_the_role_and_come_back(company):
    _invitation, token = invite(company)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    here = f"/invitations/{token}/"
    response = client.get(here)
    assert response.status_code == 200
    content = page(response)
    assert "Dupont SA" in content and "Employee" in content
    assert "FR552100554" not in content and INVITED not in content
    back = f"next=%2Finvitations%2F{token}%2F"
    assert f'href="/accounts/login/?{back}"' in content
    assert f'href="/accounts/signup/?{back}"' in content

    # A POST without being signed in goes to the sign-in page, and comes back.
    refused = client.post(here)
    assert refused["Location"] == f"/accounts/login/?{back}"
    person = invitee(username="invited_01")
    signed = client.post(
        "/accounts/login/", {"login": "invited_01", "password": PASSWORD, "next": here}
    )
    assert signed.status_code == 302 and signed["Location"] == here
    assert client.post(here).status_code == 302
    assert Position.objects.get(person=person).status == Position.Status.VALID


def test_a_signed_in_person_who_must_accept_new_terms_comes_back_afterwards(company):
    _invitation, token = invite(company)
    person = invitee(accepted_terms=False)
    client = signed_in(person)
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 302
    assert response["Location"] == f"/terms/accept/?next=%2Finvitations%2F{token}%2F"


def test_signing_up_from_the_mailed_link_then_accepting(company, smtp_server):
    """The whole journey: the invitation mail reaches a real SMTP server; its link opens the
    page; the visitor creates an account (sign-up keeps `next`), confirms the address from the
    second mail, signs in, is offered the invitation again and accepts it."""
    client = signed_in(company.legal_representative)
    client.post(
        f"/companies/{company.operator.pk}/invite/", {"email": INVITED, "role": Role.EMPLOYEE}
    )
    assert smtp_server.messages == []  # written to the outbox, never sent in the request
    run_worker()
    mailed = smtp_server.last_to(INVITED)
    assert mailed["Subject"] == "[Comptoir] Ada Lovelace invites you to join Dupont SA"
    links = [link for link in smtp_server.links(mailed) if "/invitations/" in link]
    assert len(links) == 1 and links[0].startswith("http://testserver/invitations/")
    here = urlsplit(links[0]).path

    visitor = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "Dupont SA" in page(visitor.get(here))
    signup_page = visitor.get(f"/accounts/signup/?next={here}")
    assert f'name="next" value="{here}"' in page(signup_page)
    response = visitor.post(
        "/accounts/signup/", {**signup_data(email=INVITED, username="invited_01"), "next": here}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"

    run_worker()
    confirmation = [
        urlsplit(link).path
        for link in smtp_server.links(smtp_server.last_to(INVITED))
        if "/accounts/confirm-email/" in link
    ][-1]
    assert visitor.post(confirmation)["Location"] == "/accounts/login/"
    signed = visitor.post("/accounts/login/", {"login": "invited_01", "password": PASSWORD})
    # The invitation opened before is remembered in the session: sign-in leads back to it.
    assert signed.status_code == 302 and signed["Location"] == "/invitations/"
    again = visitor.get("/invitations/")
    assert again.status_code == 302 and again["Location"] == here
    summary = visitor.get(here)
    assert "Accept the invitation" in page(summary)
    assert visitor.post(here)["Location"] == f"/companies/{company.operator.pk}/"
    person = User.objects.get(username="invited_01")
    position = Position.objects.get(person=person, operator=company.operator)
    assert position.status == Position.Status.VALID and position.role == Role.EMPLOYEE

    # Nothing waits any more in this browser.
    nothing = visitor.get("/invitations/")
    assert nothing.status_code == 200
    assert "No invitation is waiting" in page(nothing)

    run_worker()
    assert "accepted your invitation" in str(
        smtp_server.last_to(company.legal_representative.email)["Subject"]
    )


def test_a_bad_link_does_not_forget_the_invitation_opened_before(company):
    _invitation, token = invite(company)
    visitor = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert visitor.get("/invitations/").status_code == 200  # nothing opened yet
    visitor.get(f"/invitations/{token}/")
    assert visitor.get("/invitations/not-a-real-token-at-all-0123456789/").status_code == 404
    assert visitor.get("/invitations/")["Location"] == f"/invitations/{token}/"
