"""The account journey in a real browser (JavaScript off), with axe-core on every page:
create an account, confirm the e-mail address from the message the SMTP server received, sign
in, accept new terms of use, turn on TOTP, sign out, sign in again with a one-time code."""

from __future__ import annotations

import base64
import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP

from comptoir.accounts import selectors
from comptoir.accounts.models import TermsVersion, User
from comptoir.accounts.services import terms_accept, terms_publish
from tests.browser.totp import totp
from tests.browser.totp import wait_for_room_in_window as _wait_for_room_in_window
from tests.browser.totp import wait_for_window_after as _wait_for_window_after
from tests.browser.totp import window as _window
from tests.mail import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USERNAME = "ada_lovelace"
EMAIL = "ada@example.test"
PASSWORD = "Analytical-Engine-1843!"


def test_totp_matches_the_rfc_6238_test_vector():
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 s -> 94287082 (8 digits).
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp(secret, at=59) == "287082"


def _publish_terms(version: str) -> TermsVersion:
    terms = TermsVersion.objects.create(
        version=version,
        **{f"title_{lang}": f"Terms {version}" for lang in ("fr", "en", "de")},
        **{f"text_{lang}": f"The terms of use, version {version}." for lang in ("fr", "en", "de")},
    )
    return terms_publish(terms=terms, actor=None)


def _error_summary_links(page) -> dict[str, str]:
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    return {
        link.inner_text().strip(): link.get_attribute("href") for link in summary.locator("a").all()
    }


def _sign_in_with_password(page, axe) -> None:
    page.goto("/accounts/login/")
    assert page.locator("h1").inner_text() != ""
    axe(page)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name=re.compile("sign in", re.I)).click()


def _sign_out(page, axe) -> None:
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.get_by_role("banner").get_by_role("link", name="Sign in").is_visible()
    axe(page)


