"""Acting for whom: the rule table of acting_check (positions, mandates, operators, identifiers),
the page /acting-for/ (options, myself, the following person, each missing answer, safe next,
the header line, switching back), what the audit log records on behalf of whom (and that the
chain still verifies), the choice lapsing when its mandate ends, and the step after sign-in."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation
from django.utils.html import escape

from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.core.identifiers import eori_validate
from comptoir.operators import acting, mandates
from comptoir.operators.models import Mandate, Operator, Position
from tests.accounts.test_signin import current_code, with_totp
from tests.factories import PASSWORD, UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, officer
from tests.operators.test_mandates import Side, propose, side

pytestmark = pytest.mark.django_db

Role = Position.Role
PS = Position.Status
PORTAL = Mandate.Scope.PORTAL_ACTIONS
ICS2 = Mandate.Scope.ICS2_FILING
DIRECT = acting.Capacity.DIRECT
MANDATE = acting.Capacity.MANDATE
PRINCIPAL_EORI = "FR552100554"
PROVIDER_EORI = "FR732829320"
UNKNOWN_EORI = "FR428754006"  # well formed, registered by nobody
PAGE = "/acting-for/"


def today():
    return timezone.localdate()


def give_mandate(principal: Side, provider: Side, **overrides: Any) -> Mandate:
    """A portal-actions mandate proposed by the principal and accepted by the provider."""
    mandate = propose(principal, provider, **{"scope": PORTAL, **overrides})
    return mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)


def browser_for(person: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(person)
    return client


def acting_events() -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith="acting.")
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def header_line(response) -> str:
    """The header's "acting for whom" words, without its Change link."""
    html = response.content.decode()
    start = html.index(">", html.index('class="header__acting-text"')) + 1
    return " ".join(html[start : html.index("<a ", start)].split())


# --- The rule table -----------------------------------------------------------------------------

# Each case: (what to change before the check, who asks, the identifier, the capacity).
# "who" names a person of the fixtures: principal_lr, provider_employee, ...


def _position(person: User, **change: Any) -> int:
    return Position.objects.filter(person=person).update(**change)


def _operator(operator: Operator, **change: Any) -> int:
    return Operator.objects.filter(pk=operator.pk).update(**change)


def _nothing(principal: Side, provider: Side) -> None:
    return None


ALLOWED: list[tuple[str, Callable[[Side, Side], Any], str, str, str]] = [
    ("direct: legal representative", _nothing, "principal.lr", PRINCIPAL_EORI, DIRECT),
    ("direct: manager", _nothing, "principal.manager", PRINCIPAL_EORI, DIRECT),
    ("direct: employee", _nothing, "principal.employee", PRINCIPAL_EORI, DIRECT),
    ("direct: lower case, spaces", _nothing, "principal.employee", " fr 552 100 554 ", DIRECT),
    (
        "mandate in force for portal actions",
        lambda principal, provider: give_mandate(principal, provider),
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
    ),
    (
        "mandate: lower case, spaces",
        lambda principal, provider: give_mandate(principal, provider),
        "provider.manager",
        "  fr552100554 ",
        MANDATE,
    ),
    (
        "mandate whose last day is today",
        lambda principal, provider: give_mandate(principal, provider, valid_until=today()),
        "provider.lr",
        PRINCIPAL_EORI,
        MANDATE,
    ),
]


def _person(name: str, principal: Side, provider: Side) -> User:
    company, role = name.split(".")
    return getattr({"principal": principal, "provider": provider}[company], role)


@pytest.mark.parametrize(
    ("arrange", "who", "identifier", "capacity"),
    [case[1:] for case in ALLOWED],
    ids=[case[0] for case in ALLOWED],
)
def test_allowed_choices(principal, provider, arrange, who, identifier, capacity):
    arrange(principal, provider)
    chosen = acting.acting_check(
        person=_person(who, principal, provider), identifier=identifier, capacity=capacity
    )
    assert chosen.operator_id == principal.operator.pk and chosen.name == "Dupont SA"
    assert chosen.identifier == PRINCIPAL_EORI and chosen.capacity == capacity
    assert (chosen.actor_type, chosen.identifier_type) == ("EO", "EORI")
    if capacity == MANDATE:
        mandate = Mandate.objects.get(status=Mandate.Status.ACCEPTED)
        assert chosen.mandate == str(mandate.public_id)
        assert chosen.provider_name == "Transit Services SARL"
        assert chosen.record()["mandate"] == str(mandate.public_id)
    else:
        assert chosen.mandate == "" and "mandate" not in chosen.record()


