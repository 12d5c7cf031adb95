"""Reading a certificate: loading PEM or DER, the details shown to people, and whether it may be
used for an electronic signature or an electronic seal.

QcStatements (ETSI EN 319 412-5) are parsed with asn1crypto; everything else with
``cryptography``. Nothing here says whether the certificate is trusted: that is ``trust.py``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pyhanko.sign.ades import qualified_asn1

#: EU and EEA countries whose legislation makes a certificate "EU qualified" (QcCClegislation).
EU_EEA_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "IS",
        "LI",
        "NO",
    ]
)
# EL is the EU's own code for Greece, used in some trusted lists and certificates.
EU_EEA_COUNTRIES = EU_EEA_COUNTRIES | {"EL"}

PURPOSE_SIGNATURE = "signature"
PURPOSE_SEAL = "seal"

QC_TYPE_ESIGN = "esign"
QC_TYPE_ESEAL = "eseal"
QC_TYPE_WEB = "web"
_QC_TYPE_NAMES = {"qct_esign": QC_TYPE_ESIGN, "qct_eseal": QC_TYPE_ESEAL, "qct_web": QC_TYPE_WEB}
_WEB_ONLY_EKUS = frozenset({ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH})
_SERVICE_ONLY_EKUS = frozenset(
    {
        ExtendedKeyUsageOID.TIME_STAMPING,
        ExtendedKeyUsageOID.OCSP_SIGNING,
        ExtendedKeyUsageOID.CODE_SIGNING,
    }
)


@dataclass(frozen=True)
class QcStatements:
    """The qualified-certificate statements of a certificate (empty when it has none)."""

    present: bool = False
    compliance: bool = False  # QcCompliance: issued as a qualified certificate
    sscd: bool = False  # QcSSCD: the private key is in a (Q)SCD
    types: frozenset[str] = frozenset()  # esign / eseal / web
    legislation: tuple[str, ...] = ()  # QcCClegislation country codes

    @property
    def eu_legislation(self) -> bool:
        """Qualified under EU law: no QcCClegislation (EU by default) or only EU/EEA countries."""
        return all(country.upper() in EU_EEA_COUNTRIES for country in self.legislation)

    @property
    def claims_eu_qualified(self) -> bool:
        """What the certificate says of itself; a trusted list must still confirm it."""
        return self.compliance and self.eu_legislation


@dataclass(frozen=True)
class CertificateDetails:
    serial: str  # hexadecimal, upper case, no separators
    version: int  # 1 or 3, as people read it
    subject: str  # RFC 4514
    issuer: str  # RFC 4514
    sha256: str  # hexadecimal, lower case
    not_before: datetime
    not_after: datetime
    signature_algorithm: str
    qc: QcStatements
    key_usage: frozenset[str] = field(default_factory=frozenset)
    extended_key_usage: frozenset[str] = field(default_factory=frozenset)
    is_ca: bool = False

    def validity_at(self, at: datetime) -> str:
        """ "valid", "expired" or "not_yet_valid" at that moment."""
        if at < self.not_before:
            return "not_yet_valid"
        if at > self.not_after:
            return "expired"
        return "valid"


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str | Promise

    def __str__(self) -> str:
        return str(self.message)


def certificate_load(data: bytes) -> x509.Certificate:
    """A certificate from PEM (possibly after a text dump, as ``openssl x509 -text`` writes it)
    or DER. Raises ValueError with a message for people."""
    if not data or not data.strip():
        raise ValueError(_("The file is empty."))
    if b"-----BEGIN" in data:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise ValueError(
                _(
                    "The file is PEM but holds no certificate (it may be a key or a request): "
                    "choose the certificate file."
                )
            )
        try:
            return x509.load_pem_x509_certificate(data)
        except ValueError as exc:
            raise ValueError(
                _("The file looks like a PEM certificate but it is damaged or incomplete.")
            ) from exc
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise ValueError(
            _("The file is not a certificate: choose a certificate in PEM or DER format.")
        ) from exc


def certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate_der(cert))


def qc_statements(cert: x509.Certificate) -> QcStatements:
    """The QCStatements extension (id-pe-qcStatements), parsed with asn1crypto."""
    # pyHanko declares the QCStatements ASN.1 types (asn1crypto) and registers the extension.
    try:
        statements = qualified_asn1.get_qc_statements(_asn1(cert))
        len(statements)  # parse now: a malformed extension counts as none
    except (ValueError, TypeError):
        return QcStatements()
    if not statements:
        return QcStatements()
    compliance = sscd = False
    types: set[str] = set()
    legislation: list[str] = []
    for statement in statements:
        statement_id = statement["statement_id"].native
        if statement_id == "qc_compliance":
            compliance = True
        elif statement_id == "qc_sscd":
            sscd = True
        elif statement_id == "qc_type":
            for qc_type in statement["statement_info"]:
                types.add(_QC_TYPE_NAMES.get(qc_type.native, qc_type.native))
        elif statement_id == "qc_cc_legislation":
            legislation.extend(str(country) for country in statement["statement_info"].native)
    return QcStatements(
        present=True,
        compliance=compliance,
        sscd=sscd,
        types=frozenset(types),
        legislation=tuple(legislation),
    )


_KEY_USAGE_FLAGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def _key_usage(cert: x509.Certificate) -> frozenset[str]:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset()
    names = {flag for flag in _KEY_USAGE_FLAGS if getattr(usage, flag)}
    if usage.key_agreement:
        if usage.encipher_only:
            names.add("encipher_only")
        if usage.decipher_only:
            names.add("decipher_only")
    # RFC 5280 calls content_commitment nonRepudiation; people know the latter.
    if "content_commitment" in names:
        names.discard("content_commitment")
        names.add("non_repudiation")
    return frozenset(names)


def _extended_key_usage(cert: x509.Certificate) -> frozenset[x509.ObjectIdentifier]:
    try:
        return frozenset(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return frozenset()


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", "")
    return name if name and name != "Unknown OID" else oid.dotted_string


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def certificate_details(cert: x509.Certificate) -> CertificateDetails:
    return CertificateDetails(
        serial=f"{cert.serial_number:X}",
        version=cert.version.value + 1,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sha256=hashlib.sha256(certificate_der(cert)).hexdigest(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        signature_algorithm=_oid_name(cert.signature_algorithm_oid),
        qc=qc_statements(cert),
        key_usage=_key_usage(cert),
        extended_key_usage=frozenset(_oid_name(oid) for oid in _extended_key_usage(cert)),
        is_ca=_is_ca(cert),
    )


def certificate_is_website(cert: x509.Certificate) -> bool:
    """A website (TLS) certificate: QcType web, or an extended key usage limited to TLS
    (serverAuth, possibly with clientAuth) and a key usage without nonRepudiation."""
    if QC_TYPE_WEB in qc_statements(cert).types:
        return True
    ekus = _extended_key_usage(cert)
    return (
        ExtendedKeyUsageOID.SERVER_AUTH in ekus
        and ekus <= _WEB_ONLY_EKUS
        and "non_repudiation" not in _key_usage(cert)
    )


def certificate_fit_for(cert: x509.Certificate, purpose: str) -> Refusal | None:
    """None when the certificate may make an electronic signature (``purpose="signature"``) or
    an electronic seal (``"seal"``), otherwise the refusal (code ``not_fit``). See
    docs/certificates.md for the rules."""
    if purpose not in (PURPOSE_SIGNATURE, PURPOSE_SEAL):
        raise ValueError(f"unknown purpose {purpose!r}")
    if _is_ca(cert):
        return Refusal(
            "not_fit",
            _(
                "This is a certificate authority's certificate: register the certificate that "
                "signs or seals, not the one that issued it."
            ),
        )
    if certificate_is_website(cert):
        return Refusal(
            "not_fit",
            _(
                "This is a website (TLS) certificate: it cannot be used to sign or seal. "
                "Choose a certificate issued for electronic signatures or seals."
            ),
        )
    key_usage = _key_usage(cert)
    if key_usage and not key_usage & {"digital_signature", "non_repudiation"}:
        return Refusal(
            "not_fit",
            _(
                "The certificate's key usage does not allow signing (it needs digital "
                "signature or non-repudiation)."
            ),
        )
    ekus = _extended_key_usage(cert)
    if ekus and ekus <= _SERVICE_ONLY_EKUS:
        return Refusal(
            "not_fit",
            _(
                "The certificate's extended key usage is for time-stamping, OCSP or code "
                "signing only: it cannot sign documents or seal messages."
            ),
        )
    types = qc_statements(cert).types
    if purpose == PURPOSE_SEAL and QC_TYPE_ESIGN in types and QC_TYPE_ESEAL not in types:
        return Refusal(
            "not_fit",
            _(
                "This certificate is for a person's electronic signature: a seal needs a "
                "certificate for electronic seals, issued to the company."
            ),
        )
    if purpose == PURPOSE_SIGNATURE and QC_TYPE_ESEAL in types and QC_TYPE_ESIGN not in types:
        return Refusal(
            "not_fit",
            _(
                "This certificate is for a company's electronic seal: a signature needs a "
                "certificate for electronic signatures, issued to a person."
            ),
        )
    return None


def certificate_validity_at(cert: x509.Certificate, at: datetime) -> Refusal | None:
    """None when the certificate is within its validity at that moment."""
    if at < cert.not_valid_before_utc:
        return Refusal(
            "not_yet_valid",
            _("The certificate is not valid yet: it is valid from %(date)s.")
            % {"date": f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"},
        )
    if at > cert.not_valid_after_utc:
        return Refusal(
            "expired",
            _("The certificate expired on %(date)s.")
            % {"date": f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"},
        )
    return None


def certificate_fields(cert: x509.Certificate) -> dict[str, object]:
    """The ``Certificate`` model fields read from the certificate itself."""
    details = certificate_details(cert)
    return {
        "der": certificate_der(cert),
        "serial": details.serial,
        "version": details.version,
        "subject": details.subject,
        "issuer": details.issuer,
        "sha256": details.sha256,
        "not_before": details.not_before,
        "not_after": details.not_after,
        "signature_algorithm": details.signature_algorithm,
    }
