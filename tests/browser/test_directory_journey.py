"""The directory journeys of issue 4 in a real browser (JavaScript off), axe-core on every page,
and every notice read from the SMTP server on loopback.

1. A person looks for the company she works for in the directory, does not find it, creates it
   and asks to be its manager; nobody works there yet, so the national authority's officer
   (signing in with TOTP) validates her role. A colleague then finds the company by a partial,
   accent-less form of its name, ticks it, requests authorisation as an employee, and the new
   manager validates that.
2. A person asks for a role at a customs office; the office's officer validates it, and the
   person's roles page shows it as Valid with the counts per status."""

from __future__ import annotations

import base64
import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP

from comptoir.approvals.models import Request
from comptoir.core.text import search_text
from comptoir.operators.models import Authority, Operator, Position
from tests.browser.test_company_journey import one_mail, person_page, sign_in
from tests.browser.totp import totp, wait_for_room_in_window
from tests.factories import PASSWORD, UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, PositionFactory
from tests.mail import SmtpInbox, run_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "Société des Primeurs Bérard"
EORI = "FR512345679"  # FR + a SIREN number with a valid Luhn check digit
RS = Request.Status
PS = Position.Status


def no_new_mail(smtp: SmtpInbox, person, seen: dict[str, int]) -> None:
    """Nobody else was told: the person received nothing since last asked."""
    assert len(smtp.to(person.email)) == seen.get(person.email, 0), [
        str(m["Subject"]) for m in smtp.to(person.email)
    ]


def open_directory(page, axe) -> None:
    """From the header, the way a person finds it: profile, request a new role, directory."""
    page.get_by_role("banner").get_by_role("link", name="Your profile").click()
    axe(page)
    page.get_by_role("main").get_by_role("link", name="Request a new role").click()
    assert page.url.endswith("/roles/new/")
    axe(page)
    page.get_by_role("main").get_by_role("link", name="Find the operator in the directory").click()
    assert page.url.endswith("/directory/")
    assert page.locator("h1").inner_text() == "Find an operator"
    axe(page)


def cells(row) -> list[str]:
    """A table row's cells as written (the status tags' capitals are only the stylesheet's)."""
    return [" ".join(text.split()) for text in row.locator("td").all_text_contents()]


def decide(page, axe, reference: str, decision: str, *, shows: tuple[str, ...]) -> None:
    """Open the request from "Requests to decide", read what it asks for, decide it."""
    page.get_by_role("banner").get_by_role("link", name="Requests to decide").click()
    axe(page)
    page.get_by_role("link", name=reference).click()
    assert page.locator("h1").inner_text() == f"Request {reference}"
    axe(page)
    details = page.locator("main").inner_text()
    for text in shows:
        assert text in details, details
    page.get_by_label(decision, exact=True).check()
    page.get_by_role("button", name="Send the decision").click()
    axe(page)
    assert f"Request {reference} {decision.lower()}d." in page.locator("main").inner_text()


def search_directory(page, axe, *, country: str, name: str) -> str:
    page.get_by_label("Country").fill(country)
    page.get_by_label("Operator name").fill(name)
    page.get_by_role("main").get_by_role("button", name="Search").click()
    assert "/directory/?" in page.url
    axe(page)
    return page.locator("#results-count").inner_text()


