"""Acting for whom in a real browser (JavaScript off), axe-core on every page: an employee of a
service provider that holds a portal-actions mandate signs in on the way to their notices, is
asked on whose behalf they act, forgets the consent, chooses the principal holding a mandate,
lands where they were going with the choice in the header, then changes back to themself."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.operators import mandates
from comptoir.operators.models import Mandate, Position
from tests.factories import PASSWORD
from tests.factories_operators import OperatorFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Role = Position.Role
PRINCIPAL_EORI = "FR552100554"
PROVIDER_EORI = "FR732829320"


def header_acting(page) -> str:
    return " ".join(page.locator(".header__acting-text").inner_text().split())


def test_choose_a_principal_holding_a_mandate_then_myself(page, axe):
    principal = OperatorFactory(eori=PRINCIPAL_EORI, name="Dupont SA")
    provider = OperatorFactory(eori=PROVIDER_EORI, name="Transit Services SARL")
    principal_lr = member(principal, Role.LEGAL_REPRESENTATIVE, username="dupont_lr")
    provider_lr = member(provider, Role.LEGAL_REPRESENTATIVE, username="transit_lr")
    employee = member(
        provider, Role.EMPLOYEE, username="camille_roux", first_name="Camille", last_name="Roux"
    )
    proposed = mandates.mandate_propose(
        actor=principal_lr,
        principal=principal,
        provider_eori=PROVIDER_EORI,
        scope=Mandate.Scope.PORTAL_ACTIONS,
        valid_from=timezone.localdate(),
        valid_until=None,
    )
    mandate = mandates.mandate_accept(actor=provider_lr, mandate_id=proposed.public_id)

    # On the way to their notices, asked to sign in first.
    page.goto("/notices/")
    assert page.url.endswith("/accounts/login/?next=/notices/"), page.url
    axe(page)
    page.get_by_label("Username").fill(employee.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name=re.compile("sign in", re.I)).click()

    # Asked on whose behalf they act, with the companies they may act for.
    page.wait_for_load_state("load")
    assert page.url.endswith("/acting-for/?next=%2Fnotices%2F"), page.url
    assert page.locator("main h1").inner_text() == "On whose behalf are you acting?"
    options = page.get_by_role("table", name="Companies you may act for")
    rows = options.locator("tbody tr").all_inner_texts()
    assert len(rows) == 2
    assert "Transit Services SARL" in rows[0] and "Directly" in rows[0]
    assert "Dupont SA" in rows[1] and PRINCIPAL_EORI in rows[1]
    assert "mandate given to Transit Services SARL" in rows[1]
    assert header_acting(page).startswith("Acting for yourself")
    axe(page)

    # The following person, holding a mandate, but without the consent.
    page.get_by_label("The following person").check()
    page.get_by_label("Actor type").select_option("EO")
    page.get_by_label("Identifier type").select_option("EORI")
    page.get_by_label("Identifier", exact=True).fill(" fr 552100554 ")
    page.get_by_label("Holding a mandate").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state("load")
    assert page.title().startswith("Error: "), page.title()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert "Give your consent to share your profile with the company you act for." in (
        summary.inner_text()
    )
    # The link in the summary leads to the box to tick.
    assert summary.get_by_role("link").get_attribute("href") == "#id_consent"
    assert header_acting(page).startswith("Acting for yourself")
    assert not AuditEvent.objects.filter(action="acting.choose").exists()
    axe(page)

    # What was typed is kept: only the consent is missing.
    assert page.get_by_label("The following person").is_checked()
    assert page.get_by_label("Holding a mandate").is_checked()
    page.get_by_label(re.compile("I consent to share my profile")).check()
    page.get_by_role("button", name="Continue").click()

    # Where they were going, acting for the principal.
    page.wait_for_load_state("load")
    assert page.url.endswith("/notices/"), page.url
    assert header_acting(page).startswith(
        "Acting for Dupont SA (FR552100554), holding a mandate"
    ), header_acting(page)
    assert "You act for Dupont SA (FR552100554), holding a mandate." in (
        page.locator(".notification-banner").first.inner_text()
    )
    chosen = AuditEvent.objects.get(action="acting.choose")
    assert chosen.actor == employee and chosen.data["consent"] is True
    assert chosen.on_behalf_of["mandate"] == str(mandate.public_id)
    axe(page)

    # Change: back to acting for themself.
    page.locator(".header__acting").get_by_role("link", name=re.compile("^Change")).click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/acting-for/?next=/notices/") or page.url.endswith(
        "/acting-for/?next=%2Fnotices%2F"
    ), page.url
    assert page.get_by_label("The following person").is_checked()
    assert page.get_by_label("Identifier", exact=True).input_value() == PRINCIPAL_EORI
    axe(page)
    page.get_by_label("Myself").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/notices/"), page.url
    assert header_acting(page).startswith("Acting for yourself"), header_acting(page)
    axe(page)

    # And it stays so on the next page.
    page.goto("/")
    assert header_acting(page).startswith("Acting for yourself")
    axe(page)
    assert list(
        AuditEvent.objects.filter(action__startswith="acting.")
        .order_by("sequence")
        .values_list("action", flat=True)
    ) == ["acting.choose", "acting.myself"]
    assert audit_verify() is None
