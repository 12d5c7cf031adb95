"""Every page added for companies and professional spaces (issue 3), in Chromium with JavaScript
off and axe-core on each: the lists and spaces as each kind of member, the operation changes,
member management, leaving, transferring, merging and deleting a space, invitations and their
refusals, attaching by company number, notices, one's own requests and the deciders' queues.

Each test sets up its own data through the ORM and the services, visits the pages as the people
concerned would, and checks what the page says (its heading, an element) and, after a POST, what
changed in the database."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone
from stdnum import luhn

from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request
from comptoir.notifications.models import Notice, OutboxMessage
from comptoir.notifications.services import notice_create
from comptoir.operators import invitations
from comptoir.operators import services as operator_services
from comptoir.operators.models import (
    Authority,
    CustomsOperation,
    Invitation,
    Operator,
    Position,
)
from tests.browser.totp import totp, wait_for_room_in_window
from tests.factories import PASSWORD, UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, PositionFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Role = Position.Role
PS = Position.Status
SIREN = "552100554"
SIRET = "55210055400013"  # an establishment of the SIREN above
BE_NUMBER = "0403170701"
TOKEN = re.compile(r"/invitations/([A-Za-z0-9_-]{20,})/")


# --- Helpers ------------------------------------------------------------------------------------


@contextmanager
def browsing(browser, live_server) -> Iterator:
    """Another person's browser: a fresh context (no cookies), JavaScript off."""
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page, person: User, totp_secret: str | None = None) -> None:
    """Through the sign-in form (its own axe checks are the account journey's business)."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name=re.compile("sign in", re.I)).click()
    if totp_secret is not None:
        assert page.url.endswith("/accounts/2fa/authenticate/"), page.url
        wait_for_room_in_window(5)
        page.get_by_label("Code").fill(totp(totp_secret))
        page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("banner").get_by_role("button", name="Sign out").is_visible()


@contextmanager
def signed_in(browser, live_server, person: User, totp_secret: str | None = None) -> Iterator:
    with browsing(browser, live_server) as page:
        sign_in(page, person, totp_secret)
        yield page


def visit(page, url: str, status: int = 200):
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    return response


def heading(page) -> str:
    return page.locator("main h1").inner_text().strip()


def main_text(page) -> str:
    return page.get_by_role("main").inner_text()


def banner_text(page) -> str:
    return " ".join(page.locator(".notification-banner").all_inner_texts())


def error_summary(page) -> str:
    """The error summary's text; the page title says "Error:" too (no JavaScript moves focus)."""
    assert page.title().startswith("Error: "), page.title()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    return summary.inner_text()


def company_url(operator: Operator, rest: str = "") -> str:
    return f"/companies/{operator.pk}/{rest}"


def national_administration() -> Authority:
    return AuthorityFactory(
        code="FR-DGDDI", name="Direction générale", kind=Authority.Kind.NATIONAL_ADMINISTRATION
    )


def grant(operator: Operator, code: str) -> None:
    operator_services.operation_grant(
        actor=None, operator=operator, operation=CustomsOperation.objects.get(code=code)
    )


def person(username: str, first_name: str, last_name: str, **extra: object) -> User:
    return UserFactory(username=username, first_name=first_name, last_name=last_name, **extra)


def company_with_staff() -> tuple[Operator, User, User, User]:
    """Transports Martin SARL with its legal representative, a manager and an employee."""
    operator = OperatorFactory(
        eori=f"FR{SIREN}",
        name="Transports Martin SARL",
        address_line1="12 quai de la Douane",
        postcode="76600",
        city="Le Havre",
    )
    representative = member(
        operator,
        Role.LEGAL_REPRESENTATIVE,
        username="lea_martin",
        first_name="Léa",
        last_name="Martin",
    )
    manager = member(
        operator, Role.MANAGER, username="marc_dubois", first_name="Marc", last_name="Dubois"
    )
    employee = member(
        operator, Role.EMPLOYEE, username="emma_petit", first_name="Emma", last_name="Petit"
    )
    return operator, representative, manager, employee


