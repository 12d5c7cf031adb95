"""Profile: details, e-mail change, language, TOTP on/off, data export, API tokens; staff audit
view of a person's events."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection

from comptoir.accounts import services
from comptoir.accounts.models import ApiToken
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_record, audit_verify
from tests.accounts.test_signin import current_code, password_step
from tests.factories import PASSWORD, UserFactory, reauthenticate
from tests.mail import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True))


# --- Details -------------------------------------------------------------------------------


def test_edit_details(client):
    person = UserFactory(phone="", postal_address="")
    client.force_login(person)
    page = client.get("/profile/details/")
    assert page.status_code == 200
    assert 'value="Ada"' in page.content.decode()

    response = client.post(
        "/profile/details/",
        {
            "first_name": "  Grace ",
            "last_name": "Hopper",
            "phone": "+33 1 23 45 67 89",
            "postal_address": "1 rue de la Paix\n75002 Paris",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    person.refresh_from_db()
    assert (person.first_name, person.last_name) == ("Grace", "Hopper")
    assert person.phone == "+33 1 23 45 67 89"
    assert person.postal_address == "1 rue de la Paix\n75002 Paris"
    event = AuditEvent.objects.get(action="profile.updated")
    assert event.actor_id == person.pk and event.subject_id == str(person.pk)
    assert event.data == {"fields": ["first_name", "last_name", "phone", "postal_address"]}

    # Saving the same details again is no change: nothing is recorded.
    client.post(
        "/profile/details/",
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "phone": "+33 1 23 45 67 89",
            "postal_address": "1 rue de la Paix\n75002 Paris",
        },
    )
    assert AuditEvent.objects.filter(action="profile.updated").count() == 1


@pytest.mark.parametrize(
    ("data", "messages"),
    [
        (
            {"first_name": "", "last_name": "", "phone": "+44 20 7946 0000"},
            ["Enter your first name.", "Enter your last name."],
        ),
        ({"first_name": "   ", "last_name": "Hopper"}, ["Enter your first name."]),
        ({"first_name": "Grace", "last_name": ""}, ["Enter your last name."]),
        ({}, ["Enter your first name.", "Enter your last name."]),
        (
            {"first_name": "Grace", "last_name": "Hopper", "phone": "call me"},
            ["Enter a phone number using only digits"],
        ),
    ],
)
def test_bad_details_get_specific_messages_and_change_nothing(client, data, messages):
    person = UserFactory(phone="+33 6 00 00 00 00")
    client.force_login(person)
    response = client.post("/profile/details/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    for message in messages:
        assert message in html
    person.refresh_from_db()
    assert (person.first_name, person.last_name) == ("Ada", "Lovelace")
    assert person.phone == "+33 6 00 00 00 00"
    assert "profile.updated" not in actions()


def test_the_service_refuses_empty_names_too():
    person = UserFactory()
    with pytest.raises(Exception, match="Enter your first name"):
        services.profile_update(user=person, actor=person, first_name=" ")
    person.refresh_from_db()
    assert person.first_name == "Ada"


def test_the_profile_needs_a_signed_in_person(client):
    for path in ("/profile/", "/profile/details/", "/profile/export.json", "/profile/api-tokens/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path


# --- E-mail change through allauth ---------------------------------------------------------


def test_change_email_after_confirming_the_new_address(client, smtp_server):
    person = UserFactory()
    old = person.email
    new = "grace.new@example.test"
    client.force_login(person)
    reauthenticate(client)
    assert client.get("/accounts/email/").status_code == 200
    added = client.post("/accounts/email/", {"action_add": "", "email": new})
    assert added.status_code == 302

    # Nothing changes before the new address is confirmed.
    person.refresh_from_db()
    assert person.email == old
    assert EmailAddress.objects.get(user=person, email=new).verified is False
    assert "email.added" in actions()

    run_worker()
    mail = smtp_server.last_to(new)
    link = next(link for link in smtp_server.links(mail) if "/confirm-email/" in link)
    confirm_path = urlsplit(link).path
    assert client.get(confirm_path).status_code == 200
    confirmed = client.post(confirm_path)
    assert confirmed.status_code == 302

    person.refresh_from_db()
    assert person.email == new
    addresses = EmailAddress.objects.filter(user=person)
    assert [(a.email, a.verified, a.primary) for a in addresses] == [(new, True, True)]
    assert "email.changed" in actions()
    assert audit_verify() is None


def test_an_address_already_used_by_someone_else_is_refused(client):
    other = UserFactory()
    person = UserFactory()
    client.force_login(person)
    reauthenticate(client)
    # allauth answers as for any address (no account enumeration): the address is listed,
    # unverified, but can never be confirmed for this person.
    client.post("/accounts/email/", {"action_add": "", "email": other.email})
    confirmation = EmailConfirmation.objects.filter(
        email_address__user=person, email_address__email=other.email
    ).get()
    client.post(f"/accounts/confirm-email/{confirmation.key}/")
    assert not EmailAddress.objects.filter(user=person, email=other.email, verified=True).exists()
    person.refresh_from_db()
    assert person.email != other.email
    assert EmailAddress.objects.get(user=other).verified is True


# --- Language ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/profile/", "/terms/", "/profile/api-tokens/"])
def test_the_language_switcher_is_on_every_page(client, path):
    client.force_login(UserFactory())
    html = client.get(path).content.decode()
    assert 'action="/language/"' in html
    for code in ("fr", "de"):
        assert f'name="language" value="{code}"' in html


def test_the_language_switcher_on_a_public_page(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'action="/language/"' in html


def test_switching_language_is_stored_on_the_profile(client):
    person = UserFactory(language="en")
    client.force_login(person)
    response = client.post("/language/", {"language": "de", "next": "/profile/"})
    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    person.refresh_from_db()
    assert person.language == "de"
    event = AuditEvent.objects.get(action="profile.language_changed")
    assert event.data == {"language": "de"}
    page = client.get("/profile/", HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="de">' in page.content.decode()


def test_switching_language_without_an_account_uses_a_cookie(client):
    response = client.post("/language/", {"language": "de", "next": "/terms/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "de"
    assert '<html lang="de">' in client.get("/terms/").content.decode()


@pytest.mark.parametrize(
    ("data", "location"),
    [
        ({"language": "xx", "next": "/profile/"}, "/profile/"),
        ({"language": "", "next": "/profile/"}, "/profile/"),
        ({"language": "fr", "next": "https://evil.example/"}, "/"),
    ],
)
def test_bad_language_input(client, data, location):
    person = UserFactory(language="en")
    client.force_login(person)
    response = client.post("/language/", data)
    assert response["Location"] == location
    person.refresh_from_db()
    assert person.language == ("fr" if data["language"] == "fr" else "en")


def test_the_language_switch_is_post_only(client):
    assert client.get("/language/?language=de").status_code == 405


# --- TOTP on and off through allauth's MFA pages -------------------------------------------


def test_enable_and_disable_totp(client):
    person = UserFactory()
    password_step(client, person.username)
    assert "Off" in client.get("/profile/").content.decode()

    ask = client.get("/accounts/2fa/totp/activate/")
    assert ask["Location"].startswith("/accounts/reauthenticate/")
    client.post(ask["Location"], {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    secret = page.context["form"].secret
    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=person).exists()
    activated = client.post("/accounts/2fa/totp/activate/", {"code": current_code(secret)})
    assert activated.status_code == 302
    assert activated["Location"] == "/accounts/2fa/recovery-codes/"
    types = set(Authenticator.objects.filter(user=person).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    added = AuditEvent.objects.filter(action="mfa.added").order_by("sequence")
    assert [e.data["type"] for e in added] == ["totp", "recovery_codes"]
    assert all(e.actor_id == person.pk for e in added)
    assert "On" in client.get("/profile/").content.decode()

    assert client.get("/accounts/2fa/totp/deactivate/").status_code == 200
    deactivated = client.post("/accounts/2fa/totp/deactivate/")
    assert deactivated.status_code == 302
    assert not Authenticator.objects.filter(user=person).exists()
    removed = AuditEvent.objects.filter(action="mfa.removed")
    assert {e.data["type"] for e in removed} == {"totp", "recovery_codes"}
    assert audit_verify() is None


# --- Personal data export ------------------------------------------------------------------


def test_download_my_data_as_json(client):
    person = UserFactory(phone="+33 6 12 34 56 78")
    other = UserFactory()
    audit_record(action="test.other_person", actor=other, subject=other)
    services.api_token_create(user=person, name="my script")
    client.force_login(person)

    response = client.get("/profile/export.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="comptoir-{person.username}.json"'
    )
    data = json.loads(response.content)
    assert data["profile"]["username"] == person.username
    assert data["profile"]["phone"] == "+33 6 12 34 56 78"
    assert data["email_addresses"] == [{"email": person.email, "verified": True, "primary": True}]
    assert [a["version"] for a in data["terms_acceptances"]] == ["1.0"]
    assert [t["name"] for t in data["api_tokens"]] == ["my script"]
    actions_exported = {e["action"] for e in data["audit_events"]}
    assert {"terms.accepted", "api_token.created"} <= actions_exported
    assert "test.other_person" not in actions_exported
    assert other.username not in response.content.decode()
    assert "digest" not in response.content.decode()
    assert AuditEvent.objects.filter(action="profile.exported", actor=person).count() == 1


# --- Personal API tokens -------------------------------------------------------------------


def test_create_a_token_shown_once_and_stored_hashed(client):
    person = UserFactory()
    client.force_login(person)
    response = client.post("/profile/api-tokens/", {"name": "nightly sync"})
    assert response.status_code == 200
    clear = response.context["created"]
    assert clear.startswith("cpt_") and clear in response.content.decode()
    token = ApiToken.objects.get(user=person)
    assert token.digest == ApiToken.digest_of(clear) and token.digest != clear
    assert clear not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    # Shown once: the list shows only its first characters.
    again = client.get("/profile/api-tokens/").content.decode()
    assert clear not in again and token.hint in again
    event = AuditEvent.objects.get(action="api_token.created")
    assert event.data["name"] == "nightly sync" and clear not in json.dumps(event.data)

    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {clear}").status_code == 200


def test_a_token_needs_a_name(client):
    person = UserFactory()
    client.force_login(person)
    response = client.post("/profile/api-tokens/", {"name": "  "})
    assert "Enter a name for the token." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_a_token(client):
    person = UserFactory()
    token, clear = services.api_token_create(user=person, name="old")
    client.force_login(person)
    assert client.get(f"/profile/api-tokens/{token.pk}/revoke/").status_code == 405
    response = client.post(f"/profile/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "api_token.revoked" in actions()
    client.logout()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {clear}").status_code == 401


def test_someone_elses_token_answers_404(client):
    owner = UserFactory()
    token, _clear = services.api_token_create(user=owner, name="theirs")
    intruder = UserFactory()
    client.force_login(intruder)
    assert client.post(f"/profile/api-tokens/{token.pk}/revoke/").status_code == 404
    assert client.post("/profile/api-tokens/999999/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert "theirs" not in client.get("/profile/api-tokens/").content.decode()


# --- Staff audit view ----------------------------------------------------------------------


def test_staff_see_a_persons_audit_events(client):
    person = UserFactory(username="grace_hopper")
    client.post("/accounts/login/", {"login": person.username, "password": "Wrong-Passw0rd!"})
    staff = UserFactory(group="Customs officers")
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)

    search = client.get("/audit/", {"q": "grace"})
    assert search.status_code == 200
    assert f'href="/audit/people/{person.pk}/"' in search.content.decode()
    events = client.get(f"/audit/people/{person.pk}/")
    assert events.status_code == 200
    html = events.content.decode()
    assert "login.failed" in html and "terms.accepted" in html
    assert client.get("/audit/people/999999/").status_code == 404


def test_non_staff_get_404_on_the_audit_pages(client):
    person = UserFactory()
    other = UserFactory()
    client.force_login(person)
    assert client.get("/audit/").status_code == 404
    assert client.get("/audit/", {"q": other.username}).status_code == 404
    assert client.get(f"/audit/people/{other.pk}/").status_code == 404
    assert client.get(f"/audit/people/{person.pk}/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in_from_the_audit_pages(client):
    assert client.get("/audit/")["Location"].startswith("/accounts/login/")


def test_deleting_an_account_with_totp_keeps_the_audit_log_consistent():
    person = UserFactory()
    TOTP.activate(person, generate_totp_secret())
    person_id = person.pk
    person.delete()
    connection.check_constraints()  # deferred foreign keys, as at commit
    removed = AuditEvent.objects.get(action="mfa.removed")
    assert removed.subject_id == str(person_id) and removed.actor_id is None


def test_a_person_with_totp_can_change_their_email_address(client, smtp_server):
    person = UserFactory(is_staff=True)
    TOTP.activate(person, generate_totp_secret())
    client.force_login(person)
    reauthenticate(client)
    added = client.post("/accounts/email/", {"action_add": "", "email": "new.desk@example.test"})
    assert added.status_code == 302
    assert EmailAddress.objects.filter(user=person, email="new.desk@example.test", verified=False)
    run_worker()
    assert smtp_server.to("new.desk@example.test")
