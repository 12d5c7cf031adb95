"""The B2G authorisation decision (DESIGN procedure 9, issue 6 point 2): may this sealing
certificate seal messages for this sender?

`authorisation_decide` reads and never writes: one query for the certificate (with its EORI
identity and operator), and one more for a mandate when the certificate belongs to someone else.
There is no cache, so a revocation, an expiry or an ended mandate changes the very next answer.
`authorisation_check` is what the HTTP endpoint calls: the decision, then an audit event for a
refusal (or a log line when the register itself is unreachable).

Rules, in this order (the first that applies gives the answer):

1. the PartyId is `[system_id@]EORI[@MS]` of type PARTY_ID_TYPE_EORI, otherwise A002;
2. the certificate (PEM, base64 DER, base64 X509PKIPathv1 with the leaf last) or its SHA-256
   fingerprint can be read, otherwise A001 `certificate_unreadable`;
3. it is registered, otherwise A001 `certificate_unknown`;
4. it is ACTIVE, otherwise A001 with its status (`certificate_revoked`, `certificate_expired`,
   `certificate_not_active`);
5. its validity period covers the moment (an expiry not recorded yet), otherwise A001
   `certificate_expired` (or `certificate_not_yet_valid`);
6. it is registered for the party's EORI: OK `direct`;
7. the policy setting COMPTOIR_B2G_ALLOW_MANDATED_CERTIFICATES (default True) allows it and the
   party's EORI has a mandate in force for ICS2 filing to the certificate's holder: OK
   `mandated`, with the mandate's public id;
8. otherwise A001 (`mandates_not_allowed` when the policy is off, `eori_mismatch` otherwise).

A database that cannot be reached gives A003 `register_unavailable`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from comptoir.audit.services import audit_record
from comptoir.b2g.certificates import fingerprint_normalise
from comptoir.b2g.party import PartyId, party_id_parse
from comptoir.certificates.models import Certificate
from comptoir.core.database import DATABASE_UNAVAILABLE
from comptoir.operators.mandates import mandate_in_force
from comptoir.operators.models import Mandate, Operator

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

    from comptoir.b2g.models import B2GClient

logger = logging.getLogger("comptoir.b2g.authorisation")


#: The mandate scope that lets a service provider's certificate seal B2G messages.
MANDATE_SCOPE = Mandate.Scope.ICS2_FILING

#: Longest certificate text accepted (a PkiPath of a few certificates in base64 is far smaller).
CERTIFICATE_MAX_LENGTH = 65536


class Code:
    """The answer codes (the EBMS:0004 sub-codes of ICS2 for refusals)."""

    OK = "OK"
    AUTHORISATION_REJECTED = "A001"
    TECHNICAL_USER_REJECTED = "A002"
    REGISTER_UNAVAILABLE = "A003"


class Reason:
    """Why: a stable machine-readable code and an explanation (English unless the caller asks
    for another language)."""

    DIRECT = "direct"
    MANDATED = "mandated"
    PARTY_TYPE = "party_type"
    PARTY_ID_MALFORMED = "party_id_malformed"
    CERTIFICATE_UNREADABLE = "certificate_unreadable"
    CERTIFICATE_UNKNOWN = "certificate_unknown"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    CERTIFICATE_NOT_ACTIVE = "certificate_not_active"
    EORI_MISMATCH = "eori_mismatch"
    MANDATES_NOT_ALLOWED = "mandates_not_allowed"
    REGISTER_UNAVAILABLE = "register_unavailable"

    MESSAGES: dict[str, StrPromise] = {
        DIRECT: _("The certificate is active and registered for the sender's EORI number."),
        MANDATED: _(
            "The certificate is active and registered for a service provider that the sender "
            "mandated for ICS2 filing."
        ),
        PARTY_TYPE: _(
            "The PartyId type must be "
            "urn:oasis:names:tc:ebcore:partyid-type:unregistered:eu-customs:EORI."
        ),
        PARTY_ID_MALFORMED: _(
            "The PartyId is not [system id@]EORI[@member state] with a valid EORI number."
        ),
        CERTIFICATE_UNREADABLE: _(
            "The certificate is unreadable: send it in PEM, in base64 DER or as a base64 "
            "X509PKIPathv1 chain with the sealing certificate last, or send its SHA-256 "
            "fingerprint as 64 hexadecimal characters."
        ),
        CERTIFICATE_UNKNOWN: _("The certificate is not registered in the register."),
        CERTIFICATE_REVOKED: _("The certificate has been revoked."),
        CERTIFICATE_EXPIRED: _("The certificate has expired."),
        CERTIFICATE_NOT_YET_VALID: _("The certificate is not valid yet."),
        CERTIFICATE_NOT_ACTIVE: _("The certificate is registered but not active."),
        EORI_MISMATCH: _(
            "The certificate is registered for another EORI number, and the sender has no "
            "mandate for ICS2 filing in force to its holder."
        ),
        MANDATES_NOT_ALLOWED: _(
            "The certificate is registered for another EORI number, and the administration's "
            "policy does not accept certificates of mandated service providers."
        ),
        REGISTER_UNAVAILABLE: _(
            "The certificate register is unavailable: try again later."
        ),
    }  # fmt: skip


_STATUS_REASONS: dict[str, str] = {
    Certificate.Status.REVOKED: Reason.CERTIFICATE_REVOKED,
    Certificate.Status.EXPIRED: Reason.CERTIFICATE_EXPIRED,
}


@dataclass(frozen=True)
class AuthorisationDecision:
    authorised: bool
    code: str
    reason_code: str
    certificate_status: str | None = None
    certificate_sha256: str | None = None
    #: The sender's EORI number (from the PartyId).
    eori: str | None = None
    #: The EORI number the certificate is registered for (the sender's, or its provider's).
    certificate_eori: str | None = None
    #: The public id of the mandate that allowed it (mandated certificates only).
    mandate: str | None = None
    party: PartyId | None = field(default=None, compare=False)

    @property
    def reason(self) -> StrPromise:
        return Reason.MESSAGES[self.reason_code]

    def as_dict(self) -> dict[str, Any]:
        """The JSON answer (the reason in the active language)."""
        party = self.party
        return {
            "authorised": self.authorised,
            "code": self.code,
            "reason_code": self.reason_code,
            "reason": str(self.reason),
            "certificate_status": self.certificate_status,
            "certificate_sha256": self.certificate_sha256,
            "eori": self.eori,
            "system_id": party.system_id if party else None,
            "member_state": party.member_state if party else None,
            "certificate_eori": self.certificate_eori,
            "mandate": self.mandate,
        }


def _refuse(code: str, reason_code: str, **details: Any) -> AuthorisationDecision:
    return AuthorisationDecision(authorised=False, code=code, reason_code=reason_code, **details)


REGISTER_UNAVAILABLE = _refuse(Code.REGISTER_UNAVAILABLE, Reason.REGISTER_UNAVAILABLE)


# --- Reading the certificate --------------------------------------------------------------------


class UnreadableCertificate(ValueError):
    """Not a certificate in one of the accepted forms."""


class _PkiPath(asn1_core.SequenceOf):  # type: ignore[misc]
    """X509PKIPathv1: PkiPath ::= SEQUENCE OF Certificate, the trust anchor first, the
    certificate that signs (the leaf) last."""

    _child_spec = asn1_x509.Certificate


_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----"
)
_WHITESPACE = re.compile(rb"\s+")


def _der_checked(der: bytes) -> bytes:
    """The DER if it is one X.509 certificate that `cryptography` reads."""
    try:
        x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise UnreadableCertificate("not an X.509 certificate") from exc
    return der


def _leaf_of_pkipath(der: bytes) -> bytes:
    try:
        path = _PkiPath.load(der, strict=True)
        certificates = [path[i].dump() for i in range(len(path))]
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise UnreadableCertificate("not a certificate nor a PkiPath") from exc
    if not certificates:
        raise UnreadableCertificate("empty PkiPath")
    return _der_checked(certificates[-1])


def _leaf_of_der(der: bytes) -> bytes:
    """A DER certificate, or a DER PkiPath (its last certificate)."""
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        return _leaf_of_pkipath(der)
    return der


def certificate_leaf_der(value: bytes | str) -> bytes:
    """The DER of the sealing certificate given as PEM (the first certificate of a bundle), as
    DER bytes, or as base64 of a DER certificate or of an X509PKIPathv1 chain (the LAST
    certificate of the path). Raises UnreadableCertificate."""
    data = value.encode("ascii", errors="replace") if isinstance(value, str) else bytes(value)
    data = data.strip()
    if not data:
        raise UnreadableCertificate("empty")
    if b"-----BEGIN" in data:  # PEM, possibly after text (as `openssl x509 -text` prints it)
        match = _PEM_BLOCK.search(data)
        if match is None:
            raise UnreadableCertificate("no PEM certificate")
        try:
            der = base64.b64decode(_WHITESPACE.sub(b"", match.group("body")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UnreadableCertificate("bad PEM base64") from exc
        return _der_checked(der)
    if isinstance(value, bytes) and data[:1] == b"\x30":
        return _leaf_of_der(data)
    try:
        der = base64.b64decode(_WHITESPACE.sub(b"", data), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadableCertificate("not base64") from exc
    if not der:
        raise UnreadableCertificate("empty")
    return _leaf_of_der(der)


def certificate_sha256(value: bytes | str) -> str:
    """The SHA-256 fingerprint (lower-case hex) of the sealing certificate in `value`."""
    return hashlib.sha256(certificate_leaf_der(value)).hexdigest()


# --- The decision -------------------------------------------------------------------------------


def mandated_certificates_allowed() -> bool:
    return bool(getattr(settings, "COMPTOIR_B2G_ALLOW_MANDATED_CERTIFICATES", True))


@dataclass(frozen=True)
class _Registration:
    """What the decision reads of one registration of the certificate."""

    status: str
    created_at: datetime
    not_before: datetime | None
    not_after: datetime | None
    identifier: str
    operator_id: int
    operator_status: str
    operator_deleted_at: datetime | None
    operator_merged_into_id: int | None

    def operator(self) -> Operator:
        """The holder's operator as far as the mandate check reads it (no query)."""
        return Operator(
            pk=self.operator_id,
            status=self.operator_status,
            deleted_at=self.operator_deleted_at,
            merged_into_id=self.operator_merged_into_id,
        )