def token_of(invitation: Invitation) -> str:
    """The link's token, read from the invitation e-mail in the outbox (it is stored nowhere
    else)."""
    message = OutboxMessage.objects.filter(
        template="operators/email/invitation", to=invitation.email
    ).latest("created_at")
    found = TOKEN.search(message.body_text)
    assert found, message.body_text
    assert invitations.token_digest(found.group(1)) == invitation.token_digest
    return found.group(1)


def invite(operator: Operator, actor: User, email: str, role: str = Role.EMPLOYEE) -> str:
    invitation = invitations.invitation_create(
        actor=actor, operator=operator, email=email, role=role, base_url="http://testserver/"
    )
    return token_of(invitation)


# --- Companies and spaces, as each kind of member ------------------------------------------------


def test_companies_and_spaces_as_each_kind_of_member(browser, live_server, page, axe):
    operator, representative, manager, employee = company_with_staff()
    grant(operator, "IMPORT")
    suspended = person("sam_suspendu", "Sam", "Suspendu")
    PositionFactory(person=suspended, operator=operator, role=Role.EMPLOYEE, status=PS.SUSPENDED)
    applicant = person("nina_nouvelle", "Nina", "Nouvelle")
    joining = approvals.membership_request_submit(requester=applicant, operator=operator)
    newcomer = person("noe_newcomer", "Noé", "Newcomer")
    outsider_company = OperatorFactory(name="Autre Société")

    # Someone who belongs to no company yet: the list and the private space say so.
    sign_in(page, newcomer)
    visit(page, "/companies/")
    assert heading(page) == "Your companies"
    assert "You do not belong to any company yet." in main_text(page)
    assert page.get_by_role("link", name="Join a company by its national company number").count()
    axe(page)
    visit(page, "/space/")
    assert heading(page) == "Your private space"
    assert "You hold no position yet." in main_text(page)
    assert "You have no message." in main_text(page)
    axe(page)
    # Spaces of other companies answer 404, as if they did not exist.
    visit(page, company_url(operator), status=404)
    visit(page, company_url(outsider_company), status=404)
    visit(page, company_url(operator, "invite/"), status=404)

    # The legal representative: the list, the space with every member and the requests, the
    # history of the customs operations, the private space.
    with signed_in(browser, live_server, representative) as lr:
        visit(lr, "/companies/")
        assert heading(lr) == "Your companies"
        row = lr.get_by_role("row", name=re.compile("Transports Martin SARL"))
        assert "Legal representative" in row.inner_text()
        axe(lr)
        lr.get_by_role("main").get_by_role("link", name="Transports Martin SARL").click()
        assert heading(lr) == "Transports Martin SARL"
        members = lr.get_by_role("table", name="Members of the company").inner_text()
        for name in ("Léa Martin", "Marc Dubois", "Emma Petit", "Sam Suspendu", "Nina Nouvelle"):
            assert name in members
        assert lr.get_by_role("heading", name="Requests", exact=True).is_visible()
        assert joining.reference in main_text(lr)
        assert "Import (IMPORT)" in main_text(lr)
        for link in (
            "Ask to add or remove customs operations",
            "Invite someone to join the company",
            "Transfer the legal representation",
            "Merge another space of the same company into this one",
            "Delete this professional space",
        ):
            assert lr.get_by_role("link", name=link).is_visible(), link
        axe(lr)
        lr.get_by_role("link", name="History of the customs operations").click()
        assert heading(lr) == "History of the customs operations"
        row = lr.get_by_role("row", name=re.compile(r"Import \(IMPORT\)"))
        assert row.get_by_text("Held now").is_visible()
        axe(lr)
        visit(lr, "/space/")
        assert heading(lr) == "Your private space"
        assert lr.get_by_role("main").get_by_role("link", name="Transports Martin SARL").count()
        axe(lr)

    # A manager manages the members but does not represent the company.
    with signed_in(browser, live_server, manager) as mg:
        visit(mg, company_url(operator))
        assert heading(mg) == "Transports Martin SARL"
        assert mg.get_by_role("link", name="Suspend Emma Petit").is_visible()
        assert mg.get_by_role("link", name="Reinstate Sam Suspendu").is_visible()
        assert mg.get_by_role("link", name="Invite someone to join the company").is_visible()
        assert not mg.get_by_role("link", name="Transfer the legal representation").count()
        assert not mg.get_by_role("link", name="Delete this professional space").count()
        axe(mg)

    # An employee sees the valid members, no requests, no management; the pages of the legal
    # representative answer the "not allowed" page.
    with signed_in(browser, live_server, employee) as em:
        visit(em, company_url(operator))
        assert heading(em) == "Transports Martin SARL"
        members = em.get_by_role("table", name="Members of the company").inner_text()
        assert "Marc Dubois" in members and "Nina Nouvelle" not in members
        assert not em.get_by_role("heading", name="Requests", exact=True).count()
        assert not em.get_by_role("link", name="Invite someone to join the company").count()
        axe(em)
        visit(em, company_url(operator, "operations/change/"), status=403)
        assert heading(em) == "You cannot do this"
        assert "Only the legal representative can ask to change" in main_text(em)
        assert em.get_by_role("link", name=re.compile("Back to the professional space of")).count()
        axe(em)
        visit(em, company_url(operator, "invite/"), status=403)
        assert heading(em) == "You cannot do this"
        assert "Only the company's legal representative and its managers can invite" in (
            main_text(em)
        )
        axe(em)

    # A suspended member sees the space with a warning and nothing else of the company.
    with signed_in(browser, live_server, suspended) as su:
        visit(su, company_url(operator))
        assert heading(su) == "Transports Martin SARL"
        assert (
            "Your position in this company is suspended" in su.locator(".warning-text").inner_text()
        )
        assert not su.get_by_role("heading", name="Members").count()
        axe(su)
        visit(su, company_url(operator, "operations/history/"), status=403)
        assert heading(su) == "You cannot do this"
        assert "Your position in this company is suspended." in main_text(su)
        axe(su)


