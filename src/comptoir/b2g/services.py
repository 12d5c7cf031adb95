"""Create, disable and enable B2G clients, and authenticate their calls.

A client is created with a bearer token shown once (only its SHA-256 digest is kept) and,
optionally, the SHA-256 fingerprint of its TLS client certificate. Every change of a client is one
transaction with its audit event. An allowed call costs one conditional UPDATE (calls + 1, last
used) and no audit event; every refused call leaves a "b2g.refused" audit event with its reason
(never the token)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Literal

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.audit.services import audit_record
from comptoir.b2g.certificates import fingerprint_normalise
from comptoir.b2g.conf import proxy_is_trusted
from comptoir.b2g.models import B2GClient
from comptoir.operators.models import Operator

TOKEN_PREFIX = "b2g_"
_TOKEN_MAX_LENGTH = 200
NAME_MAX_LENGTH = 100


class Refusal:
    """Why a call was refused: a stable machine-readable code (also the audit reason) and a
    message for the caller."""

    MISSING_CREDENTIALS = "missing_credentials"
    MALFORMED_AUTHORIZATION = "malformed_authorization"
    UNKNOWN_TOKEN = "unknown_token"
    DISABLED_CLIENT = "disabled_client"
    UNTRUSTED_PROXY = "untrusted_proxy"
    MALFORMED_CERTIFICATE = "malformed_certificate"
    EXPIRED_CERTIFICATE = "expired_certificate"
    UNKNOWN_CERTIFICATE = "unknown_certificate"

    MESSAGES = {
        MISSING_CREDENTIALS: _(
            "Send a B2G client token in the Authorization header (Bearer) or a client certificate."
        ),
        MALFORMED_AUTHORIZATION: _(
            'The Authorization header must be "Bearer" followed by a space and the token.'
        ),
        UNKNOWN_TOKEN: _("This token does not belong to any B2G client."),
        DISABLED_CLIENT: _("This B2G client is disabled."),
        UNTRUSTED_PROXY: _(
            "A client certificate is only accepted from a trusted TLS-terminating proxy."
        ),
        MALFORMED_CERTIFICATE: _("The forwarded client certificate cannot be read."),
        EXPIRED_CERTIFICATE: _("This client certificate has expired or is not valid yet."),
        UNKNOWN_CERTIFICATE: _("This client certificate does not belong to any B2G client."),
    }


class B2GClientRefused(Exception):
    """The call is refused; the refusal has been audited."""

    def __init__(self, code: str, client: B2GClient | None = None) -> None:
        self.code = code
        self.client = client
        self.message = Refusal.MESSAGES[code]
        super().__init__(code)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a name for the B2G client.")})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": _("Enter a name of %(max)d characters or fewer.") % {"max": NAME_MAX_LENGTH}}
        )
    return name


def _name_taken() -> ValidationError:
    return ValidationError(
        {"name": _("A B2G client with this name already exists: choose another name.")}
    )


def _fingerprint_taken() -> ValidationError:
    return ValidationError(
        {
            "certificate_fingerprint": _(
                "An enabled B2G client already uses this certificate: disable it first or use "
                "another certificate."
            )
        }
    )


def _clean_fingerprint(value: str) -> str:
    if not (value or "").strip():
        return ""
    fingerprint = fingerprint_normalise(value)
    if fingerprint is None:
        raise ValidationError(
            {
                "certificate_fingerprint": _(
                    "Enter the certificate's SHA-256 fingerprint as 64 hexadecimal characters "
                    "(colons and spaces are allowed)."
                )
            }
        )
    return fingerprint


def _actor_data(actor: AbstractBaseUser | None) -> dict[str, Any]:
    return {} if actor is not None and actor.is_authenticated else {"via": "command"}


# --- Changes ------------------------------------------------------------------------------------


def b2g_client_create(
    *,
    name: str,
    operator: Operator | None = None,
    certificate_fingerprint: str = "",
    actor: AbstractBaseUser | None = None,
) -> tuple[B2GClient, str]:
    """Create a client; return it with its bearer token in clear (shown once, never stored)."""
    name = _clean_name(name)
    fingerprint = _clean_fingerprint(certificate_fingerprint)
    if B2GClient.objects.filter(name=name).exists():
        raise _name_taken()
    if (
        fingerprint
        and B2GClient.objects.filter(certificate_fingerprint=fingerprint, enabled=True).exists()
    ):
        raise _fingerprint_taken()
    token = _token_new()
    try:
        with transaction.atomic():
            client = B2GClient.objects.create(
                name=name,
                token_digest=token_digest(token),
                certificate_fingerprint=fingerprint,
                operator=operator,
            )
            audit_record(
                action="b2g.client_created",
                actor=actor,
                subject=client,
                data={
                    "name": name,
                    "operator": operator.eori if operator is not None else None,
                    "certificate_fingerprint": fingerprint,
                    **_actor_data(actor),
                },
            )
    except IntegrityError as exc:  # the same name or certificate at the same moment
        if B2GClient.objects.filter(name=name).exists():
            raise _name_taken() from exc
        raise _fingerprint_taken() from exc
    return client, token


def _client_get(*, client_id: int | None, name: str | None) -> B2GClient:
    if (client_id is None) == (name is None):
        raise TypeError("Give either client_id or name.")
    if client_id is not None:
        return B2GClient.objects.get(pk=client_id)
    return B2GClient.objects.get(name=(name or "").strip())


def b2g_client_disable(
    *,
    client_id: int | None = None,
    name: str | None = None,
    actor: AbstractBaseUser | None = None,
) -> B2GClient:
    """Disable the client (by id or name): its token and certificate are refused from now on.
    Disabling a disabled client changes nothing. Raises B2GClient.DoesNotExist."""
    client = _client_get(client_id=client_id, name=name)
    with transaction.atomic():
        now = timezone.now()
        changed = B2GClient.objects.filter(pk=client.pk, enabled=True).update(
            enabled=False, disabled_at=now
        )
        if changed:
            audit_record(
                action="b2g.client_disabled",
                actor=actor,
                subject=client,
                data={"name": client.name, **_actor_data(actor)},
            )
    client.refresh_from_db()
    return client


def b2g_client_enable(
    *,
    client_id: int | None = None,
    name: str | None = None,
    actor: AbstractBaseUser | None = None,
) -> B2GClient:
    """Enable the client again (same token and certificate). Enabling an enabled client changes
    nothing. Refused when another enabled client uses the same certificate. Raises
    B2GClient.DoesNotExist."""
    client = _client_get(client_id=client_id, name=name)
    if (
        client.certificate_fingerprint
        and B2GClient.objects.filter(
            certificate_fingerprint=client.certificate_fingerprint, enabled=True
        )
        .exclude(pk=client.pk)
        .exists()
    ):
        raise _fingerprint_taken()
    try:
        with transaction.atomic():
            changed = B2GClient.objects.filter(pk=client.pk, enabled=False).update(
                enabled=True, disabled_at=None
            )
            if changed:
                audit_record(
                    action="b2g.client_enabled",
                    actor=actor,
                    subject=client,
                    data={"name": client.name, **_actor_data(actor)},
                )
    except IntegrityError as exc:  # another client took the certificate at the same moment
        raise _fingerprint_taken() from exc
    client.refresh_from_db()
    return client


# --- Calls --------------------------------------------------------------------------------------


def b2g_refusal_record(
    *,
    code: str,
    ip: str | None,
    client: B2GClient | None = None,
    data: dict[str, Any] | None = None,
) -> B2GClientRefused:
    """Audit a refused call and return the exception to raise. Never give it the token."""
    audit_record(
        action="b2g.refused",
        subject=client,
        ip=ip,
        data={"reason": code, **({"client": client.name} if client else {}), **(data or {})},
    )
    return B2GClientRefused(code, client)


def _refuse_disabled(client: B2GClient, *, ip: str | None, via: dict[str, Any]) -> None:
    """The client found by a plain read could not be counted: it is disabled (or was a moment
    ago). Audit the refusal."""
    raise b2g_refusal_record(code=Refusal.DISABLED_CLIENT, ip=ip, client=client, data=via)


def _counted(
    column: Literal["token_digest", "certificate_fingerprint"], value: str
) -> B2GClient | None:
    """Count the call of the enabled client whose `column` holds `value` and read it, in one
    statement: every B2G call goes through here, and the ORM's read then update cost two round
    trips and most of the call's time."""
    meta = B2GClient._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
    table, key = quote(meta.db_table), quote(column)
    calls, last_used, enabled = quote("calls"), quote("last_used_at"), quote("enabled")
    # Names from the model's metadata; values are parameters.
    sql = f"UPDATE {table} SET {calls} = {calls} + 1, {last_used} = %s WHERE {key} = %s AND {enabled} RETURNING {columns}"  # noqa: E501, S608
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    return next(iter(B2GClient.objects.raw(sql, [now, value])), None)