def _mandate_later(principal: Side, provider: Side) -> None:
    give_mandate(principal, provider, valid_from=today() + timedelta(days=1), valid_until=None)


def _mandate_over(principal: Side, provider: Side) -> None:
    mandate = give_mandate(principal, provider)
    Mandate.objects.filter(pk=mandate.pk).update(
        valid_from=today() - timedelta(days=10), valid_until=today() - timedelta(days=1)
    )


def _mandate_declined(principal: Side, provider: Side) -> None:
    mandate = propose(principal, provider, scope=PORTAL)
    mandates.mandate_decline(actor=provider.lr, mandate_id=mandate.public_id)


def _mandate_ended(principal: Side, provider: Side) -> None:
    mandate = give_mandate(principal, provider)
    mandates.mandate_end(actor=principal.lr, mandate_id=mandate.public_id, reason="Over")


def _merged(principal: Side, provider: Side) -> None:
    _operator(principal.operator, merged_into=OperatorFactory())


REFUSED: list[tuple[str, Callable[[Side, Side], Any], str, str, str, str, str]] = [
    # (id, arrange, who, identifier, capacity, field, code)
    (
        "direct: position suspended",
        lambda principal, provider: _position(principal.employee, status=PS.SUSPENDED),
        "principal.employee",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: position ended",
        lambda principal, provider: _position(principal.manager, status=PS.ENDED),
        "principal.manager",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: position only requested",
        lambda principal, provider: _position(principal.employee, status=PS.REQUESTED),
        "principal.employee",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: operator suspended",
        lambda principal, provider: _operator(principal.operator, status="suspended"),
        "principal.lr",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: operator pending",
        lambda principal, provider: _operator(principal.operator, status="pending"),
        "principal.lr",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: operator closed",
        lambda principal, provider: _operator(principal.operator, status="closed"),
        "principal.lr",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: operator deleted",
        lambda principal, provider: _operator(principal.operator, deleted_at=timezone.now()),
        "principal.lr",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: operator merged",
        _merged,
        "principal.lr",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: another person's company",
        _nothing,
        "provider.lr",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct: unknown EORI",
        _nothing,
        "provider.lr",
        UNKNOWN_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "direct although only a mandate",
        lambda principal, provider: give_mandate(principal, provider),
        "provider.employee",
        PRINCIPAL_EORI,
        DIRECT,
        "identifier",
        "no_position",
    ),
    (
        "mandate: none at all",
        _nothing,
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: own company, no mandate",
        _nothing,
        "principal.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: scope ics2_filing only",
        lambda principal, provider: give_mandate(principal, provider, scope=ICS2),
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: before valid_from",
        _mandate_later,
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: after valid_until",
        _mandate_over,
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: proposed, not accepted",
        lambda principal, provider: propose(principal, provider, scope=PORTAL),
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: declined",
        _mandate_declined,
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: ended",
        _mandate_ended,
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: provider position ended",
        lambda principal, provider: (
            give_mandate(principal, provider),
            _position(provider.employee, status=PS.ENDED),
        ),
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: provider suspended",
        lambda principal, provider: (
            give_mandate(principal, provider),
            _operator(provider.operator, status="suspended"),
        ),
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "mandate: principal suspended",
        lambda principal, provider: (
            give_mandate(principal, provider),
            _operator(principal.operator, status="suspended"),
        ),
        "provider.employee",
        PRINCIPAL_EORI,
        MANDATE,
        "identifier",
        "no_mandate",
    ),
    (
        "empty identifier",
        _nothing,
        "principal.lr",
        "   ",
        DIRECT,
        "identifier",
        "identifier",
    ),
    (
        "malformed EORI, direct",
        _nothing,
        "principal.lr",
        "FR12",
        DIRECT,
        "identifier",
        "identifier_invalid",
    ),
    (
        "malformed EORI, mandate",
        _nothing,
        "provider.lr",
        "GB123456789000",
        MANDATE,
        "identifier",
        "identifier_invalid",
    ),
    ("no capacity", _nothing, "principal.lr", PRINCIPAL_EORI, "", "capacity", "capacity"),
    (
        "unknown capacity",
        _nothing,
        "principal.lr",
        PRINCIPAL_EORI,
        "sometimes",
        "capacity",
        "capacity",
    ),
]