# --- Changing the customs operations -------------------------------------------------------------


def test_operations_change_form_error_and_waiting_refusal(browser, live_server, page, axe):
    national_administration()
    operator, representative, _manager, _employee = company_with_staff()
    grant(operator, "IMPORT")
    sign_in(page, representative)
    visit(page, company_url(operator))
    page.get_by_role("link", name="Ask to add or remove customs operations").click()
    assert heading(page) == "Change the customs operations"
    to_add = page.get_by_role("group", name="Operations to add")
    to_remove = page.get_by_role("group", name="Operations to remove")
    assert to_add.get_by_label("Transit").is_visible()
    assert to_remove.get_by_label("Import").is_visible()
    axe(page)

    # Nothing chosen: a specific message, nothing sent.
    page.get_by_role("button", name="Send the request to customs").click()
    assert "Select at least one operation to add or remove." in error_summary(page)
    assert not Request.objects.filter(kind=Request.Kind.OPERATION_CHANGE).exists()
    axe(page)

    page.get_by_role("group", name="Operations to add").get_by_label("Transit").check()
    page.get_by_role("button", name="Send the request to customs").click()
    change = Request.objects.get(kind=Request.Kind.OPERATION_CHANGE)
    assert change.status == Request.Status.SUBMITTED
    assert change.payload == {"add": ["TRANSIT"], "remove": []}
    assert heading(page) == "Transports Martin SARL"
    assert change.reference in banner_text(page)
    assert "is waiting for a decision by customs" in main_text(page)
    assert not page.get_by_role("link", name="Ask to add or remove customs operations").count()
    axe(page)

    # A second change while the first waits: told on the page, refused when sent anyway.
    visit(page, company_url(operator, "operations/change/"))
    assert (
        "is already waiting for a decision by customs" in page.locator(".inset-text").inner_text()
    )
    axe(page)
    page.get_by_role("group", name="Operations to remove").get_by_label("Import").check()
    page.get_by_role("button", name="Send the request to customs").click()
    assert "A change of operations is already waiting for a decision." in error_summary(page)
    assert Request.objects.filter(kind=Request.Kind.OPERATION_CHANGE).count() == 1
    axe(page)


