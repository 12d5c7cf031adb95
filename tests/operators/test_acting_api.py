"""/api/v1/acting-for and the Comptoir-Acting-For headers: what the call acts for and the
options (session and token), choosing (kept by a session, only checked for a token), the headers
recorded on the audit event of a write, and refused or incomplete headers (403
acting_for_refused, nothing written)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from comptoir.accounts import services
from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.operators import acting
from comptoir.operators.models import Mandate, Position
from tests.factories import UserFactory
from tests.operators.test_acting import (
    PRINCIPAL_EORI,
    PROVIDER_EORI,
    UNKNOWN_EORI,
    browser_for,
    give_mandate,
    other,
)
from tests.operators.test_mandates import Side

pytestmark = pytest.mark.django_db

URL = "/api/v1/acting-for"
FRENCH_EORI = "A French EORI number is FR followed by the 9-digit SIREN number"


def token_for(person: User) -> str:
    _token, clear = services.api_token_create(user=person, name="test")
    return clear


def api_for(person: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(person)}", HTTP_ACCEPT_LANGUAGE="en")


def acting_headers(eori: str, capacity: str | None = "direct", consent: str | None = "yes"):
    headers = {"HTTP_COMPTOIR_ACTING_FOR": eori}
    if capacity is not None:
        headers["HTTP_COMPTOIR_ACTING_CAPACITY"] = capacity
    if consent is not None:
        headers["HTTP_COMPTOIR_ACTING_CONSENT"] = consent
    return headers


def post(client: Client, path: str, data: dict, **headers: Any):
    return client.post(path, data, content_type="application/json", **headers)


def field_messages(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(item["loc"][-1], []).append(item["msg"])
    return found


def proposal(principal: Side) -> dict:
    return {
        "operator_id": principal.operator.pk,
        "provider_eori": PROVIDER_EORI,
        "scope": "ics2_filing",
        "valid_from": timezone.localdate().isoformat(),
        "valid_until": None,
    }


def option(operator, capacity: str, **extra) -> dict:
    return {
        "actor_type": "EO",
        "identifier_type": "EORI",
        "identifier": operator.eori,
        "capacity": capacity,
        "operator_id": operator.pk,
        "name": operator.name,
        "mandate": None,
        "provider_name": None,
        **extra,
    }


# --- GET ----------------------------------------------------------------------------------------


def test_anonymous_callers_get_401():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get(URL).status_code == 401
    assert post(client, URL, {"myself": True}).status_code == 401


def test_get_with_a_session_says_the_choice_and_the_options(principal, provider):
    mandate = give_mandate(principal, provider)
    client = browser_for(provider.employee)
    response = client.get(URL)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "acting_for": None,
        "options": [
            option(provider.operator, "direct"),
            option(
                principal.operator,
                "mandate",
                mandate=str(mandate.public_id),
                provider_name="Transit Services SARL",
            ),
        ],
    }
    client.post("/acting-for/", other(capacity="mandate"))
    assert client.get(URL).json()["acting_for"] == option(
        principal.operator,
        "mandate",
        mandate=str(mandate.public_id),
        provider_name="Transit Services SARL",
    )


def test_get_with_a_token_says_what_the_headers_claim(principal):
    client = api_for(principal.employee)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "acting_for": None,
        "options": [option(principal.operator, "direct")],
    }
    claimed = client.get(URL, **acting_headers(PRINCIPAL_EORI))
    assert claimed.json()["acting_for"] == option(principal.operator, "direct")
    # Capacity "direct" is the default; the consent is not.
    no_capacity = client.get(URL, **acting_headers(" fr552100554 ", capacity=None))
    assert no_capacity.json()["acting_for"]["identifier"] == PRINCIPAL_EORI


# --- POST ---------------------------------------------------------------------------------------


def test_post_with_a_session_keeps_the_choice(principal):
    client = browser_for(principal.manager)
    response = post(
        client, URL, {"identifier": "fr 552100554", "capacity": "direct", "consent": True}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"acting_for": option(principal.operator, "direct"), "kept": True}
    assert client.session[acting.SESSION_KEY]["identifier"] == PRINCIPAL_EORI
    assert client.get(URL).json()["acting_for"]["name"] == "Dupont SA"
    event = AuditEvent.objects.get(action="acting.choose")
    assert event.data["consent"] is True and event.on_behalf_of["identifier"] == PRINCIPAL_EORI
    # The pages follow it too.
    assert (
        "Acting for Dupont SA (FR552100554), directly" in client.get("/notices/").content.decode()
    )

    myself = post(client, URL, {"myself": True})
    assert myself.json() == {"acting_for": None, "kept": True}
    assert client.get(URL).json()["acting_for"] is None
    assert AuditEvent.objects.filter(action="acting.myself").count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"identifier": PRINCIPAL_EORI, "capacity": "direct"},
            "consent",
            "Give your consent to share your profile with the company you act for.",
        ),
        (
            {"identifier": "", "capacity": "direct", "consent": True},
            "identifier",
            "Enter the EORI number of the company you act for.",
        ),
        (
            {"identifier": PRINCIPAL_EORI, "consent": True},
            "capacity",
            "Choose “directly” or “holding a mandate”.",
        ),
        (
            {"identifier": "FR12", "capacity": "direct", "consent": True},
            "identifier",
            FRENCH_EORI,
        ),
        (
            {"identifier": PROVIDER_EORI, "capacity": "direct", "consent": True},
            "identifier",
            "You hold no valid position in a company with EORI number FR732829320.",
        ),
        (
            {"identifier": PRINCIPAL_EORI, "capacity": "mandate", "consent": True},
            "identifier",
            "None of your companies holds a mandate in force for portal actions",
        ),
        (
            {
                "identifier": PRINCIPAL_EORI,
                "capacity": "direct",
                "consent": True,
                "actor_type": "X",
            },
            "actor_type",
            "Only an economic operator (EO) can be chosen.",
        ),
        (
            {
                "identifier": PRINCIPAL_EORI,
                "capacity": "direct",
                "consent": True,
                "identifier_type": "VAT",
            },
            "identifier_type",
            "Economic operators are identified by their EORI number.",
        ),
    ],
)
@pytest.mark.parametrize("by", ["session", "token"])
def test_bad_choices_answer_422_and_change_nothing(
    principal, provider, by, payload, field, message
):
    client = browser_for(principal.employee) if by == "session" else api_for(principal.employee)
    before = AuditEvent.objects.count()
    response = post(client, URL, payload)
    assert response.status_code == 422, response.content
    messages = field_messages(response)
    assert list(messages) == [field]
    assert messages[field][0].startswith(message)
    assert AuditEvent.objects.count() == before
    if by == "session":
        assert acting.SESSION_KEY not in client.session
        assert client.get(URL).json()["acting_for"] is None


def test_post_with_a_token_only_checks(principal, provider):
    mandate = give_mandate(principal, provider)
    client = api_for(provider.employee)
    before = AuditEvent.objects.count()
    response = post(
        client, URL, {"identifier": PRINCIPAL_EORI, "capacity": "mandate", "consent": True}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "acting_for": option(
            principal.operator,
            "mandate",
            mandate=str(mandate.public_id),
            provider_name="Transit Services SARL",
        ),
        "kept": False,
    }
    # Nothing kept, nothing recorded: the next call acts for the person again.
    assert client.get(URL).json()["acting_for"] is None
    assert AuditEvent.objects.count() == before
    assert post(client, URL, {"myself": True}).json() == {"acting_for": None, "kept": False}
    assert AuditEvent.objects.count() == before


# --- The headers on a write ---------------------------------------------------------------------


def test_a_token_call_with_the_headers_records_on_whose_behalf(principal, provider):
    client = api_for(principal.manager)
    response = post(
        client, "/api/v1/mandates", proposal(principal), **acting_headers(" fr552100554")
    )
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action="mandate.proposed")
    assert event.actor == principal.manager
    assert event.on_behalf_of == {
        "actor_type": "EO",
        "identifier_type": "EORI",
        "identifier": PRINCIPAL_EORI,
        "capacity": "direct",
        "operator": principal.operator.pk,
        "name": "Dupont SA",
    }

    # Holding a mandate: the provider's employee changes their profile for the principal.
    mandate = give_mandate(principal, provider, scope="portal_actions")
    helper = api_for(provider.employee)
    changed = helper.patch(
        "/api/v1/me",
        {"phone": "+33 1 23 45 67 89"},
        "application/json",
        **acting_headers(PRINCIPAL_EORI, capacity="MANDATE", consent="true"),
    )
    assert changed.status_code == 200, changed.content
    event = AuditEvent.objects.get(action="profile.updated")
    assert event.on_behalf_of["capacity"] == "mandate"
    assert event.on_behalf_of["mandate"] == str(mandate.public_id)

    # Without the headers, the next call acts for the person.
    helper.patch("/api/v1/me", {"phone": "+33 1 00 00 00 00"}, "application/json")
    assert AuditEvent.objects.filter(action="profile.updated").latest("sequence").on_behalf_of == {}
    assert audit_verify() is None


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (acting_headers(PROVIDER_EORI), "You hold no valid position in a company"),
        (acting_headers(UNKNOWN_EORI), "You hold no valid position in a company"),
        (acting_headers(PRINCIPAL_EORI, capacity="mandate"), "None of your companies holds"),
        (acting_headers(PRINCIPAL_EORI, capacity="sometimes"), "Choose “directly”"),
        (acting_headers("FR12"), FRENCH_EORI),
        (acting_headers(PRINCIPAL_EORI, consent=None), "Give your consent"),
        (acting_headers(PRINCIPAL_EORI, consent="no"), "Give your consent"),
    ],
    ids=[
        "another company",
        "unknown EORI",
        "no mandate",
        "bad capacity",
        "malformed EORI",
        "no consent",
        "consent no",
    ],
)
def test_refused_headers_answer_403_and_write_nothing(principal, headers, message):
    client = api_for(principal.manager)
    before = AuditEvent.objects.count()
    response = post(client, "/api/v1/mandates", proposal(principal), **headers)
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == "acting_for_refused"
    assert body["detail"].startswith(message)
    assert not Mandate.objects.exists()
    assert AuditEvent.objects.count() == before
    # Reads are refused too: the call says on whose behalf it acts, and it may not.
    assert client.get("/api/v1/mandates", **headers).status_code == 403


def test_a_session_call_may_claim_with_headers_too(principal, provider):
    client = browser_for(principal.manager)
    refused = post(client, "/api/v1/mandates", proposal(principal), **acting_headers(PROVIDER_EORI))
    assert refused.status_code == 403 and refused.json()["code"] == "acting_for_refused"
    assert not Mandate.objects.exists()
    allowed = post(
        client, "/api/v1/mandates", proposal(principal), **acting_headers(PRINCIPAL_EORI)
    )
    assert allowed.status_code == 201, allowed.content
    assert AuditEvent.objects.get(action="mandate.proposed").on_behalf_of["name"] == "Dupont SA"
    # The claim lasts for that call only: the session keeps no choice.
    assert acting.SESSION_KEY not in client.session


def test_an_ended_position_refuses_the_headers_at_once(principal):
    client = api_for(principal.manager)
    assert client.get(URL, **acting_headers(PRINCIPAL_EORI)).status_code == 200
    Position.objects.filter(person=principal.manager).update(status=Position.Status.ENDED)
    response = client.get(URL, **acting_headers(PRINCIPAL_EORI))
    assert response.status_code == 403 and response.json()["code"] == "acting_for_refused"


def test_a_token_call_ignores_the_sessions_choice(principal):
    """A token says who calls; a session cookie that comes along (perhaps another person's) does
    not make the call act for the session's choice."""
    client = browser_for(principal.lr)
    client.post("/acting-for/", other())
    someone = UserFactory()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token_for(someone)}"}
    assert client.get(URL, **bearer).json()["acting_for"] is None
    changed = client.patch(
        "/api/v1/me", {"phone": "+33 1 23 45 67 89"}, "application/json", **bearer
    )
    assert changed.status_code == 200
    event = AuditEvent.objects.get(action="profile.updated")
    assert event.actor == someone and event.on_behalf_of == {}
    # The session itself still acts for its choice.
    assert client.get(URL).json()["acting_for"]["identifier"] == PRINCIPAL_EORI
