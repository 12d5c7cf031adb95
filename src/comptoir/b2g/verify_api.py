"""`POST /api/v1/b2g/messages/verify`: is this AS4 message sealed by a certificate registered for
its sender? (issue 6 point 3; docs/b2g-access-points.md)

The request body is the message as the access point received it: the SOAP XML, the MIME
multipart/related package (sent with its own `Content-Type: multipart/related; boundary=…`, or
as a bare package whose first line is the boundary), or a capture with the HTTP headers, a blank
line, then the body. Comptoir checks the WS-Security signature (comptoir.b2g.as4) and, when it is
valid, applies the authorisation rules of POST /authorisations to the signing certificate (the
last one of an X509PKIPathv1 token) and the `eb:From` PartyId (comptoir.b2g.authorisation).

Answers:
- 200 with `signature` (valid, invalid, absent), `authorised`, `code` and the fields of the
  authorisation answer, plus `details` (every reference, the signer, the chain, the PartyIds).
  A signature that is not valid is never authorised: A001 with reason_code `signature_invalid`
  or `signature_absent`, without looking at the register. A valid signature on a message without
  exactly one `eb:From` PartyId (a receipt, an error signal) is A002 `party_missing`;
- 400 `{"detail", "code"}` when the message cannot be read at all (code from
  comptoir.b2g.as4.PARSE_MESSAGES);
- 413 `{"detail", "code": "message_too_large"}` above COMPTOIR_B2G_MESSAGE_MAX_BYTES (default
  10 MB), checked on Content-Length before anything is read;
- 503 with code A003 when the register (the database) cannot be reached;
- 401 for unknown or disabled clients.

Every refusal is audited: signature and party refusals and unreadable messages as
"b2g.message_refused", certificate refusals by authorisation_check as
"b2g.authorisation_refused".
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Literal

from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema, Status

from comptoir.audit.services import audit_record
from comptoir.b2g.api import B2GError, B2GRequest
from comptoir.b2g.as4 import (
    NS_EB,
    As4Message,
    As4ParseError,
    SignatureVerdict,
    as4_message_parse,
    as4_signature_verify,
    content_type_split,
)
from comptoir.b2g.authorisation import (
    REGISTER_UNAVAILABLE,
    Code,
    authorisation_check,
)
from comptoir.b2g.authorisation_api import RegisterUnavailable, authorisation_client_auth
from comptoir.b2g.models import B2GClient
from comptoir.certificates.models import Certificate
from comptoir.core.database import DATABASE_UNAVAILABLE
from comptoir.core.middleware import client_ip

logger = logging.getLogger("comptoir.b2g.verify")

router = Router(tags=["b2g"])

#: Largest message accepted when the setting is absent (10 MB).
DEFAULT_MESSAGE_MAX_BYTES = 10 * 1024 * 1024

_AUDIT_TEXT_MAX = 200


def message_max_bytes() -> int:
    """COMPTOIR_B2G_MESSAGE_MAX_BYTES, read when used (tests and deployments change it)."""
    return int(getattr(settings, "COMPTOIR_B2G_MESSAGE_MAX_BYTES", DEFAULT_MESSAGE_MAX_BYTES))


class MessageReason:
    """The reasons this endpoint adds to those of the authorisation (Reason in authorisation)."""

    SIGNATURE_INVALID = "signature_invalid"
    SIGNATURE_ABSENT = "signature_absent"
    PARTY_MISSING = "party_missing"

    MESSAGES = {
        SIGNATURE_INVALID: _(
            "The signature of the message is not valid: a message with a broken signature is "
            "never authorised."
        ),
        SIGNATURE_ABSENT: _(
            "The message has no WS-Security signature: an unsigned message is never authorised."
        ),
        PARTY_MISSING: _(
            "The message does not name exactly one sender in eb:From/eb:PartyId, so the "
            "certificate cannot be checked against a sender."
        ),
    }


class VerifyOut(Schema):
    signature: Literal["valid", "invalid", "absent"] | None = Field(
        description="The WS-Security signature; null only when the register was unavailable "
        "during authentication (A003) and nothing was checked."
    )
    authorised: bool
    code: Literal["OK", "A001", "A002", "A003"]
    reason_code: str
    reason: str
    party_id: str | None = Field(description="The eb:From PartyId, when there is exactly one.")
    party_type: str | None
    certificate_status: str | None
    certificate_sha256: str | None = Field(description="The signing certificate's fingerprint.")
    eori: str | None
    system_id: str | None
    member_state: str | None
    certificate_eori: str | None
    mandate: str | None = Field(description="The public id of the mandate used, if any.")
    message_id: str | None
    service: str | None
    action: str | None
    details: dict[str, Any] | None = Field(
        description="The signature check: every reference (uri, target, ok, reason), the "
        "signature value, the token type, the signer and the chain (leaf last), the PartyIds."
    )


def _clip(value: str | None) -> str:
    return (value or "")[:_AUDIT_TEXT_MAX]


def _collaboration(message: As4Message) -> tuple[str, str]:
    """eb:Service and eb:Action of the UserMessage ("" when absent)."""
    if message.messaging is None:
        return "", ""
    info = message.messaging.find(f"{{{NS_EB}}}UserMessage/{{{NS_EB}}}CollaborationInfo")
    if info is None:
        return "", ""
    service = (info.findtext(f"{{{NS_EB}}}Service") or "").strip()
    action = (info.findtext(f"{{{NS_EB}}}Action") or "").strip()
    return service, action


def _signer_sha256(verdict: SignatureVerdict) -> str | None:
    signer = verdict.signer
    if signer is None:
        return None
    return hashlib.sha256(signer.public_bytes(Encoding.DER)).hexdigest()


def _registration(sha256: str) -> tuple[str | None, str | None]:
    """(status, EORI) of the certificate's registration, an active one first; (None, None)
    when it is not registered. Only for the answer to a message without a sender."""
    rows = list(
        Certificate.objects.filter(sha256=sha256)
        .order_by("-created_at")
        .values_list("status", "identity__identifier")[:10]
    )
    if not rows:
        return None, None
    rows.sort(key=lambda row: row[0] != Certificate.Status.ACTIVE)
    return rows[0]


def _message_body(request: B2GRequest, limit: int) -> bytes | None:
    """The request body, None when it is larger than `limit`. Read from the stream, so Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE (meant for forms) does not apply. A MIME package sent with its
    own Content-Type gets it back as a header line, so that its boundary and start part are
    known."""
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return None
    content_type = request.headers.get("Content-Type", "")
    main, _params = content_type_split(content_type)
    if main == "multipart/related" and raw.lstrip()[:2] == b"--":
        header = content_type.encode("iso-8859-1", errors="replace")
        raw = b"Content-Type: " + header + b"\r\n\r\n" + raw
    return raw


def _too_large(limit: int) -> Status:
    return Status(
        413,
        {
            "detail": translation.gettext(
                "The message is larger than %(limit)s bytes, the most this service accepts."
            )
            % {"limit": limit},
            "code": "message_too_large",
        },
    )


def _refusal_record(
    *,
    client: B2GClient,
    ip: str | None,
    code: str,
    reason_code: str,
    message: As4Message | None = None,
    verdict: SignatureVerdict | None = None,
    detail: str = "",
) -> None:
    """The audit event of a message refused before the register is asked (a log line when the
    audit log itself cannot be reached: the refusal stands)."""
    service, action = _collaboration(message) if message is not None else ("", "")
    data: dict[str, Any] = {
        "client": client.name,
        "code": code,
        "reason_code": reason_code,
        "detail": _clip(detail),
        "signature": verdict.status if verdict else None,
        "signature_code": verdict.code if verdict else None,
        "failed_references": [
            {"uri": _clip(r.uri), "target": r.target, "reason": r.reason}
            for r in (verdict.failed_references if verdict else ())
        ][:10],
        "certificate_sha256": _signer_sha256(verdict) if verdict else None,
        "from": [
            {"party_id": _clip(p.value), "type": _clip(p.type)}
            for p in (verdict.from_parties if verdict else ())
        ][:5],
        "message_id": _clip(message.message_id if message else None),
        "service": _clip(service),
        "action": _clip(action),
    }
    try:
        audit_record(action="b2g.message_refused", subject=client, ip=ip, data=data)
    except DATABASE_UNAVAILABLE as exc:
        logger.error(
            "B2G message refusal not audited (register unavailable) client=%r code=%s "
            "reason=%s: %s",
            client.name,
            code,
            reason_code,
            exc,
        )


def _answer(
    *,
    verdict: SignatureVerdict,
    message: As4Message,
    decision: dict[str, Any],
) -> dict[str, Any]:
    party = verdict.from_party
    service, action = _collaboration(message)
    return {
        **decision,
        "signature": verdict.status,
        "party_id": party.value if party else None,
        "party_type": party.type if party else None,
        "message_id": verdict.message_id,
        "service": service or None,
        "action": action or None,
        "details": verdict.details(),
    }


def _refused(code: str, reason_code: str, **fields: Any) -> dict[str, Any]:
    """A refusal decided here (not by the authorisation rules), shaped like their answer."""
    answer: dict[str, Any] = {
        "authorised": False,
        "code": code,
        "reason_code": reason_code,
        "reason": str(MessageReason.MESSAGES[reason_code]),
        "certificate_status": None,
        "certificate_sha256": None,
        "eori": None,
        "system_id": None,
        "member_state": None,
        "certificate_eori": None,
        "mandate": None,
    }
    answer.update(fields)
    return answer


@router.post(
    "/messages/verify",
    auth=authorisation_client_auth,
    response={200: VerifyOut, 400: B2GError, 401: B2GError, 413: B2GError, 503: VerifyOut},
    summary="Is this AS4 message signed by a certificate registered for its sender?",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The AS4 message as received: SOAP XML, MIME multipart/related "
            "(with its Content-Type), or a capture (HTTP headers, a blank line, the body).",
            "content": {
                "application/soap+xml": {"schema": {"type": "string"}},
                "multipart/related": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def message_verify(request: B2GRequest):
    # The reason is English unless the caller asks for a language (Accept-Language).
    language = translation.get_language() if "Accept-Language" in request.headers else "en"
    auth: B2GClient | RegisterUnavailable = request.auth
    limit = message_max_bytes()
    with translation.override(language):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _too_large(limit)
        if isinstance(auth, RegisterUnavailable):
            return Status(
                503,
                {
                    **REGISTER_UNAVAILABLE.as_dict(),
                    "signature": None,
                    "party_id": None,
                    "party_type": None,
                    "message_id": None,
                    "service": None,
                    "action": None,
                    "details": None,
                },
            )
        raw = _message_body(request, limit)
        if raw is None:
            return _too_large(limit)
        ip = client_ip(request)
        try:
            message = as4_message_parse(raw)
        except As4ParseError as exc:
            _refusal_record(
                client=auth, ip=ip, code="unreadable", reason_code=exc.code, detail=exc.detail
            )
            return Status(400, {"detail": exc.message, "code": exc.code})
        verdict = as4_signature_verify(message)
        sha256 = _signer_sha256(verdict)

        if verdict.status != "valid":
            reason_code = (
                MessageReason.SIGNATURE_ABSENT
                if verdict.status == "absent"
                else MessageReason.SIGNATURE_INVALID
            )
            _refusal_record(
                client=auth,
                ip=ip,
                code=Code.AUTHORISATION_REJECTED,
                reason_code=reason_code,
                message=message,
                verdict=verdict,
            )
            decision = _refused(Code.AUTHORISATION_REJECTED, reason_code, certificate_sha256=sha256)
            return Status(200, _answer(verdict=verdict, message=message, decision=decision))

        party = verdict.from_party
        assert sha256 is not None  # a valid signature has a signer
        if party is None:
            try:
                status, eori = _registration(sha256)
            except DATABASE_UNAVAILABLE as exc:
                logger.error("B2G message check A003 (register unavailable): %s", exc)
                decision = {**REGISTER_UNAVAILABLE.as_dict(), "certificate_sha256": sha256}
                return Status(503, _answer(verdict=verdict, message=message, decision=decision))
            _refusal_record(
                client=auth,
                ip=ip,
                code=Code.TECHNICAL_USER_REJECTED,
                reason_code=MessageReason.PARTY_MISSING,
                message=message,
                verdict=verdict,
            )
            decision = _refused(
                Code.TECHNICAL_USER_REJECTED,
                MessageReason.PARTY_MISSING,
                certificate_sha256=sha256,
                certificate_status=status,
                certificate_eori=eori,
            )
            return Status(200, _answer(verdict=verdict, message=message, decision=decision))

        service, action = _collaboration(message)
        result = authorisation_check(
            client=auth,
            party_id=party.value,
            party_type=party.type,
            fingerprint=sha256,
            service=service,
            action=action,
            ip=ip,
        )
        status_code = 503 if result.code == Code.REGISTER_UNAVAILABLE else 200
        return Status(
            status_code, _answer(verdict=verdict, message=message, decision=result.as_dict())
        )