# --- Managing members ---------------------------------------------------------------------------


def test_member_role_suspend_reinstate_and_end(browser, live_server, page, axe):
    operator, representative, _manager, employee = company_with_staff()
    position = Position.objects.get(person=employee, operator=operator)
    own = Position.objects.get(person=representative, operator=operator)
    sign_in(page, representative)
    visit(page, company_url(operator))

    page.get_by_role("link", name="Change the role of Emma Petit").click()
    assert heading(page) == "Change the role of Emma Petit"
    assert page.get_by_label("Manager", exact=True).is_checked()  # the other role is offered
    axe(page)
    page.get_by_role("button", name="Change the role").click()
    assert "The role of Emma Petit is now: Manager." in banner_text(page)
    position = Position.objects.get(person=employee, operator=operator, status=PS.VALID)
    assert position.role == Role.MANAGER
    axe(page)

    # One's own role cannot be changed: the "not allowed" page.
    visit(page, company_url(operator, f"members/{own.pk}/role/"), status=403)
    assert heading(page) == "You cannot do this"
    assert "You cannot change your own role." in main_text(page)
    axe(page)

    visit(page, company_url(operator))
    page.get_by_role("link", name="Suspend Emma Petit").click()
    assert heading(page) == "Suspend this member"
    assert "Emma Petit" in page.get_by_role("table", name="The member").inner_text()
    axe(page)
    page.get_by_role("button", name="Suspend", exact=True).click()
    assert "Emma Petit's position is suspended." in banner_text(page)
    assert Position.objects.get(pk=position.pk).status == PS.SUSPENDED
    axe(page)

    page.get_by_role("link", name="Reinstate Emma Petit").click()
    assert heading(page) == "Reinstate this member"
    axe(page)
    page.get_by_role("button", name="Reinstate", exact=True).click()
    assert "Emma Petit's position is valid again." in banner_text(page)
    assert Position.objects.get(pk=position.pk).status == PS.VALID
    axe(page)

    page.get_by_role("link", name="End the position of Emma Petit").click()
    assert heading(page) == "End this member's position"
    assert "will no longer belong to the company" in page.locator(".warning-text").inner_text()
    axe(page)
    page.get_by_role("button", name="End the position", exact=True).click()
    assert "Emma Petit's position has ended." in banner_text(page)
    assert Position.objects.get(pk=position.pk).status == PS.ENDED
    assert "Emma Petit" not in page.get_by_role("table", name="Members of the company").inner_text()
    axe(page)


# --- Leaving and transferring -------------------------------------------------------------------


