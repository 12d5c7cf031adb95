"""The three cases of the fallback procedure end to end in Chromium (JavaScript off), axe-core on
every page visited, every e-mail read from the SMTP server on loopback (issue 7, point 5).

1. An operator's B2G system is down: its legal representative is refused on the portal, reports
   the outage, the service desk (TOTP) acknowledges it from its dashboard task, the operator's
   people are told (a notice, and an e-mail in each one's language: the manager reads French),
   the legal representative lodges through the portal (MRN, "Reference … issued" on the
   dashboard), reports the recovery, and the portal refuses again.
2. The administration's B2G system is down: the service desk opens the fallback procedure, the
   public status page, its Atom feed and /api/v1/status show it, a B2G operator's person is told
   and lodges through the portal, the desk closes it, the status says "No disruption" and the
   portal refuses the B2G operator again; a portal-only operator lodges throughout.
3. The national system is down: the service desk opens the exception, a portal-only operator is
   refused with the customs office and its instructions, the status page and the API show it,
   the desk closes it and lodging works again.

People, operators, their operations and the desk's position are set up through the ORM; every
step of the procedure goes through the pages."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from allauth.mfa.totp.internal.auth import TOTP

from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent as Event
from comptoir.continuity.models import Outage
from comptoir.core.identifiers import mrn_validate
from comptoir.lodging.models import Declaration
from comptoir.notifications.models import Notice
from comptoir.operators.models import Authority, Operator, Position
from tests.browser.test_company_journey import one_mail, person_page, sign_in
from tests.factories_operators import AuthorityFactory, OperatorFactory, member, officer
from tests.lodging.conftest import grant
from tests.mail import SmtpInbox, run_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Role = Position.Role
OS = Outage.Status
ATOM = "{http://www.w3.org/2005/Atom}"
XML = b'<?xml version="1.0" encoding="UTF-8"?><declaration><goods>Green tea</goods></declaration>'
REFERENCE = re.compile(r"OUT-\d{4}-\d+")
B2G_REQUIRED = "Lodge this declaration through your B2G system"


# --- Set-up (ORM) -------------------------------------------------------------------------------


@pytest.fixture
def world_settings(settings, live_server, tmp_path) -> None:
    settings.COMPTOIR_BASE_URL = live_server.url
    settings.COMPTOIR_LODGING_FOLDER = str(tmp_path / "downstream")
    settings.COMPTOIR_MRN_COUNTRY = "LU"


def service_desk(username: str = "desk_agent") -> tuple[User, str]:
    """A person with a valid service-desk position at the national administration, TOTP set."""
    authority = AuthorityFactory(
        code="LU-ADA-DESK",
        name="Administration des douanes – service desk",
        country="LU",
        kind=Authority.Kind.NATIONAL_ADMINISTRATION,
    )
    desk = officer(
        authority, Role.SERVICE_DESK, username=username, first_name="Sam", last_name="Weber"
    )
    secret = base64.b32encode(b"service-desk-secret!").decode()
    TOTP.activate(desk, secret)
    return desk, secret


# --- Steps (UI) ---------------------------------------------------------------------------------


@contextmanager
def signed_in(browser, live_server, axe, person: User, secret: str | None = None) -> Iterator:
    with person_page(browser, live_server) as page:
        sign_in(page, axe, person, secret)
        yield page


def main_text(page) -> str:
    page.wait_for_load_state("load")
    return page.locator("main").inner_text()


def open_company(page, axe, operator: Operator) -> None:
    page.get_by_role("banner").get_by_role("link", name="Your companies").click()
    axe(page)
    page.get_by_role("main").get_by_role("link", name=operator.name).click()
    assert page.locator("h1").inner_text() == operator.name
    axe(page)


def open_lodging_form(page, axe, operator: Operator) -> None:
    """From the company's professional space, the way a person finds it."""
    open_company(page, axe, operator)
    page.get_by_role("main").get_by_role("link", name="Lodge a declaration").click()
    assert page.url.endswith(f"/companies/{operator.pk}/declarations/new/")
    assert page.locator("h1").inner_text() == "Lodge a declaration"
    axe(page)


