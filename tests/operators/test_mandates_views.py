"""The mandate pages of a professional space: list, give (question page, check your answers,
confirmation), accept, decline, end; 403 with the reason inside the space, 404 outside it,
nothing changed on a refusal."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from comptoir.accounts.models import User
from comptoir.audit.models import AuditEvent
from comptoir.notifications.models import Notice
from comptoir.operators import mandates
from comptoir.operators.models import Mandate, Operator, Position
from tests.factories import UserFactory
from tests.operators.test_mandates import Side, propose, side

pytestmark = pytest.mark.django_db

MS = Mandate.Status


def english(found: Side) -> Side:
    """The pages speak the person's language: these legal representatives read English."""
    User.objects.filter(pk=found.lr.pk).update(language="en")
    found.lr.language = "en"
    return found


@pytest.fixture
def principal(db) -> Side:
    return english(side("FR552100554", "Dupont SA", "principal"))


@pytest.fixture
def provider(db) -> Side:
    return english(side("FR732829320", "Transit Services SARL", "provider"))


def signed_in(person: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(person)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def base(operator: Operator) -> str:
    return f"/companies/{operator.pk}/mandates/"


def answers(**overrides: str) -> dict[str, str]:
    data = {
        "provider_eori": "FR732829320",
        "scope": Mandate.Scope.ICS2_FILING,
        "valid_from": timezone.localdate().isoformat(),
        "valid_until": "",
    }
    data.update(overrides)
    return data


def test_give_a_mandate_question_check_and_confirmation(principal, provider):
    client = signed_in(principal.manager)
    page = client.get(base(principal.operator))
    assert page.status_code == 200
    assert "Give a mandate" in text(page) and "has not given any mandate" in text(page)

    form = client.get(f"{base(principal.operator)}new/")
    assert form.status_code == 200 and 'type="date"' in text(form)
    posted = client.post(f"{base(principal.operator)}new/", answers(provider_eori="fr 732829320"))
    assert posted.status_code == 302
    assert posted["Location"] == f"{base(principal.operator)}new/check/"
    assert not Mandate.objects.exists()

    check = client.get(posted["Location"])
    content = text(check)
    assert check.status_code == 200
    assert "Transit Services SARL" in content and "FR732829320" in content
    assert "ICS2 filing (B2G messages)" in content and "No end date" in content

    done = client.post(posted["Location"])
    mandate = Mandate.objects.get()
    assert done.status_code == 302
    assert done["Location"] == f"{base(principal.operator)}{mandate.public_id}/proposed/"
    assert mandate.status == MS.PROPOSED and mandate.created_by == principal.manager
    confirmation = text(client.get(done["Location"]))
    assert "Mandate proposed" in confirmation and mandate.reference in confirmation

    # Listed on both sides.
    assert mandate.reference in text(client.get(base(principal.operator)))
    received = text(signed_in(provider.employee).get(base(provider.operator)))
    assert mandate.reference in received and "Dupont SA" in received
    assert "Accept" not in received  # an employee sees it but has no action


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"provider_eori": ""}, "Enter the EORI number of the service provider."),
        ({"provider_eori": "FR428754006"}, "No company with this EORI number is registered"),
        ({"provider_eori": "FR552100554"}, "This is your own company's EORI number"),
        ({"scope": ""}, "Choose what the service provider may do"),
        ({"valid_from": "31/02/2027"}, "Enter the date the mandate starts as a real date"),
        ({"valid_from": "2020-01-01"}, "must be today or in the future"),
        (
            {"valid_from": "2040-01-10", "valid_until": "2040-01-09"},
            "must be the same as or after the date it starts",
        ),
    ],
)
def test_bad_answers_show_the_error_summary(principal, provider, overrides, message):
    client = signed_in(principal.lr)
    response = client.post(f"{base(principal.operator)}new/", answers(**overrides))
    assert response.status_code == 422
    content = text(response)
    assert "There is a problem" in content and message in content
    assert content.count(message) >= 2  # in the summary and at the field
    assert "<title>Error:" in content
    assert not Mandate.objects.exists()
    assert "mandate_new" not in client.session


def test_overlap_is_refused_on_the_question_page(principal, provider):
    propose(principal, provider, valid_until=None)
    response = signed_in(principal.lr).post(f"{base(principal.operator)}new/", answers())
    assert response.status_code == 422
    assert "whose period overlaps" in text(response)
    assert Mandate.objects.count() == 1


def test_the_check_page_refuses_what_became_wrong_meanwhile(principal, provider):
    client = signed_in(principal.lr)
    client.post(f"{base(principal.operator)}new/", answers())
    Operator.objects.filter(pk=provider.operator.pk).update(status=Operator.Status.SUSPENDED)
    response = client.post(f"{base(principal.operator)}new/check/")
    assert response.status_code == 422
    assert "is not active on Comptoir" in text(response)
    assert not Mandate.objects.exists()


def test_employees_and_suspended_members_cannot_give_mandates(principal, provider):
    employee = signed_in(principal.employee)
    for path in ("new/", "new/check/"):
        response = employee.post(f"{base(principal.operator)}{path}", answers())
        assert response.status_code == 403
        assert "legal representative and its managers" in text(response)
    assert employee.get(base(principal.operator)).status_code == 200
    Position.objects.filter(person=principal.manager).update(status=Position.Status.SUSPENDED)
    suspended = signed_in(principal.manager)
    assert suspended.get(base(principal.operator)).status_code == 403
    assert suspended.post(f"{base(principal.operator)}new/", answers()).status_code == 403
    assert not Mandate.objects.exists()


