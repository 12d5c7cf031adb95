"""Sign-in security: password, TOTP (RFC 6238) and recovery codes, staff TOTP rule, rate limit,
password reset by e-mail link, sign out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from urllib.parse import urlsplit

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import SESSION_KEY

from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from tests.factories import PASSWORD, UserFactory
from tests.mail import run_worker

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
MFA_AUTHENTICATE = "/accounts/2fa/authenticate/"
TOTP_ACTIVATE = "/accounts/2fa/totp/activate/"


# --- RFC 6238 in a few lines, independent of allauth's implementation -------------------------


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def rfc6238(secret_b32: str, at: float, *, digits: int = 6, period: int = 30) -> str:
    key = base64.b32decode(secret_b32, casefold=True)
    mac = hmac.new(key, struct.pack(">Q", int(at // period)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def current_code(secret_b32: str, *, min_remaining: float = 3.0) -> str:
    """The code of the current 30-second step, waiting for the next step when this one is about
    to end (so that the code is still valid when the server checks it)."""
    remaining = 30 - time.time() % 30
    if remaining < min_remaining:
        time.sleep(remaining + 0.05)
    return rfc6238(secret_b32, time.time())


def with_totp(user: User) -> str:
    """Give the person an authenticator app; returns its base32 secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def password_step(client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"login": username, "password": password}, **extra)


def signed_in_user_id(client) -> str | None:
    return client.session.get(SESSION_KEY)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True))


def test_the_rfc6238_helper_matches_the_rfc_test_vectors():
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert rfc6238(secret, 59, digits=8) == "94287082"
    assert rfc6238(secret, 1111111109, digits=8) == "07081804"
    assert rfc6238(secret, 2000000000, digits=8) == "69279037"
    assert rfc6238(secret, 59) == "287082"


# --- Password ------------------------------------------------------------------------------


def test_sign_in_with_username_and_password(client):
    person = UserFactory()
    response = password_step(client, person.username)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == str(person.pk)
    event = AuditEvent.objects.get(action="login.succeeded")
    assert event.actor_id == person.pk


