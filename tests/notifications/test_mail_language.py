"""Mail is written in the recipient's language (their profile), not the sender's."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from comptoir.accounts.models import User
from comptoir.notifications.models import OutboxMessage
from tests.factories import PASSWORD, UserFactory, signup_data
from tests.mail import run_worker

pytestmark = pytest.mark.django_db

EXPECTED = {
    "de": {
        "subject": "[Comptoir] Bitte bestätige deine E-Mail-Adresse",
        "greeting": "Hallo von Comptoir!",
        "link": "Um zu bestätigen, dass dies korrekt ist, gehen Sie zu http://testserver/",
    },
    "fr": {
        "subject": "[Comptoir] Confirmez votre adresse e-mail",
        "greeting": "Bonjour, c'est Comptoir !",
        "link": "Pour confirmer que cela est correct, allez sur http://testserver/",
    },
    "en": {
        "subject": "[Comptoir] Please Confirm Your Email Address",
        "greeting": "Hello from Comptoir!",
        "link": "To confirm this is correct, go to http://testserver/",
    },
}


def waiting_person(language: str) -> User:
    user = UserFactory(
        username=f"person_{language}_1", email=f"{language}@example.test", language=language
    )
    EmailAddress.objects.filter(user=user).update(verified=False)
    return user


@pytest.mark.parametrize("language", ["de", "fr", "en"])
def test_the_confirmation_mail_is_in_the_recipients_language(client, smtp_server, language):
    user = waiting_person(language)
    # Asked for from a browser in another language: the mail follows the person's profile.
    other = "en" if language != "en" else "de"
    client.post("/account/confirm-email/resend/", {"email": user.email}, HTTP_ACCEPT_LANGUAGE=other)
    assert OutboxMessage.objects.get().language == language
    run_worker()

    received = smtp_server.last_to(user.email)
    assert received["Subject"] == EXPECTED[language]["subject"]
    assert received["Content-Language"] == language
    text = smtp_server.text(received)
    assert EXPECTED[language]["greeting"] in text
    assert EXPECTED[language]["link"] in text


def test_signup_mail_follows_the_language_chosen_in_the_browser(client, smtp_server):
    client.post(
        "/accounts/signup/",
        signup_data(username="ada_lovelace", email="ada@example.test"),
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert User.objects.get().language == "de"
    run_worker()
    received = smtp_server.last_to("ada@example.test")
    assert received["Subject"] == EXPECTED["de"]["subject"]
    text = smtp_server.text(received)
    assert "Sie erhalten diese E-Mail, weil Benutzer ada_lovelace Ihre E-Mail-Adresse" in text
    assert "1\xa0Tag" in text  # the link lifetime, in German


def test_the_account_exists_notice_is_in_the_owners_language(client, smtp_server):
    UserFactory(username="owner_fr_1", email="taken@example.test", language="fr")
    # Someone signs up with an address that already has an account: its owner is told, in
    # the owner's language.
    client.post(
        "/accounts/signup/",
        {
            "username": "intruder_1",
            "email": "taken@example.test",
            "first_name": "Eve",
            "last_name": "Example",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "accept_terms": "on",
        },
        HTTP_ACCEPT_LANGUAGE="de",
    )
    message = OutboxMessage.objects.get()
    assert message.template == "account/email/account_already_exists"
    assert message.language == "fr"


def test_a_mail_to_an_address_without_account_is_in_the_requests_language(client, smtp_server):
    # A password reset asked for an unknown address: allauth says so to that address.
    client.post(
        "/accounts/password/reset/", {"email": "nobody@example.test"}, HTTP_ACCEPT_LANGUAGE="de"
    )
    message = OutboxMessage.objects.get()
    assert message.template == "account/email/unknown_account"
    assert message.language == "de"
    run_worker()
    assert smtp_server.last_to("nobody@example.test")["Subject"] == "[Comptoir] Unbekanntes Konto"
