"""The JSON API under /api/v1/: schema, session and personal-token authentication, the account
gate (terms, staff TOTP), CSRF on unsafe methods, scoping and audit."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from comptoir.accounts import services
from comptoir.accounts.models import ApiToken, TermsVersion
from comptoir.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def bearer(clear: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {clear}"}


def token_for(user) -> str:
    _token, clear = services.api_token_create(user=user, name="test")
    return clear


def publish_new_terms() -> TermsVersion:
    terms = TermsVersion.objects.create(
        version="2.0",
        title_en="t",
        title_fr="t",
        title_de="t",
        text_en="New text.",
        text_fr="Nouveau texte.",
        text_de="Neuer Text.",
    )
    return services.terms_publish(terms=terms, actor=None)


# --- Schema --------------------------------------------------------------------------------


def _resolve(document: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def _walk_refs(document: dict, node) -> int:
    count = 0
    if isinstance(node, dict):
        if "$ref" in node:
            _resolve(document, node["$ref"])
            count += 1
        for value in node.values():
            count += _walk_refs(document, value)
    elif isinstance(node, list):
        for value in node:
            count += _walk_refs(document, value)
    return count


def test_the_openapi_schema_is_valid_openapi_3_and_lists_me(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    schema = response.json()

    assert re.fullmatch(r"3\.\d+\.\d+", schema["openapi"])
    assert isinstance(schema["info"]["title"], str) and schema["info"]["title"]
    assert isinstance(schema["info"]["version"], str) and schema["info"]["version"]
    assert set(schema) <= {
        "openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks", "components",
        "security", "tags", "externalDocs",
    }  # fmt: skip
    schemes = schema["components"]["securitySchemes"]
    operation_ids = []
    for path, item in schema["paths"].items():
        assert path.startswith("/")
        templated = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            assert method in HTTP_METHODS | {"parameters", "summary", "description"}, method
            if method not in HTTP_METHODS:
                continue
            operation_ids.append(operation["operationId"])
            assert operation["responses"], f"{method} {path} has no responses"
            for status, answer in operation["responses"].items():
                assert status == "default" or re.fullmatch(r"[1-5](\d\d|XX)", status)
                assert "description" in answer
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == templated, f"{method} {path}: path parameters"
            for parameter in operation.get("parameters", []):
                assert parameter["in"] in {"query", "header", "path", "cookie"}
                if parameter["in"] == "path":
                    assert parameter["required"] is True
            for requirement in operation.get("security", schema.get("security", [])):
                assert set(requirement) <= set(schemes)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    assert _walk_refs(schema, schema) > 0

    assert "get" in schema["paths"]["/api/v1/me"]
    assert "patch" in schema["paths"]["/api/v1/me"]
    me = schema["paths"]["/api/v1/me"]["get"]
    assert {"200", "401", "403"} <= set(me["responses"])
    kinds = {(s["type"], s.get("scheme"), s.get("in")) for s in schemes.values()}
    assert ("http", "bearer", None) in kinds
    assert ("apiKey", None, "cookie") in kinds


# --- Session -------------------------------------------------------------------------------


def test_me_for_the_signed_in_person_by_session(client):
    person = UserFactory(first_name="Grace", last_name="Hopper", phone="+1 555 0100")
    client.force_login(person)
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "username": person.username,
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": person.email,
        "phone": "+1 555 0100",
        "postal_address": "",
        "language": "en",
        "two_factor_enabled": False,
        "staff": False,
    }


def test_anonymous_callers_get_401():
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.get(ME).status_code == 401
    # No session cookie, so no CSRF question: 401, not 403.
    patch = anonymous.patch(ME, {"first_name": "X"}, content_type="application/json")
    assert patch.status_code == 401


def test_unsafe_methods_by_session_need_the_csrf_token():
    person = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)
    assert browser.get(ME).status_code == 200  # safe methods need no token

    refused = browser.patch(ME, {"first_name": "Eve"}, content_type="application/json")
    assert refused.status_code == 403
    person.refresh_from_db()
    assert person.first_name == "Ada"

    browser.get("/profile/")  # any page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    accepted = browser.patch(
        ME, {"first_name": "Grace"}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert accepted.status_code == 200
    assert accepted.json()["first_name"] == "Grace"
    person.refresh_from_db()
    assert person.first_name == "Grace"


# --- Personal tokens -----------------------------------------------------------------------


def test_me_by_personal_token_without_csrf():
    person = UserFactory()
    clear = token_for(person)
    program = Client(enforce_csrf_checks=True)
    response = program.get(ME, **bearer(clear))
    assert response.status_code == 200
    assert response.json()["username"] == person.username
    assert ApiToken.objects.get(user=person).last_used_at is not None

    changed = program.patch(
        ME, {"language": "de"}, content_type="application/json", **bearer(clear)
    )
    assert changed.status_code == 200
    person.refresh_from_db()
    assert person.language == "de"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cpt_unknown-token-value",
        "Bearer ",
        "Bearer not-even-our-format",
    ],
)
def test_unknown_tokens_get_401(client, header):
    UserFactory()
    assert client.get(ME, HTTP_AUTHORIZATION=header).status_code == 401


def test_a_revoked_token_gets_401(client):
    person = UserFactory()
    token, clear = services.api_token_create(user=person, name="old")
    assert client.get(ME, **bearer(clear)).status_code == 200
    services.api_token_revoke(user=person, token_id=token.pk)
    assert client.get(ME, **bearer(clear)).status_code == 401


def test_a_bad_token_is_refused_even_with_a_valid_session(client):
    person = UserFactory()
    client.force_login(person)
    assert client.get(ME, HTTP_AUTHORIZATION="Bearer cpt_forged").status_code == 401


def test_a_token_of_a_deactivated_person_gets_401(client):
    person = UserFactory()
    clear = token_for(person)
    person.is_active = False
    person.save(update_fields=["is_active"])
    assert client.get(ME, **bearer(clear)).status_code == 401


# --- The same gates as the web pages -------------------------------------------------------


def test_terms_not_accepted_answers_403_by_token_and_by_session(client):
    person = UserFactory()
    clear = token_for(person)
    publish_new_terms()

    by_token = Client().get(ME, **bearer(clear))
    assert by_token.status_code == 403
    assert by_token.json()["code"] == "terms_not_accepted"

    client.force_login(person)
    by_session = client.get(ME)
    assert by_session.status_code == 403
    assert by_session.json()["code"] == "terms_not_accepted"
    assert by_session.json()["detail"]


def test_staff_without_totp_get_403_by_token_and_by_session(client):
    staff = UserFactory(group="Service desk")
    clear = token_for(staff)
    by_token = Client().get(ME, **bearer(clear))
    assert by_token.status_code == 403
    assert by_token.json()["code"] == "totp_required"
    client.force_login(staff)
    assert client.get(ME).json()["code"] == "totp_required"

    TOTP.activate(staff, generate_totp_secret())
    admitted = Client().get(ME, **bearer(clear))
    assert admitted.status_code == 200
    assert admitted.json()["staff"] is True
    assert admitted.json()["two_factor_enabled"] is True


def test_the_gates_are_checked_before_any_change(client):
    person = UserFactory()
    clear = token_for(person)
    publish_new_terms()
    response = Client().patch(
        ME, {"first_name": "Eve"}, content_type="application/json", **bearer(clear)
    )
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.first_name == "Ada"
    assert not AuditEvent.objects.filter(action="profile.updated").exists()


# --- Changes, bad input, scoping, audit ----------------------------------------------------


def test_patch_me_changes_only_what_is_given_and_is_audited(client):
    person = UserFactory(phone="+33 6 00 00 00 00")
    clear = token_for(person)
    response = client.patch(
        ME,
        {"first_name": " Grace ", "last_name": "Hopper"},
        content_type="application/json",
        **bearer(clear),
    )
    assert response.status_code == 200
    person.refresh_from_db()
    assert (person.first_name, person.last_name, person.phone) == (
        "Grace",
        "Hopper",
        "+33 6 00 00 00 00",
    )
    event = AuditEvent.objects.get(action="profile.updated")
    assert event.actor_id == person.pk
    assert event.data == {"fields": ["first_name", "last_name"]}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"first_name": ""}, "Enter your first name."),
        ({"first_name": "   "}, "Enter your first name."),
        ({"last_name": "", "first_name": "Grace"}, "Enter your last name."),
        ({"language": "xx"}, "Choose one of: fr, en, de."),
        ({"first_name": "x" * 151}, "150 characters or fewer"),
    ],
)
def test_patch_me_bad_input_gets_422_and_changes_nothing(client, payload, message):
    person = UserFactory()
    clear = token_for(person)
    response = client.patch(ME, payload, content_type="application/json", **bearer(clear))
    assert response.status_code == 422
    assert message in str(response.json()["detail"])
    person.refresh_from_db()
    assert (person.first_name, person.last_name, person.language) == ("Ada", "Lovelace", "en")
    assert not AuditEvent.objects.filter(action="profile.updated").exists()


def test_list_and_revoke_own_tokens(client):
    person = UserFactory()
    services.api_token_create(user=person, name="kept")
    gone, gone_clear = services.api_token_create(user=person, name="gone")
    clear = token_for(person)

    listed = client.get("/api/v1/tokens", **bearer(clear)).json()
    assert {t["name"] for t in listed} == {"kept", "gone", "test"}
    assert all("digest" not in t for t in listed)

    assert client.delete(f"/api/v1/tokens/{gone.pk}", **bearer(clear)).status_code == 204
    gone.refresh_from_db()
    assert gone.revoked_at is not None
    assert client.get(ME, **bearer(gone_clear)).status_code == 401
    event = AuditEvent.objects.get(action="api_token.revoked")
    assert event.actor_id == person.pk and event.data["token_id"] == gone.pk


def test_another_persons_token_answers_404(client):
    owner = UserFactory()
    theirs, their_clear = services.api_token_create(user=owner, name="theirs")
    intruder = UserFactory()
    clear = token_for(intruder)

    assert client.delete(f"/api/v1/tokens/{theirs.pk}", **bearer(clear)).status_code == 404
    assert client.delete("/api/v1/tokens/999999", **bearer(clear)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert "theirs" not in str(client.get("/api/v1/tokens", **bearer(clear)).json())
    assert client.get(ME, **bearer(their_clear)).json()["username"] == owner.username


def test_token_calls_answer_in_the_person_language(client):
    person = UserFactory(language="de")
    clear = token_for(person)
    response = client.patch(
        ME, {"first_name": ""}, content_type="application/json", **bearer(clear)
    )
    assert response.status_code == 422
    assert "Geben Sie Ihren Vornamen ein." in str(response.json()["detail"])
