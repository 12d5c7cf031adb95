"""Creating an account at /accounts/signup/: the national portal's rules, one specific message
per mistake, and nothing written when the input is bad."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from comptoir.accounts.models import TermsAcceptance, User
from comptoir.accounts.selectors import terms_current
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.notifications.models import OutboxMessage
from tests.factories import PASSWORD, UserFactory, signup_data

pytestmark = pytest.mark.django_db

SIGNUP_URL = "/accounts/signup/"


def post_signup(client, **overrides: str):
    return client.post(SIGNUP_URL, signup_data(**overrides), HTTP_ACCEPT_LANGUAGE="en")


def test_the_signup_page_asks_for_every_detail(client):
    response = client.get(SIGNUP_URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    for name in (
        "username",
        "email",
        "first_name",
        "last_name",
        "phone",
        "postal_address",
        "password1",
        "password2",
        "accept_terms",
    ):
        assert f'name="{name}"' in response.content.decode()


def test_a_valid_signup_creates_the_account_with_its_details_and_terms_acceptance(client):
    before = timezone.now()
    response = post_signup(
        client, phone="+33 1 23 45 67 89", postal_address="1 rue de la Douane\n75001 Paris"
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get()
    assert user.username == "ada_Lovelace-1815"  # casing preserved
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    assert user.email == "ada@example.test"
    assert user.phone == "+33 1 23 45 67 89"
    assert user.postal_address == "1 rue de la Douane\n75001 Paris"
    assert user.language == "en"
    assert user.check_password(PASSWORD)
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("ada@example.test", False, True)

    acceptance = TermsAcceptance.objects.get(user=user)
    assert acceptance.terms == terms_current()
    assert acceptance.terms.version == "1.0"
    assert before <= acceptance.accepted_at <= timezone.now()
    assert acceptance.ip == "127.0.0.1"


def test_phone_and_postal_address_are_optional(client):
    response = post_signup(client, phone=None, postal_address=None)
    assert response.status_code == 302
    user = User.objects.get()
    assert (user.phone, user.postal_address) == ("", "")


def test_signup_is_audited(client):
    post_signup(client)
    user = User.objects.get()
    actions = list(
        AuditEvent.objects.filter(subject_type="accounts.user", subject_id=str(user.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions[:3] == ["account.created", "terms.accepted", "email.confirmation_sent"]
    created = AuditEvent.objects.get(action="account.created")
    assert created.actor_id == user.pk
    assert created.data == {"via": "password"}
    assert created.ip == "127.0.0.1"
    assert created.request_id
    assert audit_verify() is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"username": "ada_lov"},
            "username",
            "Your username is too short: use 8 to 20 characters.",
        ),
        (
            {"username": "a" * 21},
            "username",
            "Your username is too long: use 8 to 20 characters.",
        ),
        (
            {"username": "ada lovelace"},
            "username",
            "Your username cannot contain spaces: use 8 to 20 letters without accents, digits, "
            "hyphens (-) and underscores (_).",
        ),
        (
            {"username": "adélaïde_1815"},
            "username",
            "Your username can only contain letters without accents, digits, hyphens (-) and "
            "underscores (_): use 8 to 20 of these characters.",
        ),
        (
            {"username": "ada.lovelace"},
            "username",
            "Your username can only contain letters without accents, digits, hyphens (-) and "
            "underscores (_): use 8 to 20 of these characters.",
        ),
        ({"username": ""}, "username", "Enter a username."),
        (
            {"password1": "str0ng-passw0rd!", "password2": "str0ng-passw0rd!"},
            "password1",
            "Your password must contain at least one uppercase letter.",
        ),
        (
            {"password1": "Strong-Password!", "password2": "Strong-Password!"},
            "password1",
            "Your password must contain at least one digit.",
        ),
        (
            {"password1": "Str0ngPassw0rdX", "password2": "Str0ngPassw0rdX"},
            "password1",
            "Your password must contain at least one special character, like ! ? # or %.",
        ),
        (
            {"password1": "Sh0rt-pw!", "password2": "Sh0rt-pw!"},
            "password1",
            "This password is too short. It must contain at least 12 characters.",
        ),
        (
            {"password2": "Str0ng-Passw0rd?"},
            "password2",
            "You must type the same password each time.",
        ),
        ({"accept_terms": None}, "accept_terms", "Accept the terms of use to create your account."),
        ({"email": ""}, "email", "Enter your email address."),
        (
            {"email": "ada.example.test"},
            "email",
            "Enter an email address in the correct format, like name@example.com.",
        ),
        ({"first_name": ""}, "first_name", "Enter your first name."),
        ({"last_name": ""}, "last_name", "Enter your last name."),
    ],
)
def test_bad_input_gets_its_specific_message_and_creates_nothing(client, overrides, field, message):
    response = post_signup(client, **overrides)

    assert response.status_code == 200
    form = response.context["form"]
    assert message in form.errors[field], form.errors
    assert "There is a problem" in response.content.decode()
    assert not User.objects.exists()
    assert not EmailAddress.objects.exists()
    assert not TermsAcceptance.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert not AuditEvent.objects.filter(action="account.created").exists()


def test_a_password_missing_several_classes_lists_each_missing_class(client):
    response = post_signup(client, password1="strongpassword", password2="strongpassword")
    errors = response.context["form"].errors["password1"]
    assert "Your password must contain at least one uppercase letter." in errors
    assert "Your password must contain at least one digit." in errors
    assert "Your password must contain at least one special character, like ! ? # or %." in errors
    assert not User.objects.exists()


@pytest.mark.parametrize("taken", ["ada_lovelace", "ADA_LOVELACE"])
def test_a_username_already_taken_is_refused(client, taken):
    UserFactory(username="ada_lovelace", email="first@example.test")
    response = post_signup(client, username=taken)

    assert response.status_code == 200
    assert response.context["form"].errors["username"] == [
        "This username is already taken. Choose another one."
    ]
    assert User.objects.count() == 1
    assert not OutboxMessage.objects.exists()


def test_an_address_that_already_has_an_account_reveals_nothing_and_creates_nothing(client):
    UserFactory(username="first_owner", email="ada@example.test")
    response = post_signup(client)

    # Same answer as a new account: the "check your email" page, naming the address …
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "We have sent a confirmation link to <strong>ada@example.test</strong>." in page
    # … but no second account: the owner is told someone tried to sign up with it.
    assert User.objects.count() == 1
    notice = OutboxMessage.objects.get()
    assert notice.to == "ada@example.test"
    assert notice.template == "account/email/account_already_exists"


def test_the_terms_acceptance_records_the_version_in_force(client):
    old = terms_current()
    old.published_at = timezone.now() - timedelta(days=30)
    old.save(update_fields=["published_at"])
    newer = type(old).objects.create(
        version="2.0",
        title_fr="CGU",
        title_en="Terms",
        title_de="AGB",
        text_fr="…",
        text_en="…",
        text_de="…",
        published_at=timezone.now() - timedelta(minutes=1),
    )
    post_signup(client)
    assert TermsAcceptance.objects.get().terms == newer