def lodging_refused(page, axe, operator: Operator, *expected: str) -> str:
    """The portal refuses: the warning says why and what to do, there is no form to send."""
    count = Declaration.objects.count()
    open_lodging_form(page, axe, operator)
    warning = page.locator("main .warning-text").inner_text()
    for text in expected:
        assert text in warning, warning
    assert page.get_by_role("button", name="Lodge the declaration").count() == 0
    assert page.get_by_label("Upload the declaration").count() == 0
    # The list of declarations says the same and offers no "Lodge a declaration" button.
    page.get_by_role("link", name="Back to the declarations").click()
    assert page.locator("h1").inner_text() == "Declarations"
    assert expected[0] in page.locator("main .warning-text").inner_text()
    assert page.get_by_role("main").get_by_role("link", name="Lodge a declaration").count() == 0
    axe(page)
    assert Declaration.objects.count() == count
    return warning


def lodge(page, axe, operator: Operator, person: User, *, filename: str = "import.xml") -> str:
    """Lodge an import declaration through the portal; the MRN on the confirmation page."""
    open_lodging_form(page, axe, operator)
    page.get_by_label("Import declaration").check()
    page.get_by_label("Upload the declaration").set_input_files(
        {"name": filename, "mimeType": "application/xml", "buffer": XML}
    )
    page.get_by_role("button", name="Lodge the declaration").click()
    assert page.locator("h1").inner_text() == "Declaration lodged"
    axe(page)
    mrn = page.locator(".panel__body strong").inner_text().strip()
    assert len(mrn) == 18 and mrn_validate(mrn) == mrn, mrn
    assert re.fullmatch(r"\d{2}LU\d{12}R\d", mrn), mrn
    declaration = Declaration.objects.get(mrn=mrn)
    assert declaration.operator == operator
    assert declaration.lodged_by == person
    assert declaration.channel == Declaration.Channel.PORTAL
    assert bytes(declaration.payload) == XML
    assert declaration.filename == filename
    assert declaration.declaration_type.code == "IMPORT"
    return mrn


def open_dashboard(page, axe) -> tuple[str, str]:
    """The dashboard's tasks and notices, as text."""
    page.get_by_role("banner").get_by_role("link", name="Dashboard").click()
    assert page.url.endswith("/dashboard/")
    axe(page)
    tasks = page.get_by_role("table", name="Your tasks, soonest due first")
    notices = page.get_by_role("table", name="Your notices, newest first")
    return (
        tasks.inner_text() if tasks.count() else main_text(page),
        notices.inner_text() if notices.count() else main_text(page),
    )


def desk_page(page, axe) -> str:
    page.get_by_role("banner").get_by_role("link", name="Outages and fallback").click()
    assert page.url.endswith("/continuity/")
    assert page.locator("h1").inner_text() == "Fallback procedure"
    axe(page)
    return main_text(page)


def desk_opens(
    page, axe, kind: Outage.Kind, *, office: str, instructions: str, what: str
) -> Outage:
    """The service desk opens the administration's fallback or the exception from its page; an
    empty form first is refused with nothing opened."""
    link, button = {
        Outage.Kind.ADMINISTRATION: (
            "Open the fallback procedure",
            "Open the fallback procedure and tell operators",
        ),
        Outage.Kind.EXCEPTION: ("Open an exception", "Open the exception and tell operators"),
    }[kind]
    desk_page(page, axe)
    page.get_by_role("main").get_by_role("link", name=link, exact=True).click()
    assert page.url.endswith(f"/continuity/open/{kind}/")
    assert page.locator("h1").inner_text() == link
    axe(page)
    page.get_by_role("button", name=button).click()
    assert page.title().startswith("Error: ")
    summary = page.locator(".error-summary").inner_text()
    assert "Enter the customs office operators should contact." in summary
    assert "Enter the instructions operators should follow." in summary
    axe(page)
    assert not Outage.objects.filter(kind=kind).exists()
    page.get_by_label("Customs office to contact").fill(office)
    page.get_by_label("Instructions for operators").fill(instructions)
    page.get_by_label("What is down").fill(what)
    page.get_by_role("button", name=button).click()
    assert page.url.endswith("/continuity/")
    told = (
        "The fallback procedure is open. Every operator is being told."
        if kind == Outage.Kind.ADMINISTRATION
        else "The exception is open. Every operator is being told."
    )
    assert told in main_text(page)
    axe(page)
    outage = Outage.objects.get(kind=kind)
    assert (outage.status, outage.contact_office, outage.instructions, outage.description) == (
        OS.OPEN,
        office,
        instructions,
        what,
    )
    assert outage.operator is None and outage.opened_at is not None
    assert outage.reference in main_text(page)
    return outage