def test_account_journey(page, axe, smtp_server):
    _publish_terms("2025-01")

    # --- Create an account.
    page.goto("/")
    axe(page)
    page.get_by_role("main").get_by_role("link", name="Create an account").click()
    assert page.url.endswith("/accounts/signup/")
    axe(page)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("I have read and accept the terms of use").check()
    page.get_by_role("button", name="Create account").click()

    # --- Confirm the e-mail address, with the link the SMTP server received.
    assert page.locator("h1").inner_text() == "Confirm your email address"
    axe(page)
    assert smtp_server.to(EMAIL) == []  # the request only wrote to the outbox
    run_worker()
    message = smtp_server.last_to(EMAIL)
    links = [link for link in smtp_server.links(message) if "/confirm-email/" in link]
    assert len(links) == 1, smtp_server.text(message)
    page.goto(links[0])
    axe(page)
    page.get_by_role("button", name="Confirm").click()
    assert page.url.split("?")[0].endswith("/accounts/login/")
    axe(page)
    user = User.objects.get(username=USERNAME)
    assert user.emailaddress_set.get(email=EMAIL).verified

    # --- New terms of use appear after sign-up: the next sign-in asks for them.
    _publish_terms("2025-02")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name=re.compile("sign in", re.I)).click()
    assert "/terms/accept/" in page.url
    assert page.locator("h1").inner_text() == "Accept the terms of use"
    axe(page)
    page.get_by_role("button", name="Accept and continue").click()  # without ticking the box
    assert _error_summary_links(page) == {"Accept the terms of use to continue.": "#id_accept"}
    axe(page)
    page.get_by_label("I have read and accept these terms of use").check()
    page.get_by_role("button", name="Accept and continue").click()
    assert user.terms_acceptances.filter(terms__version="2025-02").exists()
    assert page.get_by_role("banner").get_by_role("button", name="Sign out").is_visible()
    axe(page)

    # --- Turn on two-factor authentication with an authenticator app (here: the test).
    page.get_by_role("main").get_by_role("link", name="Two-factor authentication").click()
    axe(page)
    page.get_by_role("main").get_by_role("button", name="Set up an authenticator app").click()
    # allauth asks for the password again before a security change.
    assert "/accounts/reauthenticate/" in page.url
    axe(page)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Confirm").click()
    assert page.url.endswith("/accounts/2fa/totp/activate/")
    axe(page)
    secret = page.locator("#authenticator_secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}=*", secret), secret
    page.get_by_label("Authenticator code").fill("000000" if totp(secret) != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    assert "/totp/activate/" in page.url
    assert len(_error_summary_links(page)) == 1
    axe(page)
    _wait_for_room_in_window(5)
    activation_window = _window()
    page.get_by_label("Authenticator code").fill(totp(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    axe(page)  # the recovery codes

    # --- Sign out, then sign in with the password and a one-time code.
    _sign_out(page, axe)
    _sign_in_with_password(page, axe)
    assert page.url.endswith("/accounts/2fa/authenticate/")
    axe(page)
    _wait_for_window_after(activation_window)  # a fresh code, not the one used to activate
    code, code_window = totp(secret), _window()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("banner").get_by_role("button", name="Sign out").is_visible()
    axe(page)

    # --- A used code is refused, even inside its 30 s window.
    _sign_out(page, axe)
    _sign_in_with_password(page, axe)
    page.get_by_label("Code").fill(code)
    assert _window() == code_window, "too slow: the code expired before it could be reused"
    page.get_by_role("button", name="Continue").click()
    assert page.url.endswith("/accounts/2fa/authenticate/")
    assert len(_error_summary_links(page)) == 1
    axe(page)
    assert not page.get_by_role("banner").get_by_role("button", name="Sign out").is_visible()
    assert len(axe.checked) >= 20


def test_signup_with_bad_input_shows_the_error_summary(page, axe, artifacts_dir):
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill("ada lovelace!")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Password", exact=True).fill("password")
    page.get_by_label("Password (again)").fill("password")
    # The answer comes back to the same address: wait for it, not for a change of URL.
    with page.expect_navigation():
        page.get_by_role("button", name="Create account").click()

    assert page.url.endswith("/accounts/signup/")
    assert page.title().startswith("Error: ")
    links = _error_summary_links(page)
    hrefs = set(links.values())
    assert {"#id_username", "#id_password1", "#id_accept_terms"} <= hrefs, links
    username_errors = [text for text, href in links.items() if href == "#id_username"]
    assert username_errors and all("username" in text.lower() for text in username_errors), links
    assert any("uppercase letter" in text for text in links), links
    for href in hrefs:  # every link leads to a field on the page
        assert page.locator(href).count() == 1, href
    # The field keeps the person's input and says what is wrong next to it.
    assert page.get_by_label("Username").input_value() == "ada lovelace!"
    assert username_errors[0] in page.locator("#id_username_error").inner_text()
    # Errors are tied to their field for screen readers.
    described_by = page.locator("#id_username").get_attribute("aria-describedby") or ""
    assert "id_username_error" in described_by.split()
    axe(page)
    page.screenshot(path=str(artifacts_dir / "signup-errors.png"), full_page=True)
    assert not User.objects.filter(email=EMAIL).exists()


def test_account_management_pages(page, axe):
    """The pages linked from the profile, for a person with TOTP on."""
    user = User.objects.create_user(
        username=USERNAME,
        email=EMAIL,
        password=PASSWORD,
        first_name="Ada",
        last_name="Lovelace",
        language="en",
    )
    EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    secret = base64.b32encode(b"0123456789abcdefghij").decode()
    TOTP.activate(user, secret)
    terms = selectors.terms_current()
    if terms is not None:
        terms_accept(user=user, terms=terms, ip=None)
    _sign_in_with_password(page, axe)
    _wait_for_room_in_window(5)
    page.get_by_label("Code").fill(totp(secret))
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("banner").get_by_role("button", name="Sign out").is_visible()
    for path in (
        "/profile/",
        "/profile/details/",
        "/profile/api-tokens/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/2fa/recovery-codes/generate/",
        "/terms/",
    ):
        page.goto(path)
        assert page.url.split("?")[0].endswith(path) or "/reauthenticate/" in page.url, page.url
        axe(page)
    assert len(axe.checked) == 9
