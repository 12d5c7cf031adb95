"""Versioned terms of use: published by administrators, accepted (version, time, IP) at the next
page view before anything else, then back to where the person was going."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone

from comptoir.accounts import selectors, services
from comptoir.accounts.models import TermsAcceptance, TermsVersion
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ACCEPT = "/terms/accept/"


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def new_version(version: str = "2.0") -> TermsVersion:
    return TermsVersion.objects.create(
        version=version,
        title_en=f"Terms {version}",
        title_fr=f"Conditions {version}",
        title_de=f"Bedingungen {version}",
        text_en=f"English text of version {version}.",
        text_fr=f"Texte français de la version {version}.",
        text_de=f"Deutscher Text der Fassung {version}.",
    )


def test_a_draft_version_asks_nothing_until_it_is_published(client):
    person = UserFactory()
    client.force_login(person)
    draft = new_version()
    assert client.get("/profile/").status_code == 200
    assert selectors.terms_current().version == "1.0"

    services.terms_publish(terms=draft, actor=None)
    assert selectors.terms_current() == draft
    event = AuditEvent.objects.get(action="terms.published")
    assert event.data == {"version": "2.0"}
    assert event.subject_type == "accounts.termsversion"
    # Publishing again changes nothing and records nothing.
    published_at = TermsVersion.objects.get(pk=draft.pk).published_at
    services.terms_publish(terms=draft, actor=None)
    assert TermsVersion.objects.get(pk=draft.pk).published_at == published_at
    assert AuditEvent.objects.filter(action="terms.published").count() == 1


def test_after_a_new_version_the_next_page_view_asks_for_acceptance_then_goes_on(client):
    person = UserFactory()
    client.force_login(person)
    services.terms_publish(terms=new_version(), actor=None)

    response = client.get("/profile/?tab=security")
    assert response.status_code == 302
    assert response["Location"] == "/terms/accept/?next=%2Fprofile%2F%3Ftab%3Dsecurity"

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "English text of version 2.0." in html
    assert "Version 2.0" in html
    assert 'name="next" value="/profile/?tab=security"' in html

    before = timezone.now()
    accepted = client.post(
        ACCEPT,
        {"accept": "on", "version": "2.0", "next": "/profile/?tab=security"},
        REMOTE_ADDR="192.0.2.44",
    )
    assert accepted.status_code == 302
    assert accepted["Location"] == "/profile/?tab=security"
    acceptance = TermsAcceptance.objects.get(user=person, terms__version="2.0")
    assert acceptance.ip == "192.0.2.44"
    assert before <= acceptance.accepted_at <= timezone.now()
    event = AuditEvent.objects.filter(action="terms.accepted").latest("sequence")
    assert event.actor_id == person.pk
    assert event.data == {"version": "2.0", "ip": "192.0.2.44"}
    assert event.ip == "192.0.2.44"
    assert client.get("/profile/").status_code == 200
    assert audit_verify() is None


def test_bad_input_on_the_acceptance_page_changes_nothing(client):
    person = UserFactory()
    client.force_login(person)
    services.terms_publish(terms=new_version(), actor=None)

    refused = client.post(ACCEPT, {"version": "2.0", "next": "/profile/"})
    assert refused.status_code == 200
    assert "Accept the terms of use to continue." in refused.content.decode()
    assert not TermsAcceptance.objects.filter(user=person, terms__version="2.0").exists()
    assert client.get("/profile/").status_code == 302


def test_a_version_published_while_the_page_was_open_is_shown_before_acceptance(client):
    person = UserFactory()
    client.force_login(person)
    services.terms_publish(terms=new_version("2.0"), actor=None)
    client.get(ACCEPT)
    services.terms_publish(terms=new_version("3.0"), actor=None)

    stale = client.post(ACCEPT, {"accept": "on", "version": "2.0", "next": "/profile/"})
    assert stale.status_code == 302
    assert stale["Location"].startswith(ACCEPT)
    assert not TermsAcceptance.objects.filter(user=person, terms__version__in=["2.0", "3.0"])
    page = client.get(stale["Location"])
    assert "English text of version 3.0." in page.content.decode()


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/steal", "//evil.example/steal", "javascript:alert(1)"],
)
def test_an_unsafe_next_sends_home(client, next_url):
    person = UserFactory()
    client.force_login(person)
    services.terms_publish(terms=new_version(), actor=None)
    accepted = client.post(ACCEPT, {"accept": "on", "version": "2.0", "next": next_url})
    assert accepted.status_code == 302
    assert accepted["Location"] == "/"
    assert TermsAcceptance.objects.filter(user=person, terms__version="2.0").exists()


def test_nothing_else_can_be_done_before_accepting(client):
    person = UserFactory()
    client.force_login(person)
    services.terms_publish(terms=new_version(), actor=None)

    changed = client.post("/profile/details/", {"first_name": "Eve", "last_name": "Other"})
    assert changed.status_code == 302
    assert changed["Location"] == ACCEPT  # a POST cannot be replayed: no next
    person.refresh_from_db()
    assert person.first_name == "Ada"
    assert not AuditEvent.objects.filter(action="profile.updated").exists()

    token_page = client.post("/profile/api-tokens/", {"name": "script"})
    assert token_page["Location"] == ACCEPT
    assert not person.api_tokens.exists()

    api = client.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json()["code"] == "terms_not_accepted"

    # Signing out, switching language and reading the public terms stay possible.
    assert client.get("/terms/").status_code == 200
    assert client.post("/language/", {"language": "de", "next": "/"}).status_code == 302
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/profile/")["Location"].startswith("/accounts/login/")


def test_a_personal_token_of_someone_who_has_not_accepted_is_refused(client):
    person = UserFactory()
    _token, clear = services.api_token_create(user=person, name="script")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {clear}"}
    assert client.get("/api/v1/me", **headers).status_code == 200

    services.terms_publish(terms=new_version(), actor=None)
    refused = client.get("/api/v1/me", **headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "terms_not_accepted"

    services.terms_accept(user=person, terms=selectors.terms_current(), ip=None)
    assert client.get("/api/v1/me", **headers).status_code == 200


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "English text of version 2.0."),
        ("fr", "Texte français de la version 2.0."),
        ("de", "Deutscher Text der Fassung 2.0."),
    ],
)
def test_the_text_is_shown_in_the_persons_language(client, language, expected):
    person = UserFactory(language=language)
    services.terms_publish(terms=new_version(), actor=None)
    public = client.get("/terms/", HTTP_ACCEPT_LANGUAGE=language)
    assert expected in public.content.decode()

    client.force_login(person)
    page = client.get(ACCEPT)
    html = page.content.decode()
    assert expected in html
    assert f'lang="{language}"' in html


def test_only_a_published_version_can_be_accepted():
    person = UserFactory()
    draft = new_version()
    with pytest.raises(services.TermsNotPublished):
        services.terms_accept(user=person, terms=draft, ip=None)
    assert not TermsAcceptance.objects.filter(terms=draft).exists()


def test_accepting_twice_records_one_acceptance(client):
    person = UserFactory()
    terms = selectors.terms_current()
    services.terms_accept(user=person, terms=terms, ip="192.0.2.1")
    assert TermsAcceptance.objects.filter(user=person, terms=terms).count() == 1
    assert AuditEvent.objects.filter(action="terms.accepted", actor=person).count() == 1


@pytest.fixture
def admin_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(admin, generate_totp_secret())
    client.force_login(admin)
    client.admin = admin
    return client


def test_administrators_publish_with_an_admin_action(admin_client):
    draft = new_version()
    person = UserFactory()
    changelist = "/admin/accounts/termsversion/"
    assert admin_client.get(changelist).status_code == 200
    response = admin_client.post(
        changelist, {"action": "publish", "_selected_action": [str(draft.pk)]}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.published_at is not None
    event = AuditEvent.objects.get(action="terms.published")
    assert event.actor_id == admin_client.admin.pk
    assert selectors.terms_acceptance_needed(user=person) == draft
    # The administrator, too, accepts the new version before going on.
    assert admin_client.get(changelist)["Location"].startswith(ACCEPT)
    admin_client.post(ACCEPT, {"accept": "on", "version": "2.0"})
    assert admin_client.get(changelist).status_code == 200

    # A published text can no longer be edited nor deleted.
    edit = admin_client.post(
        f"/admin/accounts/termsversion/{draft.pk}/change/",
        {
            "version": "2.0",
            "title_en": "Changed",
            "title_fr": "x",
            "title_de": "x",
            "text_en": "Changed after publication",
            "text_fr": "x",
            "text_de": "x",
            "created_at_0": "2024-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert edit.status_code == 302  # every field is read-only: nothing to save
    draft.refresh_from_db()
    assert draft.text_en == "English text of version 2.0."
    assert (
        admin_client.post(
            f"/admin/accounts/termsversion/{draft.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert TermsVersion.objects.filter(pk=draft.pk).exists()


def test_acceptances_cannot_be_edited_in_the_admin(admin_client):
    acceptance = TermsAcceptance.objects.filter(user=admin_client.admin).get()
    page = admin_client.post(
        f"/admin/accounts/termsacceptance/{acceptance.pk}/change/",
        {"ip": "198.51.100.1"},
    )
    assert page.status_code == 403
    acceptance.refresh_from_db()
    assert acceptance.ip is None


def test_signing_in_after_a_new_version_asks_for_it_then_goes_where_asked(client):
    person = UserFactory()
    services.terms_publish(terms=new_version(), actor=None)
    signed_in = client.post(
        "/accounts/login/?next=/profile/api-tokens/",
        {"login": person.username, "password": PASSWORD},
    )
    assert signed_in["Location"] == "/profile/api-tokens/"
    asked = client.get(signed_in["Location"])
    assert asked["Location"] == "/terms/accept/?next=%2Fprofile%2Fapi-tokens%2F"
    accepted = client.post(
        ACCEPT, {"accept": "on", "version": "2.0", "next": "/profile/api-tokens/"}
    )
    assert accepted["Location"] == "/profile/api-tokens/"
    assert client.get("/profile/api-tokens/").status_code == 200