def desk_closes(page, axe, outage: Outage, *, note: str) -> None:
    name = (
        "Close the exception"
        if outage.kind == Outage.Kind.EXCEPTION
        else "Close the fallback procedure"
    )
    desk_page(page, axe)
    page.get_by_role("main").get_by_role("link", name=name, exact=True).click()
    assert page.url.endswith(f"/continuity/outages/{outage.public_id}/close/")
    assert page.locator("h1").inner_text() == name
    assert outage.reference in main_text(page)
    axe(page)
    page.get_by_label("Closing note").fill(note)
    page.get_by_role("button", name=f"{name} and tell operators").click()
    assert page.url.endswith("/continuity/")
    done = (
        "The exception is closed. Every operator is being told."
        if outage.kind == Outage.Kind.EXCEPTION
        else "The fallback procedure is closed. Every operator is being told."
    )
    assert done in main_text(page)
    assert "Neither the fallback procedure nor an exception is open." in main_text(page)
    axe(page)
    outage.refresh_from_db()
    assert outage.status == OS.CLOSED and outage.closing_note == note
    assert outage.closed_at is not None


def public_status(page, axe) -> str:
    """The public status page, signed out, from the footer link of the home page."""
    page.goto("/")
    assert page.get_by_role("banner").get_by_role("link", name="Sign in").is_visible()
    page.get_by_role("contentinfo").get_by_role("link", name="Service status").click()
    assert page.url.endswith("/status/")
    assert page.locator("h1").inner_text() == "Service status"
    axe(page)
    return main_text(page)


def feed_entries(page) -> list[dict[str, str]]:
    response = page.request.get("/status/feed.atom", headers={"Accept-Language": "en"})
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.body())
    return [
        {
            "title": entry.findtext(f"{ATOM}title") or "",
            "summary": entry.findtext(f"{ATOM}summary") or "",
            "id": entry.findtext(f"{ATOM}id") or "",
        }
        for entry in root.findall(f"{ATOM}entry")
    ]


def api_status(page) -> dict:
    """GET /api/v1/status with the signed-out page's own request context."""
    response = page.request.get("/api/v1/status")
    assert response.status == 200
    return response.json()


def mails_after(
    smtp: SmtpInbox, person: User, seen: dict[str, int], containing: str
) -> tuple[str, str, str]:
    """The one new e-mail of the person (as one_mail): its subject, its language and its text.
    (A long non-ASCII subject is folded as "Subject:" then an encoded word on the next line,
    which Python's parser reads back with a leading space: stripped.)"""
    text = one_mail(smtp, person, seen, containing)
    message = smtp.to(person.email)[-1]
    return str(message["Subject"]).strip(), str(message["Content-Language"]), text


def no_new_mail(smtp: SmtpInbox, person: User, seen: dict[str, int]) -> None:
    assert len(smtp.to(person.email)) == seen.get(person.email, 0), [
        str(m["Subject"]) for m in smtp.to(person.email)
    ]


# --- 1. The operator's B2G system is down --------------------------------------------------------


