"""Comptoir's own seal: the administration's key and certificate that seal the PDFs Comptoir
issues (registration documents, proofs of registration), with pyHanko (PAdES baseline B-B).

Settings (PEM files):

- ``COMPTOIR_SEAL_KEY_FILE``: the private key (PKCS#8 or traditional PEM);
- ``COMPTOIR_SEAL_CERT_FILE``: the seal certificate, optionally followed by its issuers (they
  are embedded in every signature so that readers can build the chain);
- ``COMPTOIR_SEAL_KEY_PASSWORD_FILE`` (optional): a file holding the key's password.

With neither file set and outside production, a development seal (a self-signed "Comptoir
development seal" certificate on an EC P-256 key) is generated once under
``VAR_DIR/seal/development-seal.pem`` (key and certificate in one file, created atomically with
mode 0600) and reused by every process. In production the two files are required.

``pdf_seal`` signs a PDF as a new revision (incremental update). As a certification signature
(``certify=True``) it allows form filling and signing (DocMDP P=2): a signature added later in an
empty field of the document keeps the seal valid, any other change breaks it."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from comptoir.core.sync import run_coroutine

DEFAULT_FIELD_NAME = "ComptoirSeal"
DEVELOPMENT_SEAL_NAME = "Comptoir development seal"
_DEVELOPMENT_FILE = "development-seal.pem"
_DEVELOPMENT_VALIDITY = timedelta(days=3650)


class SealUnavailable(ImproperlyConfigured):
    """The seal's key or certificate cannot be loaded (the message says which setting)."""


@dataclass(frozen=True)
class Seal:
    """The loaded seal: its key, its certificate and the issuers to embed."""

    key: asn1_keys.PrivateKeyInfo
    certificate: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]
    source: str  # the file(s) it was read from
    development: bool

    @property
    def certificate_der(self) -> bytes:
        return bytes(self.certificate.dump())


# --- loading -------------------------------------------------------------------------------------


def _setting_path(name: str) -> Path | None:
    value = getattr(settings, name, None)
    return Path(value) if value else None


def _load_key(data: bytes, password: bytes | None, source: str) -> asn1_keys.PrivateKeyInfo:
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise SealUnavailable(f"{source}: not a readable PEM private key ({exc})") from exc
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def _load_certs(data: bytes, source: str) -> list[asn1_x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise SealUnavailable(f"{source}: no PEM certificate found ({exc})") from exc
    return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in certs]


def _configured_seal(key_file: Path, cert_file: Path) -> Seal:
    password_file = _setting_path("COMPTOIR_SEAL_KEY_PASSWORD_FILE")
    password = None
    try:
        if password_file is not None:
            password = password_file.read_bytes().strip() or None
        key_data = key_file.read_bytes()
        cert_data = cert_file.read_bytes()
    except OSError as exc:
        raise SealUnavailable(f"Comptoir's seal could not be read: {exc}") from exc
    key = _load_key(key_data, password, str(key_file))
    certs = _load_certs(cert_data, str(cert_file))
    return Seal(
        key=key,
        certificate=certs[0],
        chain=tuple(certs[1:]),
        source=f"{key_file} + {cert_file}",
        development=False,
    )


def _development_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Comptoir"),
            x509.NameAttribute(NameOID.COMMON_NAME, DEVELOPMENT_SEAL_NAME),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + _DEVELOPMENT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)


def _development_path() -> Path:
    return Path(settings.VAR_DIR) / "seal" / _DEVELOPMENT_FILE


def _development_seal() -> Seal:
    """Generate the development seal once; every process (and every later run) reuses it. Two
    processes starting together both generate one, but only the first file linked into place
    is kept: the loser reads the winner's."""
    path = _development_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".seal-", suffix=".tmp")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "wb") as out:
                out.write(_development_pem())
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)  # atomic, and never replaces an existing seal
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
    data = path.read_bytes()
    certs = _load_certs(data, str(path))
    return Seal(
        key=_load_key(data, None, str(path)),
        certificate=certs[0],
        chain=(),
        source=str(path),
        development=True,
    )


_memo: dict[tuple[str, ...], Seal] = {}
_memo_lock = threading.Lock()


def _memo_key() -> tuple[str, ...]:
    return (
        str(getattr(settings, "COMPTOIR_SEAL_KEY_FILE", "") or ""),
        str(getattr(settings, "COMPTOIR_SEAL_CERT_FILE", "") or ""),
        str(getattr(settings, "COMPTOIR_SEAL_KEY_PASSWORD_FILE", "") or ""),
        str(getattr(settings, "VAR_DIR", "")),
    )


def seal_load() -> Seal:
    """Comptoir's seal, loaded once per process (and again when its settings change)."""
    memo_key = _memo_key()
    with _memo_lock:
        seal = _memo.get(memo_key)
        if seal is not None:
            return seal
        key_file = _setting_path("COMPTOIR_SEAL_KEY_FILE")
        cert_file = _setting_path("COMPTOIR_SEAL_CERT_FILE")
        if key_file is not None and cert_file is not None:
            seal = _configured_seal(key_file, cert_file)
        elif key_file is not None or cert_file is not None:
            raise SealUnavailable(
                "Set both COMPTOIR_SEAL_KEY_FILE and COMPTOIR_SEAL_CERT_FILE (or neither, "
                "outside production, for a development seal)."
            )
        elif getattr(settings, "PRODUCTION", False):
            raise SealUnavailable(
                "Comptoir's seal is not configured: set COMPTOIR_SEAL_KEY_FILE and "
                "COMPTOIR_SEAL_CERT_FILE (PEM) in production."
            )
        else:
            seal = _development_seal()
        _memo.clear()
        _memo[memo_key] = seal
        return seal


def seal_certificate() -> asn1_x509.Certificate:
    """The certificate the seal signs with (what ``registration_upload_check`` expects)."""
    return seal_load().certificate


def seal_signer() -> signers.SimpleSigner:
    seal = seal_load()
    return signers.SimpleSigner(
        signing_cert=seal.certificate,
        signing_key=seal.key,
        cert_registry=SimpleCertificateStore.from_certs([seal.certificate, *seal.chain]),
    )


# --- sealing -------------------------------------------------------------------------------------


def seal_metadata(*, field_name: str, certify: bool) -> PdfSignatureMetadata:
    return PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        name=str(getattr(settings, "COMPTOIR_ADMINISTRATION_NAME", "") or "Comptoir"),
        reason="Comptoir",
    )


def writer_seal(
    writer: IncrementalPdfFileWriter, *, field_name: str = DEFAULT_FIELD_NAME, certify: bool
) -> bytes:
    """Seal what the writer holds (its pending changes go into the sealed revision)."""
    signer = PdfSigner(
        seal_metadata(field_name=field_name, certify=certify),
        seal_signer(),
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name),
    )
    output = BytesIO()
    run_coroutine(signer.async_sign_pdf(writer, output=output))
    return output.getvalue()


def pdf_seal(pdf: bytes, *, field_name: str = DEFAULT_FIELD_NAME, certify: bool) -> bytes:
    """The PDF with Comptoir's seal added as a new revision (PAdES B-B, invisible field).
    ``certify=True`` makes it a certification signature that allows form filling and signing
    (DocMDP P=2)."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    return writer_seal(writer, field_name=field_name, certify=certify)