@pytest.mark.parametrize(
    ("arrange", "who", "identifier", "capacity", "field", "code"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_refused_choices(principal, provider, arrange, who, identifier, capacity, field, code):
    arrange(principal, provider)
    before = AuditEvent.objects.count()
    with pytest.raises(acting.ActingRefused) as caught:
        acting.acting_check(
            person=_person(who, principal, provider), identifier=identifier, capacity=capacity
        )
    assert (caught.value.field, caught.value.code) == (field, code)
    assert caught.value.message_dict == {field: [caught.value.message_text]}
    assert AuditEvent.objects.count() == before


def test_another_persons_company_reads_as_an_unknown_eori(principal, provider):
    """The refusal does not tell whether a company holds the EORI number: the same words as for
    a number nobody holds (only the number typed differs)."""
    messages = {}
    for capacity in (DIRECT, MANDATE):
        for eori in (PRINCIPAL_EORI, UNKNOWN_EORI):
            with pytest.raises(acting.ActingRefused) as caught:
                acting.acting_check(person=provider.lr, identifier=eori, capacity=capacity)
            assert eori in caught.value.message_text
            messages[capacity, eori] = caught.value.message_text.replace(eori, "<EORI>")
            assert "Dupont" not in caught.value.message_text
        assert messages[capacity, PRINCIPAL_EORI] == messages[capacity, UNKNOWN_EORI]
    assert messages[DIRECT, PRINCIPAL_EORI] != messages[MANDATE, PRINCIPAL_EORI]


def eori_message(value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        eori_validate(value=value)
    return caught.value.messages[0]


@pytest.mark.parametrize("value", ["FR12", "GB123456789000", "FR-552.100.554", "ZZ123"])
@pytest.mark.parametrize("capacity", [DIRECT, MANDATE])
def test_a_malformed_eori_gets_the_eori_message(principal, value, capacity):
    with pytest.raises(acting.ActingRefused) as caught:
        acting.acting_check(person=principal.lr, identifier=value, capacity=capacity)
    assert caught.value.code == "identifier_invalid"
    assert caught.value.message_text == eori_message(value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"actor_type": "PERSON"}, "actor_type"),
        ({"actor_type": "eo"}, "actor_type"),
        ({"actor_type": ""}, "actor_type"),
        ({"identifier_type": "VAT"}, "identifier_type"),
        ({"identifier_type": "eori"}, "identifier_type"),
        ({"identifier_type": ""}, "identifier_type"),
    ],
)
def test_only_an_economic_operator_by_its_eori(principal, changes, field):
    with pytest.raises(acting.ActingRefused) as caught:
        acting.acting_check(
            person=principal.lr, identifier=PRINCIPAL_EORI, capacity=DIRECT, **changes
        )
    assert caught.value.field == caught.value.code == field


def test_options_list_direct_positions_then_mandates(principal, provider):
    give_mandate(principal, provider)
    other = side("FR428754006", "Autre SA", "other")
    give_mandate(other, provider)
    give_mandate(principal, other)  # not the provider's: not an option of its people
    options = acting.acting_options(person=provider.employee)
    assert [(o.name, o.capacity) for o in options] == [
        ("Transit Services SARL", DIRECT),
        ("Autre SA", MANDATE),
        ("Dupont SA", MANDATE),
    ]
    assert acting.acting_has_options(person=provider.employee)
    assert acting.acting_options(person=principal.employee) == [
        acting.ActingFor(
            operator_id=principal.operator.pk,
            name="Dupont SA",
            identifier=PRINCIPAL_EORI,
            capacity=DIRECT,
        )
    ]
    nobody = UserFactory()
    assert acting.acting_options(person=nobody) == []
    assert not acting.acting_has_options(person=nobody)
    # An officer of an authority holds a position, but not in an economic operator.
    assert not acting.acting_has_options(person=officer(AuthorityFactory()))