def test_leave_and_transfer_the_legal_representation(browser, live_server, page, axe):
    national_administration()
    operator, representative, manager, employee = company_with_staff()

    sign_in(page, representative)
    visit(page, company_url(operator))
    page.get_by_role("link", name="Leave this company").click()
    assert heading(page) == "Leave this company"
    assert "transfer the legal representation to another member before you leave" in main_text(page)
    assert not page.get_by_role("button", name="Leave the company").count()
    axe(page)

    page.get_by_role("main").get_by_role("link", name="Transfer the legal representation").click()
    assert heading(page) == "Transfer the legal representation"
    assert page.get_by_label("Marc Dubois (Manager)").is_visible()
    assert page.get_by_label("Emma Petit (Employee)").is_visible()
    axe(page)
    page.get_by_role("button", name="Send the request to customs").click()
    assert "Choose the member who will be the new legal representative." in error_summary(page)
    assert not Request.objects.filter(kind=Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER).exists()
    axe(page)
    page.get_by_label("Marc Dubois (Manager)").check()
    page.get_by_role("button", name="Send the request to customs").click()
    transfer = Request.objects.get(kind=Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER)
    assert transfer.payload == {"to_person": manager.pk}
    assert heading(page) == "Transports Martin SARL"
    assert transfer.reference in banner_text(page)
    axe(page)
    visit(page, company_url(operator, "transfer/"))
    assert transfer.reference in page.locator(".inset-text").inner_text()
    assert not page.get_by_role("button", name="Send the request to customs").count()
    axe(page)

    # An employee leaves: back to the list, the position has ended.
    with signed_in(browser, live_server, employee) as em:
        visit(em, company_url(operator))
        em.get_by_role("link", name="Leave this company").click()
        assert heading(em) == "Leave this company"
        assert (
            "You will no longer be able to act for this company."
            in em.locator(".warning-text").inner_text()
        )
        axe(em)
        em.get_by_role("button", name="Leave the company").click()
        assert heading(em) == "Your companies"
        assert "You have left Transports Martin SARL." in banner_text(em)
        assert "You do not belong to any company yet." in main_text(em)
        assert Position.objects.get(person=employee, operator=operator).status == PS.ENDED
        axe(em)


# --- Merging and deleting spaces ----------------------------------------------------------------


def test_merge_with_its_refusals_then_delete_the_space(browser, live_server, page, axe):
    authority = national_administration()
    operator, representative, manager, _employee = company_with_staff()
    old = OperatorFactory(eori="", name="Transports Martin (old space)")
    PositionFactory(person=representative, operator=old, role=Role.LEGAL_REPRESENTATIVE)
    grant(old, "TRANSIT")
    busy = approvals.operation_change_submit(
        requester=representative, operator=old, authority=authority, add=["IMPORT"]
    )

    # A manager may not merge: the "not allowed" page.
    with signed_in(browser, live_server, manager) as mg:
        visit(mg, company_url(operator, "merge/"), status=403)
        assert heading(mg) == "You cannot do this"
        assert "Only the legal representative of both spaces can merge them." in main_text(mg)
        axe(mg)

    sign_in(page, representative)
    visit(page, company_url(operator))
    page.get_by_role("link", name="Merge another space of the same company into this one").click()
    assert heading(page) == "Merge two spaces of the same company"
    assert page.get_by_label("Transports Martin (old space)").is_visible()
    axe(page)
    page.get_by_role("button", name="Merge the spaces").click()
    assert "Choose the space to merge into this one." in error_summary(page)
    axe(page)
    page.get_by_label("Transports Martin (old space)").check()
    page.get_by_role("button", name="Merge the spaces").click()
    refusal = error_summary(page)
    assert busy.reference in refusal and "is waiting for customs" in refusal
    assert Operator.objects.get(pk=old.pk).merged_into_id is None
    axe(page)

    approvals.request_withdraw(actor=representative, request_id=busy.public_id)
    page.get_by_label("Transports Martin (old space)").check()
    page.get_by_role("button", name="Merge the spaces").click()
    assert heading(page) == "Transports Martin SARL"
    assert "Transports Martin (old space) has been merged into this space." in banner_text(page)
    assert Operator.objects.get(pk=old.pk).merged_into_id == operator.pk
    assert "Transit (TRANSIT)" in main_text(page)  # the grant moved with the space
    axe(page)
    # The merged space's address leads to the one kept.
    visit(page, company_url(old))
    assert page.url.endswith(company_url(operator))

    page.get_by_role("link", name="Delete this professional space").click()
    assert heading(page) == "Delete this professional space"
    assert "This cannot be undone." in page.locator(".warning-text").inner_text()
    axe(page)
    page.get_by_role("button", name="Delete the space").click()
    assert heading(page) == "Your companies"
    assert "The professional space of Transports Martin SARL has been deleted." in banner_text(page)
    assert "You do not belong to any company yet." in main_text(page)
    deleted = Operator.objects.get(pk=operator.pk)
    assert deleted.deleted_at is not None and deleted.status == Operator.Status.CLOSED
    assert not Position.objects.filter(operator=operator, status__in=Position.OPEN_STATUSES)
    axe(page)
    # The space is gone, for its former legal representative too.
    visit(page, company_url(operator), status=404)
    assert "Transports Martin SARL" not in page.content()
    axe(page)


