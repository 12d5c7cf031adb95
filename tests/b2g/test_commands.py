"""The management commands (b2g_client_create, b2g_clients, b2g_client_disable/enable) and the
admin's read-only list with its disable/enable actions."""

from __future__ import annotations

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from comptoir.audit.models import AuditEvent
from comptoir.b2g import services
from comptoir.b2g.models import B2GClient
from tests.b2g.conftest import ClientCertificate
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def whoami(token: str) -> int:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/b2g/whoami").status_code


# --- b2g_client_create --------------------------------------------------------------------------


def test_create_prints_a_working_token_last():
    output = run("b2g_client_create", "National access point")
    token = output.strip().splitlines()[-1]
    client = B2GClient.objects.get(name="National access point")
    assert client.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert client.operator is None
    assert whoami(token) == 200
    event = AuditEvent.objects.get(action="b2g.client_created")
    assert event.data["via"] == "command" and event.actor is None


def test_create_for_an_operator_by_eori():
    operator = OperatorFactory()
    output = run("b2g_client_create", "Durand B2G", "--operator", operator.eori.lower())
    assert B2GClient.objects.get(name="Durand B2G").operator == operator
    assert operator.eori in output


def test_create_with_a_fingerprint(certificate: ClientCertificate):
    run(
        "b2g_client_create",
        "AP",
        "--certificate-fingerprint",
        certificate.fingerprint.upper(),
    )
    assert B2GClient.objects.get().certificate_fingerprint == certificate.fingerprint


def test_create_with_a_certificate_file(tmp_path, certificate: ClientCertificate):
    path = tmp_path / "client.pem"
    path.write_text(certificate.pem)
    output = run("b2g_client_create", "AP", "--certificate", str(path))
    assert B2GClient.objects.get().certificate_fingerprint == certificate.fingerprint
    assert certificate.fingerprint in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--operator", "FR999999999"], "No operator has the EORI number 'FR999999999'."),
        (["--certificate-fingerprint", "12:34"], "64 hexadecimal characters"),
        (["--certificate", "/nonexistent/client.pem"], "Cannot read /nonexistent/client.pem"),
    ],
)
def test_create_refusals(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run("b2g_client_create", "AP", *args)
    assert not B2GClient.objects.exists()
    assert not AuditEvent.objects.exists()


def test_create_refuses_a_file_without_certificate(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(CommandError, match=re.escape("does not hold an X.509 certificate")):
        run("b2g_client_create", "AP", "--certificate", str(path))
    assert not B2GClient.objects.exists()


def test_create_refuses_a_taken_name():
    run("b2g_client_create", "AP")
    with pytest.raises(CommandError, match="already exists: choose another name"):
        run("b2g_client_create", "AP")
    assert B2GClient.objects.count() == 1


def test_fingerprint_and_certificate_are_exclusive(tmp_path):
    with pytest.raises(CommandError):
        run("b2g_client_create", "AP", "--certificate-fingerprint", "a" * 64, "--certificate", "x")
    assert not B2GClient.objects.exists()


# --- b2g_clients, disable, enable ---------------------------------------------------------------


def test_list():
    assert "No B2G client yet." in run("b2g_clients")
    operator = OperatorFactory()
    services.b2g_client_create(name="Durand B2G", operator=operator)
    _c, token = services.b2g_client_create(name="Access point")
    whoami(token)
    whoami(token)
    services.b2g_client_disable(name="Durand B2G")
    lines = run("b2g_clients").splitlines()
    assert lines[0].split() == ["NAME", "OPERATOR", "ENABLED", "CALLS", "LAST", "USED", "CREATED"]
    access_point, durand = lines[1].split(), lines[2].split()
    assert access_point[:5] == ["Access", "point", "-", "yes", "2"]
    assert durand[:5] == ["Durand", "B2G", operator.eori, "no", "0"]


def test_disable_and_enable_commands():
    _c, token = services.b2g_client_create(name="AP")
    assert "Disabled the B2G client 'AP'." in run("b2g_client_disable", "AP")
    assert whoami(token) == 401
    assert "already disabled" in run("b2g_client_disable", "AP")
    assert AuditEvent.objects.filter(action="b2g.client_disabled").count() == 1
    assert "Enabled the B2G client 'AP'." in run("b2g_client_enable", "AP")
    assert whoami(token) == 200
    assert "already enabled" in run("b2g_client_enable", "AP")
    assert AuditEvent.objects.filter(action="b2g.client_enabled").count() == 1


@pytest.mark.parametrize("command", ["b2g_client_disable", "b2g_client_enable"])
def test_unknown_name(command):
    with pytest.raises(CommandError, match=re.escape("No B2G client is named 'nobody'.")):
        run(command, "nobody")


def test_enable_refused_while_another_client_uses_the_certificate(certificate):
    services.b2g_client_create(name="Old", certificate_fingerprint=certificate.fingerprint)
    run("b2g_client_disable", "Old")
    services.b2g_client_create(name="New", certificate_fingerprint=certificate.fingerprint)
    with pytest.raises(CommandError, match="already uses this certificate"):
        run("b2g_client_enable", "Old")
    assert not B2GClient.objects.get(name="Old").enabled


# --- Admin --------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    admin = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(admin, generate_totp_secret())  # staff must have TOTP to reach the admin
    client.force_login(admin)
    client.admin = admin
    return client


def test_admin_shows_clients_read_only(admin_client):
    created, token = services.b2g_client_create(name="AP")
    listing = admin_client.get("/admin/b2g/b2gclient/")
    assert listing.status_code == 200
    assert b"AP" in listing.content
    page = admin_client.get(f"/admin/b2g/b2gclient/{created.pk}/change/")
    assert page.status_code == 200
    assert created.token_digest.encode() in page.content
    assert token.encode() not in page.content
    assert 'name="token_digest"' not in page.content.decode()
    assert admin_client.get("/admin/b2g/b2gclient/add/").status_code == 403


def test_admin_actions_disable_and_enable(admin_client):
    created, _token = services.b2g_client_create(name="AP")
    url = "/admin/b2g/b2gclient/"
    response = admin_client.post(
        url, {"action": "disable_clients", "_selected_action": [created.pk]}
    )
    assert response.status_code == 302
    assert not B2GClient.objects.get(pk=created.pk).enabled
    event = AuditEvent.objects.get(action="b2g.client_disabled")
    assert event.actor == admin_client.admin
    admin_client.post(url, {"action": "enable_clients", "_selected_action": [created.pk]})
    assert B2GClient.objects.get(pk=created.pk).enabled
    assert AuditEvent.objects.get(action="b2g.client_enabled").actor == admin_client.admin