def test_a_mandate_alone_is_an_option(principal, provider):
    give_mandate(principal, provider)
    helper = UserFactory()
    Position.objects.create(
        person=helper,
        operator=provider.operator,
        role=Role.EMPLOYEE,
        status=PS.VALID,
        since=timezone.now(),
    )
    _operator(provider.operator, eori="")  # the provider itself cannot be chosen without EORI
    assert [(o.name, o.capacity) for o in acting.acting_options(person=helper)] == [
        ("Dupont SA", MANDATE)
    ]
    assert acting.acting_has_options(person=helper)


def test_a_principal_without_an_eori_number_is_no_option(principal, provider):
    give_mandate(principal, provider)
    helper = UserFactory()
    Position.objects.create(
        person=helper,
        operator=provider.operator,
        role=Role.EMPLOYEE,
        status=PS.VALID,
        since=timezone.now(),
    )
    _operator(provider.operator, eori="")
    _operator(principal.operator, eori="")
    assert acting.acting_options(person=helper) == []
    assert not acting.acting_has_options(person=helper)
    # So sign-in does not ask a question with nothing to choose.
    response = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), helper)
    assert response["Location"] == "/notices/"


# --- The page -----------------------------------------------------------------------------------


def other(**overrides: str | None) -> dict[str, str]:
    """The form as the browser sends it for "the following person"."""
    data: dict[str, str | None] = {
        "who": "other",
        "actor_type": "EO",
        "identifier_type": "EORI",
        "identifier": PRINCIPAL_EORI,
        "capacity": "direct",
        "consent": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_anonymous_people_are_sent_to_sign_in():
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_lists_the_options(principal, provider):
    give_mandate(principal, provider)
    response = browser_for(provider.employee).get(PAGE, {"next": "/notices/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "On whose behalf are you acting?" in html
    assert "Companies you may act for" in html
    for text in ("Transit Services SARL", PROVIDER_EORI, "Dupont SA", PRINCIPAL_EORI):
        assert text in html
    assert "mandate given to Transit Services SARL" in html
    assert f"?identifier={PRINCIPAL_EORI}&amp;capacity=mandate&amp;next=/notices/" in html
    assert '<input type="hidden" name="next" value="/notices/">' in html
    # Myself is ticked: nothing chosen yet.
    assert "checked" in html.split('value="myself"')[1].split(">")[0]


def test_a_choose_link_fills_the_form(principal, provider):
    give_mandate(principal, provider)
    html = (
        browser_for(provider.employee)
        .get(PAGE, {"identifier": PRINCIPAL_EORI, "capacity": "mandate"})
        .content.decode()
    )
    assert f'name="identifier" value="{PRINCIPAL_EORI}"' in html
    assert "checked" in html.split('value="mandate"')[1].split(">")[0]


def test_nobody_to_act_for_reads_so():
    html = browser_for(UserFactory()).get(PAGE).content.decode()
    assert "you act for yourself" in html
    assert "Companies you may act for" not in html


def test_choosing_myself(principal):
    client = browser_for(principal.employee)
    response = client.post(PAGE, {"who": "myself", "next": "/notices/"})
    assert response.status_code == 302 and response["Location"] == "/notices/"
    assert client.session[acting.SESSION_KEY] == {"person": principal.employee.pk, "myself": True}
    # Nothing changed (acting for oneself from the start): nothing to audit.
    assert acting_events() == []
    page = client.get("/notices/")
    assert header_line(page) == "Acting for yourself"
    assert "You act for yourself." in page.content.decode()
    # The choice holds on the next requests: no lapse, no warning.
    page = client.get("/notices/")
    assert "You act for yourself again" not in page.content.decode()
    assert client.session[acting.SESSION_KEY]["myself"] is True
    assert acting_events() == []


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "who", "Choose “Myself” or “The following person”."),
        (other(identifier=""), "identifier", "Enter the EORI number of the company you act for."),
        (other(capacity=None), "capacity", "Choose “Directly” or “Holding a mandate”."),
        ({"who": "everyone"}, "who", "Choose “Myself” or “The following person”."),
        (other(capacity="sometimes"), "capacity", "Choose “Directly” or “Holding a mandate”."),
        (
            other(consent=None),
            "consent",
            "Give your consent to share your profile with the company you act for.",
        ),
        (other(identifier="FR12"), "identifier", "A French EORI number is FR followed by"),
        (
            other(identifier=PROVIDER_EORI),
            "identifier",
            "You hold no valid position in a company with EORI number FR732829320.",
        ),
        (
            other(capacity="mandate"),
            "identifier",
            "None of your companies holds a mandate in force for portal actions",
        ),
        (
            other(actor_type="PERSON"),
            "actor_type",
            "Only an economic operator (EO) can be chosen.",
        ),
        (
            other(identifier_type="VAT"),
            "identifier_type",
            "Economic operators are identified by their EORI number.",
        ),
        (other(actor_type=None), "actor_type", "Choose the actor type: economic operator (EO)."),
        (
            other(identifier_type=None),
            "identifier_type",
            "Choose the identifier type: EORI number.",
        ),
    ],
    ids=[
        "nothing",
        "who unknown",
        "no identifier",
        "no capacity",
        "bad capacity",
        "no consent",
        "malformed EORI",
        "someone else's company",
        "no mandate",
        "actor type",
        "identifier type",
        "no actor type",
        "no identifier type",
    ],
)
def test_each_missing_or_refused_answer_has_its_message_and_changes_nothing(
    principal, provider, data, field, message
):
    client = browser_for(principal.employee)
    response = client.post(PAGE, data)
    assert response.status_code == 422
    form = response.context["form"]
    assert list(form.errors) == [field], form.errors
    assert form.errors[field][0].startswith(message)
    html = response.content.decode()
    assert escape(form.errors[field][0]) in html
    assert "<title>Error:" in html and 'class="error-summary' in html
    assert acting.SESSION_KEY not in client.session
    assert not AuditEvent.objects.filter(action__startswith="acting.").exists()
    assert header_line(client.get("/notices/")) == "Acting for yourself"