# --- Invitations --------------------------------------------------------------------------------


def test_invitation_pages_and_their_refusals(browser, live_server, page, axe):
    operator, representative, _manager, _employee = company_with_staff()
    invited = person("nina_nouvelle", "Nina", "Nouvelle", email="nina@example.test")
    stranger = person("otto_other", "Otto", "Other", email="otto@example.test")

    sign_in(page, representative)
    visit(page, company_url(operator))
    page.get_by_role("link", name="Invite someone to join the company").click()
    assert heading(page) == "Invite someone to join the company"
    assert "No invitation is waiting to be accepted." in main_text(page)
    axe(page)

    page.get_by_label("Email address of the person to invite").fill("nina@")
    page.get_by_role("button", name="Send the invitation").click()
    assert "Enter an email address in the correct format" in error_summary(page)
    assert not Invitation.objects.exists()
    axe(page)

    page.get_by_label("Email address of the person to invite").fill(invited.email)
    page.get_by_label("Manager", exact=True).check()
    page.get_by_role("button", name="Send the invitation").click()
    assert f"We have sent an invitation to {invited.email}." in banner_text(page)
    sent = Invitation.objects.get()
    assert (sent.email, sent.role, sent.invited_by) == (invited.email, Role.MANAGER, representative)
    table = page.get_by_role("table", name="Invitations waiting to be accepted, newest first")
    assert invited.email in table.inner_text()
    axe(page)
    revoked_token = token_of(sent)

    page.get_by_role("button", name=f"Revoke the invitation sent to {invited.email}").click()
    assert "You have revoked the invitation sent to nina@example.test" in banner_text(page)
    assert Invitation.objects.get(pk=sent.pk).revoked_at is not None
    assert "No invitation is waiting to be accepted." in main_text(page)
    axe(page)

    open_token = invite(operator, representative, invited.email, Role.MANAGER)
    expired_token = invite(operator, representative, "late@example.test")
    Invitation.objects.filter(email="late@example.test").update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    # Anyone holding the link: what it is for, and how to sign in or create an account.
    with browsing(browser, live_server) as anonymous:
        visit(anonymous, f"/invitations/{open_token}/")
        assert heading(anonymous) == "Join Transports Martin SARL"
        assert anonymous.get_by_role("main").get_by_role("button", name="Sign in").is_visible()
        assert "Manager" in anonymous.get_by_role("table", name="About the invitation").inner_text()
        axe(anonymous)
        for token, status, message in (
            (expired_token, 410, "This invitation has expired."),
            (revoked_token, 410, "This invitation has been cancelled by the company."),
            ("not-a-real-token-0123456789abcdef", 404, "This invitation link is not valid"),
        ):
            visit(anonymous, f"/invitations/{token}/", status=status)
            assert heading(anonymous) == "This invitation cannot be used"
            assert message in main_text(anonymous)
            axe(anonymous)

    # No invitation was opened in this browser.
    with browsing(browser, live_server) as fresh:
        visit(fresh, "/invitations/")
        assert heading(fresh) == "No invitation is waiting"
        axe(fresh)

    # Someone signed in with another e-mail address is refused, and can accept nothing.
    with signed_in(browser, live_server, stranger) as other:
        visit(other, f"/invitations/{open_token}/")
        assert "This invitation was sent to nina@example.test" in error_summary(other)
        assert not other.get_by_role("button", name="Accept the invitation").count()
        axe(other)
    assert not Position.objects.filter(person=stranger).exists()

    # The invited person accepts.
    with signed_in(browser, live_server, invited) as nina:
        visit(nina, f"/invitations/{open_token}/")
        assert heading(nina) == "Join Transports Martin SARL"
        assert invited.email in nina.get_by_role("table", name="About the invitation").inner_text()
        axe(nina)
        nina.get_by_role("button", name="Accept the invitation").click()
        assert heading(nina) == "Transports Martin SARL"
        assert "You have joined Transports Martin SARL as: Manager." in banner_text(nina)
        joined = Position.objects.get(person=invited, operator=operator)
        assert (joined.role, joined.status) == (Role.MANAGER, PS.VALID)
        axe(nina)
        # The link works once.
        visit(nina, f"/invitations/{open_token}/", status=404)
        assert heading(nina) == "This invitation cannot be used"
        axe(nina)


