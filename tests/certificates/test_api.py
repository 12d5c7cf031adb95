"""/api/v1/certificates: start (201 with the link to the registration PDF), download it, upload
it signed (multipart), details, search, downloads, revoke; 403 {"detail", "code"} within the
caller's companies, 404 outside them, 409 for a status that no longer allows the step, 422 with
the check's code for a bad file (nothing changed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from comptoir.accounts import services
from comptoir.accounts.models import User
from comptoir.certificates.models import Certificate, EoriIdentity, RegistrationDocument
from tests.certificates import test_registrations_kit as kit
from tests.factories_operators import AuthorityFactory, officer

pytestmark = pytest.mark.django_db

CS = Certificate.Status
API = "/api/v1/certificates"


@pytest.fixture
def keys(settings, tmp_path) -> kit.Pki:
    return kit.trust_setup(settings, tmp_path)


@pytest.fixture
def dupont(db) -> kit.Company:
    return kit.company()


def api_for(person: User) -> Client:
    if person.is_portal_staff:
        TOTP.activate(person, generate_totp_secret())
    _token, clear = services.api_token_create(user=person, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en")


def start(client: Client, operator_id: int, **overrides):
    data = {
        "operator_id": operator_id,
        "name": "ICS2 seal 2027",
        "description": "ENS filings",
        "purpose": "seal",
        "key_holder": True,
    }
    data.update(overrides)
    return client.post(API, data, content_type="application/json")


def test_the_whole_registration_through_the_api(dupont, keys):
    client = api_for(dupont.lr)
    response = start(client, dupont.operator.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    certificate = Certificate.objects.get()
    assert body["id"] == str(certificate.public_id) and body["status"] == "sealed"
    assert body["eori"] == dupont.operator.eori
    assert body["registration_pdf_id"] == str(certificate.registration_pdf_id)
    assert body["upload_url"] == f"{API}/{certificate.public_id}/upload"
    link = body["downloads"]["registration.pdf"]
    assert set(body["downloads"]) == {"registration.pdf"}
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.content == kit.issued_pdf(certificate)

    seal = kit.leaf(keys.ca)
    response = client.post(
        body["upload_url"],
        {"signed": SimpleUploadedFile("signed.pdf", kit.sign_pades(pdf.content, seal, keys.ca))},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "active" and body["upload_url"] is None
    certificate.refresh_from_db()
    assert body["sha256"] == certificate.sha256 and body["serial"] == certificate.serial
    assert body["version"] == 3 and body["qualified"] is False
    assert body["created_by"] == dupont.lr.username
    assert set(body["downloads"]) == {
        "certificate.cer",
        "certificate.pem",
        "registration.pdf",
        "signed.pdf",
        "proof.pdf",
    }
    assert client.get(body["downloads"]["certificate.cer"]).content == seal.der
    assert client.get(body["downloads"]["proof.pdf"]).content.startswith(b"%PDF")

    detail = client.get(f"{API}/{certificate.public_id}")
    assert detail.status_code == 200 and detail.json()["status"] == "active"
    identity = client.get(f"{API}/identities/{dupont.operator.pk}").json()
    assert identity == {
        "id": str(EoriIdentity.objects.get().public_id),
        "identifier": dupont.operator.eori,
        "identifier_type": "EORI",
        "actor_type": "EO",
        "operator_id": dupont.operator.pk,
        "created_at": identity["created_at"],
        "modified_at": identity["modified_at"],
    }

    # A second upload: the status no longer allows it.
    again = client.post(
        f"{API}/{certificate.public_id}/upload",
        {"signed": SimpleUploadedFile("signed.pdf", b"%PDF-1.7")},
    )
    assert again.status_code == 409 and again.json()["code"] == "status"

    revoked = client.post(
        f"{API}/{certificate.public_id}/revoke",
        {"reason": "Replaced"},
        content_type="application/json",
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["revocation_reason"] == "Replaced"
    assert revoked.json()["revoked_by"] == dupont.lr.username


@pytest.mark.parametrize(
    "bad",
    ["not a PDF", "another key", "changed", "expired", "unlisted CA"],
)
def test_bad_files_answer_422_with_their_code_and_change_nothing(dupont, keys, bad):
    client = api_for(dupont.lr)
    certificate_id = start(client, dupont.operator.pk).json()["id"]
    certificate = Certificate.objects.get()
    pdf = kit.issued_pdf(certificate)
    seal = kit.leaf(keys.ca)
    signed = {
        "not a PDF": lambda: b"GIF89a not a PDF",
        "another key": lambda: kit.sign_pades(pdf, seal, keys.ca, key=kit.leaf(keys.ca).key),
        "changed": lambda: kit.sign_pades(pdf, seal, keys.ca).replace(b"595.28", b"595.29", 1),
        "expired": lambda: kit.sign_pades(pdf, kit.expired_leaf(keys.ca), keys.ca),
        "unlisted CA": lambda: kit.sign_pades(pdf, kit.leaf(keys.unlisted_ca), keys.unlisted_ca),
    }[bad]()
    response = client.post(
        f"{API}/{certificate_id}/upload", {"signed": SimpleUploadedFile("s.pdf", signed)}
    )
    assert response.status_code == 422, response.content
    body = response.json()
    expected = {
        "not a PDF": {"not_pdf"},
        "another key": {"signature_invalid"},
        "changed": {"signature_invalid", "seal_broken"},
        "expired": {"expired"},
        "unlisted CA": {"unlisted_ca"},
    }[bad]
    assert body["code"] in expected and body["detail"]
    certificate.refresh_from_db()
    assert certificate.status == CS.SEALED and not certificate.der
    assert list(
        RegistrationDocument.objects.filter(certificate=certificate).values_list("kind", flat=True)
    ) == ["issued"]


def test_start_refusals(dupont, keys):
    closed = kit.company(granted=False, name="Closed company")
    client = api_for(closed.lr)
    response = start(client, closed.operator.pk)
    assert response.status_code == 403 and response.json()["code"] == "no_right"
    employee = api_for(dupont.employee)
    response = start(employee, dupont.operator.pk)
    assert response.status_code == 403 and response.json()["code"] == "not_manager"
    # Someone else's company does not exist for the caller.
    assert start(client, dupont.operator.pk).status_code == 404
    bad = start(api_for(dupont.lr), dupont.operator.pk, name="", purpose="web", key_holder=None)
    assert bad.status_code == 422
    fields = {item["loc"][-1] for item in bad.json()["detail"]}
    assert fields == {"name", "purpose", "key_holder"}
    assert not Certificate.objects.exists()


def test_scope_and_search(dupont):
    ours = kit.active_certificate(dupont, name="Ours", days_left=20)
    kit.active_certificate(dupont, name="Ours later", days_left=300, purpose="signature")
    other = kit.company(name="Other company")
    theirs = kit.active_certificate(other, name="Theirs")
    client = api_for(dupont.employee)
    listed = client.get(API).json()
    assert listed["count"] == 2 and {item["name"] for item in listed["items"]} == {
        "Ours",
        "Ours later",
    }
    assert client.get(API, {"operator_id": other.operator.pk}).status_code == 404
    assert client.get(f"{API}/{theirs.public_id}").status_code == 404
    assert client.get(f"{API}/{theirs.public_id}/download/certificate.cer").status_code == 404
    assert client.get(f"{API}/not-a-uuid").status_code == 404
    revoke = client.post(
        f"{API}/{theirs.public_id}/revoke", {"reason": "x"}, content_type="application/json"
    )
    assert revoke.status_code == 404
    # In scope but not allowed: an employee does not revoke.
    refused = client.post(
        f"{API}/{ours.public_id}/revoke", {"reason": "x"}, content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "not_manager"

    def names(**query) -> set[str]:
        response = client.get(API, query)
        assert response.status_code == 200, response.content
        return {item["name"] for item in response.json()["items"]}

    soon = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert names(valid_until_before=soon) == {"Ours"}
    assert names(purpose="signature") == {"Ours later"}
    assert names(name="later") == {"Ours later"}
    assert names(serial=ours.serial) == {"Ours"}
    assert names(type="qualified") == set()
    assert names(status="active", limit=1, offset=1) <= {"Ours", "Ours later"}
    bad = client.get(API, {"type": "gold", "status": "lost"})
    assert bad.status_code == 422
    assert {item["loc"][-1] for item in bad.json()["detail"]} == {"type", "status"}

    # Customs officers see every certificate and revoke any.
    customs = api_for(officer(AuthorityFactory()))
    assert customs.get(API).json()["count"] == 3
    response = customs.post(
        f"{API}/{theirs.public_id}/revoke", {"reason": "Fraud"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    missing_reason = customs.post(
        f"{API}/{ours.public_id}/revoke", {"reason": " "}, content_type="application/json"
    )
    assert missing_reason.status_code == 422
    ours.refresh_from_db()
    assert ours.status == CS.ACTIVE


def test_anonymous_callers_get_401():
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get(API).status_code == 401


def test_the_endpoints_are_in_the_openapi_schema(client):
    paths = set(client.get("/api/v1/openapi.json").json()["paths"])
    assert {
        API,
        f"{API}/identities/{{operator_id}}",
        f"{API}/{{certificate_id}}",
        f"{API}/{{certificate_id}}/upload",
        f"{API}/{{certificate_id}}/revoke",
        f"{API}/{{certificate_id}}/download/{{what}}",
    } <= paths