def test_a_malformed_eori_on_the_page_gets_the_eori_message(principal):
    response = browser_for(principal.employee).post(PAGE, other(identifier="GB123456789000"))
    assert response.status_code == 422
    assert response.context["form"].errors["identifier"] == [eori_message("GB123456789000")]


def test_choosing_directly_records_the_consent_and_shows_it_in_the_header(principal):
    client = browser_for(principal.manager)
    response = client.post(PAGE, other(identifier=" fr 552100554", next="/notices/"))
    assert response.status_code == 302 and response["Location"] == "/notices/"
    assert client.session[acting.SESSION_KEY] == {
        "person": principal.manager.pk,
        "identifier": PRINCIPAL_EORI,
        "capacity": "direct",
    }
    event = AuditEvent.objects.get(action="acting.choose")
    assert event.actor == principal.manager and event.data["consent"] is True
    assert event.data["identifier"] == PRINCIPAL_EORI and event.data["capacity"] == "direct"
    assert event.on_behalf_of["operator"] == principal.operator.pk

    page = client.get("/notices/")
    assert header_line(page) == "Acting for Dupont SA (FR552100554), directly"
    html = page.content.decode()
    assert "You act for Dupont SA (FR552100554), directly." in html
    assert 'href="/acting-for/?next=/notices/"' in html
    # The page offers the current choice again.
    again = client.get(PAGE).content.decode()
    assert f'name="identifier" value="{PRINCIPAL_EORI}"' in again


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/notices/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
    ],
)
def test_only_a_safe_next_is_followed(principal, next_url):
    client = browser_for(principal.employee)
    response = client.post(PAGE, other(next=next_url))
    assert response.status_code == 302 and response["Location"] == "/"
    response = client.post(PAGE, {"who": "myself", "next": next_url})
    assert response.status_code == 302 and response["Location"] == "/"
    assert next_url not in client.get(PAGE, {"next": next_url}).content.decode()


def test_switching_back_to_myself(principal, provider):
    mandate = give_mandate(principal, provider)
    client = browser_for(provider.employee)
    client.post(PAGE, other(capacity="mandate"))
    assert header_line(client.get("/notices/")) == (
        "Acting for Dupont SA (FR552100554), holding a mandate"
    )
    chosen = AuditEvent.objects.get(action="acting.choose")
    assert chosen.data["mandate"] == str(mandate.public_id)

    response = client.post(PAGE, {"who": "myself", "next": "/notices/"})
    assert response.status_code == 302
    assert header_line(client.get("/notices/")) == "Acting for yourself"
    myself = AuditEvent.objects.get(action="acting.myself")
    assert myself.actor == provider.employee and myself.data == {"previous": PRINCIPAL_EORI}
    assert myself.on_behalf_of == {}
    # Myself again changes nothing and records nothing more.
    client.post(PAGE, {"who": "myself"})
    assert acting_events() == ["acting.choose", "acting.myself"]