# --- Attaching by national company number -------------------------------------------------------


def test_attach_by_company_number_directly_and_by_request(
    browser, live_server, page, axe, settings
):
    settings.COMPTOIR_DIRECT_ATTACH_COUNTRIES = ["FR"]
    operator, _representative, _manager, _employee = company_with_staff()
    belgian = OperatorFactory(eori=f"BE{BE_NUMBER}", name="Brussels Freight", country="BE")
    member(belgian, Role.LEGAL_REPRESENTATIVE)
    newcomer = person("noe_newcomer", "Noé", "Newcomer")

    sign_in(page, newcomer)
    visit(page, "/companies/")
    page.get_by_role("link", name="Join a company by its national company number").click()
    assert heading(page) == "Find your company by its company number"
    axe(page)

    page.get_by_label("Country where the company is registered").fill("FR")
    page.get_by_label("Company number").fill("552 100 554 00014")  # a wrong check digit
    page.get_by_role("button", name="Continue").click()
    assert "This SIRET number is not valid" in error_summary(page)
    # The message is tied to its field for screen readers.
    assert "id_number_error" in (
        page.get_by_label("Company number").get_attribute("aria-describedby") or ""
    )
    axe(page)

    unknown = "12345678" + luhn.calc_check_digit("12345678")
    page.get_by_label("Company number").fill(unknown)
    page.get_by_role("button", name="Continue").click()
    assert "No active company is registered on Comptoir with this company number." in (
        error_summary(page)
    )
    assert page.get_by_role("link", name="Register the company", exact=True).is_visible()
    axe(page)

    page.get_by_label("Company number").fill(SIRET)
    page.get_by_role("button", name="Continue").click()
    assert heading(page) == "Is this your company?"
    summary = page.get_by_role("table").inner_text()
    assert "Transports Martin SARL" in summary and f"FR{SIREN}" in summary
    assert "You will work for Transports Martin SARL as an employee at once." in main_text(page)
    assert not Position.objects.filter(person=newcomer).exists()  # nothing before confirming
    axe(page)
    page.get_by_role("button", name="Confirm").click()
    assert heading(page) == "You have joined the company"
    attached = Position.objects.get(person=newcomer, operator=operator)
    assert (attached.role, attached.status) == (Role.EMPLOYEE, PS.VALID)
    axe(page)

    # The same company again: the summary explains why there is nothing to confirm.
    visit(page, "/companies/attach/")
    page.get_by_label("Country where the company is registered").fill("FR")
    page.get_by_label("Company number").fill(SIREN)
    page.get_by_role("button", name="Continue").click()
    assert "You already work for this company" in error_summary(page)
    assert not page.get_by_role("button", name="Confirm").count()
    axe(page)

    # Belgium is not attached at once: a request to join goes to the company.
    visit(page, "/companies/attach/")
    page.get_by_label("Country where the company is registered").fill("BE")
    page.get_by_label("Company number").fill("0403.170.701")
    page.get_by_role("button", name="Continue").click()
    assert heading(page) == "Is this your company?"
    assert "We will send your request to join Brussels Freight" in main_text(page)
    axe(page)
    page.get_by_role("button", name="Confirm").click()
    assert heading(page) == "Request sent"
    request = Request.objects.get(requester=newcomer, kind=Request.Kind.MEMBERSHIP)
    assert request.operator == belgian
    assert request.reference in main_text(page)
    assert Position.objects.get(person=newcomer, operator=belgian).status == PS.REQUESTED
    axe(page)


