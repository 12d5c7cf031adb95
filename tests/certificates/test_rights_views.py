"""The pages where a company asks customs for access to certificate registration: the question page
(EORI and company name shown, account name, wanted date, environment), the confirmation panel,
the officer's decision in the queue; 403 with the reason for members who may not ask, 404 outside
the person's companies, nothing changed on a refusal."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

from comptoir.accounts.models import User
from comptoir.approvals.models import Request
from comptoir.certificates import rights
from comptoir.certificates.models import RegistrationRight
from comptoir.operators.models import Operator, Position
from tests.certificates.test_rights import Company, ask, make_company, request_of, snapshot

pytestmark = pytest.mark.django_db

RRS = RegistrationRight.Status


@pytest.fixture
def company(db) -> Company:
    return make_company()


def signed_in(person: User) -> Client:
    if person.is_portal_staff:  # staff pass the account gate only with TOTP
        TOTP.activate(person, generate_totp_secret())
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(person)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def page(operator: Operator) -> str:
    return f"/companies/{operator.pk}/certificates/access/"


def answers(**overrides: str) -> dict[str, str]:
    data = {
        "account_name": "dupont_certs",
        "wanted_on": (timezone.localdate() + timedelta(days=7)).isoformat(),
        "environment": "production",
    }
    data.update(overrides)
    return data


def test_the_url_names(company):
    assert reverse("certificates:access_request", kwargs={"operator_id": 7}) == (
        "/companies/7/certificates/access/"
    )
    right_id = "0b0e7c1e-8a77-4a4c-9f43-6d8f3c7d2a10"
    assert reverse(
        "certificates:access_requested", kwargs={"operator_id": 7, "right_id": right_id}
    ) == (f"/companies/7/certificates/access/requested/{right_id}/")


def test_the_question_page_shows_the_company_and_suggests_the_username(company):
    response = signed_in(company.legal_representative).get(page(company.operator))
    assert response.status_code == 200
    body = text(response)
    assert "Ask for access to certificate registration" in body
    assert "FR552100554" in body and "Dupont SA" in body
    assert 'name="account_name"' in body and 'value="legalrep1"' in body
    assert 'type="date"' in body
    assert 'type="radio"' in body and "Conformance testing" in body
    assert 'name="eori"' not in body and 'name="company_name"' not in body


def test_ask_then_confirmation_with_the_reference(company):
    client = signed_in(company.manager)
    response = client.post(page(company.operator), answers())
    right = RegistrationRight.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{page(company.operator)}requested/{right.public_id}/"
    assert right.status == RRS.REQUESTED
    assert right.requested_by == company.manager
    assert (right.eori, right.company_name) == ("FR552100554", "Dupont SA")
    assert right.account_name == "dupont_certs"
    assert right.wanted_on == timezone.localdate() + timedelta(days=7)

    done = client.get(response["Location"])
    assert done.status_code == 200
    body = text(done)
    assert "Request sent to customs" in body and "panel--confirmation" in body
    assert request_of(right).reference in body
    assert "What happens next" in body
    assert company.administration.name in body
    assert "certificate registration stays closed" in body

    # The company's history on the question page.
    again = text(client.get(page(company.operator)))
    assert "Your company's access to certificate registration" in again
    assert request_of(right).reference in again and "Requested" in again


def test_eori_and_company_name_cannot_be_typed_in(company):
    signed_in(company.legal_representative).post(
        page(company.operator), {**answers(), "eori": "DE999", "company_name": "Forged"}
    )
    right = RegistrationRight.objects.get()
    assert (right.eori, right.company_name) == ("FR552100554", "Dupont SA")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"account_name": ""}, "Enter the name of the account that will register certificates."),
        ({"account_name": "a b c"}, "using only letters, digits"),
        ({"wanted_on": ""}, "Enter the date from which you want to register certificates."),
        ({"wanted_on": "31/02/2027"}, "as a real date, like 2027-01-31"),
        ({"wanted_on": "2001-01-01"}, "today or in the future"),
        ({"environment": ""}, "Choose the environment: production or conformance testing."),
        ({"environment": "staging"}, "Choose the environment: production or conformance testing."),
    ],
)
def test_bad_input_shows_the_error_summary_and_changes_nothing(company, overrides, message):
    before = snapshot()
    response = signed_in(company.legal_representative).post(
        page(company.operator), answers(**overrides)
    )
    assert response.status_code == 422
    body = text(response)
    assert "There is a problem" in body and "<title>Error:" in body
    assert message in body
    assert snapshot() == before


def test_a_second_request_for_the_same_environment_names_the_first(company):
    first = ask(company)
    before = snapshot()
    response = signed_in(company.manager).post(page(company.operator), answers())
    assert response.status_code == 422
    body = text(response)
    assert "There is a problem" in body
    assert f"Your company's request {request_of(first).reference}" in body
    assert snapshot() == before


def test_an_employee_is_told_who_may_ask(company):
    client = signed_in(company.employee)
    before = snapshot()
    for response in (
        client.get(page(company.operator)),
        client.post(page(company.operator), answers()),
    ):
        assert response.status_code == 403
        body = text(response)
        assert "You cannot do this" in body
        assert "Only the company's legal representative and its managers" in body
    assert snapshot() == before


def test_a_suspended_member_is_refused(company):
    Position.objects.filter(person=company.manager).update(status=Position.Status.SUSPENDED)
    response = signed_in(company.manager).post(page(company.operator), answers())
    assert response.status_code == 403
    assert "suspended" in text(response)
    assert not RegistrationRight.objects.exists()


def test_people_outside_the_company_get_404(company):
    right = ask(company)
    done = f"{page(company.operator)}requested/{right.public_id}/"
    people = (company.outsider, company.other_legal_representative, company.foreign_officer)
    clients = [signed_in(person) for person in people]
    before = snapshot()
    for client in clients:
        assert client.get(page(company.operator)).status_code == 404
        assert client.post(page(company.operator), answers()).status_code == 404
        assert client.get(done).status_code == 404
    # A right of another company under one's own company's address: 404 as well.
    other = clients[1]
    assert (
        other.get(f"{page(company.other_operator)}requested/{right.public_id}/").status_code == 404
    )
    assert snapshot() == before


def test_signed_out_people_are_sent_to_sign_in(company):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(page(company.operator))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_operator_without_eori_cannot_ask(company):
    Operator.objects.filter(pk=company.operator.pk).update(eori="")
    client = signed_in(company.legal_representative)
    response = client.get(page(company.operator))
    assert response.status_code == 200
    assert "Your company has no EORI number in Comptoir" in text(response)
    assert 'name="account_name"' not in text(response)
    assert client.post(page(company.operator), answers()).status_code == 422
    assert not RegistrationRight.objects.exists()


def test_the_officer_sees_the_details_and_grants_access_in_the_queue(company):
    signed_in(company.legal_representative).post(page(company.operator), answers())
    right = RegistrationRight.objects.get()
    submitted = request_of(right)
    officer = signed_in(company.officer)

    queue = text(officer.get("/requests/queue/"))
    assert submitted.reference in queue and "Access to certificate registration" in queue

    detail = officer.get(f"/requests/{submitted.public_id}/")
    assert detail.status_code == 200
    body = text(detail)
    with translation.override("en"):
        wanted = formats.date_format(right.wanted_on)
    for label, value in (
        ("EORI number", "FR552100554"),
        ("Company name", "Dupont SA"),
        ("Account name", "dupont_certs"),
        ("Access wanted from", wanted),
        ("Environment", "Production"),
    ):
        assert f'<th scope="row">{label}</th><td>{value}</td>' in body, label

    response = officer.post(f"/requests/{submitted.public_id}/", {"decision": "approve"})
    assert response.status_code == 302
    right.refresh_from_db()
    assert right.status == RRS.GRANTED
    assert rights.registration_right_for(operator=company.operator) == right
    submitted.refresh_from_db()
    assert submitted.status == Request.Status.APPROVED and submitted.decided_by == company.officer

    # The company's page now says it has access; the confirmation page too.
    client = signed_in(company.legal_representative)
    assert "Granted" in text(client.get(page(company.operator)))
    done = text(client.get(f"{page(company.operator)}requested/{right.public_id}/"))
    assert "you can now register certificates" in done


def test_a_refusal_and_its_reason_show_in_the_history(company):
    right = ask(company)
    officer = signed_in(company.officer)
    officer.post(
        f"/requests/{right.request_id}/",
        {"decision": "reject", "reason": "The account is unknown to us."},
    )
    right.refresh_from_db()
    assert right.status == RRS.REFUSED
    body = text(signed_in(company.legal_representative).get(page(company.operator)))
    assert "Refused" in body and "The account is unknown to us." in body


def test_the_closed_wizard_explains_why_and_what_to_do(company):
    with translation.override("en"):
        state = rights.registration_access_state(
            operator=company.operator, person=company.legal_representative
        )
        closed = render_to_string(
            "certificates/rights/_closed.html", {"operator": company.operator, "access": state}
        )
    assert "Your company cannot register certificates yet" in closed
    assert page(company.operator) in closed

    right = ask(company)
    with translation.override("en"):
        state = rights.registration_access_state(operator=company.operator, person=company.employee)
        closed = render_to_string(
            "certificates/rights/_closed.html", {"operator": company.operator, "access": state}
        )
    assert request_of(right).reference in closed and "waiting for a decision" in closed
    assert "Ask one of them to do it." in closed
    assert page(company.operator) not in closed