# --- What the audit log records -----------------------------------------------------------------


def test_every_event_records_on_whose_behalf(principal, provider):
    give_mandate(principal, provider)
    boss = browser_for(principal.manager)
    boss.post(PAGE, other())
    proposed = boss.post(
        "/api/v1/mandates",
        {
            "operator_id": principal.operator.pk,
            "provider_eori": PROVIDER_EORI,
            "scope": "ics2_filing",
            "valid_from": today().isoformat(),
            "valid_until": None,
        },
        content_type="application/json",
    )
    assert proposed.status_code == 201, proposed.content
    event = AuditEvent.objects.filter(action="mandate.proposed").latest("sequence")
    assert event.actor == principal.manager
    assert event.on_behalf_of == {
        "actor_type": "EO",
        "identifier_type": "EORI",
        "identifier": PRINCIPAL_EORI,
        "capacity": "direct",
        "operator": principal.operator.pk,
        "name": "Dupont SA",
    }

    # The provider's employee, holding a mandate, changes their own profile.
    helper = browser_for(provider.employee)
    helper.post(PAGE, other(capacity="mandate"))
    changed = helper.patch("/api/v1/me", {"phone": "+33 1 23 45 67 89"}, "application/json")
    assert changed.status_code == 200, changed.content
    event = AuditEvent.objects.filter(action="profile.updated").latest("sequence")
    assert event.on_behalf_of["capacity"] == "mandate"
    assert event.on_behalf_of["identifier"] == PRINCIPAL_EORI
    assert event.on_behalf_of["mandate"] == str(
        Mandate.objects.get(scope=PORTAL, status="accepted").public_id
    )

    # For themself again: nothing on behalf of anyone.
    helper.post(PAGE, {"who": "myself"})
    helper.patch("/api/v1/me", {"phone": "+33 1 00 00 00 00"}, "application/json")
    event = AuditEvent.objects.filter(action="profile.updated").latest("sequence")
    assert event.on_behalf_of == {}
    # Someone who never chose acts for themself.
    UserFactory(username="someone_else")
    assert AuditEvent.objects.filter(action="terms.accepted").latest("sequence").on_behalf_of == {}

    # Both kinds of events in one chain, and it verifies.
    assert AuditEvent.objects.exclude(on_behalf_of={}).count() >= 3
    assert AuditEvent.objects.filter(on_behalf_of={}).exists()
    assert audit_verify() is None


def test_the_chain_covers_on_behalf_of(principal):
    client = browser_for(principal.lr)
    client.post(PAGE, other())
    client.patch("/api/v1/me", {"phone": "+33 1 23 45 67 89"}, "application/json")
    assert audit_verify() is None
    event = AuditEvent.objects.get(action="profile.updated")
    AuditEvent.objects.filter(pk=event.pk).update(
        on_behalf_of={**event.on_behalf_of, "identifier": "FR732829320"}
    )
    broken = audit_verify()
    assert broken is not None and broken.sequence == event.sequence


def test_the_staff_audit_page_shows_on_whose_behalf(principal, provider):
    give_mandate(principal, provider)
    client = browser_for(provider.employee)
    client.post(PAGE, other(capacity="mandate"))
    client.post(PAGE, {"who": "myself"})
    staff = UserFactory(group="Customs officers")
    TOTP.activate(staff, generate_totp_secret())
    html = browser_for(staff).get(f"/audit/people/{provider.employee.pk}/").content.decode()
    assert "On behalf of" in html
    assert "Dupont SA (EORI FR552100554, holding a mandate)" in html
    assert "themself" in html


# --- Lapse --------------------------------------------------------------------------------------


