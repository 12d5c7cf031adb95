"""Client certificates as a TLS-terminating proxy forwards them, and their SHA-256 fingerprints."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes

_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_PEM = re.compile(
    r"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----"
)


class MalformedCertificate(ValueError):
    """The text is not one X.509 certificate in PEM (or DER)."""


def fingerprint_normalise(value: str) -> str | None:
    """A SHA-256 fingerprint as 64 lower-case hexadecimal characters, from the usual spellings
    (`AB:CD:…`, `abcd…`, with spaces); None when it is not one."""
    cleaned = re.sub(r"[\s:]", "", value or "").lower()
    return cleaned if _FINGERPRINT.match(cleaned) else None


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def certificate_load(data: bytes | str) -> x509.Certificate:
    """One certificate from PEM text (line breaks may have been turned into spaces by a proxy)
    or from DER bytes."""
    if isinstance(data, bytes):
        if b"-----BEGIN" not in data:
            try:
                return x509.load_der_x509_certificate(data)
            except ValueError as exc:
                raise MalformedCertificate("not a DER certificate") from exc
        data = data.decode("ascii", errors="replace")
    match = _PEM.search(data)
    if match is None:
        raise MalformedCertificate("no PEM certificate")
    body = re.sub(r"\s+", "", match.group("body"))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError as exc:
        raise MalformedCertificate("unreadable PEM certificate") from exc


def forwarded_certificate(header_value: str) -> x509.Certificate:
    """The certificate in a proxy header: URL-encoded PEM, as nginx's `$ssl_client_escaped_cert`
    sends it (plain PEM is accepted too)."""
    return certificate_load(unquote(header_value))


def certificate_valid_at(certificate: x509.Certificate, when: datetime) -> bool:
    return certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc
