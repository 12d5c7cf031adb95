# ruff: noqa: E501 (the XML template reads better unwrapped)
"""A small PKI for the tests, made with ``cryptography``: CAs, leaves with QcStatements, key
usages and validity of our choosing, and a tiny ETSI TS 119 612 list naming a CA."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.ades import qualified_asn1

NOW = datetime.now(UTC)
QC_STATEMENTS_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, country: str = "FR", organization: str = "Comptoir tests") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def qc_statements_value(
    *,
    compliance: bool = True,
    sscd: bool = False,
    qc_type: str | None = None,
    legislation: tuple[str, ...] = (),
) -> bytes:
    """DER of a QCStatements extension value (ETSI EN 319 412-5), built with asn1crypto."""
    statements = []
    if compliance:
        statements.append({"statement_id": "qc_compliance"})
    if sscd:
        statements.append({"statement_id": "qc_sscd"})
    if qc_type:
        statements.append({"statement_id": "qc_type", "statement_info": [f"qct_{qc_type}"]})
    if legislation:
        statements.append(
            {"statement_id": "qc_cc_legislation", "statement_info": list(legislation)}
        )
    return qualified_asn1.QcStatements(statements).dump()


def make_ca(
    name: str = "Test Root CA",
    *,
    issuer: Issued | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=3650))
        .not_valid_after(not_after or NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    signer = issuer.key if issuer else key
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def make_leaf(
    issuer: Issued,
    name: str = "Transports Dupont seal",
    *,
    digital_signature: bool = True,
    non_repudiation: bool = True,
    key_encipherment: bool = False,
    ekus: list[x509.ObjectIdentifier] | None = None,
    qc: bytes | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    signed_by: ec.EllipticCurvePrivateKey | None = None,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=30))
        .not_valid_after(not_after or NOW + timedelta(days=335))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=digital_signature,
                content_commitment=non_repudiation,
                key_encipherment=key_encipherment,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    if qc is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(QC_STATEMENTS_OID, qc), critical=False
        )
    return Issued(builder.sign(signed_by or issuer.key, hashes.SHA256()), key)


def make_web_leaf(issuer: Issued) -> Issued:
    """What a TLS server certificate looks like: serverAuth (and clientAuth), no
    nonRepudiation."""
    return make_leaf(
        issuer,
        "www.example.test",
        non_repudiation=False,
        key_encipherment=True,
        ekus=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    )


_TSL = """<?xml version="1.0" encoding="UTF-8"?>
<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#" TSLTag="http://uri.etsi.org/19612/TSLTag" Id="tsl">
 <tsl:SchemeInformation>
  <tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>
  <tsl:TSLSequenceNumber>{sequence}</tsl:TSLSequenceNumber>
  <tsl:TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric</tsl:TSLType>
  <tsl:SchemeOperatorName><tsl:Name xml:lang="en">Test customs administration</tsl:Name></tsl:SchemeOperatorName>
  <tsl:SchemeTerritory>{territory}</tsl:SchemeTerritory>
  <tsl:ListIssueDateTime>2026-01-01T00:00:00Z</tsl:ListIssueDateTime>
  <tsl:NextUpdate><tsl:dateTime>2027-01-01T00:00:00Z</tsl:dateTime></tsl:NextUpdate>
 </tsl:SchemeInformation>
 <tsl:TrustServiceProviderList>
  <tsl:TrustServiceProvider>
   <tsl:TSPInformation><tsl:TSPName><tsl:Name xml:lang="en">Test QTSP</tsl:Name></tsl:TSPName></tsl:TSPInformation>
   <tsl:TSPServices>{services}
   </tsl:TSPServices>
  </tsl:TrustServiceProvider>
 </tsl:TrustServiceProviderList>