def test_operator_outage_reported_acknowledged_lodged_recovered(
    browser, live_server, axe, smtp_server, world_settings
):
    seen: dict[str, int] = {}
    desk, desk_secret = service_desk()
    operator = OperatorFactory(
        eori="FR552100554",
        name="Transports Lemaire SA",
        lodging_channel=Operator.LodgingChannel.B2G,
    )
    grant(operator, "IMPORT")
    representative = member(
        operator,
        Role.LEGAL_REPRESENTATIVE,
        username="paul_lemaire",
        first_name="Paul",
        last_name="Lemaire",
        language="en",
    )
    manager = member(
        operator,
        Role.MANAGER,
        username="chloe_faure",
        first_name="Chloé",
        last_name="Faure",
        language="fr",
    )
    employee = member(operator, Role.EMPLOYEE, username="leo_marchal", language="en")

    with signed_in(browser, live_server, axe, representative) as page:
        # --- No fallback: the portal sends a B2G operator back to its system or to an outage.
        warning = lodging_refused(page, axe, operator, B2G_REQUIRED, "report an outage")
        assert operator.name in warning

        # --- The report: an empty description is refused, then the outage is reported.
        open_company(page, axe, operator)
        page.get_by_role("main").get_by_role(
            "link", name="B2G system outages and the fallback procedure"
        ).click()
        assert page.url.endswith(f"/companies/{operator.pk}/outages/")
        assert page.locator("h1").inner_text() == "B2G system outages"
        assert "No outage is reported" in main_text(page)
        axe(page)
        page.get_by_role("button", name="Report the outage to the service desk").click()
        assert page.title().startswith("Error: ")
        assert "Describe what is not working in your B2G system." in (
            page.locator(".error-summary").inner_text()
        )
        axe(page)
        assert not Outage.objects.exists()
        page.get_by_label("What is not working?").fill(
            "Since 9:30 our access point answers 503 to every declaration we send."
        )
        page.get_by_role("button", name="Report the outage to the service desk").click()
        outage = Outage.objects.get()
        assert (outage.kind, outage.status, outage.operator, outage.reported_by) == (
            Outage.Kind.OPERATOR,
            OS.REPORTED,
            operator,
            representative,
        )
        assert REFERENCE.fullmatch(outage.reference)
        text = main_text(page)
        assert f"Outage {outage.reference} reported." in text
        assert "The service desk has not acknowledged the outage yet." in text
        axe(page)
        assert Event.objects.filter(action="outage.reported").count() == 1

        # --- Reported but not acknowledged: still no portal lodging.
        lodging_refused(page, axe, operator, B2G_REQUIRED)

    run_worker()
    for person in (representative, manager, employee, desk):
        no_new_mail(smtp_server, person, seen)  # nobody is told before the acknowledgement

    # --- The service desk sees it on its page and as a task on its dashboard; acknowledges it.
    with signed_in(browser, live_server, axe, desk, desk_secret) as page:
        waiting = page.get_by_role("table", name=re.compile("waiting for acknowledgement"))
        desk_page(page, axe)
        assert outage.reference in waiting.inner_text()
        assert operator.name in waiting.inner_text()
        assert "503 to every declaration" in waiting.inner_text()
        tasks, _ = open_dashboard(page, axe)
        assert f"Acknowledge the outage reported by {operator.name}" in tasks
        assert outage.reference in tasks
        page.get_by_role("link", name=f"Acknowledge the outage reported by {operator.name}").click()
        assert page.url.endswith(f"/continuity/outages/{outage.public_id}/acknowledge/")
        assert page.locator("h1").inner_text() == f"Acknowledge outage {outage.reference}"
        assert "Paul Lemaire" in main_text(page)
        axe(page)
        page.get_by_role("button", name="Acknowledge the outage").click()
        assert page.url.endswith("/continuity/")
        text = main_text(page)
        assert f"Outage {outage.reference} acknowledged" in text
        assert "No outage is waiting for acknowledgement." in text
        in_fallback = page.get_by_role("table", name="Operators whose outage is acknowledged")
        assert operator.name in in_fallback.inner_text()
        assert "Sam Weber" in in_fallback.inner_text()
        axe(page)
        tasks, _ = open_dashboard(page, axe)
        assert "Acknowledge the outage" not in tasks
    outage.refresh_from_db()
    assert (outage.status, outage.opened_by) == (OS.OPEN, desk)
    assert Event.objects.filter(action="outage.acknowledged").count() == 1

    # --- The legal representative and the manager are told, each in their language.
    run_worker()
    subject, language, text = mails_after(smtp_server, representative, seen, outage.reference)
    assert language == "en"
    assert text.startswith("Hello Paul Lemaire,")
    assert f"{live_server.url}/companies/{operator.pk}/outages/" in text
    subject, language, text = mails_after(smtp_server, manager, seen, outage.reference)
    assert language == "fr"
    assert text.startswith("Bonjour Chloé Faure,"), text
    assert subject == (f"[Comptoir] Panne {outage.reference} de {operator.name} prise en compte")
    assert f"pris acte de la panne {outage.reference}" in text
    assert f"{live_server.url}/companies/{operator.pk}/outages/" in text
    no_new_mail(smtp_server, employee, seen)  # employees are not told
    no_new_mail(smtp_server, desk, seen)
    notice = Notice.objects.get(recipient=manager, topic="outage.acknowledged")
    assert notice.reference == outage.reference
    assert notice.title == f"Panne {outage.reference} prise en compte : déposez par le portail"

    with signed_in(browser, live_server, axe, representative) as page:
        # --- The notice, opened from the notices page, leads to the company's outage page.
        page.get_by_role("banner").get_by_role("link", name=re.compile("^Notices")).click()
        axe(page)
        title = f"Outage {outage.reference} acknowledged: lodge through the portal"
        assert title in main_text(page)
        page.get_by_role("button", name=f"Open {title}").click()
        assert page.url.endswith(f"/companies/{operator.pk}/outages/")
        assert "The service desk has acknowledged the outage" in main_text(page)
        axe(page)
        tasks, _ = open_dashboard(page, axe)
        assert f"Fallback open for {operator.name}: lodge through the portal" in tasks

        # --- Now the portal takes the declaration: an MRN, then "Reference … issued".
        open_lodging_form(page, axe, operator)
        inset = page.locator("main .inset-text").inner_text()
        assert "the service desk has acknowledged it" in inset
        assert "until you report that it works again" in inset
        mrn = lodge(page, axe, operator, representative)
        assert mrn in main_text(page)
        _, notices = open_dashboard(page, axe)
        assert f"Reference {mrn} issued" in notices

        # --- The B2G system works again: the recovery closes the outage.
        page.goto(f"/companies/{operator.pk}/outages/")
        axe(page)
        page.get_by_role("link", name="Report that the B2G system works again").click()
        assert page.url.endswith(f"/companies/{operator.pk}/outages/{outage.public_id}/recover/")
        axe(page)
        page.get_by_role("button", name="Confirm the recovery").click()
        assert page.url.endswith(f"/companies/{operator.pk}/outages/")
        text = main_text(page)
        assert f"Recovery reported: outage {outage.reference} is closed." in text
        assert "No outage is reported: your company lodges through its B2G system." in text
        axe(page)
        outage.refresh_from_db()
        assert (outage.status, outage.closed_by) == (OS.CLOSED, representative)

        # --- And the portal refuses again.
        lodging_refused(page, axe, operator, B2G_REQUIRED)
        tasks, _ = open_dashboard(page, axe)
        assert "Fallback open for" not in tasks
    assert Declaration.objects.count() == 1
    run_worker()
    subject, language, text = mails_after(smtp_server, manager, seen, outage.reference)
    assert language == "fr" and text.startswith("Bonjour Chloé Faure,")
    assert subject == (f"[Comptoir] Panne {outage.reference} de {operator.name} clôturée")
    one_mail(smtp_server, representative, seen, f"Outage {outage.reference} of the B2G system")
    assert len(axe.checked) >= 30


