"""django-ninja authentication for B2G clients: `auth=b2g_client_auth` on any operation.

A client proves who it is with `Authorization: Bearer <token>` or, when it sends no bearer token,
with its TLS client certificate, forwarded by a TLS-terminating proxy in the header named by
COMPTOIR_B2G_CLIENT_CERT_HEADER (URL-encoded PEM, as nginx's `$ssl_client_escaped_cert`). That
header is believed only when the peer address (REMOTE_ADDR) is in COMPTOIR_B2G_TRUSTED_PROXIES.
On success `request.auth` is the B2GClient; otherwise the answer is 401 with
`{"detail": …, "code": …}` and the refusal is in the audit log."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from comptoir.b2g import services
from comptoir.b2g.certificates import (
    MalformedCertificate,
    certificate_fingerprint,
    certificate_valid_at,
    forwarded_certificate,
)
from comptoir.b2g.conf import client_cert_meta_key, proxy_is_trusted
from comptoir.b2g.models import B2GClient
from comptoir.b2g.services import B2GClientRefused, Refusal
from comptoir.core.middleware import client_ip


class B2GAuthenticationError(AuthenticationError):
    """A refused B2G call: answered 401 with a message and a machine-readable code."""

    def __init__(self, refused: B2GClientRefused) -> None:
        self.code = refused.code
        self.detail = refused.message
        super().__init__(401, str(refused.message))

    def payload(self) -> dict[str, Any]:
        return {"detail": str(self.detail), "code": self.code}


def b2g_refused_response(
    api: NinjaAPI, request: HttpRequest, exc: B2GAuthenticationError
) -> HttpResponse:
    response = api.create_response(request, exc.payload(), status=401)
    response["WWW-Authenticate"] = 'Bearer realm="b2g"'
    return response


def install_exception_handler(api: NinjaAPI) -> None:
    """Answer B2G refusals with their code on this API (the default handler of ninja would keep
    only the message)."""

    def handler(
        request: HttpRequest, exc: B2GAuthenticationError | type[B2GAuthenticationError]
    ) -> HttpResponse:
        assert isinstance(exc, B2GAuthenticationError)
        return b2g_refused_response(api, request, exc)

    api.add_exception_handler(B2GAuthenticationError, handler)


class B2GClientAuth(HttpBearer):
    """Bearer token first; otherwise a client certificate from a trusted proxy."""

    def __call__(self, request: HttpRequest) -> B2GClient:
        ip = client_ip(request)
        try:
            return self._client(request, ip)
        except B2GClientRefused as refused:
            raise B2GAuthenticationError(refused) from None

    def _client(self, request: HttpRequest, ip: str | None) -> B2GClient:
        authorization = request.headers.get(self.header, "").strip()
        if authorization:
            scheme, _space, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != self.openapi_scheme or not token or " " in token:
                raise services.b2g_refusal_record(code=Refusal.MALFORMED_AUTHORIZATION, ip=ip)
            return self.authenticate(request, token)
        forwarded = request.META.get(client_cert_meta_key(), "").strip()
        if not forwarded:
            raise services.b2g_refusal_record(code=Refusal.MISSING_CREDENTIALS, ip=ip)
        if not proxy_is_trusted(ip):
            raise services.b2g_refusal_record(
                code=Refusal.UNTRUSTED_PROXY, ip=ip, data={"via": "certificate"}
            )
        try:
            certificate = forwarded_certificate(forwarded)
        except MalformedCertificate:
            raise services.b2g_refusal_record(
                code=Refusal.MALFORMED_CERTIFICATE, ip=ip, data={"via": "certificate"}
            ) from None
        fingerprint = certificate_fingerprint(certificate)
        if not certificate_valid_at(certificate, timezone.now()):
            raise services.b2g_refusal_record(
                code=Refusal.EXPIRED_CERTIFICATE,
                ip=ip,
                data={"via": "certificate", "certificate_fingerprint": fingerprint},
            )
        return services.b2g_client_check(token=None, certificate_fingerprint=fingerprint, ip=ip)

    def authenticate(self, request: HttpRequest, token: str) -> B2GClient:
        return services.b2g_client_check(
            token=token, certificate_fingerprint=None, ip=client_ip(request)
        )


b2g_client_auth = B2GClientAuth()
