"""E-mail confirmation end to end: the link is delivered over SMTP by the background worker and
followed from the received message; it expires, works once, and is voided by a newer link or a
change of address; "send the link again" reveals nothing and is rate-limited; an unconfirmed
account cannot sign in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress, EmailConfirmation
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone

from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.notifications.models import OutboxMessage
from tests.factories import PASSWORD, UserFactory, reauthenticate, signup_data
from tests.mail import run_worker

pytestmark = pytest.mark.django_db

RESEND_URL = "/account/confirm-email/resend/"
EXPIRED = "This link has expired or has already been used"
CONFIRM_PAGE = "Confirm your email address"


def sign_up(client, *, username="ada_lovelace", email="ada@example.test"):
    response = client.post(
        "/accounts/signup/",
        signup_data(username=username, email=email),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return User.objects.get(username=username)


def confirmation_links(inbox, address: str) -> list[str]:
    """Every confirmation link received by `address`, oldest first, as paths."""
    paths = []
    for message in inbox.to(address):
        paths += [
            urlsplit(link).path
            for link in inbox.links(message)
            if "/accounts/confirm-email/" in link
        ]
    return paths


def last_link(inbox, address: str) -> str:
    links = confirmation_links(inbox, address)
    assert links, f"no confirmation link reached {address}"
    return links[-1]


def page(response) -> str:
    return response.content.decode()


def get(client, path: str):
    return client.get(path, HTTP_ACCEPT_LANGUAGE="en")


def post(client, path: str, data: dict | None = None):
    return client.post(path, data or {}, HTTP_ACCEPT_LANGUAGE="en")


def backdate_link(*, email: str, age: timedelta) -> None:
    updated = EmailConfirmation.objects.filter(email_address__email=email).update(
        sent=timezone.now() - age
    )
    assert updated == 1


def is_verified(email: str) -> bool:
    return EmailAddress.objects.get(email=email).verified


def test_the_link_is_delivered_over_smtp_and_confirms_the_address(client, smtp_server):
    user = sign_up(client)

    assert smtp_server.messages == []  # written to the outbox, not sent inside the request
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.QUEUED
    run_worker()

    message = smtp_server.last_to("ada@example.test")
    assert message["Subject"] == "[Comptoir] Please Confirm Your Email Address"
    text = smtp_server.text(message)
    assert "Hello from Comptoir!" in text
    assert "The link works only once and expires after 1\xa0day." in text
    path = last_link(smtp_server, "ada@example.test")

    response = get(client, path)  # GET shows the page, it does not confirm
    assert response.status_code == 200
    assert CONFIRM_PAGE in page(response)
    assert "ada@example.test" in page(response)
    assert f'action="{path}"' in page(response)
    assert not is_verified("ada@example.test")

    response = post(client, path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    address = EmailAddress.objects.get(user=user)
    assert address.verified and address.primary
    assert not EmailConfirmation.objects.exists()  # used links are gone

    response = post(client, "/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_and_confirmation_are_audited(client, smtp_server):
    user = sign_up(client)
    run_worker()
    post(client, last_link(smtp_server, "ada@example.test"))

    events = {
        event.action: event
        for event in AuditEvent.objects.filter(subject_type="accounts.user", subject_id=user.pk)
    }
    assert {"account.created", "email.confirmation_sent", "email.confirmed"} <= set(events)
    assert events["email.confirmation_sent"].data == {"email": "ada@example.test", "signup": True}
    assert events["email.confirmed"].data == {"email": "ada@example.test"}
    assert events["email.confirmed"].ip == "127.0.0.1"
    assert audit_verify() is None


def test_a_link_works_only_once(client, smtp_server):
    sign_up(client)
    run_worker()
    path = last_link(smtp_server, "ada@example.test")
    assert post(client, path).status_code == 302
    confirmed_events = AuditEvent.objects.filter(action="email.confirmed").count()

    response = get(client, path)
    assert response.status_code == 200
    assert EXPIRED in page(response)
    assert "Send the link again" in page(response)

    response = post(client, path)  # a second click on "Confirm", from a stale tab
    assert response.status_code == 200
    assert EXPIRED in page(response)
    assert is_verified("ada@example.test")
    assert AuditEvent.objects.filter(action="email.confirmed").count() == confirmed_events


def test_the_link_lifetime_comes_from_the_comptoir_setting():
    assert django_settings.COMPTOIR_EMAIL_CONFIRMATION_HOURS == 24
    assert django_settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS == 1


def test_allauth_reads_a_configured_lifetime_in_hours():
    """Load the settings in a fresh interpreter with COMPTOIR_EMAIL_CONFIRMATION_HOURS=2 and
    ask allauth itself which lifetime it applies to database-backed links."""
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "COMPTOIR_EMAIL_CONFIRMATION_HOURS": "2",
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
        "PYTHONPATH": str(root / "src"),
    }
    code = (
        "import django; django.setup()\n"
        "from datetime import timedelta\n"
        "from allauth.account import app_settings\n"
        "from allauth.account.models import EmailConfirmation\n"
        "assert not app_settings.EMAIL_CONFIRMATION_HMAC\n"
        "print(timedelta(days=app_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "2:00:00"


@pytest.mark.parametrize(
    ("age", "usable"),
    [
        (timedelta(hours=24) - timedelta(minutes=1), True),
        (timedelta(hours=24) + timedelta(seconds=1), False),
    ],
)
def test_a_link_expires_after_the_configured_hours(client, smtp_server, age, usable):
    sign_up(client)
    run_worker()
    path = last_link(smtp_server, "ada@example.test")
    backdate_link(email="ada@example.test", age=age)

    response = get(client, path)
    assert (CONFIRM_PAGE in page(response) and EXPIRED not in page(response)) is usable
    assert (EXPIRED in page(response)) is not usable

    response = post(client, path)
    assert is_verified("ada@example.test") is usable
    if not usable:
        assert EXPIRED in page(response)


def test_a_shorter_lifetime_is_honoured(client, smtp_server, settings):
    settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 2 / 24  # what 2 hours derive to
    sign_up(client)
    run_worker()
    path = last_link(smtp_server, "ada@example.test")

    backdate_link(email="ada@example.test", age=timedelta(hours=2, minutes=1))
    assert EXPIRED in page(get(client, path))
    backdate_link(email="ada@example.test", age=timedelta(hours=1, minutes=59))
    assert EXPIRED not in page(get(client, path))
    post(client, path)
    assert is_verified("ada@example.test")


def test_a_newer_link_voids_the_earlier_one(client, smtp_server):
    sign_up(client)
    run_worker()
    first = last_link(smtp_server, "ada@example.test")

    response = post(client, RESEND_URL, {"email": "ada@example.test"})
    assert response.status_code == 200
    run_worker()
    second = last_link(smtp_server, "ada@example.test")
    assert second != first
    assert EmailConfirmation.objects.count() == 1

    assert EXPIRED in page(get(client, first))
    post(client, first)
    assert not is_verified("ada@example.test")

    post(client, second)
    assert is_verified("ada@example.test")


def sign_in(client, user) -> None:
    response = post(client, "/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_change_of_address_voids_the_pending_link(client, smtp_server):
    user = UserFactory(username="ada_lovelace", email="ada@example.test")
    sign_in(client, user)
    reauthenticate(client)

    response = post(client, "/accounts/email/", {"action_add": "", "email": "b@example.test"})
    assert response.status_code == 302, page(response)
    run_worker()
    to_b = last_link(smtp_server, "b@example.test")

    # She changes her mind before confirming: the link sent to b@ stops working.
    post(client, "/accounts/email/", {"action_add": "", "email": "c@example.test"})
    run_worker()
    to_c = last_link(smtp_server, "c@example.test")
    assert EXPIRED in page(get(client, to_b))
    post(client, to_b)
    assert not EmailAddress.objects.filter(email="b@example.test").exists()

    assert CONFIRM_PAGE in page(get(client, to_c))
    post(client, to_c)
    user.refresh_from_db()
    assert user.email == "c@example.test"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("c@example.test", True)
    ]
    assert AuditEvent.objects.filter(action="email.changed", subject_id=user.pk).exists()
    # The old address is told about the change.
    run_worker()
    notice = smtp_server.last_to("ada@example.test")
    assert "c@example.test" in smtp_server.text(notice)


def test_a_pending_link_dies_when_the_change_is_cancelled(client, smtp_server):
    user = UserFactory(username="ada_lovelace", email="ada@example.test")
    sign_in(client, user)
    reauthenticate(client)
    post(client, "/accounts/email/", {"action_add": "", "email": "b@example.test"})
    run_worker()
    to_b = last_link(smtp_server, "b@example.test")

    post(client, "/accounts/email/", {"action_remove": "", "email": "b@example.test"})
    assert EXPIRED in page(get(client, to_b))
    user.refresh_from_db()
    assert user.email == "ada@example.test"


def test_an_unconfirmed_account_cannot_sign_in_and_is_told_where_the_link_went(client, smtp_server):
    user = sign_up(client)
    client.logout()
    client.cookies.clear()

    response = post(client, "/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session

    response = get(client, response["Location"])
    assert response.status_code == 200
    assert "We have sent a confirmation link to <strong>ada@example.test</strong>." in page(
        response
    )
    assert f'href="{RESEND_URL}"' in page(response)
    assert get(client, "/profile/")["Location"].startswith("/accounts/login/")


def test_signing_in_later_sends_a_fresh_link(client, smtp_server):
    user = sign_up(client)
    run_worker()
    first = last_link(smtp_server, "ada@example.test")
    backdate_link(email="ada@example.test", age=timedelta(hours=25))
    client.cookies.clear()
    cache.clear()  # a day later: allauth's "one link per 3 minutes" window has long passed

    # allauth sends a new link when an unconfirmed person signs in.
    response = post(client, "/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert response["Location"] == "/accounts/confirm-email/"
    run_worker()
    fresh = last_link(smtp_server, "ada@example.test")
    assert fresh != first
    post(client, fresh)
    assert is_verified("ada@example.test")


def _normalised(response, email: str) -> str:
    html = page(response).replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_the_resend_page_answers_the_same_whether_or_not_an_account_waits(client, smtp_server):
    UserFactory(username="confirmed_1", email="done@example.test")  # already confirmed
    user = UserFactory(username="waiting_1", email="wait@example.test", verified=False)
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)

    form = get(client, RESEND_URL)
    assert form.status_code == 200
    assert 'name="email"' in page(form)

    answers = {
        email: post(client, RESEND_URL, {"email": email})
        for email in ("wait@example.test", "nobody@example.test", "done@example.test")
    }
    assert {response.status_code for response in answers.values()} == {200}
    normalised = {_normalised(response, email) for email, response in answers.items()}
    assert len(normalised) == 1
    assert "Check your email" in normalised.pop()

    run_worker()
    assert [str(m["To"]) for m in smtp_server.messages] == ["wait@example.test"]
    post(client, last_link(smtp_server, "wait@example.test"))
    assert is_verified("wait@example.test")


def test_the_resend_page_checks_the_address(client):
    response = post(client, RESEND_URL, {"email": "not an address"})
    assert response.status_code == 200
    assert (
        "Enter an email address in the correct format, like name@example.com."
        in response.context["form"].errors["email"]
    )
    response = post(client, RESEND_URL, {"email": ""})
    assert (
        "Enter the email address you used to create your account."
        in response.context["form"].errors["email"]
    )
    assert not OutboxMessage.objects.exists()


def test_the_resend_page_is_rate_limited(client, smtp_server):
    user = UserFactory(username="waiting_1", email="wait@example.test", verified=False)
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)

    for _ in range(3):
        assert post(client, RESEND_URL, {"email": "wait@example.test"}).status_code == 200
    assert OutboxMessage.objects.count() == 3

    response = post(client, RESEND_URL, {"email": "wait@example.test"})
    assert response.status_code == 200
    assert "Check your email" in page(response)  # same answer …
    assert OutboxMessage.objects.count() == 3  # … but nothing sent
    run_worker()
    assert len(smtp_server.to("wait@example.test")) == 3
    # Only the newest link of the three works.
    links = confirmation_links(smtp_server, "wait@example.test")
    working = [link for link in links if EXPIRED not in page(get(client, link))]
    assert working == [f"/accounts/confirm-email/{EmailConfirmation.objects.get().key}/"]
