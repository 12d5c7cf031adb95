"""Sign-in with an external eID, end to end over real HTTP.

Comptoir runs in Django's live server; the eID is oidc-provider-mock running as its own process on
127.0.0.1 (tests/oidc.py). A `requests.Session` plays the browser: it starts on Comptoir's sign-in
page, follows the redirect to the provider's authorisation page, signs in there as a subject with
the claims the test gives, comes back to the callback and goes on from there. Nothing is mocked.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount

from comptoir.accounts.models import TermsAcceptance, User
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import OutboxMessage
from tests.factories import PASSWORD, UserFactory
from tests.oidc import OidcProvider, forms, oidc_provider_apps, submit
from tests.subprocesses import manage_check

ROOT = Path(__file__).resolve().parents[2]

PROVIDER_ID = "test-eid"
PROVIDER_NAME = "Test eID"
OTHER_ID = "other-eid"
OTHER_NAME = "Other eID"

# Transactional (the live server answers from another thread) and with the migrations' data put
# back (the published terms of use), which a transactional test's flush would otherwise remove.
live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def eid(oidc_provider: OidcProvider, settings, monkeypatch) -> OidcProvider:
    """Two providers configured as an administration would (COMPTOIR_OIDC_PROVIDERS), both
    served by the loopback provider under different client ids."""
    apps = oidc_provider_apps(
        [
            {
                "id": PROVIDER_ID,
                "name": PROVIDER_NAME,
                "issuer": oidc_provider.issuer,
                "client_id": "comptoir-test",
                "client_secret": "test-secret",
            },
            {
                "id": OTHER_ID,
                "name": OTHER_NAME,
                "issuer": oidc_provider.issuer,
                "client_id": "comptoir-other",
                "client_secret": "other-secret",
            },
        ],
        monkeypatch,
    )
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "openid_connect": {**settings.SOCIALACCOUNT_PROVIDERS["openid_connect"], "APPS": apps},
    }
    return oidc_provider


@pytest.fixture
def browser() -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = "en"
    return session


def text(response: requests.Response) -> str:
    """The page's text without tags, on one line, for assertions on what a person reads."""
    without_tags = re.sub(r"<[^>]+>", " ", response.text)
    return re.sub(r"\s+", " ", without_tags)


def start_eid_sign_in(
    browser: requests.Session, base_url: str, provider_id: str = PROVIDER_ID
) -> requests.Response:
    """From the sign-in page, choose the provider and continue: ends on the provider's page."""
    sign_in = browser.get(f"{base_url}/accounts/login/")
    assert sign_in.status_code == 200
    links = re.findall(r'href="([^"]*/accounts/oidc/([^/"]+)/login/[^"]*)"', sign_in.text)
    href = next(h for h, pid in links if pid == provider_id).replace("&amp;", "&")
    confirm = browser.get(base_url + href)
    assert confirm.status_code == 200
    return submit(browser, confirm)


def eid_sign_in(
    browser: requests.Session,
    base_url: str,
    provider: OidcProvider,
    sub: str,
    provider_id: str = PROVIDER_ID,
    **claims: object,
) -> requests.Response:
    page = start_eid_sign_in(browser, base_url, provider_id)
    return provider.authorize(browser, page, sub, **claims)


def me(browser: requests.Session, base_url: str) -> requests.Response:
    return browser.get(f"{base_url}/api/v1/me")


def path(response: requests.Response) -> str:
    return urlsplit(response.url).path


def complete_profile(
    browser: requests.Session, page: requests.Response, **data: str
) -> requests.Response:
    assert path(page) == "/accounts/3rdparty/signup/", (page.url, text(page)[:2000])
    return submit(browser, page, {"username": "ada_eid_2024", "accept_terms": "on", **data})


def claims_for(email: str, *, verified: bool) -> dict[str, object]:
    return {
        "email": email,
        "email_verified": verified,
        "given_name": "Ada",
        "family_name": "Lovelace",
    }


