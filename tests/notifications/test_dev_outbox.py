"""The development outbox page: every e-mail written, links clickable; absent without DEBUG."""

from __future__ import annotations

import re

import pytest

from comptoir.notifications.models import OutboxMessage
from comptoir.notifications.services import outbox_enqueue
from tests.factories import signup_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmation_mail(client) -> OutboxMessage:
    client.post(
        "/accounts/signup/",
        signup_data(username="ada_lovelace", email="ada@example.test"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    return OutboxMessage.objects.get()


def test_the_outbox_lists_messages_and_makes_links_clickable(client, settings, confirmation_mail):
    settings.DEBUG = True
    outbox_enqueue(to="other@example.test", subject="Another one", body_text="No link")

    listing = client.get("/dev/outbox/", HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "ada@example.test" in html and "other@example.test" in html
    detail_url = f"/dev/outbox/{confirmation_mail.id}/"
    assert f'href="{detail_url}"' in html
    assert "[Comptoir] Please Confirm Your Email Address" in html

    detail = client.get(detail_url, HTTP_ACCEPT_LANGUAGE="en")
    assert detail.status_code == 200
    link = re.search(
        r"http://testserver/accounts/confirm-email/[^/\s]+/", confirmation_mail.body_text
    )
    assert link is not None
    assert f'<a href="{link.group(0)}"' in detail.content.decode()
    # … and the link works.
    assert client.get(link.group(0)).status_code == 200


@pytest.mark.parametrize("path", ["/dev/outbox/", "/dev/outbox/{id}/"])
def test_the_outbox_does_not_exist_without_debug(client, settings, confirmation_mail, path):
    settings.DEBUG = False
    response = client.get(path.format(id=confirmation_mail.id))
    assert response.status_code == 404
    assert "ada@example.test" not in response.content.decode()


def test_an_unknown_message_is_not_found(client, settings):
    settings.DEBUG = True
    response = client.get("/dev/outbox/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