def test_outside_the_space_everything_is_404(principal, provider):
    mandate = propose(principal, provider)
    stranger = signed_in(UserFactory())
    other = english(side("FR428754006", "Autre SA", "other"))
    outsider = signed_in(other.lr)
    paths = [
        "",
        "new/",
        "new/check/",
        f"{mandate.public_id}/",
        f"{mandate.public_id}/accept/",
        f"{mandate.public_id}/decline/",
        f"{mandate.public_id}/end/",
    ]
    for client in (stranger, outsider):
        for path in paths:
            assert client.get(f"{base(principal.operator)}{path}").status_code == 404, path
            assert client.post(f"{base(provider.operator)}{path}", answers()).status_code == 404
    # Through its own space, another operator's mandate is not found either.
    for path in paths[3:]:
        assert outsider.get(f"{base(other.operator)}{path}").status_code == 404, path
        assert outsider.post(f"{base(other.operator)}{path}", {"reason": "x"}).status_code == 404
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED
    assert Mandate.objects.count() == 1
    # Anonymous visitors are sent to sign in.
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en").get(base(principal.operator))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_accept_through_its_confirmation_page(principal, provider):
    mandate = propose(principal, provider)
    client = signed_in(provider.lr)
    listing = text(client.get(base(provider.operator)))
    accept = f"{base(provider.operator)}{mandate.public_id}/accept/"
    assert f'href="{accept}"' in listing
    page = client.get(accept)
    assert page.status_code == 200 and "Accept this mandate" in text(page)
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED  # a GET changes nothing
    done = client.post(accept)
    assert done.status_code == 302 and done["Location"] == base(provider.operator)
    mandate.refresh_from_db()
    assert mandate.status == MS.ACCEPTED and mandate.accepted_by == provider.lr
    assert "You have accepted the mandate" in text(client.get(done["Location"]))
    # Again: the mandate is no longer proposed; a message, nothing changed.
    again = client.post(accept, follow=True)
    assert "can no longer be changed: it is now accepted" in text(again)
    assert AuditEvent.objects.filter(action="mandate.accepted").count() == 1


def test_the_principal_cannot_accept_its_own_proposal(principal, provider):
    mandate = propose(principal, provider)
    client = signed_in(principal.lr)
    for action in ("accept", "decline"):
        response = client.post(f"{base(principal.operator)}{mandate.public_id}/{action}/")
        assert response.status_code == 403
        assert "service provider's legal representative and managers" in text(response)
    employee = signed_in(provider.employee)
    response = employee.post(f"{base(provider.operator)}{mandate.public_id}/accept/")
    assert response.status_code == 403
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED


def test_decline_with_an_optional_reason(principal, provider):
    mandate = propose(principal, provider)
    client = signed_in(provider.manager)
    url = f"{base(provider.operator)}{mandate.public_id}/decline/"
    assert "Reason for declining" in text(client.get(url))
    response = client.post(url, {"reason": "x" * 1001})
    assert response.status_code == 422 and "1000 characters or fewer" in text(response)
    mandate.refresh_from_db()
    assert mandate.status == MS.PROPOSED
    assert client.post(url, {"reason": ""}).status_code == 302
    mandate.refresh_from_db()
    assert mandate.status == MS.DECLINED and mandate.declined_by == provider.manager
    notice = Notice.objects.filter(topic="mandate.declined", recipient=principal.manager).get()
    assert notice.link == f"{base(principal.operator)}{mandate.public_id}/"


def test_end_needs_a_reason_and_is_shown_on_both_sides(principal, provider):
    mandate = propose(principal, provider)
    mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    client = signed_in(principal.lr)
    url = f"{base(principal.operator)}{mandate.public_id}/end/"
    refused = client.post(url, {"reason": " "})
    assert refused.status_code == 422
    assert "Enter the reason for ending the mandate" in text(refused)
    mandate.refresh_from_db()
    assert mandate.status == MS.ACCEPTED
    assert client.post(url, {"reason": "We file ourselves now"}).status_code == 302
    mandate.refresh_from_db()
    assert mandate.status == MS.ENDED and mandate.ended_side == Mandate.Side.PRINCIPAL
    detail = text(
        signed_in(provider.employee).get(f"{base(provider.operator)}{mandate.public_id}/")
    )
    assert "We file ourselves now" in detail and "Ended" in detail


def test_list_shows_state_and_period(principal, provider):
    start = timezone.localdate() + timedelta(days=3)
    mandate = propose(
        principal, provider, valid_from=start, valid_until=None, scope="portal_actions"
    )
    mandates.mandate_accept(actor=provider.lr, mandate_id=mandate.public_id)
    content = text(signed_in(principal.employee).get(base(principal.operator)))
    assert "Accepted, starts later" in content and "no end date" in content
    assert "Portal actions" in content


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_every_page_renders_in_each_language(principal, provider, language):
    mandate = propose(principal, provider)
    User.objects.filter(pk=provider.lr.pk).update(language=language)
    client = signed_in(provider.lr)
    operator_base = base(provider.operator)
    for path in (
        "",
        "new/",
        f"{mandate.public_id}/",
        f"{mandate.public_id}/accept/",
        f"{mandate.public_id}/decline/",
        f"{mandate.public_id}/end/",
    ):
        response = client.get(f"{operator_base}{path}")
        assert response.status_code == 200, path
        assert f'lang="{language}"' in text(response)
    client.post(f"{operator_base}new/", answers(provider_eori="FR552100554"))
    assert client.get(f"{operator_base}new/check/").status_code == 200