def test_the_sign_in_page_lists_every_configured_provider_by_name(eid, client, db):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Sign in with {PROVIDER_NAME}" in page
    assert f"Sign in with {OTHER_NAME}" in page
    assert f"/accounts/oidc/{PROVIDER_ID}/login/" in page
    assert f"/accounts/oidc/{OTHER_ID}/login/" in page


@live
def test_a_verified_email_signs_in_after_the_profile_is_completed(eid, live_server, browser):
    base = live_server.url
    completion = eid_sign_in(
        browser, base, eid, "sub-verified", **claims_for("ada.verified@example.test", verified=True)
    )
    # The completion page always shows on the first sign-in, filled from the provider's claims.
    assert path(completion) == "/accounts/3rdparty/signup/"
    fields = forms(completion.text)[-1].fields
    assert fields["first_name"] == "Ada"
    assert fields["last_name"] == "Lovelace"
    assert fields["email"] == "ada.verified@example.test"
    assert f"{PROVIDER_NAME} has confirmed this address" in text(completion)
    assert not User.objects.filter(email="ada.verified@example.test").exists()
    assert me(browser, base).status_code == 401

    # The terms must be accepted: the page says so and nothing is created.
    refused = complete_profile(browser, completion, accept_terms="")
    assert path(refused) == "/accounts/3rdparty/signup/"
    assert "There is a problem" in text(refused)
    assert "Accept the terms of use to create your account." in text(refused)
    assert not User.objects.filter(username="ada_eid_2024").exists()

    done = complete_profile(browser, refused)
    assert done.status_code == 200
    assert path(done) == "/", (done.url, text(done)[:2000])
    assert "Welcome, Ada Lovelace." in text(done)
    profile = me(browser, base)
    assert profile.status_code == 200
    assert profile.json()["username"] == "ada_eid_2024"
    assert profile.json()["email"] == "ada.verified@example.test"

    user = User.objects.get(username="ada_eid_2024")
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    assert not user.has_usable_password()
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("ada.verified@example.test", True)
    ]
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == (PROVIDER_ID, "sub-verified")
    assert TermsAcceptance.objects.filter(user=user).exists()
    assert not OutboxMessage.objects.filter(template__contains="email_confirmation").exists()
    actions = list(
        AuditEvent.objects.filter(subject_id=str(user.pk)).values_list("action", flat=True)
    )
    assert {"account.created", "eid.linked", "terms.accepted", "login.succeeded"} <= set(actions)
    assert AuditEvent.objects.get(action="eid.linked", subject_id=str(user.pk)).data == {
        "provider": PROVIDER_ID,
        "on": "signup",
    }

    # Signing out and in again with the same eID goes straight in: no second completion page.
    submit(browser, browser.get(f"{base}/accounts/logout/"))
    assert me(browser, base).status_code == 401
    again = eid_sign_in(browser, base, eid, "sub-verified")
    assert path(again) == "/"
    assert me(browser, base).json()["username"] == "ada_eid_2024"


@live
def test_an_unverified_email_must_be_confirmed_before_signing_in(eid, live_server, browser):
    base = live_server.url
    email = "ada.unverified@example.test"
    completion = eid_sign_in(
        browser, base, eid, "sub-unverified", **claims_for(email, verified=False)
    )
    assert "We will send a confirmation link to this address." in text(completion)
    sent = complete_profile(browser, completion)
    assert path(sent) == "/accounts/confirm-email/"
    assert "Confirm your email address" in text(sent)
    assert me(browser, base).status_code == 401

    user = User.objects.get(username="ada_eid_2024")
    assert EmailAddress.objects.get(user=user).verified is False
    assert SocialAccount.objects.filter(user=user, provider=PROVIDER_ID).exists()
    message = OutboxMessage.objects.get(to=email, template__contains="email_confirmation")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body_text).group(0)

    # Until the address is confirmed the eID does not sign in either.
    blocked = eid_sign_in(browser, base, eid, "sub-unverified")
    assert path(blocked) == "/accounts/confirm-email/"
    assert me(browser, base).status_code == 401

    confirm_page = browser.get(link)
    submit(browser, confirm_page)
    assert EmailAddress.objects.get(user=user).verified is True

    signed_in = eid_sign_in(browser, base, eid, "sub-unverified")
    assert path(signed_in) == "/"
    assert me(browser, base).json()["username"] == "ada_eid_2024"


