"""What the registration tests share: a company with its legal representative and a granted
registration right, a test PKI whose CA is on the alternate list, and signing the registration
PDF as a registrant does (PAdES in the "Registrant" field, or detached CAdES), with pyHanko.
No test here: the helpers are imported by test_registrations*, test_views*, test_api* and
test_lifecycle*."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from comptoir.accounts.models import User
from comptoir.certificates.models import Certificate, RegistrationDocument, RegistrationRight
from comptoir.core.sync import run_coroutine
from comptoir.operators.models import Operator, Position
from tests.certificates import pki
from tests.factories_operators import OperatorFactory, member

REGISTRANT = "Registrant"


@dataclass
class Company:
    operator: Operator
    lr: User
    manager: User
    employee: User


def company(
    *, granted: bool = True, name: str = "Transports Dupont", **operator: object
) -> Company:
    """An active operator with a legal representative (French), a manager and an employee; with
    a GRANTED production registration right unless ``granted`` is False."""
    made = OperatorFactory(name=name, **operator)
    lr = member(made, Position.Role.LEGAL_REPRESENTATIVE, language="fr")
    manager = member(made, Position.Role.MANAGER)
    employee = member(made, Position.Role.EMPLOYEE)
    if granted:
        RegistrationRight.objects.create(
            operator=made,
            eori=made.eori,
            company_name=made.name,
            account_name=lr.username,
            wanted_on=timezone.localdate(),
            environment=RegistrationRight.Environment.PRODUCTION,
            status=RegistrationRight.Status.GRANTED,
            requested_by=lr,
            decided_at=timezone.now(),
        )
    return Company(operator=made, lr=lr, manager=manager, employee=employee)


@dataclass
class Pki:
    ca: pki.Issued
    unlisted_ca: pki.Issued


def trust_setup(settings, tmp_path: Path) -> Pki:
    """A CA on the administration's alternate list, another CA on no list, and a development
    seal of Comptoir's own under tmp_path."""
    ca = pki.make_ca("Registrations Test CA")
    unlisted = pki.make_ca("Unlisted Test CA")
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = [str(pki.write_ca_folder(tmp_path / "cas", ca))]
    settings.VAR_DIR = tmp_path / "var"
    return Pki(ca=ca, unlisted_ca=unlisted)


def leaf(issuer: pki.Issued, name: str = "Transports Dupont seal", **kwargs) -> pki.Issued:
    return pki.make_leaf(issuer, name, **kwargs)


def expired_leaf(issuer: pki.Issued) -> pki.Issued:
    return pki.make_leaf(
        issuer,
        "Expired seal",
        not_before=pki.NOW - timedelta(days=400),
        not_after=pki.NOW - timedelta(days=2),
    )


def _asn1_key(key: ec.EllipticCurvePrivateKey) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _signer(
    who: pki.Issued, issuer: pki.Issued, key: ec.EllipticCurvePrivateKey | None = None
) -> signers.SimpleSigner:
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(who.der),
        signing_key=_asn1_key(key or who.key),
        cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(issuer.der)]),
    )


def sign_pades(
    pdf: bytes,
    who: pki.Issued,
    issuer: pki.Issued,
    *,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """Sign the PDF in its empty "Registrant" field (an incremental update, as a PDF reader
    does). ``key`` signs with another key than the certificate's."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    out = run_coroutine(
        signers.async_sign_pdf(
            writer,
            signers.PdfSignatureMetadata(field_name=REGISTRANT, md_algorithm="sha256"),
            signer=_signer(who, issuer, key),
        )
    )
    return out.getvalue()


def sign_cades(pdf: bytes, who: pki.Issued, issuer: pki.Issued) -> bytes:
    """A detached CAdES signature (DER) over the PDF as issued."""
    signed = run_coroutine(
        _signer(who, issuer).async_sign_general_data(pdf, "sha256", detached=True, use_cades=True)
    )
    return signed.dump()


def add_revision(pdf: bytes) -> bytes:
    """What an editor does to a signed PDF: a new revision (incremental update) after the
    signature, here changing the document catalogue."""
    from pyhanko.pdf_utils import generic

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    writer.root["/ChangedAfterSigning"] = generic.BooleanObject(True)
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def issued_pdf(certificate: Certificate) -> bytes:
    return bytes(
        RegistrationDocument.objects.get(
            certificate=certificate, kind=RegistrationDocument.Kind.ISSUED
        ).content
    )


def kinds(certificate: Certificate) -> set[str]:
    return set(
        RegistrationDocument.objects.filter(certificate=certificate).values_list("kind", flat=True)
    )


def actions(certificate: Certificate) -> list[str]:
    """The audit events about the certificate, oldest first."""
    from comptoir.audit.models import AuditEvent

    return list(
        AuditEvent.objects.filter(
            subject_type="certificates.certificate", subject_id=str(certificate.pk)
        )
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def active_certificate(
    company: Company,
    *,
    name: str = "ICS2 seal",
    issuer: pki.Issued | None = None,
    days_left: float = 300,
    purpose: str = "seal",
    qualified: bool = False,
    **leaf_kwargs,
) -> Certificate:
    """An ACTIVE certificate of the company, made directly (no registration PDF), valid for
    ``days_left`` more days."""
    from comptoir.certificates.inspect import certificate_fields
    from comptoir.certificates.services import eori_identity_for

    issuer = issuer or pki.make_ca("Lifecycle Test CA")
    now = timezone.now()
    made = pki.make_leaf(
        issuer,
        f"{name} subject",
        not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=days_left),
        **leaf_kwargs,
    )
    return Certificate.objects.create(
        identity=eori_identity_for(company.operator),
        name=name,
        purpose=purpose,
        status=Certificate.Status.ACTIVE,
        qualified=qualified,
        activated_at=now,
        created_by=company.lr,
        modified_by=company.lr,
        **certificate_fields(made.cert),
    )