def test_search_not_found_create_operator_request_role_manager_validates(
    browser, live_server, axe, smtp_server, settings
):
    settings.COMPTOIR_BASE_URL = live_server.url
    seen: dict[str, int] = {}
    national = AuthorityFactory(
        code="FR-DGDDI",
        name="Direction générale des douanes",
        country="FR",
        kind=Authority.Kind.NATIONAL_ADMINISTRATION,
    )
    officer = UserFactory(username="odile_roux", first_name="Odile", last_name="Roux")
    PositionFactory(person=officer, authority=national, role=Position.Role.OFFICER)
    officer_secret = base64.b32encode(b"national-officer-01!").decode()
    TOTP.activate(officer, officer_secret)
    # Already in the directory: a look-alike at the same postcode, and the same name abroad.
    look_alike = OperatorFactory(name="Primeurs Bérard", postcode="84300", city="Cavaillon")
    OperatorFactory(eori="", country="BE", name=NAME, city="Liège", national_id="0403170701")
    founder = UserFactory(username="claire_berard", first_name="Claire", last_name="Bérard")
    colleague = UserFactory(username="hugo_martin", first_name="Hugo", last_name="Martin")

    # --- Claire looks for her company: the country is required, then it is not found.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, founder)
        open_directory(page, axe)
        page.get_by_label("Operator name").fill("Primeurs Bérard")
        page.get_by_role("main").get_by_role("button", name="Search").click()
        assert page.title().startswith("Error: ")
        assert "Enter the country as a two-letter code" in page.locator("main").inner_text()
        axe(page)
        found = search_directory(page, axe, country="FR", name=NAME)
        assert found.startswith("No operator in the directory matches your search")

        # --- She creates it (name and country carried over from the search), manager.
        page.get_by_role("main").get_by_role("link", name="Create a new operator").click()
        assert page.url.split("?")[0].endswith("/directory/new/")
        assert page.locator("h1").inner_text() == "Create an operator"
        axe(page)
        assert page.get_by_label("Operator name").input_value() == NAME
        assert page.get_by_label("Country").input_value() == "FR"
        page.get_by_label("EORI number").fill("fr 5123 4567 9")
        page.get_by_label("Address line 1").fill("Marché d'intérêt national, bâtiment C")
        page.get_by_label("Town or city").fill("Cavaillon")
        page.get_by_label("Postcode").fill("84300")
        page.get_by_label("Region").fill("Provence-Alpes-Côte d'Azur")
        page.get_by_label("Phone number").fill("+33 4 90 71 00 00")
        page.get_by_role("main").get_by_role(
            "button", name=re.compile("^Create the operator")
        ).click()
        assert page.title().startswith("Error: ")  # no role chosen: nothing is created
        assert (
            "Choose the role you ask for: manager or employee." in page.locator("main").inner_text()
        )
        axe(page)
        assert not Operator.objects.filter(eori=EORI).exists()
        page.get_by_role("radio", name=re.compile("^Manager:")).check()
        page.get_by_label("Message to the people who validate your role").fill(
            "I run the company with my brother; we import fruit from Morocco."
        )
        page.get_by_role("main").get_by_role(
            "button", name=re.compile("^Create the operator")
        ).click()

        # --- The look-alike at the same postcode is shown first; she confirms it is another one.
        assert page.locator("h1").inner_text() == "Is it one of these operators?"
        assert look_alike.name in page.locator("main").inner_text()
        axe(page)
        assert not Operator.objects.filter(eori=EORI).exists()
        page.get_by_role("button", name="No, create a new operator").click()
        assert page.locator("h1").inner_text() == "Operator created and request sent"
        axe(page)
        confirmation = page.locator("main").inner_text()
        assert "your national authority validates your role" in confirmation
        assert national.name in confirmation

    operator = Operator.objects.get(eori=EORI)
    assert (operator.name, operator.country, operator.status) == (
        NAME,
        "FR",
        Operator.Status.ACTIVE,
    )
    assert (operator.city, operator.postcode, operator.region) == (
        "Cavaillon",
        "84300",
        "Provence-Alpes-Côte d'Azur",
    )
    assert operator.search_name == search_text(NAME)
    founding = Request.objects.get(requester=founder)
    assert (founding.kind, founding.status, founding.operator, founding.authority) == (
        Request.Kind.OPERATOR_ROLE,
        RS.SUBMITTED,
        operator,
        national,
    )
    assert founding.reference in confirmation
    claire_position = Position.objects.get(person=founder, operator=operator)
    assert (claire_position.role, claire_position.status) == (Position.Role.MANAGER, PS.REQUESTED)
    assert founding.payload["position"] == claire_position.pk

    # --- Nobody works there yet: the national authority's officer is asked.
    run_worker()
    text = one_mail(smtp_server, officer, seen, founding.reference)
    assert f"{live_server.url}/requests/{founding.public_id}/" in text
    assert NAME in text
    no_new_mail(smtp_server, founder, seen)

    with person_page(browser, live_server) as page:
        sign_in(page, axe, officer, officer_secret)
        decide(
            page,
            axe,
            founding.reference,
            "Approve",
            shows=(NAME, EORI, "Claire Bérard", "Manager", "I run the company with my brother"),
        )
    founding.refresh_from_db()
    claire_position.refresh_from_db()
    assert founding.status == RS.APPROVED and founding.decided_by == officer
    assert claire_position.status == PS.VALID and claire_position.since is not None
    run_worker()
    text = one_mail(smtp_server, founder, seen, "has been approved")
    assert founding.reference in text
    no_new_mail(smtp_server, officer, seen)

    # --- Hugo finds the company by part of its name, without accents, and asks to be employee.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, colleague)
        open_directory(page, axe)
        found = search_directory(page, axe, country="fr", name="societe prim")
        assert found == "1 operator matches."
        row = page.locator(f"#operator-row-{operator.pk}")
        row_text = row.inner_text()
        assert NAME in row_text and EORI in row_text
        assert "Cavaillon" in row_text and "84300" in row_text and "Provence" in row_text
        assert page.locator("tbody tr").count() == 1  # not the Belgian one, nor the look-alike
        page.get_by_label(f"Select {NAME}").check()
        page.get_by_role("button", name="Request authorisation").click()
        assert page.url.endswith(f"/roles/new/?operator={operator.pk}")
        assert page.locator("h1").inner_text() == "Request a new role"
        assert NAME in page.locator("main").inner_text()
        axe(page)
        page.get_by_label("Employee", exact=True).check()
        page.get_by_label("Message to the people who validate your role").fill(
            "I drive the refrigerated lorries since March."
        )
        page.get_by_label("Phone number where they can reach you").fill("+33 6 12 34 56 78")
        page.get_by_role("main").get_by_role("button", name="Send the request").click()
        assert page.locator("h1").inner_text() == "Role requested"
        axe(page)
        requested = page.locator("main").inner_text()
        assert "The operator's legal representative or a manager validates your role." in requested

    joining = Request.objects.get(requester=colleague)
    assert (joining.kind, joining.status, joining.operator, joining.authority) == (
        Request.Kind.MEMBERSHIP,
        RS.SUBMITTED,
        operator,
        None,
    )
    assert joining.reference in requested
    assert joining.payload["message"] == "I drive the refrigerated lorries since March."
    hugo_position = Position.objects.get(person=colleague, operator=operator)
    assert (hugo_position.role, hugo_position.status) == (Position.Role.EMPLOYEE, PS.REQUESTED)

    # --- Claire, now a valid manager, is asked (and not the national authority) and validates.
    run_worker()
    text = one_mail(smtp_server, founder, seen, joining.reference)
    assert f"{live_server.url}/requests/{joining.public_id}/" in text
    no_new_mail(smtp_server, officer, seen)
    no_new_mail(smtp_server, colleague, seen)

    with person_page(browser, live_server) as page:
        sign_in(page, axe, founder)
        decide(
            page,
            axe,
            joining.reference,
            "Approve",
            shows=(
                NAME,
                "Hugo Martin",
                "Employee",
                "I drive the refrigerated lorries since March.",
                "+33 6 12 34 56 78",
            ),
        )
    joining.refresh_from_db()
    hugo_position.refresh_from_db()
    assert joining.status == RS.APPROVED and joining.decided_by == founder
    assert hugo_position.status == PS.VALID
    assert set(
        Position.objects.filter(operator=operator, status=PS.VALID).values_list(
            "person__username", "role"
        )
    ) == {("claire_berard", Position.Role.MANAGER), ("hugo_martin", Position.Role.EMPLOYEE)}
    run_worker()
    one_mail(smtp_server, colleague, seen, "has been approved")
    no_new_mail(smtp_server, founder, seen)
    no_new_mail(smtp_server, officer, seen)
    assert len(axe.checked) >= 25