@live
def test_another_address_than_the_one_the_provider_verified_must_be_confirmed(
    eid, live_server, browser
):
    base = live_server.url
    completion = eid_sign_in(
        browser, base, eid, "sub-other-address", **claims_for("ada.idp@example.test", verified=True)
    )
    sent = complete_profile(browser, completion, email="ada.typed@example.test")
    assert path(sent) == "/accounts/confirm-email/"
    assert me(browser, base).status_code == 401
    user = User.objects.get(username="ada_eid_2024")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("ada.typed@example.test", False)
    ]
    assert OutboxMessage.objects.filter(
        to="ada.typed@example.test", template__contains="email_confirmation"
    ).exists()


@live
def test_an_existing_account_is_linked_only_after_its_password_is_given(eid, live_server, browser):
    base = live_server.url
    owner = UserFactory(username="ada_password", email="ada.owner@example.test")

    # The eID asserts (even as verified) the address of an existing account: no sign-in, no link,
    # no new account; the person is told to sign in with their password first.
    refused = eid_sign_in(
        browser, base, eid, "sub-owner", **claims_for("ada.owner@example.test", verified=True)
    )
    assert path(refused) == "/accounts/login/"
    assert "An account already uses the email address that Test eID gave us." in text(refused)
    assert "Sign in to that account with your username and password" in text(refused)
    assert me(browser, base).status_code == 401
    assert not SocialAccount.objects.exists()
    assert User.objects.count() == 1
    assert AuditEvent.objects.filter(action="eid.signin_refused", subject_id=str(owner.pk)).exists()
    # Nothing is left pending: the completion page is not reachable.
    assert path(browser.get(f"{base}/accounts/3rdparty/signup/")) == "/accounts/login/"

    # Password sign-in, which the refusal page leads to, lands on the eID page ...
    connections = submit(browser, refused, {"login": "ada_password", "password": PASSWORD})
    assert path(connections) == "/accounts/3rdparty/"
    assert me(browser, base).json()["username"] == "ada_password"
    assert "No eID is connected to your account yet" in text(connections)

    # ... where the person connects the eID: the provider's page, then back.
    connect_link = re.search(
        rf'href="([^"]*/accounts/oidc/{PROVIDER_ID}/login/\?process=connect[^"]*)"',
        connections.text,
    ).group(1)
    assert f"Connect {PROVIDER_NAME}" in text(connections)
    provider_page = submit(browser, browser.get(base + connect_link.replace("&amp;", "&")))
    back = eid.authorize(browser, provider_page, "sub-owner")
    # Before the eID is attached, the password is asked again, however recent the sign-in.
    assert path(back) == "/accounts/reauthenticate/"
    assert not SocialAccount.objects.exists()
    connected = submit(browser, back, {"password": PASSWORD})
    assert path(connected) == "/accounts/3rdparty/"
    assert "sub-owner" in text(connected)
    account = SocialAccount.objects.get()
    assert (account.user_id, account.provider, account.uid) == (owner.pk, PROVIDER_ID, "sub-owner")
    linked = AuditEvent.objects.get(action="eid.linked", subject_id=str(owner.pk))
    assert linked.actor_id == owner.pk
    assert linked.data["provider"] == PROVIDER_ID

    # From now on the eID alone signs in to that account.
    submit(browser, browser.get(f"{base}/accounts/logout/"))
    assert me(browser, base).status_code == 401
    signed_in = eid_sign_in(browser, base, eid, "sub-owner")
    assert path(signed_in) == "/"
    assert me(browser, base).json()["username"] == "ada_password"
    assert User.objects.count() == 1