_REGISTRATION_COLUMNS = (
    "status",
    "created_at",
    "not_before",
    "not_after",
    "identity__identifier",
    "identity__operator_id",
    "identity__operator__status",
    "identity__operator__deleted_at",
    "identity__operator__merged_into_id",
)


@lru_cache(maxsize=4)
def _registrations_sql(vendor: str) -> str:
    """The registrations query, compiled by the ORM once per process (compiling it cost more
    CPU than running it, on every B2G message); its one parameter is the fingerprint."""
    marker = "0" * 64
    query = Certificate.objects.filter(sha256=marker).order_by().values_list(*_REGISTRATION_COLUMNS)
    sql, params = query.query.sql_with_params()
    assert list(params) == [marker], params
    return sql


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive UTC datetimes to a bare cursor (the ORM's converter is not applied)."""
    if value is not None and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


def _registrations(fingerprint: str) -> list[_Registration]:
    """The registrations of this certificate (usually one; a certificate registered again after
    a revocation, or for several identities, has several), active first. Plain values, no
    model instances: this runs for every B2G message."""
    with connection.cursor() as cursor:
        cursor.execute(_registrations_sql(connection.vendor), [fingerprint])
        found = cursor.fetchall()
    rows = [
        _Registration(
            status=status,
            created_at=_aware(created_at) or created_at,
            not_before=_aware(not_before),
            not_after=_aware(not_after),
            identifier=identifier,
            operator_id=operator_id,
            operator_status=operator_status,
            operator_deleted_at=_aware(operator_deleted_at),
            operator_merged_into_id=merged_into_id,
        )
        for (
            status,
            created_at,
            not_before,
            not_after,
            identifier,
            operator_id,
            operator_status,
            operator_deleted_at,
            merged_into_id,
        ) in found
    ]
    rows.sort(
        key=lambda row: (row.status != Certificate.Status.ACTIVE, -row.created_at.timestamp())
    )
    return rows


def _period_refusal(row: _Registration, at: datetime) -> str | None:
    if row.not_after is not None and row.not_after < at:
        return Reason.CERTIFICATE_EXPIRED
    if row.not_before is not None and row.not_before > at:
        return Reason.CERTIFICATE_NOT_YET_VALID
    return None


def _decide(*, party: PartyId, fingerprint: str, at: datetime) -> AuthorisationDecision:
    details: dict[str, Any] = {
        "eori": party.eori,
        "party": party,
        "certificate_sha256": fingerprint,
    }
    rows = _registrations(fingerprint)
    if not rows:
        return _refuse(Code.AUTHORISATION_REJECTED, Reason.CERTIFICATE_UNKNOWN, **details)

    # Rule 4: an active registration, preferably the sender's own.
    own = [row for row in rows if row.identifier == party.eori]
    active = [row for row in rows if row.status == Certificate.Status.ACTIVE]
    if not active:
        row = (own or rows)[0]
        return _refuse(
            Code.AUTHORISATION_REJECTED,
            _STATUS_REASONS.get(row.status, Reason.CERTIFICATE_NOT_ACTIVE),
            certificate_status=row.status,
            certificate_eori=row.identifier,
            **details,
        )

    # Rule 5: within its validity period (an expiry that the daily task has not recorded yet).
    current = [row for row in active if _period_refusal(row, at) is None]
    if not current:
        row = next((row for row in active if row.identifier == party.eori), active[0])
        return _refuse(
            Code.AUTHORISATION_REJECTED,
            _period_refusal(row, at) or Reason.CERTIFICATE_EXPIRED,
            certificate_status=row.status,
            certificate_eori=row.identifier,
            **details,
        )

    # Rule 6: the sender's own certificate.
    for row in current:
        if row.identifier == party.eori:
            return AuthorisationDecision(
                authorised=True,
                code=Code.OK,
                reason_code=Reason.DIRECT,
                certificate_status=row.status,
                certificate_eori=row.identifier,
                **details,
            )

    # Rules 7 and 8: a service provider's certificate.
    holder = current[0]
    refused = {
        "certificate_status": holder.status,
        "certificate_eori": holder.identifier,
        **details,
    }
    if not mandated_certificates_allowed():
        return _refuse(Code.AUTHORISATION_REJECTED, Reason.MANDATES_NOT_ALLOWED, **refused)
    for row in current:
        mandate = mandate_in_force(
            principal_eori=party.eori, provider=row.operator(), scope=MANDATE_SCOPE, at=at
        )
        if mandate is not None:
            return AuthorisationDecision(
                authorised=True,
                code=Code.OK,
                reason_code=Reason.MANDATED,
                certificate_status=row.status,
                certificate_eori=row.identifier,
                mandate=str(mandate.public_id),
                **details,
            )
    if own:  # the sender's own registration of it is no longer active: say so
        row = own[0]
        return _refuse(
            Code.AUTHORISATION_REJECTED,
            _STATUS_REASONS.get(row.status, Reason.CERTIFICATE_NOT_ACTIVE),
            certificate_status=row.status,
            certificate_eori=row.identifier,
            **details,
        )
    return _refuse(Code.AUTHORISATION_REJECTED, Reason.EORI_MISMATCH, **refused)


def authorisation_decide(
    *,
    party_id: str,
    party_type: str,
    certificate: bytes | str | None = None,
    fingerprint: str | None = None,
    service: str = "",
    action: str = "",
    at: datetime | None = None,
) -> AuthorisationDecision:
    """May the certificate (or the certificate with this SHA-256 fingerprint) seal messages for
    the sender `party_id` of type `party_type`? Reads only (one or two queries); no cache.

    Give exactly one of `certificate` (PEM, DER bytes, base64 DER or base64 X509PKIPathv1, leaf
    last) and `fingerprint`. `service` and `action` (the ebMS CollaborationInfo) are accepted for
    the record; every ICS2 service is covered by the mandate scope "ics2_filing"."""
    if (certificate is None) == (fingerprint is None):
        raise TypeError("Give either certificate or fingerprint.")
    at = at or timezone.now()

    try:
        party = party_id_parse(party_id, party_type)
    except ValidationError as exc:
        reason = Reason.PARTY_TYPE if exc.code == "party_type" else Reason.PARTY_ID_MALFORMED
        return _refuse(Code.TECHNICAL_USER_REJECTED, reason)

    if certificate is not None:
        try:
            sha256: str | None = certificate_sha256(certificate)
        except UnreadableCertificate:
            sha256 = None
    else:
        sha256 = fingerprint_normalise(fingerprint or "")
    if sha256 is None:
        return _refuse(
            Code.AUTHORISATION_REJECTED,
            Reason.CERTIFICATE_UNREADABLE,
            eori=party.eori,
            party=party,
        )

    try:
        return _decide(party=party, fingerprint=sha256, at=at)
    except DATABASE_UNAVAILABLE as exc:
        logger.error(
            "B2G authorisation A003 (register unavailable) party=%r sha256=%s: %s",
            party.value,
            sha256,
            exc,
        )
        return _refuse(
            Code.REGISTER_UNAVAILABLE,
            Reason.REGISTER_UNAVAILABLE,
            eori=party.eori,
            party=party,
            certificate_sha256=sha256,
        )


# --- Recording refusals -------------------------------------------------------------------------

_AUDIT_TEXT_MAX = 200


def _clip(value: str | None) -> str:
    return (value or "")[:_AUDIT_TEXT_MAX]


def authorisation_check(
    *,
    client: B2GClient,
    party_id: str,
    party_type: str,
    certificate: bytes | str | None = None,
    fingerprint: str | None = None,
    service: str = "",
    action: str = "",
    ip: str | None = None,
    at: datetime | None = None,
) -> AuthorisationDecision:
    """The decision for a B2G client's call. A refusal (A001, A002) leaves a
    "b2g.authorisation_refused" audit event; an A003 only a log line (the audit log is in the
    database that cannot be reached). Allowed answers are not audited: the client's call
    counter (b2g_client_auth) counts them."""
    decision = authorisation_decide(
        party_id=party_id,
        party_type=party_type,
        certificate=certificate,
        fingerprint=fingerprint,
        service=service,
        action=action,
        at=at,
    )
    if decision.authorised:
        return decision
    given_fingerprint = decision.certificate_sha256 or _clip(fingerprint)
    if decision.code == Code.REGISTER_UNAVAILABLE:
        logger.error(
            "B2G authorisation refused A003 client=%r party=%r type=%r sha256=%s service=%r "
            "action=%r ip=%s",
            client.name,
            _clip(party_id),
            _clip(party_type),
            given_fingerprint,
            _clip(service),
            _clip(action),
            ip,
        )
        return decision
    with translation.override("en"):
        reason = str(decision.reason)
    try:
        audit_record(
            action="b2g.authorisation_refused",
            subject=client,
            ip=ip,
            data={
                "client": client.name,
                "party_id": _clip(party_id),
                "party_type": _clip(party_type),
                "code": decision.code,
                "reason_code": decision.reason_code,
                "reason": reason,
                "certificate_sha256": given_fingerprint,
                "certificate_status": decision.certificate_status,
                "certificate_eori": decision.certificate_eori,
                "service": _clip(service),
                "action": _clip(action),
            },
        )
    except DATABASE_UNAVAILABLE as exc:  # the refusal stands; say it could not be recorded
        logger.error(
            "B2G authorisation refusal not audited (register unavailable) client=%r party=%r "
            "code=%s reason=%s sha256=%s: %s",
            client.name,
            _clip(party_id),
            decision.code,
            decision.reason_code,
            given_fingerprint,
            exc,
        )
    return decision