def b2g_client_check(
    *, token: str | None, certificate_fingerprint: str | None, ip: str | None
) -> B2GClient:
    """The enabled client that this bearer token (first) or this client certificate fingerprint
    (forwarded by a trusted proxy at `ip`) belongs to; counts the call. Otherwise audits the
    refusal and raises B2GClientRefused with its code."""
    if token:
        token = token.strip()
        client = None
        if token.startswith(TOKEN_PREFIX) and len(token) <= _TOKEN_MAX_LENGTH:
            digest = token_digest(token)
            client = _counted("token_digest", digest) or (
                B2GClient.objects.filter(token_digest=digest).first()
            )
        if client is None:
            raise b2g_refusal_record(code=Refusal.UNKNOWN_TOKEN, ip=ip, data={"via": "token"})
        if not client.enabled:
            _refuse_disabled(client, ip=ip, via={"via": "token"})
        return client
    if certificate_fingerprint:
        via = {"via": "certificate", "certificate_fingerprint": certificate_fingerprint}
        if not proxy_is_trusted(ip):
            raise b2g_refusal_record(code=Refusal.UNTRUSTED_PROXY, ip=ip, data=via)
        fingerprint = fingerprint_normalise(certificate_fingerprint)
        if fingerprint is None:
            raise b2g_refusal_record(code=Refusal.MALFORMED_CERTIFICATE, ip=ip, data=via)
        via["certificate_fingerprint"] = fingerprint
        client = _counted("certificate_fingerprint", fingerprint) or (
            B2GClient.objects.filter(certificate_fingerprint=fingerprint)
            .order_by("-enabled", "pk")
            .first()
        )
        if client is None:
            raise b2g_refusal_record(code=Refusal.UNKNOWN_CERTIFICATE, ip=ip, data=via)
        if not client.enabled:
            _refuse_disabled(client, ip=ip, via=via)
        return client
    raise b2g_refusal_record(code=Refusal.MISSING_CREDENTIALS, ip=ip)


def b2g_client_authenticate(
    *, token: str | None, certificate_fingerprint: str | None, ip: str | None
) -> B2GClient | None:
    """Like b2g_client_check, but None instead of the exception (the refusal is audited)."""
    try:
        return b2g_client_check(token=token, certificate_fingerprint=certificate_fingerprint, ip=ip)
    except B2GClientRefused:
        return None