def test_a_wrong_password_is_refused_and_audited(client):
    person = UserFactory()
    response = password_step(client, person.username, "Wrong-Passw0rd!", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    event = AuditEvent.objects.get(action="login.failed")
    assert event.subject_id == str(person.pk)
    assert event.ip == "203.0.113.9"
    assert event.data == {"username": person.username}


def test_repeated_password_failures_are_rate_limited_and_audited(client):
    person = UserFactory()
    for _ in range(5):
        password_step(client, person.username, "Wrong-Passw0rd!")
    assert actions().count("login.failed") == 5
    # Even the right password is refused now: the limit protects the account, not the guess.
    response = password_step(client, person.username)
    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    assert "Too many failed login attempts" in response.content.decode()
    assert "login.rate_limited" in actions()
    assert "login.succeeded" not in actions()
    # Another account is not affected by this one's limit.
    other = UserFactory()
    assert password_step(client, other.username).status_code == 302


def test_a_successful_sign_in_does_not_count_towards_the_limit(client):
    person = UserFactory()
    for _ in range(4):
        password_step(client, person.username, "Wrong-Passw0rd!")
    for _ in range(3):
        assert password_step(client, person.username).status_code == 302
        client.post("/accounts/logout/")
    assert "login.rate_limited" not in actions()


def test_sign_out_is_a_post(client):
    person = UserFactory()
    password_step(client, person.username)
    page = client.get("/accounts/logout/")
    assert page.status_code == 200  # a confirmation page: GET changes nothing
    assert signed_in_user_id(client) == str(person.pk)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert signed_in_user_id(client) is None
    assert actions()[-1] == "logout"
    assert client.get("/profile/").status_code == 302


# --- TOTP and recovery codes ---------------------------------------------------------------


def test_totp_is_asked_after_the_password_and_a_wrong_code_is_refused_and_audited(client):
    person = UserFactory()
    secret = with_totp(person)
    response = password_step(client, person.username)
    assert response.status_code == 302
    assert response["Location"] == MFA_AUTHENTICATE
    assert signed_in_user_id(client) is None  # not signed in before the second factor
    assert client.get("/profile/")["Location"].startswith(LOGIN)

    good = current_code(secret)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    refused = client.post(MFA_AUTHENTICATE, {"code": wrong})
    assert refused.status_code == 200
    assert "Incorrect code" in refused.content.decode()
    assert signed_in_user_id(client) is None
    failed = AuditEvent.objects.get(action="mfa.failed")
    assert failed.subject_id == str(person.pk)
    assert failed.data == {"type": "totp"}

    accepted = client.post(MFA_AUTHENTICATE, {"code": current_code(secret)})
    assert accepted.status_code == 302
    assert signed_in_user_id(client) == str(person.pk)
    assert client.get("/profile/").status_code == 200


def test_a_totp_code_works_only_once(client):
    person = UserFactory()
    secret = with_totp(person)
    code = current_code(secret, min_remaining=12)
    password_step(client, person.username)
    assert client.post(MFA_AUTHENTICATE, {"code": code}).status_code == 302
    assert signed_in_user_id(client) == str(person.pk)
    client.post("/accounts/logout/")

    # Same code, same 30-second step, from someone who saw it: refused.
    password_step(client, person.username)
    replay = client.post(MFA_AUTHENTICATE, {"code": code})
    assert replay.status_code == 200
    assert "Incorrect code" in replay.content.decode()
    assert signed_in_user_id(client) is None
    assert actions().count("mfa.failed") == 1


def test_recovery_codes_work_once_each(client):
    person = UserFactory()
    with_totp(person)
    codes = RecoveryCodes.activate(person).get_unused_codes()
    assert len(codes) >= 2

    password_step(client, person.username)
    assert client.post(MFA_AUTHENTICATE, {"code": codes[0]}).status_code == 302
    assert signed_in_user_id(client) == str(person.pk)
    client.post("/accounts/logout/")

    password_step(client, person.username)
    again = client.post(MFA_AUTHENTICATE, {"code": codes[0]})
    assert again.status_code == 200
    assert signed_in_user_id(client) is None

    assert client.post(MFA_AUTHENTICATE, {"code": codes[1]}).status_code == 302
    assert signed_in_user_id(client) == str(person.pk)
    remaining = RecoveryCodes(
        Authenticator.objects.get(user=person, type=Authenticator.Type.RECOVERY_CODES)
    ).get_unused_codes()
    assert codes[0] not in remaining and codes[1] not in remaining
    assert len(remaining) == len(codes) - 2


def test_wrong_codes_are_rate_limited(client):
    person = UserFactory()
    secret = with_totp(person)
    password_step(client, person.username)
    for _ in range(5):
        client.post(MFA_AUTHENTICATE, {"code": "000000"})
    blocked = client.post(MFA_AUTHENTICATE, {"code": current_code(secret)})
    assert signed_in_user_id(client) is None
    assert blocked.status_code in (200, 429)
    assert actions().count("mfa.failed") == 5


# --- Staff must use TOTP -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_staff",
    [
        lambda: UserFactory(is_staff=True),
        lambda: UserFactory(is_superuser=True),
        lambda: UserFactory(group="Customs officers"),
        lambda: UserFactory(group="Service desk"),
    ],
    ids=["is_staff", "superuser", "officers_group", "service_desk_group"],
)
def test_staff_without_totp_can_reach_nothing_but_the_totp_set_up(client, make_staff):
    staff = make_staff()
    assert password_step(client, staff.username).status_code == 302
    assert signed_in_user_id(client) == str(staff.pk)

    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == TOTP_ACTIVATE
    for path in ("/profile/", "/profile/export.json", "/audit/", "/admin/", "/terms/accept/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(TOTP_ACTIVATE), path
    # Changes are refused too, and the API answers with a code.
    refused = client.post("/profile/details/", {"first_name": "Eve", "last_name": "Hacker"})
    assert refused["Location"] == TOTP_ACTIVATE
    staff.refresh_from_db()
    assert staff.first_name == "Ada"
    api = client.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json()["code"] == "totp_required"

    # The set-up page itself is open (allauth asks for the password again first); activating
    # TOTP opens the rest.
    ask = client.get(TOTP_ACTIVATE)
    assert ask["Location"].startswith("/accounts/reauthenticate/")
    reauthenticated = client.post(ask["Location"], {"password": PASSWORD})
    assert reauthenticated["Location"] == TOTP_ACTIVATE
    page = client.get(TOTP_ACTIVATE)
    assert page.status_code == 200
    secret = page.context["form"].secret
    activated = client.post(TOTP_ACTIVATE, {"code": current_code(secret)})
    assert activated.status_code == 302
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert "mfa.added" in actions()
    assert client.get("/profile/").status_code == 200
    assert client.get("/api/v1/me").json()["two_factor_enabled"] is True


def test_staff_with_totp_sign_in_with_both_factors(client):
    staff = UserFactory(is_staff=True, group="Administrators")
    secret = with_totp(staff)
    assert password_step(client, staff.username)["Location"] == MFA_AUTHENTICATE
    assert client.post(MFA_AUTHENTICATE, {"code": current_code(secret)}).status_code == 302
    assert client.get("/audit/").status_code == 200


def test_a_person_outside_staff_groups_is_not_forced_to_use_totp(client):
    person = UserFactory(group="Traders")
    password_step(client, person.username)
    assert client.get("/profile/").status_code == 200


def test_staff_who_remove_their_totp_are_sent_back_to_set_it_up(client):
    staff = UserFactory(is_staff=True)
    secret = with_totp(staff)
    password_step(client, staff.username)
    client.post(MFA_AUTHENTICATE, {"code": current_code(secret)})
    assert client.get("/profile/").status_code == 200
    Authenticator.objects.filter(user=staff).delete()
    assert client.get("/profile/")["Location"].startswith(TOTP_ACTIVATE)


# --- Password reset ------------------------------------------------------------------------


def test_password_reset_by_email_link(client, smtp_server):
    person = UserFactory()
    new_password = "N3w-Passw0rd!long"
    response = client.post("/accounts/password/reset/", {"email": person.email})
    assert response.status_code == 302
    assert smtp_server.messages == []  # never sent inside the request
    run_worker()
    mail = smtp_server.last_to(person.email)
    links = [link for link in smtp_server.links(mail) if "/password/reset/key/" in link]
    assert len(links) == 1

    # The link leads to the form that sets the new password.
    form_page = client.get(urlsplit(links[0]).path, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    assert "set-password" in set_password_url
    done = client.post(set_password_url, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302
    assert "password.changed" in actions()

    # The new password works, the old one no longer does, the link works once.
    assert password_step(client, person.username, PASSWORD).status_code == 200
    assert password_step(client, person.username, new_password).status_code == 302
    client.post("/accounts/logout/")
    reused = client.get(urlsplit(links[0]).path, follow=True)
    assert b'name="password1"' not in reused.content
    assert audit_verify() is None


def test_a_password_reset_for_an_unknown_address_sends_no_link(client, smtp_server):
    UserFactory()
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    assert response.status_code == 302  # same answer as for a known address
    run_worker()
    for mail in smtp_server.to("nobody@example.test"):
        assert not [link for link in smtp_server.links(mail) if "/password/reset/key/" in link]


def test_the_code_that_turned_totp_on_cannot_sign_in(client):
    person = UserFactory()
    password_step(client, person.username)
    ask = client.get(TOTP_ACTIVATE)
    if ask.status_code == 302:
        client.post(ask["Location"], {"password": PASSWORD})
    secret = client.get(TOTP_ACTIVATE).context["form"].secret
    code = current_code(secret, min_remaining=10)
    assert client.post(TOTP_ACTIVATE, {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    assert password_step(client, person.username)["Location"] == MFA_AUTHENTICATE
    refused = client.post(MFA_AUTHENTICATE, {"code": code})
    assert refused.status_code == 200
    assert signed_in_user_id(client) is None


def test_staff_cannot_turn_their_totp_off(client):
    staff = UserFactory(is_staff=True)
    secret = with_totp(staff)
    password_step(client, staff.username)
    client.post(MFA_AUTHENTICATE, {"code": current_code(secret)})
    client.post(client.get("/accounts/2fa/totp/deactivate/")["Location"], {"password": PASSWORD})
    refused = client.post("/accounts/2fa/totp/deactivate/")
    assert refused.status_code == 200
    assert "you cannot turn it off" in refused.content.decode()
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert "mfa.removed" not in actions()


def test_an_officer_position_at_an_authority_makes_totp_mandatory(client):
    from comptoir.operators.models import Authority
    from comptoir.operators.services import position_appoint

    officer = UserFactory()
    authority = Authority.objects.create(
        code="FR-TEST", name="Bureau test", country="FR", kind=Authority.Kind.CUSTOMS_OFFICE
    )
    password_step(client, officer.username)
    assert client.get("/profile/").status_code == 200
    position_appoint(actor=None, person=officer, role="officer", authority=authority)
    assert client.get("/profile/")["Location"].startswith(TOTP_ACTIVATE)