def test_request_an_authority_role_officer_validates(
    browser, live_server, axe, smtp_server, settings
):
    settings.COMPTOIR_BASE_URL = live_server.url
    seen: dict[str, int] = {}
    national = AuthorityFactory(
        code="FR-DGDDI",
        name="Direction générale des douanes",
        country="FR",
        kind=Authority.Kind.NATIONAL_ADMINISTRATION,
    )
    national_officer = UserFactory(username="odile_roux", first_name="Odile", last_name="Roux")
    PositionFactory(person=national_officer, authority=national, role=Position.Role.OFFICER)
    office = AuthorityFactory(
        code="FR000760",
        name="Bureau de douane du Havre port",
        country="FR",
        kind=Authority.Kind.CUSTOMS_OFFICE,
    )
    AuthorityFactory(code="FR000590", name="Bureau de douane de Lille", country="FR")
    office_officer = UserFactory(username="yann_le_goff", first_name="Yann", last_name="Le Goff")
    PositionFactory(person=office_officer, authority=office, role=Position.Role.OFFICER)
    office_secret = base64.b32encode(b"havre-port-officer!!").decode()
    TOTP.activate(office_officer, office_secret)
    applicant = UserFactory(username="ines_garcia", first_name="Inès", last_name="Garcia")
    # An earlier request of hers still waits at a company: the counts show both statuses.
    waiting = PositionFactory(
        person=applicant,
        operator=OperatorFactory(name="Transports Garcia"),
        role=Position.Role.EMPLOYEE,
        status=PS.REQUESTED,
        since=None,
    )

    # --- Inès asks for the role of officer at the customs office.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, applicant)
        page.get_by_role("banner").get_by_role("link", name="Your profile").click()
        axe(page)
        page.get_by_role("main").get_by_role("link", name="Request a new role").click()
        assert page.url.endswith("/roles/new/")
        axe(page)
        page.get_by_role("main").get_by_role("button", name="Send the request").click()
        assert page.title().startswith("Error: ")  # neither authority nor role: nothing asked
        main = page.locator("main").inner_text()
        assert "Choose the authority where you ask for a role." in main
        assert "Choose the role you ask for: officer or service desk." in main
        axe(page)
        assert not Position.objects.filter(person=applicant, authority__isnull=False).exists()
        page.get_by_label("Which authority do you work for?").select_option(
            label="Bureau de douane du Havre port (FR000760, FR)"
        )
        page.get_by_label("Officer", exact=True).check()
        page.get_by_label("Message to the people who validate your role").fill(
            "Transferred from Rouen on 1 March; I will work on the container terminal."
        )
        assert page.get_by_label("Email address where they can reach you").input_value() == (
            applicant.email
        )
        page.get_by_label("Phone number where they can reach you").fill("+33 2 35 19 00 00")
        page.get_by_role("main").get_by_role("button", name="Send the request").click()
        assert page.locator("h1").inner_text() == "Role requested"
        axe(page)
        requested = page.locator("main").inner_text()
        assert f"The officers of {office.name} validate your role." in requested

    asked = Request.objects.get(requester=applicant)
    assert (asked.kind, asked.status, asked.authority, asked.operator) == (
        Request.Kind.AUTHORITY_ROLE,
        RS.SUBMITTED,
        office,
        None,
    )
    assert asked.reference in requested
    position = Position.objects.get(person=applicant, authority=office)
    assert (position.role, position.status) == (Position.Role.OFFICER, PS.REQUESTED)
    assert asked.payload["position"] == position.pk

    # --- The office's officer is asked (not the national administration) and validates.
    run_worker()
    text = one_mail(smtp_server, office_officer, seen, asked.reference)
    assert f"{live_server.url}/requests/{asked.public_id}/" in text
    no_new_mail(smtp_server, national_officer, seen)
    no_new_mail(smtp_server, applicant, seen)

    with person_page(browser, live_server) as page:
        sign_in(page, axe, office_officer, office_secret)
        decide(
            page,
            axe,
            asked.reference,
            "Approve",
            shows=(
                office.name,
                "Inès Garcia",
                "Officer",
                "Transferred from Rouen on 1 March",
                "+33 2 35 19 00 00",
            ),
        )
    asked.refresh_from_db()
    position.refresh_from_db()
    assert asked.status == RS.APPROVED and asked.decided_by == office_officer
    assert position.status == PS.VALID and position.since is not None
    waiting.refresh_from_db()
    assert waiting.status == PS.REQUESTED
    run_worker()
    one_mail(smtp_server, applicant, seen, "has been approved")
    no_new_mail(smtp_server, national_officer, seen)

    # --- Now an officer, Inès must set up TOTP before anything else; then she sees her roles.
    with person_page(browser, live_server) as page:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(applicant.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("main").get_by_role("button", name=re.compile("sign in", re.I)).click()
        page.goto("/roles/")
        # The gate sends her to set up TOTP; allauth asks for the password again first.
        assert "/accounts/reauthenticate/" in page.url, page.url
        axe(page)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("main").get_by_role("button", name="Confirm").click()
        assert "/accounts/2fa/totp/activate/" in page.url, page.url
        axe(page)
        secret = page.locator("#authenticator_secret").inner_text().strip()
        wait_for_room_in_window(5)
        page.get_by_label("Authenticator code").fill(totp(secret))
        page.get_by_role("button", name="Turn on two-factor authentication").click()
        assert Authenticator.objects.filter(user=applicant, type=Authenticator.Type.TOTP).exists()
        axe(page)

        page.get_by_role("banner").get_by_role("link", name="Your profile").click()
        axe(page)
        page.get_by_role("main").get_by_role(
            "link", name="See your roles at operators and authorities"
        ).click()
        assert page.url.endswith("/roles/")
        assert page.locator("h1").inner_text() == "Your roles"
        axe(page)
        counts = page.get_by_role("table", name="How many roles you hold in each status")
        count_rows = {
            row.locator("th").inner_text(): row.locator("td").inner_text()
            for row in counts.locator("tbody tr").all()
        }
        assert count_rows == {
            "Requested": "1",
            "Valid": "1",
            "Suspended": "0",
            "Rejected": "0",
            "Ended": "0",
        }
        roles = page.get_by_role("table", name="Your roles, newest first")
        office_row = roles.locator("tbody tr").filter(has_text=office.name)
        assert cells(office_row)[1:4] == [
            "Customs office",
            "Officer",
            "Valid",
        ]
        garcia_row = roles.locator("tbody tr").filter(has_text="Transports Garcia")
        assert cells(garcia_row)[1:4] == [
            "Operator",
            "Employee",
            "Requested",
        ]
    assert len(axe.checked) >= 15