# --- 2. The administration's B2G system is down --------------------------------------------------


def test_administration_fallback_opened_lodged_closed(
    browser, live_server, axe, smtp_server, world_settings
):
    seen: dict[str, int] = {}
    desk, desk_secret = service_desk()
    b2g_operator = OperatorFactory(
        name="Logistique Kremer SA", lodging_channel=Operator.LodgingChannel.B2G
    )
    portal_operator = OperatorFactory(
        name="Épicerie Muller SARL", lodging_channel=Operator.LodgingChannel.PORTAL
    )
    grant(b2g_operator, "IMPORT")
    grant(portal_operator, "IMPORT")
    b2g_person = member(
        b2g_operator, Role.EMPLOYEE, username="anna_kremer", first_name="Anna", last_name="Kremer"
    )
    portal_person = member(
        portal_operator,
        Role.LEGAL_REPRESENTATIVE,
        username="marc_muller",
        first_name="Marc",
        last_name="Muller",
    )
    office = "Bureau des douanes de Luxembourg-Aéroport, +352 28 18 00 00"
    instructions = "Lodge through the portal; urgent releases by phone to the office."

    with (
        signed_in(browser, live_server, axe, desk, desk_secret) as desk_tab,
        person_page(browser, live_server) as public,
        signed_in(browser, live_server, axe, portal_person) as portal_tab,
    ):
        # --- Before: nothing open; the portal-only operator lodges, the B2G one may not.
        assert "No disruption" in public_status(public, axe)
        assert api_status(public)["state"] == "normal"
        before = lodge(portal_tab, axe, portal_operator, portal_person)

        # --- The service desk opens the fallback procedure.
        outage = desk_opens(
            desk_tab,
            axe,
            Outage.Kind.ADMINISTRATION,
            office=office,
            instructions=instructions,
            what="The administration's AS4 access point is down.",
        )
        assert Event.objects.filter(action="fallback.opened").count() == 1

        # --- Everyone sees it: the status page (signed out), the feed, the API.
        text = public_status(public, axe)
        assert "Fallback procedure: the administration's B2G system is down" in text
        assert "Lodge them through the portal until the fallback procedure closes." in text
        assert office in text and instructions in text and outage.reference in text
        assert "No disruption" not in text
        entries = feed_entries(public)
        assert [e["title"] for e in entries] == [f"Fallback procedure opened: {outage.reference}"]
        assert office in entries[0]["summary"] and instructions in entries[0]["summary"]
        status = api_status(public)
        assert (
            status["state"],
            status["online_lodging"],
            status["portal_lodging_for_b2g_operators"],
        ) == ("fallback", True, True)
        assert [
            (o["reference"], o["kind"], o["status"], o["contact_office"], o["instructions"])
            for o in status["outages"]
        ] == [(outage.reference, "administration", "open", office, instructions)]

        # --- Every operator's people are told, by the background worker.
        run_worker()
        opened = f"Fallback procedure {outage.reference} open: lodge through the portal"
        for person in (b2g_person, portal_person):
            subject, language, text = mails_after(smtp_server, person, seen, office)
            assert (subject, language) == (f"[Comptoir] {opened}", "en")
            assert instructions in text
        no_new_mail(smtp_server, desk, seen)

        # --- The portal-only operator still lodges.
        during = lodge(portal_tab, axe, portal_operator, portal_person)

        with signed_in(browser, live_server, axe, b2g_person) as page:
            page.get_by_role("banner").get_by_role("link", name=re.compile("^Notices")).click()
            assert opened in main_text(page)
            axe(page)
            tasks, _ = open_dashboard(page, axe)
            assert "Fallback procedure open: the administration's B2G system is down" in tasks
            open_lodging_form(page, axe, b2g_operator)
            assert "the fallback procedure is open" in page.locator("main .inset-text").inner_text()
            b2g_mrn = lodge(page, axe, b2g_operator, b2g_person)
            _, notices = open_dashboard(page, axe)
            assert f"Reference {b2g_mrn} issued" in notices

            # --- The service desk closes the fallback procedure.
            desk_closes(desk_tab, axe, outage, note="The access point was restarted at 14:05.")
            assert Event.objects.filter(action="fallback.closed").count() == 1

            text = public_status(public, axe)
            assert "No disruption" in text and outage.reference not in text
            public.get_by_role("link", name="Past fallbacks and exceptions").click()
            history = main_text(public)
            assert outage.reference in history and "restarted at 14:05" in history
            axe(public)
            assert [e["title"] for e in feed_entries(public)] == [
                f"Fallback procedure closed: {outage.reference}",
                f"Fallback procedure opened: {outage.reference}",
            ]
            status = api_status(public)
            assert (status["state"], status["outages"]) == ("normal", [])

            # --- The B2G operator goes back to its system; the portal-only one lodges on.
            lodging_refused(page, axe, b2g_operator, B2G_REQUIRED)
        after = lodge(portal_tab, axe, portal_operator, portal_person)

    run_worker()
    closed = f"Fallback procedure {outage.reference} closed: normal service has resumed"
    for person in (b2g_person, portal_person):
        subject, _, _ = mails_after(smtp_server, person, seen, "restarted at 14:05")
        assert subject == f"[Comptoir] {closed}"
    no_new_mail(smtp_server, desk, seen)
    assert set(Declaration.objects.values_list("mrn", flat=True)) == {
        before,
        during,
        after,
        b2g_mrn,
    }
    assert len({before, during, after, b2g_mrn}) == 4


