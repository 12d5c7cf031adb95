"""Self-signed client certificates for the proxy-header tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class ClientCertificate:
    pem: str
    fingerprint: str

    @property
    def escaped(self) -> str:
        """As nginx's $ssl_client_escaped_cert sends it."""
        return quote(self.pem, safe="")


def make_certificate(
    common_name: str = "ap.example.test", *, days_from: int = -1, days_to: int = 30
) -> ClientCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=days_from))
        .not_valid_after(now + timedelta(days=days_to))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return ClientCertificate(pem=pem, fingerprint=certificate.fingerprint(hashes.SHA256()).hex())


@pytest.fixture(scope="session")
def certificate() -> ClientCertificate:
    return make_certificate()


@pytest.fixture(scope="session")
def other_certificate() -> ClientCertificate:
    return make_certificate("other.example.test")