@live
def test_typing_the_address_of_an_existing_account_reveals_nothing_and_creates_nothing(
    eid, live_server, browser
):
    """The completion page behaves like the password sign-up: the next page looks the same as for
    a new address, and the owner of the address is told by mail instead."""
    base = live_server.url
    UserFactory(username="ada_password", email="ada.owner@example.test")
    completion = eid_sign_in(
        browser, base, eid, "sub-typist", **claims_for("ada.new@example.test", verified=True)
    )
    sent = complete_profile(browser, completion, email="ada.owner@example.test")
    assert path(sent) == "/accounts/confirm-email/"
    assert me(browser, base).status_code == 401
    assert User.objects.count() == 1
    assert not SocialAccount.objects.exists()
    notice = OutboxMessage.objects.get(to="ada.owner@example.test")
    assert "account_already_exists" in notice.template


@live
def test_the_same_subject_at_another_provider_is_another_identity(eid, live_server, browser):
    base = live_server.url
    owner = UserFactory(username="ada_password", email="ada.owner@example.test")
    SocialAccount.objects.create(user=owner, provider=PROVIDER_ID, uid="sub-shared")
    eid.set_claims("sub-shared", **claims_for("someone.else@example.test", verified=True))

    completion = eid_sign_in(browser, base, eid, "sub-shared", provider_id=OTHER_ID)
    assert path(completion) == "/accounts/3rdparty/signup/"
    assert f"Signed in with {OTHER_NAME}" in text(completion)
    assert me(browser, base).status_code == 401


@live
def test_refusing_at_the_provider_signs_nobody_in(eid, live_server, browser):
    base = live_server.url
    page = start_eid_sign_in(browser, base)
    refused = submit(browser, page, {"action": "deny"}, having="action")
    # oidc-provider-mock sends `error=access_denied` back without the `state`, so allauth cannot
    # tell a refusal from a forged callback: it shows the error page (a refusal that carries the
    # state shows the "cancelled" page instead).
    assert "error=access_denied" in refused.url
    assert refused.status_code == 401
    assert "Sign-in with your eID did not work" in text(refused)
    assert me(browser, base).status_code == 401
    assert not User.objects.exists()


# --- Start-up checks of COMPTOIR_OIDC_PROVIDERS, in a real `manage.py check` process ---------


def _check(tmp_path: Path, providers: str) -> subprocess.CompletedProcess[str]:
    return manage_check(
        {"COMPTOIR_OIDC_PROVIDERS": providers, "COMPTOIR_VAR_DIR": str(tmp_path)},
        drop=("COMPTOIR_OIDC_PROVIDERS",),
    )


GOOD = {
    "id": "franceconnect",
    "name": "FranceConnect",
    "issuer": "https://idp.example.test",
    "client_id": "comptoir",
    "client_secret": "s3cret",
}


def test_a_valid_provider_list_starts(tmp_path):
    result = _check(tmp_path, json.dumps([GOOD, {**GOOD, "id": "itsme", "name": "itsme"}]))
    assert result.returncode == 0, result.stderr


def test_bad_json_refuses_to_start_with_a_clear_message(tmp_path):
    result = _check(tmp_path, '[{"id": "franceconnect",')
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line
    assert "COMPTOIR_OIDC_PROVIDERS is not valid JSON" in last_line


@pytest.mark.parametrize("key", ["id", "name", "issuer", "client_id", "client_secret"])
def test_a_missing_key_refuses_to_start_and_names_it(tmp_path, key):
    entry = {k: v for k, v in GOOD.items() if k != key}
    result = _check(tmp_path, json.dumps([entry]))
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line
    assert "COMPTOIR_OIDC_PROVIDERS" in last_line
    assert key in last_line


@pytest.mark.parametrize(
    "value",
    [
        json.dumps(GOOD),
        json.dumps(["franceconnect"]),
        json.dumps([GOOD, {**GOOD, "name": "Twice"}]),
        json.dumps([{**GOOD, "id": "france/connect"}]),
        json.dumps([{**GOOD, "issuer": "idp.example.test"}]),
    ],
    ids=["not-a-list", "not-objects", "duplicate-id", "id-not-url-safe", "issuer-not-a-url"],
)
def test_a_malformed_provider_list_refuses_to_start(tmp_path, value):
    result = _check(tmp_path, value)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line
    assert "COMPTOIR_OIDC_PROVIDERS" in last_line