def test_an_ended_mandate_ends_the_choice_at_the_next_request(principal, provider):
    mandate = give_mandate(principal, provider)
    client = browser_for(provider.employee)
    client.post(PAGE, other(capacity="mandate"))
    assert "holding a mandate" in header_line(client.get("/notices/"))

    mandates.mandate_end(actor=principal.lr, mandate_id=mandate.public_id, reason="Over")
    page = client.get("/notices/")
    assert header_line(page) == "Acting for yourself"
    html = page.content.decode()
    assert "You act for yourself again: None of your companies holds a mandate in force" in html
    lapse = AuditEvent.objects.get(action="acting.lapse")
    assert lapse.actor == provider.employee
    assert lapse.data == {"identifier": PRINCIPAL_EORI, "reason": "no_mandate"}
    assert acting.SESSION_KEY not in client.session

    # Said once; what follows is done for themself.
    second = client.get("/notices/").content.decode()
    assert "You act for yourself again" not in second
    client.patch("/api/v1/me", {"phone": "+33 1 23 45 67 89"}, "application/json")
    assert AuditEvent.objects.get(action="profile.updated").on_behalf_of == {}
    assert acting_events() == ["acting.choose", "acting.lapse"]
    assert audit_verify() is None


def test_an_ended_position_ends_a_direct_choice(principal):
    client = browser_for(principal.employee)
    client.post(PAGE, other())
    _position(principal.employee, status=PS.ENDED)
    page = client.get("/notices/")
    assert header_line(page) == "Acting for yourself"
    assert "You act for yourself again: You hold no valid position" in page.content.decode()
    assert AuditEvent.objects.get(action="acting.lapse").data["reason"] == "no_position"


def test_a_choice_stays_with_the_person_who_made_it(principal):
    """Another person signed in on the same session does not inherit the choice."""
    client = browser_for(principal.manager)
    client.post(PAGE, other())
    session = client.session
    session[acting.SESSION_KEY] = {
        **session[acting.SESSION_KEY],
        "person": principal.manager.pk + 999,
    }
    session.save()
    assert header_line(client.get("/notices/")) == "Acting for yourself"
    assert acting.SESSION_KEY not in client.session


# --- After sign-in ------------------------------------------------------------------------------


def sign_in(client: Client, person: User, next_url: str = "/notices/"):
    return client.post(
        "/accounts/login/", {"login": person.username, "password": PASSWORD, "next": next_url}
    )


def test_someone_with_a_position_is_asked_after_sign_in(principal):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = sign_in(client, principal.employee)
    assert response.status_code == 302
    assert response["Location"] == "/acting-for/?next=%2Fnotices%2F"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert '<input type="hidden" name="next" value="/notices/">' in page.content.decode()
    chosen = client.post(PAGE, other(next="/notices/"))
    assert chosen["Location"] == "/notices/"


def test_with_an_authenticator_app_the_question_comes_after_the_code(principal):
    secret = with_totp(principal.employee)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert sign_in(client, principal.employee)["Location"] == "/accounts/2fa/authenticate/"
    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/acting-for/?next=%2Fnotices%2F"


def test_someone_holding_only_a_mandate_through_their_company_is_asked(principal, provider):
    give_mandate(principal, provider)
    response = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), provider.employee, next_url="")
    assert response["Location"] == "/acting-for/?next=%2F"


def test_someone_with_nobody_to_act_for_goes_straight_on(principal):
    for person in (UserFactory(), officer(AuthorityFactory())):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        response = sign_in(client, person)
        assert response.status_code == 302 and response["Location"] == "/notices/"
        assert sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), person, "")["Location"] == "/"
    # A position that is no longer valid offers nothing either.
    _position(principal.employee, status=PS.ENDED)
    assert sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), principal.employee)["Location"] == (
        "/notices/"
    )


def test_a_failed_sign_in_is_not_redirected(principal):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        "/accounts/login/", {"login": principal.employee.username, "password": "Wrong-1!"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("language", "direct", "mandated"),
    [("en", "directly", "holding a mandate"), ("de", "direkt", "mit Vollmacht")],
)
def test_the_capacity_reads_as_its_own_words_inside_a_sentence(language, direct, mandated):
    """Not the label lowered: German keeps its capital nouns."""
    choice = acting.ActingFor(operator_id=1, name="X", identifier="FR552100554", capacity="direct")
    with translation.override(language):
        assert choice.capacity_in_sentence == direct
        assert dataclasses.replace(choice, capacity="mandate").capacity_in_sentence == mandated