# --- Notices ------------------------------------------------------------------------------------


def test_notices_empty_unread_filtered_and_all_read(browser, live_server, page, axe):
    operator, _representative, _manager, employee = company_with_staff()
    sign_in(page, employee)
    visit(page, "/notices/")
    assert heading(page) == "Notices"
    assert "You have no notices yet." in main_text(page)
    assert not page.get_by_role("button", name="Mark all as read").count()
    axe(page)

    notice_create(
        recipient=employee,
        topic="test.first",
        title="Your company holds Transit now",
        link=company_url(operator),
        operator=operator,
    )
    notice_create(recipient=employee, topic="test.second", title="Request R-1 has been approved")
    old = notice_create(recipient=employee, topic="test.old", title="An old notice already read")
    Notice.objects.filter(pk=old.pk).update(read_at=timezone.now())

    visit(page, "/notices/")
    assert "You have 2 unread notices." in main_text(page)
    assert (
        page.get_by_role("banner").get_by_role("link", name=re.compile(r"^Notices \(2\)")).count()
    )
    assert "An old notice already read" in page.get_by_role("table").inner_text()
    axe(page)

    page.get_by_label("Show unread notices only").check()
    page.get_by_role("button", name="Apply filter").click()
    assert "unread=on" in page.url
    rows = page.get_by_role("table", name="Your unread notices, newest first").inner_text()
    assert "Your company holds Transit now" in rows and "Request R-1 has been approved" in rows
    assert "An old notice already read" not in rows
    axe(page)

    page.get_by_role("button", name="Mark all as read").click()
    assert banner_text(page).strip()
    assert "You have no unread notices." in main_text(page)
    assert not Notice.objects.filter(recipient=employee, read_at__isnull=True).exists()
    axe(page)


# --- Own requests and the deciders' queues ------------------------------------------------------


def test_own_requests_and_the_queues_of_a_manager_and_an_officer(browser, live_server, page, axe):
    authority = national_administration()
    officer = person("odile_roux", "Odile", "Roux")
    PositionFactory(person=officer, authority=authority, role=Role.OFFICER)
    secret = base64.b32encode(b"officer-secret-0002!").decode()
    TOTP.activate(officer, secret)
    operator, representative, manager, _employee = company_with_staff()
    applicant = person("nina_nouvelle", "Nina", "Nouvelle")
    joining = approvals.membership_request_submit(requester=applicant, operator=operator)
    change = approvals.operation_change_submit(
        requester=representative, operator=operator, authority=authority, add=["TRANSIT"]
    )

    sign_in(page, applicant)
    visit(page, "/requests/")
    assert heading(page) == "Your requests"
    row = page.get_by_role("row", name=re.compile(joining.reference))
    assert "Transports Martin SARL" in row.inner_text()
    assert row.get_by_role("button", name=f"Withdraw {joining.reference}").is_visible()
    assert change.reference not in main_text(page)
    axe(page)

    with signed_in(browser, live_server, manager) as mg:
        mg.get_by_role("banner").get_by_role("link", name="Requests to decide").click()
        assert heading(mg) == "Requests to decide"
        assert mg.get_by_role("link", name=joining.reference).is_visible()
        assert change.reference not in main_text(mg)  # customs decide that one
        axe(mg)

    with signed_in(browser, live_server, officer, secret) as of:
        of.get_by_role("banner").get_by_role("link", name="Requests to decide").click()
        assert heading(of) == "Requests to decide"
        assert of.get_by_role("link", name=change.reference).is_visible()
        assert joining.reference not in main_text(of)  # the company decides that one
        axe(of)

    # Looking at the queues decides nothing.
    assert {Request.objects.get(pk=r.pk).status for r in (joining, change)} == {
        Request.Status.SUBMITTED
    }
