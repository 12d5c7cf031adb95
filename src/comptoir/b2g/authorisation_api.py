"""`POST /api/v1/b2g/authorisations`: may this sealing certificate seal messages for this sender?

Called by access points before they deliver an AS4 message (docs/b2g-authorisation.md). The
answer is 200 with `authorised` true or false and a code (OK, A001, A002), 503 with A003 when the
register (the database) cannot be reached — during authentication too — 401 for unknown or
disabled clients and 422 for a body of the wrong shape."""

from __future__ import annotations

import logging
from typing import Literal

from django.http import HttpRequest
from django.utils import translation
from ninja import Field, Router, Schema, Status
from pydantic import model_validator

from comptoir.b2g.api import B2GError, B2GRequest
from comptoir.b2g.auth import B2GClientAuth
from comptoir.b2g.authorisation import (
    CERTIFICATE_MAX_LENGTH,
    REGISTER_UNAVAILABLE,
    Code,
    authorisation_check,
)
from comptoir.b2g.models import B2GClient
from comptoir.core.database import DATABASE_UNAVAILABLE
from comptoir.core.middleware import client_ip

logger = logging.getLogger("comptoir.b2g.authorisation")

router = Router(tags=["b2g"])


class RegisterUnavailable:
    """What authentication yields when the database cannot be reached: the operation answers
    A003 instead of a server error (an exception would need a handler on the whole API)."""

    def __bool__(self) -> bool:  # ninja only needs a truthy result to call the operation
        return True


class AuthorisationClientAuth(B2GClientAuth):
    """b2g_client_auth (bearer token or forwarded client certificate, 401 otherwise), except
    that an unreachable database gives RegisterUnavailable rather than a server error."""

    def __call__(self, request: HttpRequest) -> B2GClient | RegisterUnavailable:  # type: ignore[override]
        try:
            return super().__call__(request)
        except DATABASE_UNAVAILABLE as exc:
            logger.error(
                "B2G authorisation refused A003 during authentication ip=%s: %s",
                client_ip(request),
                exc,
            )
            return RegisterUnavailable()


authorisation_client_auth = AuthorisationClientAuth()


class AuthorisationIn(Schema):
    party_id: str = Field(
        max_length=200,
        description="The sender's PartyId (eb:From/eb:PartyId): [system id@]EORI[@member state].",
        examples=["FR123456782", "SYS1@FR123456782@LU"],
    )
    party_type: str = Field(
        max_length=200,
        description="The PartyId's type attribute.",
        examples=["urn:oasis:names:tc:ebcore:partyid-type:unregistered:eu-customs:EORI"],
    )
    certificate: str | None = Field(
        default=None,
        max_length=CERTIFICATE_MAX_LENGTH,
        description="The sealing certificate: PEM, base64 DER, or the base64 value of an "
        "X509PKIPathv1 BinarySecurityToken (the sealing certificate last).",
    )
    fingerprint: str | None = Field(
        default=None,
        max_length=200,
        description="Instead of the certificate: its SHA-256 fingerprint in hexadecimal "
        "(colons allowed).",
    )
    service: str = Field(default="", max_length=500, description="eb:Service (recorded).")
    action: str = Field(default="", max_length=500, description="eb:Action (recorded).")

    @model_validator(mode="after")
    def _one_certificate(self) -> AuthorisationIn:
        if (self.certificate is None) == (self.fingerprint is None):
            raise ValueError(
                translation.gettext(
                    "Give either the certificate or its SHA-256 fingerprint, not both."
                )
                if self.certificate is not None
                else translation.gettext("Give the sealing certificate or its SHA-256 fingerprint.")
            )
        return self


class AuthorisationOut(Schema):
    authorised: bool
    code: Literal["OK", "A001", "A002", "A003"]
    reason_code: str
    reason: str
    certificate_status: str | None
    certificate_sha256: str | None
    eori: str | None
    system_id: str | None
    member_state: str | None
    certificate_eori: str | None
    mandate: str | None = Field(description="The public id of the mandate used, if any.")


@router.post(
    "/authorisations",
    auth=authorisation_client_auth,
    response={200: AuthorisationOut, 401: B2GError, 503: AuthorisationOut},
    summary="May this sealing certificate seal B2G messages for this sender?",
)
def authorisation(request: B2GRequest, payload: AuthorisationIn):
    # The reason is English unless the caller asks for a language (Accept-Language).
    language = translation.get_language() if "Accept-Language" in request.headers else "en"
    auth: B2GClient | RegisterUnavailable = request.auth
    if isinstance(auth, RegisterUnavailable):
        with translation.override(language):
            return Status(503, REGISTER_UNAVAILABLE.as_dict())
    decision = authorisation_check(
        client=auth,
        party_id=payload.party_id,
        party_type=payload.party_type,
        certificate=payload.certificate,
        fingerprint=payload.fingerprint,
        service=payload.service,
        action=payload.action,
        ip=client_ip(request),
    )
    with translation.override(language):
        status = 503 if decision.code == Code.REGISTER_UNAVAILABLE else 200
        return Status(status, decision.as_dict())
