"""B2G clients: creation (token shown once, only its digest kept), disable/enable, and
authentication of calls through the real HTTP stack on GET /api/v1/b2g/whoami: bearer token,
client certificate forwarded by a trusted proxy, and every refusal (401 with a code, audited,
never the token in the audit log)."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.b2g import services
from comptoir.b2g.models import B2GClient
from tests.b2g.conftest import ClientCertificate, make_certificate
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/b2g/whoami"
PROXY = "10.0.0.5"
HEADER = "HTTP_X_SSL_CLIENT_CERT"


def client(remote_addr: str = "192.0.2.10", **headers: str) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=remote_addr, **headers)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="b2g.refused").order_by("sequence"))


@pytest.fixture
def trusted_proxy(settings):
    settings.COMPTOIR_B2G_TRUSTED_PROXIES = ["10.0.0.0/24", "2001:db8::1"]
    return PROXY


# --- Creation -----------------------------------------------------------------------------------


def test_create_keeps_only_the_digest_and_audits():
    operator = OperatorFactory()
    actor = UserFactory()
    created, token = services.b2g_client_create(
        name="  Durand B2G  ", operator=operator, actor=actor
    )
    stored = B2GClient.objects.get()
    assert stored.pk == created.pk
    assert stored.name == "Durand B2G"
    assert stored.operator == operator
    assert token.startswith("b2g_") and len(token) > 40
    assert stored.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(list(B2GClient.objects.values()), default=str)
    event = AuditEvent.objects.get(action="b2g.client_created")
    assert event.actor == actor
    assert event.subject_id == str(stored.pk)
    assert event.data["operator"] == operator.eori
    assert token not in json.dumps(event.data)
    assert audit_verify() is None


def test_two_clients_get_different_tokens():
    _a, token_a = services.b2g_client_create(name="A")
    _b, token_b = services.b2g_client_create(name="B")
    assert token_a != token_b


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a name for the B2G client."),
        ("   ", "Enter a name for the B2G client."),
        ("x" * 101, "Enter a name of 100 characters or fewer."),
        ("Access point", "A B2G client with this name already exists: choose another name."),
    ],
)
def test_create_refuses_a_bad_name_and_changes_nothing(name, message):
    services.b2g_client_create(name="Access point")
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.b2g_client_create(name=name)
    assert refused.value.message_dict == {"name": [message]}
    assert B2GClient.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_create_normalises_the_fingerprint(certificate: ClientCertificate):
    spelled = ":".join(certificate.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    created, _token = services.b2g_client_create(name="AP", certificate_fingerprint=spelled)
    assert B2GClient.objects.get(pk=created.pk).certificate_fingerprint == certificate.fingerprint


def test_create_refuses_a_bad_fingerprint():
    with pytest.raises(ValidationError) as refused:
        services.b2g_client_create(name="AP", certificate_fingerprint="abc123")
    assert "64 hexadecimal characters" in refused.value.message_dict["certificate_fingerprint"][0]
    assert not B2GClient.objects.exists()


def test_one_certificate_for_one_enabled_client(certificate: ClientCertificate):
    services.b2g_client_create(name="First", certificate_fingerprint=certificate.fingerprint)
    with pytest.raises(ValidationError) as refused:
        services.b2g_client_create(name="Second", certificate_fingerprint=certificate.fingerprint)
    assert (
        "already uses this certificate" in refused.value.message_dict["certificate_fingerprint"][0]
    )
    assert B2GClient.objects.count() == 1
    services.b2g_client_disable(name="First")
    services.b2g_client_create(name="Second", certificate_fingerprint=certificate.fingerprint)
    with pytest.raises(ValidationError):
        services.b2g_client_enable(name="First")
    assert not B2GClient.objects.get(name="First").enabled


# --- Disable and enable -------------------------------------------------------------------------


def test_disable_and_enable_are_audited_once_and_idempotent():
    created, _token = services.b2g_client_create(name="AP")
    disabled = services.b2g_client_disable(client_id=created.pk)
    assert not disabled.enabled and disabled.disabled_at is not None
    services.b2g_client_disable(name="AP")
    assert AuditEvent.objects.filter(action="b2g.client_disabled").count() == 1
    enabled = services.b2g_client_enable(name="AP")
    assert enabled.enabled and enabled.disabled_at is None
    services.b2g_client_enable(client_id=created.pk)
    assert AuditEvent.objects.filter(action="b2g.client_enabled").count() == 1
    assert audit_verify() is None


def test_disable_an_unknown_client():
    with pytest.raises(B2GClient.DoesNotExist):
        services.b2g_client_disable(name="nobody")
    assert not AuditEvent.objects.exists()


# --- Calls with a bearer token ------------------------------------------------------------------


def test_valid_token():
    operator = OperatorFactory()
    services.b2g_client_create(name="Durand B2G", operator=operator)
    _ap, token = services.b2g_client_create(name="National access point")
    response = client(**bearer(token)).get(URL)
    assert response.status_code == 200
    assert response.json() == {"name": "National access point", "operator_eori": None}
    _c, token = services.b2g_client_create(name="Other B2G", operator=operator)
    assert client(**bearer(token)).get(URL).json() == {
        "name": "Other B2G",
        "operator_eori": operator.eori,
    }
    assert refusals() == []


def test_calls_are_counted_without_audit():
    created, token = services.b2g_client_create(name="AP")
    events = AuditEvent.objects.count()
    for _ in range(5):
        assert client(**bearer(token)).get(URL).status_code == 200
    stored = B2GClient.objects.get(pk=created.pk)
    assert stored.calls == 5
    assert stored.last_used_at is not None
    assert AuditEvent.objects.count() == events


def test_unknown_token_is_refused_and_audited_without_the_token():
    created, token = services.b2g_client_create(name="AP")
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = client(**bearer(wrong)).get(URL)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This token does not belong to any B2G client.",
        "code": "unknown_token",
    }
    assert response["WWW-Authenticate"].startswith("Bearer")
    [event] = refusals()
    assert event.data == {"reason": "unknown_token", "via": "token"}
    assert event.ip == "192.0.2.10"
    assert wrong not in json.dumps(event.data) and wrong not in event.subject_label
    assert B2GClient.objects.get(pk=created.pk).calls == 0


def test_a_personal_api_token_is_not_a_b2g_token():
    response = client(**bearer("cpt_" + "x" * 40)).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "unknown_token"


def test_disabled_client_is_refused():
    created, token = services.b2g_client_create(name="AP")
    services.b2g_client_disable(name="AP")
    response = client(**bearer(token)).get(URL)
    assert response.status_code == 401
    assert response.json() == {"detail": "This B2G client is disabled.", "code": "disabled_client"}
    [event] = refusals()
    assert event.data == {"reason": "disabled_client", "client": "AP", "via": "token"}
    assert event.subject_id == str(created.pk)
    assert B2GClient.objects.get(pk=created.pk).calls == 0
    services.b2g_client_enable(name="AP")
    assert client(**bearer(token)).get(URL).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token b2g_abc", "Bearer a b"],
)
def test_malformed_authorization_header(authorization):
    _created, _token = services.b2g_client_create(name="AP")
    response = client(HTTP_AUTHORIZATION=authorization).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "malformed_authorization"
    assert [e.data["reason"] for e in refusals()] == ["malformed_authorization"]


def test_no_credentials():
    response = client().get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "missing_credentials"
    assert [e.data["reason"] for e in refusals()] == ["missing_credentials"]


def test_answers_in_the_callers_language():
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").get(URL, **bearer("b2g_unknown"))
    assert response.status_code == 401
    assert response.json()["code"] == "unknown_token"
    assert response.json()["detail"]  # translated by the lead; never empty


def test_the_token_wins_over_a_certificate(trusted_proxy, certificate):
    services.b2g_client_create(name="By cert", certificate_fingerprint=certificate.fingerprint)
    _c, token = services.b2g_client_create(name="By token")
    response = client(trusted_proxy, **bearer(token), **{HEADER: certificate.escaped}).get(URL)
    assert response.json()["name"] == "By token"


# --- Calls with a certificate forwarded by a proxy ----------------------------------------------


def test_certificate_from_a_trusted_proxy(trusted_proxy, certificate):
    created, _token = services.b2g_client_create(
        name="AP", certificate_fingerprint=certificate.fingerprint
    )
    response = client(trusted_proxy, **{HEADER: certificate.escaped}).get(URL)
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "AP"
    assert B2GClient.objects.get(pk=created.pk).calls == 1
    assert refusals() == []


def test_certificate_from_a_trusted_ipv6_proxy(trusted_proxy, certificate):
    services.b2g_client_create(name="AP", certificate_fingerprint=certificate.fingerprint)
    response = client("2001:db8::1", **{HEADER: certificate.escaped}).get(URL)
    assert response.status_code == 200


def test_certificate_as_plain_pem_with_spaces(trusted_proxy, certificate):
    """Some proxies put the PEM on one line, line breaks turned into spaces."""
    services.b2g_client_create(name="AP", certificate_fingerprint=certificate.fingerprint)
    one_line = certificate.pem.replace("\n", " ")
    response = client(trusted_proxy, **{HEADER: one_line}).get(URL)
    assert response.status_code == 200


def test_certificate_header_from_an_untrusted_address(trusted_proxy, certificate):
    created, _token = services.b2g_client_create(
        name="AP", certificate_fingerprint=certificate.fingerprint
    )
    response = client("192.0.2.99", **{HEADER: certificate.escaped}).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "untrusted_proxy"
    [event] = refusals()
    assert event.data["reason"] == "untrusted_proxy"
    assert event.ip == "192.0.2.99"
    assert B2GClient.objects.get(pk=created.pk).calls == 0


def test_certificate_header_is_never_trusted_by_default(certificate):
    services.b2g_client_create(name="AP", certificate_fingerprint=certificate.fingerprint)
    response = client("127.0.0.1", **{HEADER: certificate.escaped}).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "untrusted_proxy"


def test_header_name_comes_from_the_settings(settings, trusted_proxy, certificate):
    settings.COMPTOIR_B2G_CLIENT_CERT_HEADER = "X-Client-Cert"
    services.b2g_client_create(name="AP", certificate_fingerprint=certificate.fingerprint)
    assert client(trusted_proxy, **{HEADER: certificate.escaped}).get(URL).status_code == 401
    assert client(trusted_proxy, HTTP_X_CLIENT_CERT=certificate.escaped).get(URL).status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "-----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----%0A",
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
    ],
)
def test_malformed_certificate_header(trusted_proxy, value):
    response = client(trusted_proxy, **{HEADER: value}).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "malformed_certificate"
    assert [e.data["reason"] for e in refusals()] == ["malformed_certificate"]


def test_unknown_certificate(trusted_proxy, certificate, other_certificate):
    services.b2g_client_create(name="AP", certificate_fingerprint=certificate.fingerprint)
    response = client(trusted_proxy, **{HEADER: other_certificate.escaped}).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "unknown_certificate"
    [event] = refusals()
    assert event.data["certificate_fingerprint"] == other_certificate.fingerprint


@pytest.mark.parametrize(("days_from", "days_to"), [(-60, -1), (2, 60)])
def test_certificate_outside_its_validity(trusted_proxy, days_from, days_to):
    """Whatever the proxy lets through, an expired (or not yet valid) certificate is refused."""
    certificate = make_certificate(days_from=days_from, days_to=days_to)
    created, _token = services.b2g_client_create(
        name="AP", certificate_fingerprint=certificate.fingerprint
    )
    response = client(trusted_proxy, **{HEADER: certificate.escaped}).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "expired_certificate"
    [event] = refusals()
    assert event.data["certificate_fingerprint"] == certificate.fingerprint
    assert B2GClient.objects.get(pk=created.pk).calls == 0


def test_certificate_of_a_disabled_client(trusted_proxy, certificate):
    services.b2g_client_create(name="AP", certificate_fingerprint=certificate.fingerprint)
    services.b2g_client_disable(name="AP")
    response = client(trusted_proxy, **{HEADER: certificate.escaped}).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "disabled_client"


# --- The service on its own ---------------------------------------------------------------------


def test_authenticate_returns_none_and_audits():
    assert (
        services.b2g_client_authenticate(token="b2g_nope", certificate_fingerprint=None, ip="::1")
        is None
    )
    assert [e.data["reason"] for e in refusals()] == ["unknown_token"]
    _c, token = services.b2g_client_create(name="AP")
    found = services.b2g_client_authenticate(token=token, certificate_fingerprint=None, ip="::1")
    assert found is not None and found.name == "AP" and found.calls == 1


def test_fingerprint_from_an_untrusted_address_is_refused_by_the_service(certificate):
    services.b2g_client_create(name="AP", certificate_fingerprint=certificate.fingerprint)
    assert (
        services.b2g_client_authenticate(
            token=None, certificate_fingerprint=certificate.fingerprint, ip="192.0.2.1"
        )
        is None
    )
    assert [e.data["reason"] for e in refusals()] == ["untrusted_proxy"]


def test_an_allowed_call_is_read_and_counted_in_one_statement(django_assert_num_queries):
    """The count is the conditional UPDATE … RETURNING that also reads the client: a client
    disabled at any moment is either counted before or refused after, never counted late."""
    created, token = services.b2g_client_create(name="AP")
    with django_assert_num_queries(1):
        found = services.b2g_client_check(token=token, certificate_fingerprint=None, ip="::1")
    assert (found.pk, found.calls, found.enabled) == (created.pk, 1, True)
    assert found.last_used_at is not None and timezone.is_aware(found.last_used_at)
    assert B2GClient.objects.get(pk=created.pk).calls == 1


def test_a_disabled_client_is_refused_and_not_counted():
    created, token = services.b2g_client_create(name="AP")
    B2GClient.objects.filter(pk=created.pk).update(enabled=False)
    assert (
        services.b2g_client_authenticate(token=token, certificate_fingerprint=None, ip="::1")
        is None
    )
    assert B2GClient.objects.get(pk=created.pk).calls == 0
    assert [e.data["reason"] for e in refusals()] == ["disabled_client"]


# --- Settings and schema ------------------------------------------------------------------------


def test_trusted_proxies_as_a_comma_separated_string(settings, certificate):
    settings.COMPTOIR_B2G_TRUSTED_PROXIES = "10.1.1.1, 10.2.0.0/16"
    services.b2g_client_create(name="AP", certificate_fingerprint=certificate.fingerprint)
    assert client("10.2.3.4", **{HEADER: certificate.escaped}).get(URL).status_code == 200
    assert client("10.3.0.1", **{HEADER: certificate.escaped}).get(URL).status_code == 401


def test_ipv4_mapped_peer_address(trusted_proxy):
    from comptoir.b2g.conf import proxy_is_trusted

    assert proxy_is_trusted("::ffff:10.0.0.5")
    assert not proxy_is_trusted("::ffff:10.0.1.5")
    assert not proxy_is_trusted("not-an-address")
    assert not proxy_is_trusted(None)


def test_system_check_names_a_bad_trusted_proxy(settings):
    from comptoir.b2g.checks import b2g_settings_check

    assert b2g_settings_check() == []
    settings.COMPTOIR_B2G_TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.example"]
    settings.COMPTOIR_B2G_CLIENT_CERT_HEADER = "X SSL: cert"
    errors = b2g_settings_check()
    assert [error.id for error in errors] == ["comptoir.b2g.E001", "comptoir.b2g.E002"]
    assert "'proxy.example' is not an IP address or CIDR network" in errors[0].msg


def test_whoami_is_in_the_openapi_schema():
    schema = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/b2g/whoami"]["get"]
    assert operation["security"] == [{"B2GClientAuth": []}]
    assert schema["components"]["securitySchemes"]["B2GClientAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_the_database_holds_one_enabled_client_per_certificate(certificate):
    """What the services check is also a partial unique index, for two administrators acting at
    the same moment (the services' own check is bypassed here)."""
    from django.db import IntegrityError, transaction

    first, _t = services.b2g_client_create(
        name="First", certificate_fingerprint=certificate.fingerprint
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        B2GClient.objects.create(
            name="Second", token_digest="0" * 64, certificate_fingerprint=certificate.fingerprint
        )
    B2GClient.objects.create(name="No cert 1", token_digest="1" * 64)
    B2GClient.objects.create(name="No cert 2", token_digest="2" * 64)
    services.b2g_client_disable(client_id=first.pk)
    B2GClient.objects.create(
        name="Second", token_digest="3" * 64, certificate_fingerprint=certificate.fingerprint
    )


def test_enable_loses_the_race_for_a_certificate(monkeypatch, certificate):
    old, _t = services.b2g_client_create(
        name="Old", certificate_fingerprint=certificate.fingerprint
    )
    services.b2g_client_disable(client_id=old.pk)
    services.b2g_client_create(name="New", certificate_fingerprint=certificate.fingerprint)
    events = AuditEvent.objects.count()
    real_filter = B2GClient.objects.filter
    calls = {"n": 0}

    def blind_filter(*args, **kwargs):  # the check before the update sees nothing
        calls["n"] += 1
        query = real_filter(*args, **kwargs)
        return query.none() if calls["n"] == 1 else query

    monkeypatch.setattr(B2GClient.objects, "filter", blind_filter)
    with pytest.raises(ValidationError) as refused:
        services.b2g_client_enable(client_id=old.pk)
    monkeypatch.undo()
    assert "already uses this certificate" in str(refused.value)
    assert not B2GClient.objects.get(pk=old.pk).enabled
    assert AuditEvent.objects.count() == events
