"""The lodging API: a person lodges for an operator where their position is valid, an
operator's B2G client lodges through B2G; refusals are 403 (who, which channel) or 422 (the
declaration) with a code; reading back is scoped, 404 outside."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from comptoir.accounts import services as account_services
from comptoir.audit.models import AuditEvent
from comptoir.continuity.models import Outage
from comptoir.lodging.models import Declaration
from tests.lodging.conftest import JSON, XML, open_outage

pytestmark = pytest.mark.django_db

LODGE = "/api/v1/declarations"
B2G = "/api/v1/declarations/b2g"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def person_token(person) -> dict[str, str]:
    _token, clear = account_services.api_token_create(user=person, name="lodging")
    return bearer(clear)


def api() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def form(content: bytes = XML, name: str = "import.xml", **fields) -> dict:
    return {"type": "IMPORT", "file": SimpleUploadedFile(name, content), **fields}


def test_person_lodges_and_reads_back(world):
    auth = person_token(world.employee)
    response = api().post(LODGE, form(operator_id=world.portal_operator.pk), **auth)
    assert response.status_code == 201, response.content
    body = response.json()
    declaration = Declaration.objects.get()
    assert body["mrn"] == declaration.mrn and body["channel"] == "portal"
    assert body["operator_eori"] == world.portal_operator.eori
    assert body["payload_sha256"] == declaration.payload_sha256
    assert body["lodged_by"] == "employee1" and body["client"] is None
    assert body["receipt_url"] == f"/api/v1/declarations/{declaration.mrn}/receipt.pdf"

    listing = api().get(f"{LODGE}?operator_id={world.portal_operator.pk}", **auth).json()
    assert listing["count"] == 1 and listing["items"][0]["mrn"] == declaration.mrn
    one = api().get(f"{LODGE}/{declaration.mrn}", **auth)
    assert one.status_code == 200 and one.json()["type"] == "IMPORT"
    receipt = api().get(body["receipt_url"], **auth)
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    assert declaration.mrn.encode() in receipt.content


def test_explicit_format_overrides_the_file_name(world):
    auth = person_token(world.employee)
    response = api().post(
        LODGE,
        form(JSON, "payload.bin", operator_id=world.portal_operator.pk, format="json"),
        **auth,
    )
    assert response.status_code == 201 and response.json()["format"] == "json"


def test_person_refusals(world):
    auth = person_token(world.employee)
    # Another company: 404, nothing stored.
    response = api().post(LODGE, form(operator_id=world.b2g_operator.pk), **auth)
    assert response.status_code == 404
    # Bad declaration: 422 with its code.
    response = api().post(LODGE, form(b"<a>", operator_id=world.portal_operator.pk), **auth)
    assert response.status_code == 422
    assert response.json()["code"] == "xml_malformed"
    assert "not well-formed XML" in response.json()["detail"]
    # Operation not held: 403 with its code.
    response = api().post(
        LODGE, form(operator_id=world.portal_operator.pk, type="ENTRY_SUMMARY"), **auth
    )
    assert response.status_code == 403 and response.json()["code"] == "operation_not_held"
    # Exception: 403, the office named.
    open_outage(Outage.Kind.EXCEPTION, contact_office="Office Z", instructions="Phone first.")
    response = api().post(LODGE, form(operator_id=world.portal_operator.pk), **auth)
    assert response.status_code == 403 and response.json()["code"] == "exception"
    assert "Office Z" in response.json()["detail"]
    assert not Declaration.objects.exists()
    codes = list(
        AuditEvent.objects.filter(action="lodging.refused").values_list("data__code", flat=True)
    )
    assert codes == ["xml_malformed", "operation_not_held", "exception"]


def test_b2g_operator_person_gets_channel_refusal(world):
    auth = person_token(world.b2g_employee)
    response = api().post(LODGE, form(operator_id=world.b2g_operator.pk), **auth)
    assert response.status_code == 403 and response.json()["code"] == "channel_b2g_required"
    open_outage(Outage.Kind.ADMINISTRATION)
    response = api().post(LODGE, form(operator_id=world.b2g_operator.pk), **auth)
    assert response.status_code == 201


def test_too_large_upload_is_refused_unread(world, settings):
    settings.COMPTOIR_DECLARATION_MAX_BYTES = 64
    auth = person_token(world.employee)
    response = api().post(
        LODGE, form(b"<d>" + b"x" * 100 + b"</d>", operator_id=world.portal_operator.pk), **auth
    )
    assert response.status_code == 422 and response.json()["code"] == "too_large"
    assert not Declaration.objects.exists()
    assert AuditEvent.objects.filter(action="lodging.refused", data__code="too_large").exists()


def test_reading_is_scoped(world):
    api().post(LODGE, form(operator_id=world.portal_operator.pk), **person_token(world.employee))
    mrn = Declaration.objects.get().mrn
    other = person_token(world.outsider)
    assert api().get(f"{LODGE}/{mrn}", **other).status_code == 404
    assert api().get(f"{LODGE}/{mrn}/receipt.pdf", **other).status_code == 404
    assert api().get(f"{LODGE}?operator_id={world.portal_operator.pk}", **other).status_code == 404
    assert api().get(f"{LODGE}/{mrn}").status_code == 401


def test_b2g_client_lodges(world):
    response = api().post(B2G, form(JSON, "ens.json"), **bearer(world.client_token))
    assert response.status_code == 201, response.content
    body = response.json()
    declaration = Declaration.objects.get()
    assert body["mrn"] == declaration.mrn and body["channel"] == "b2g"
    assert body["client"] == "b2g-system" and body["lodged_by"] is None
    assert declaration.operator == world.b2g_operator and declaration.client == world.client
    assert body["receipt_url"] == f"{B2G}/{declaration.mrn}/receipt.pdf"
    # The operator's members read it back.
    auth = person_token(world.b2g_employee)
    assert api().get(f"{LODGE}/{declaration.mrn}", **auth).status_code == 200
    # So does the client, receipt included; another operator's client does not see it.
    one = api().get(f"{B2G}/{declaration.mrn}", **bearer(world.client_token))
    assert one.status_code == 200 and one.json()["mrn"] == declaration.mrn
    receipt = api().get(body["receipt_url"], **bearer(world.client_token))
    assert receipt.status_code == 200 and declaration.mrn.encode() in receipt.content
    for path in (f"{B2G}/{declaration.mrn}", body["receipt_url"]):
        assert api().get(path, **bearer(world.other_client_token)).status_code == 404
        assert api().get(path).status_code == 401


def test_b2g_refusals(world):
    # No credentials or a wrong token: 401.
    assert api().post(B2G, form()).status_code == 401
    assert api().post(B2G, form(), **bearer("b2g_wrong")).status_code == 401
    # A portal-only operator's client: 403 channel_portal_only.
    from comptoir.b2g.services import b2g_client_create

    _client, token = b2g_client_create(name="portal-op", operator=world.portal_operator)
    response = api().post(B2G, form(), **bearer(token))
    assert response.status_code == 403 and response.json()["code"] == "channel_portal_only"
    # An access point's client (no operator): 403.
    _client, token = b2g_client_create(name="access-point")
    response = api().post(B2G, form(), **bearer(token))
    assert response.status_code == 403
    assert response.json()["code"] == "client_without_operator"
    # A bad payload: 422.
    response = api().post(B2G, form(b"[]", "x.json"), **bearer(world.client_token))
    assert response.status_code == 422 and response.json()["code"] == "json_not_object"
    # The exception: 403.
    open_outage(Outage.Kind.EXCEPTION, contact_office="Office Y")
    response = api().post(B2G, form(), **bearer(world.client_token))
    assert response.status_code == 403 and response.json()["code"] == "exception"
    assert not Declaration.objects.exists()


def test_openapi_lists_the_endpoints(world):
    schema = api().get("/api/v1/openapi.json").json()
    assert "post" in schema["paths"]["/api/v1/declarations"]
    assert "post" in schema["paths"]["/api/v1/declarations/b2g"]
    assert "get" in schema["paths"]["/api/v1/declarations/{mrn}/receipt.pdf"]