# --- 3. The national system is down: the exception -----------------------------------------------


def test_exception_refuses_online_lodging_until_closed(
    browser, live_server, axe, smtp_server, world_settings
):
    seen: dict[str, int] = {}
    desk, desk_secret = service_desk()
    portal_operator = OperatorFactory(
        name="Primeurs Schmit SARL", lodging_channel=Operator.LodgingChannel.PORTAL
    )
    grant(portal_operator, "IMPORT")
    person = member(
        portal_operator,
        Role.MANAGER,
        username="jeanne_schmit",
        first_name="Jeanne",
        last_name="Schmit",
    )
    office = "Bureau des douanes de Bettembourg, +352 51 12 34"
    instructions = "Bring two paper copies of each declaration to the office before 16:00."

    with (
        signed_in(browser, live_server, axe, desk, desk_secret) as desk_tab,
        person_page(browser, live_server) as public,
        signed_in(browser, live_server, axe, person) as page,
    ):
        outage = desk_opens(
            desk_tab,
            axe,
            Outage.Kind.EXCEPTION,
            office=office,
            instructions=instructions,
            what="The national customs system does not answer.",
        )

        # --- Online lodging is refused, naming the office and its instructions.
        warning = lodging_refused(
            page, axe, portal_operator, "declarations cannot be lodged online", office
        )
        assert instructions in warning
        tasks, _ = open_dashboard(page, axe)
        assert f"Exception open: contact {office} and follow its instructions" in tasks

        # --- Public status page and API.
        text = public_status(public, axe)
        assert "Exception: the national system is down" in text
        assert "Online lodging is not possible." in text
        assert office in text and instructions in text and outage.reference in text
        status = api_status(public)
        assert (
            status["state"],
            status["online_lodging"],
            status["portal_lodging_for_b2g_operators"],
        ) == ("exception", False, False)
        assert [(o["reference"], o["kind"], o["contact_office"]) for o in status["outages"]] == [
            (outage.reference, "exception", office)
        ]
        assert [e["title"] for e in feed_entries(public)] == [
            f"Exception opened: {outage.reference}"
        ]

        run_worker()
        subject, language, text = mails_after(smtp_server, person, seen, office)
        assert (subject, language) == (
            f"[Comptoir] Exception {outage.reference}: online lodging is not possible",
            "en",
        )
        assert instructions in text
        assert Declaration.objects.count() == 0

        # --- The desk closes it: lodging works again, the status page says so.
        desk_closes(desk_tab, axe, outage, note="The national system answers again.")
        mrn = lodge(page, axe, portal_operator, person)
        _, notices = open_dashboard(page, axe)
        assert f"Reference {mrn} issued" in notices
        assert "Exception open" not in main_text(page)
        text = public_status(public, axe)
        assert "No disruption" in text
        status = api_status(public)
        assert (status["state"], status["online_lodging"], status["outages"]) == (
            "normal",
            True,
            [],
        )

    run_worker()
    subject, _, _ = mails_after(smtp_server, person, seen, "answers again")
    assert subject == f"[Comptoir] Exception {outage.reference} closed: normal service has resumed"
    no_new_mail(smtp_server, desk, seen)
