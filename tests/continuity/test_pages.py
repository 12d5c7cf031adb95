"""The pages: public status, history and feed (no sign-in), the service desk's page and forms,
each operator's outage page; 404 outside one's scope, bad input on the form with nothing
changed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from comptoir.continuity import services
from comptoir.continuity.models import FanOut, Outage
from tests.continuity.conftest import sign_in
from tests.continuity.test_services import open_fallback, report

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
OS = Outage.Status


@pytest.fixture
def anonymous(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def as_person(client, person):
    sign_in(client, person)
    return client


# --- Public -------------------------------------------------------------------------------------


def test_status_page_without_disruption(anonymous):
    response = anonymous.get("/status/")
    assert response.status_code == 200
    assert "No disruption" in response.content.decode()


def test_status_page_shows_the_fallback_and_the_exception_never_an_operator(anonymous, world):
    outage = report(world)
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    fallback = open_fallback(world)
    exception = open_fallback(
        world,
        kind=Outage.Kind.EXCEPTION,
        contact_office="Bureau de Lyon",
        instructions="Call before coming.",
    )
    page = anonymous.get("/status/").content.decode()
    assert "No disruption" not in page
    assert "Exception: the national system is down" in page
    assert "Fallback procedure: the administration's B2G system is down" in page
    assert "Bureau de Lyon" in page and "Call before coming." in page
    assert "Bureau de Paris-Orly" in page
    assert fallback.reference in page and exception.reference in page
    assert page.index("Bureau de Lyon") < page.index("Bureau de Paris-Orly")  # exception first
    # An operator's own outage never shows on the public page.
    assert world.operator.name not in page and outage.reference not in page


def test_history_lists_closed_ones_with_paging(anonymous, world):
    for number in range(22):
        outage = open_fallback(world, contact_office=f"Office {number:02d}")
        services.fallback_close(
            person=world.desk, outage_id=outage.public_id, closing_note=f"Note {number:02d}"
        )
    still_open = open_fallback(world, contact_office="Office open")
    first = anonymous.get("/status/history/").content.decode()
    assert "Office 21" in first and "Note 21" in first  # latest closed first
    assert "Office 01" not in first
    assert "Office open" not in first and still_open.reference not in first
    assert "Page 1 of 2" in first
    second = anonymous.get("/status/history/?page=2").content.decode()
    assert "Office 01" in second and "Office 00" in second


def test_history_when_empty(anonymous, world):
    assert "No fallback procedure or exception has been closed yet." in (
        anonymous.get("/status/history/").content.decode()
    )


def test_feed_is_atom_with_one_entry_per_opening_and_closing(anonymous, world):
    closed = open_fallback(world)
    services.fallback_close(person=world.desk, outage_id=closed.public_id, closing_note="Fixed.")
    exception = open_fallback(world, kind=Outage.Kind.EXCEPTION)
    operator_outage = report(world)
    services.outage_acknowledge(person=world.desk, outage_id=operator_outage.public_id)
    response = anonymous.get("/status/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    titles = [entry.findtext(f"{ATOM}title") for entry in entries]
    assert titles == [
        f"Exception opened: {exception.reference}",
        f"Fallback procedure closed: {closed.reference}",
        f"Fallback procedure opened: {closed.reference}",
    ]
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(set(ids)) == 3
    assert all(entry.findtext(f"{ATOM}updated") for entry in entries)
    assert "Fixed." in entries[1].findtext(f"{ATOM}summary")
    assert world.operator.name.encode() not in response.content


# --- Service desk -------------------------------------------------------------------------------


def test_desk_page_lists_what_waits_and_what_is_open(client, world):
    waiting = report(world)
    fallback = open_fallback(world)
    page = as_person(client, world.desk).get("/continuity/").content.decode()
    assert waiting.reference in page and world.operator.name in page
    assert f"/continuity/outages/{waiting.public_id}/acknowledge/" in page
    assert f"/continuity/outages/{fallback.public_id}/close/" in page
    assert "/continuity/open/exception/" in page
    assert "/continuity/open/administration/" not in page  # already open


@pytest.mark.parametrize("who", ["officer", "legal_representative", "outsider"])
def test_desk_pages_do_not_exist_for_others(client, world, who):
    outage = open_fallback(world)
    as_person(client, getattr(world, who))
    assert client.get("/continuity/").status_code == 404
    assert client.get("/continuity/open/administration/").status_code == 404
    assert client.post(f"/continuity/outages/{outage.public_id}/close/").status_code == 404
    assert Outage.objects.get(pk=outage.pk).status == OS.OPEN


def test_desk_opens_the_fallback(client, world):
    as_person(client, world.desk)
    assert client.get("/continuity/open/administration/").status_code == 200
    response = client.post(
        "/continuity/open/administration/",
        {
            "contact_office": "Bureau de Roissy",
            "instructions": "Use the portal.",
            "description": "Gateway down",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/continuity/"
    outage = Outage.objects.get()
    assert outage.kind == Outage.Kind.ADMINISTRATION and outage.status == OS.OPEN
    assert outage.contact_office == "Bureau de Roissy"
    assert FanOut.objects.filter(outage=outage, event="opened").exists()
    page = client.get("/continuity/").content.decode()
    assert "The fallback procedure is open. Every operator is being told." in page


def test_opening_with_missing_answers_shows_the_errors_and_changes_nothing(client, world):
    as_person(client, world.desk)
    response = client.post("/continuity/open/exception/", {"contact_office": "  "})
    assert response.status_code == 422
    page = response.content.decode()
    assert "There is a problem" in page
    assert "Enter the customs office operators should contact." in page
    assert "Enter the instructions operators should follow." in page
    assert "<title>Error:" in page
    assert not Outage.objects.exists()


def test_opening_twice_says_it_is_already_open(client, world):
    open_fallback(world, kind=Outage.Kind.EXCEPTION)
    as_person(client, world.desk)
    response = client.post(
        "/continuity/open/exception/", {"contact_office": "Lyon", "instructions": "Wait."}
    )
    assert response.status_code == 422
    assert "An exception is already open" in response.content.decode()
    assert Outage.objects.count() == 1


def test_unknown_kind_is_404(client, world):
    as_person(client, world.desk)
    assert client.get("/continuity/open/operator/").status_code == 404


def test_desk_acknowledges(client, world):
    outage = report(world)
    as_person(client, world.desk)
    url = f"/continuity/outages/{outage.public_id}/acknowledge/"
    page = client.get(url).content.decode()
    assert "Acknowledge the outage" in page and "503 since 9:30" in page
    response = client.post(url)
    assert response.status_code == 302
    assert Outage.objects.get(pk=outage.pk).status == OS.OPEN
    # A second click says it was dealt with and changes nothing.
    response = client.post(url, follow=True)
    assert "already been dealt with: it is now open" in response.content.decode()
    assert Outage.objects.get(pk=outage.pk).opened_by == world.desk


def test_acknowledge_page_scope(client, world):
    outage = report(world)
    url = f"/continuity/outages/{outage.public_id}/acknowledge/"
    # The company's own people see the outage but may not acknowledge it: 403.
    as_person(client, world.legal_representative)
    assert client.post(url).status_code == 403
    # Other people do not see it at all: 404.
    as_person(client, world.other_legal_representative)
    assert client.post(url).status_code == 404
    as_person(client, world.officer)
    assert client.post(url).status_code == 404
    assert Outage.objects.get(pk=outage.pk).status == OS.REPORTED


def test_desk_closes_with_a_note(client, world):
    outage = open_fallback(world)
    as_person(client, world.desk)
    url = f"/continuity/outages/{outage.public_id}/close/"
    assert "Close the fallback procedure and tell operators" in client.get(url).content.decode()
    response = client.post(url, {"closing_note": "x" * 2001})
    assert response.status_code == 422
    assert "2000 characters or fewer" in response.content.decode()
    assert Outage.objects.get(pk=outage.pk).status == OS.OPEN
    response = client.post(url, {"closing_note": "Gateway repaired."})
    assert response.status_code == 302
    outage.refresh_from_db()
    assert outage.status == OS.CLOSED and outage.closing_note == "Gateway repaired."
    assert FanOut.objects.filter(outage=outage, event="closed").exists()


# --- An operator's page -------------------------------------------------------------------------


def test_operator_reports_then_recovers(client, world):
    as_person(client, world.legal_representative)
    url = f"/companies/{world.operator.pk}/outages/"
    page = client.get(url).content.decode()
    assert "Report the outage to the service desk" in page
    response = client.post(url, {"description": "Access point down."})
    assert response.status_code == 302
    outage = Outage.objects.get()
    assert outage.status == OS.REPORTED and outage.operator == world.operator
    page = client.get(url).content.decode()
    assert outage.reference in page and "has not acknowledged the outage yet" in page
    assert "Report the outage to the service desk" not in page
    services.outage_acknowledge(person=world.desk, outage_id=outage.public_id)
    page = client.get(url).content.decode()
    assert "may lodge through the portal" in page
    recover_url = f"/companies/{world.operator.pk}/outages/{outage.public_id}/recover/"
    assert recover_url in page
    assert "Confirm the recovery" in client.get(recover_url).content.decode()
    assert client.post(recover_url).status_code == 302
    assert Outage.objects.get(pk=outage.pk).status == OS.CLOSED
    page = client.get(url).content.decode()
    assert "Report the outage to the service desk" in page  # a new one may be reported


def test_reporting_without_a_description_shows_the_error(client, world):
    as_person(client, world.manager)
    response = client.post(
        f"/companies/{world.operator.pk}/outages/",
        {"description": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert not Outage.objects.exists()


def test_employees_see_but_do_not_report(client, world):
    outage = report(world)
    as_person(client, world.employee)
    url = f"/companies/{world.operator.pk}/outages/"
    response = client.get(url)
    assert response.status_code == 200
    assert outage.reference.encode() in response.content
    assert client.post(url, {"description": "Down"}).status_code == 403
    recover_url = f"/companies/{world.operator.pk}/outages/{outage.public_id}/recover/"
    assert client.post(recover_url).status_code == 403
    assert Outage.objects.get(pk=outage.pk).status == OS.REPORTED


def test_operator_pages_are_404_for_others(client, world):
    outage = report(world)
    for person in (world.other_legal_representative, world.outsider, world.desk):
        as_person(client, person)
        assert client.get(f"/companies/{world.operator.pk}/outages/").status_code == 404
        assert (
            client.post(
                f"/companies/{world.operator.pk}/outages/{outage.public_id}/recover/"
            ).status_code
            == 404
        )
    # Another company's outage through one's own company's address: 404 too.
    as_person(client, world.other_legal_representative)
    response = client.post(
        f"/companies/{world.other_operator.pk}/outages/{outage.public_id}/recover/"
    )
    assert response.status_code == 404
    assert Outage.objects.get(pk=outage.pk).status == OS.REPORTED


def test_portal_only_company_page_explains(client, world):
    as_person(client, world.portal_legal_representative)
    page = client.get(f"/companies/{world.portal_operator.pk}/outages/").content.decode()
    assert "lodges through the portal only" in page
    assert "Report the outage to the service desk" not in page


def test_anonymous_people_are_sent_to_sign_in(anonymous, world):
    assert anonymous.get("/continuity/").status_code == 302
    assert anonymous.get(f"/companies/{world.operator.pk}/outages/").status_code == 302
