"""The company journey of issue 3 in a real browser (JavaScript off), axe-core on every page, and
every notice read from the SMTP server on loopback: a legal representative registers the company,
an officer (signing in with TOTP) approves it, the legal representative invites a manager, an
employee asks to join and the manager approves, the legal representative asks for another customs
operation and the officer approves it."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from allauth.mfa.totp.internal.auth import TOTP

from comptoir.accounts.models import User
from comptoir.approvals.models import Request
from comptoir.operators.models import Authority, Operator, OperatorOperation, Position
from tests.browser.totp import totp, wait_for_room_in_window, wait_for_window_after, window
from tests.factories import PASSWORD, UserFactory
from tests.factories_operators import AuthorityFactory, PositionFactory
from tests.mail import SmtpInbox, run_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EORI = "FR732829320"  # FR + a SIREN number with a valid Luhn check digit


@contextmanager
def person_page(browser, live_server) -> Iterator:
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page, axe, person: User, totp_secret: str | None = None) -> int:
    """Sign in; with TOTP, returns the 30 s window whose code was used (it cannot serve twice)."""
    page.goto("/accounts/login/")
    axe(page)
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name=re.compile("sign in", re.I)).click()
    if totp_secret is not None:
        assert page.url.endswith("/accounts/2fa/authenticate/")
        axe(page)
        wait_for_room_in_window(5)
        used = window()
        page.get_by_label("Code").fill(totp(totp_secret))
        page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("banner").get_by_role("button", name="Sign out").is_visible()
    axe(page)
    return used if totp_secret is not None else 0


def open_company(page, axe, name: str) -> None:
    page.get_by_role("banner").get_by_role("link", name="Your companies").click()
    axe(page)
    page.get_by_role("main").get_by_role("link", name=name).click()
    assert page.locator("h1").inner_text() == name
    axe(page)


def one_mail(smtp: SmtpInbox, person: User, seen: dict[str, int], containing: str) -> str:
    """The one new e-mail the person received since last asked; its text."""
    messages = smtp.to(person.email)
    new = messages[seen.get(person.email, 0) :]
    seen[person.email] = len(messages)
    assert len(new) == 1, [str(m["Subject"]) for m in new]
    text = smtp.text(new[0])
    assert containing in text, text
    return text


def decide(page, axe, reference: str, decision: str, reason: str = "") -> None:
    page.get_by_role("banner").get_by_role("link", name="Requests to decide").click()
    axe(page)
    page.get_by_role("link", name=reference).click()
    axe(page)
    page.get_by_label(decision, exact=True).check()
    if reason:
        page.get_by_label("Reason").fill(reason)
    page.get_by_role("button", name="Send the decision").click()
    axe(page)


def test_company_journey(browser, live_server, axe, smtp_server, settings):
    settings.COMPTOIR_BASE_URL = live_server.url
    seen: dict[str, int] = {}
    customs = AuthorityFactory(
        code="FR-DGDDI", name="Direction générale", kind=Authority.Kind.NATIONAL_ADMINISTRATION
    )
    officer = UserFactory(username="officer_paris", first_name="Odile", last_name="Roux")
    PositionFactory(person=officer, authority=customs, role=Position.Role.OFFICER)
    officer_secret = base64.b32encode(b"officer-secret-0001!").decode()
    TOTP.activate(officer, officer_secret)
    representative = UserFactory(username="lea_martin", first_name="Léa", last_name="Martin")
    manager = UserFactory(username="marc_dubois", first_name="Marc", last_name="Dubois")
    employee = UserFactory(username="emma_petit", first_name="Emma", last_name="Petit")

    # --- The legal representative registers the company.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, representative)
        page.get_by_role("main").get_by_role("link", name="Register a company").click()
        axe(page)
        page.get_by_role("button", name="Start now").click()
        axe(page)
        page.get_by_label("EORI number").fill("fr 7328 2932 0")
        page.get_by_role("button", name="Continue").click()
        axe(page)
        page.get_by_label("Import", exact=True).check()
        page.get_by_role("button", name="Continue").click()
        axe(page)
        page.get_by_label("Company name").fill("Transports Martin SARL")
        page.get_by_label("Address line 1").fill("12 quai de la Douane")
        page.get_by_label("Postcode").fill("76600")
        page.get_by_label("Town or city").fill("Le Havre")
        page.get_by_label("Company phone number").fill("+33 2 35 11 22 33")
        page.get_by_label("Company email address").fill("contact@transports-martin.example")
        page.get_by_role("button", name="Continue").click()
        axe(page)
        page.get_by_label("Your phone number").fill("+33 2 35 00 00 00")
        page.get_by_role("button", name="Continue").click()
        assert page.locator("h1").inner_text() == (
            "Check your answers before registering the company"
        )
        axe(page)
        page.get_by_role("button", name="Accept and send").click()  # without the declaration
        assert page.title().startswith("Error: ")
        axe(page)
        page.get_by_label(re.compile("I am the company's legal representative")).check()
        page.get_by_role("button", name="Accept and send").click()
        axe(page)
        registration = Request.objects.get(kind=Request.Kind.OPERATOR_REGISTRATION)
        assert registration.reference in page.locator("main").inner_text()

    run_worker()
    text = one_mail(smtp_server, officer, seen, registration.reference)
    assert f"{live_server.url}/requests/{registration.public_id}/" in text

    # --- The officer signs in with a one-time code and approves.
    with person_page(browser, live_server) as page:
        officer_window = sign_in(page, axe, officer, officer_secret)
        decide(page, axe, registration.reference, "Approve")
        assert "Approved" in page.locator("main").inner_text()
    operator = Operator.objects.get(eori=EORI)
    assert operator.status == Operator.Status.ACTIVE
    run_worker()
    one_mail(smtp_server, representative, seen, "has been approved")

    # --- The legal representative invites a manager from the company's space.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, representative)
        open_company(page, axe, "Transports Martin SARL")
        page.get_by_role("link", name="Invite someone to join the company").click()
        axe(page)
        page.get_by_label("Email address of the person to invite").fill(manager.email)
        page.get_by_label("Manager", exact=True).check()
        page.get_by_role("button", name="Send the invitation").click()
        axe(page)
    run_worker()
    text = one_mail(smtp_server, manager, seen, "Transports Martin SARL")
    invitation_link = re.search(r"https?://\S+/invitations/\S+/", text)
    assert invitation_link, text

    # --- The manager opens the link, signs in from there and accepts.
    with person_page(browser, live_server) as page:
        page.goto(invitation_link.group(0))
        axe(page)
        page.get_by_role("main").get_by_role("button", name="Sign in").click()
        axe(page)
        page.get_by_label("Username").fill(manager.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("main").get_by_role("button", name=re.compile("sign in", re.I)).click()
        assert "/invitations/" in page.url
        axe(page)
        page.get_by_role("button", name="Accept the invitation").click()
        assert page.locator("h1").inner_text() == "Transports Martin SARL"
        axe(page)
    assert Position.objects.get(person=manager, operator=operator).role == Position.Role.MANAGER
    run_worker()
    one_mail(smtp_server, representative, seen, "Marc Dubois")

    # --- An employee asks to join; the manager approves.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, employee)
        page.get_by_role("main").get_by_role("link", name="Ask to join a company").click()
        axe(page)
        page.get_by_label("EORI number").fill(EORI)
        page.get_by_label("Employee").check()
        page.get_by_role("button", name="Send the request").click()
        axe(page)
    joining = Request.objects.get(kind=Request.Kind.MEMBERSHIP)
    run_worker()
    one_mail(smtp_server, representative, seen, joining.reference)
    one_mail(smtp_server, manager, seen, joining.reference)
    with person_page(browser, live_server) as page:
        sign_in(page, axe, manager)
        decide(page, axe, joining.reference, "Approve")
    assert Position.objects.get(person=employee, operator=operator).status == "valid"
    run_worker()
    one_mail(smtp_server, employee, seen, "has been approved")

    # --- The legal representative asks for another customs operation.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, representative)
        open_company(page, axe, "Transports Martin SARL")
        page.get_by_role("link", name="Ask to add or remove customs operations").click()
        axe(page)
        page.get_by_role("group", name="Operations to add").get_by_label("Transit").check()
        page.get_by_role("button", name="Send the request to customs").click()
        axe(page)
    change = Request.objects.get(kind=Request.Kind.OPERATION_CHANGE)
    run_worker()
    one_mail(smtp_server, officer, seen, change.reference)

    # --- The officer approves it (with a fresh one-time code).
    wait_for_window_after(officer_window)
    with person_page(browser, live_server) as page:
        sign_in(page, axe, officer, officer_secret)
        decide(page, axe, change.reference, "Approve")
    run_worker()
    one_mail(smtp_server, representative, seen, change.reference)

    # --- The history shows the grant, and the notices wait in the portal.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, representative)
        open_company(page, axe, "Transports Martin SARL")
        page.get_by_role("link", name="History of the customs operations").click()
        axe(page)
        history = page.locator("main").inner_text()
        assert "Transit" in history and change.reference in history
        page.get_by_role("banner").get_by_role("link", name=re.compile("^Notices")).click()
        axe(page)
        notices = page.locator("main").inner_text()
        assert registration.reference in notices and change.reference in notices
    assert set(
        OperatorOperation.objects.filter(operator=operator, revoked_at__isnull=True).values_list(
            "operation__code", flat=True
        )
    ) == {"IMPORT", "TRANSIT"}
    assert len(axe.checked) >= 40