</tsl:TrustServiceStatusList>
"""

_SERVICE = """
    <tsl:TSPService>
     <tsl:ServiceInformation>
      <tsl:ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/QC</tsl:ServiceTypeIdentifier>
      <tsl:ServiceName><tsl:Name xml:lang="en">{name}</tsl:Name></tsl:ServiceName>
      <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>{cert}</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>
      <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/{status}</tsl:ServiceStatus>
      <tsl:StatusStartingTime>2020-01-01T00:00:00Z</tsl:StatusStartingTime>
      <tsl:ServiceInformationExtensions>{extensions}
      </tsl:ServiceInformationExtensions>
     </tsl:ServiceInformation>
    </tsl:TSPService>"""

_FOR = """
       <tsl:Extension Critical="false"><tsl:AdditionalServiceInformation><tsl:URI xml:lang="en">http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/{what}</tsl:URI></tsl:AdditionalServiceInformation></tsl:Extension>"""


def tiny_trusted_list(
    services: list[tuple[str, Issued]],
    *,
    territory: str = "XX",
    sequence: int = 1,
    status: str = "granted",
    for_types: tuple[str, ...] = ("ForeSeals", "ForeSignatures"),
) -> str:
    """A TS 119 612 list with one qualified CA service (CA/QC) per (name, CA) given."""
    extensions = "".join(_FOR.format(what=what) for what in for_types)
    body = "".join(
        _SERVICE.format(
            name=name,
            cert=base64.b64encode(ca.der).decode(),
            status=status,
            extensions=extensions,
        )
        for name, ca in services
    )
    return _TSL.format(territory=territory, sequence=sequence, services=body)


def write_ca_folder(folder: Path, *cas: Issued) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, ca in enumerate(cas):
        (folder / f"ca{index}.pem").write_bytes(ca.pem)
    return folder


_LOTL = """<?xml version="1.0" encoding="UTF-8"?>
<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#" xmlns:tslx="http://uri.etsi.org/02231/v2/additionaltypes#" TSLTag="http://uri.etsi.org/19612/TSLTag">
 <tsl:SchemeInformation>
  <tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>
  <tsl:TSLSequenceNumber>1</tsl:TSLSequenceNumber>
  <tsl:TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUlistofthelists</tsl:TSLType>
  <tsl:SchemeOperatorName><tsl:Name xml:lang="en">Test list of the lists</tsl:Name></tsl:SchemeOperatorName>
  <tsl:SchemeInformationURI><tsl:URI xml:lang="en">https://lists.example.test/info</tsl:URI></tsl:SchemeInformationURI>
  <tsl:SchemeTerritory>EU</tsl:SchemeTerritory>
  <tsl:PointersToOtherTSL>{pointers}
  </tsl:PointersToOtherTSL>
  <tsl:ListIssueDateTime>2026-01-01T00:00:00Z</tsl:ListIssueDateTime>
  <tsl:NextUpdate><tsl:dateTime>2027-01-01T00:00:00Z</tsl:dateTime></tsl:NextUpdate>
 </tsl:SchemeInformation>
</tsl:TrustServiceStatusList>
"""

_POINTER = """
   <tsl:OtherTSLPointer>
    <tsl:ServiceDigitalIdentities><tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>{cert}</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity></tsl:ServiceDigitalIdentities>
    <tsl:TSLLocation>{location}</tsl:TSLLocation>
    <tsl:AdditionalInformation>
     <tsl:OtherInformation><tsl:TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric</tsl:TSLType></tsl:OtherInformation>
     <tsl:OtherInformation><tsl:SchemeTerritory>{territory}</tsl:SchemeTerritory></tsl:OtherInformation>
     <tsl:OtherInformation><tslx:MimeType>application/vnd.etsi.tsl+xml</tslx:MimeType></tsl:OtherInformation>
    </tsl:AdditionalInformation>
   </tsl:OtherTSLPointer>"""


def tiny_lotl(pointers: list[tuple[str, str, Issued]]) -> str:
    """A list of the lists pointing to (territory, location, signer certificate) lists."""
    body = "".join(
        _POINTER.format(
            territory=territory, location=location, cert=base64.b64encode(signer.der).decode()
        )
        for territory, location, signer in pointers
    )
    return _LOTL.format(pointers=body)


def sign_list(xml: str, signer: Issued) -> str:
    """Sign a list as a scheme operator does (enveloped XAdES), with signxml."""
    from lxml import etree
    from signxml.xades import XAdESSigner

    key_pem = signer.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    xades = XAdESSigner(
        signature_algorithm="ecdsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2006/12/xml-c14n11",
    )
    root = etree.fromstring(xml.replace(' Id="tsl"', "").encode())
    signed = xades.sign(root, key=key_pem, cert=[signer.pem.decode()])
    return str(etree.tostring(signed, encoding="unicode"))
