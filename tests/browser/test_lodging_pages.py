"""The lodging pages in Chromium, axe-checked: the list, the form with its errors, the
confirmation with the MRN, the declaration, and the page refusing online lodging during the
exception (the declaration types come from conftest's seeding)."""

from __future__ import annotations

import pytest

from comptoir.continuity.models import Outage
from tests.browser.test_company_pages import sign_in
from tests.factories_operators import OperatorFactory, member
from tests.lodging.conftest import grant, open_outage

pytestmark = pytest.mark.browser


def test_lodging_pages_axe(page, axe, live_server, tmp_path, settings):
    settings.COMPTOIR_LODGING_FOLDER = str(tmp_path)
    operator = OperatorFactory(name="Portail SARL")
    grant(operator, "IMPORT", "TRANSIT")
    person = member(operator, username="lodger_01", language="en")
    sign_in(page, person)
    base = f"/companies/{operator.pk}/declarations/"
    page.goto(base)
    axe(page)
    page.goto(base + "new/")
    axe(page)
    page.get_by_role("button", name="Lodge the declaration").click()
    assert "There is a problem" in page.content()
    axe(page)
    page.get_by_label("Import declaration").check()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<a>")
    page.get_by_label("Upload the declaration").set_input_files(str(bad))
    page.get_by_role("button", name="Lodge the declaration").click()
    assert "not well-formed XML" in page.content()
    axe(page)
    good = tmp_path / "good.xml"
    good.write_bytes(b"<declaration/>")
    page.get_by_label("Import declaration").check()
    page.get_by_label("Upload the declaration").set_input_files(str(good))
    page.get_by_role("button", name="Lodge the declaration").click()
    assert "Declaration lodged" in page.content()
    axe(page)
    page.get_by_role("link", name="See the declaration").click()
    axe(page)
    page.goto(base)
    axe(page)
    open_outage(Outage.Kind.EXCEPTION, contact_office="Bureau X", instructions="Call.")
    page.goto(base + "new/")
    assert "Bureau X" in page.content()
    axe(page)
    page.screenshot(path="/tmp/lodging_exception.png", full_page=True)
