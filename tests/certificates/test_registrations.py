"""The registration services with a real registration PDF sealed by Comptoir, signed with
pyHanko by a test PKI whose CA is on the alternate list: start (SEALED), upload (ACTIVE), each
bad file refused with its own message and nothing changed, who may do it."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError

from comptoir.audit.models import AuditEvent
from comptoir.certificates import registrations as reg
from comptoir.certificates.models import (
    Certificate,
    EoriIdentity,
    RegistrationDocument,
)
from comptoir.certificates.services import CertificateStateError
from comptoir.notifications.models import Notice, OutboxMessage
from tests.certificates import test_registrations_kit as kit

pytestmark = pytest.mark.django_db

CS = Certificate.Status
K = RegistrationDocument.Kind


@pytest.fixture
def keys(settings, tmp_path) -> kit.Pki:
    return kit.trust_setup(settings, tmp_path)


@pytest.fixture
def dupont(db) -> kit.Company:
    return kit.company()


def start(company: kit.Company, **overrides) -> Certificate:
    arguments = {
        "person": company.lr,
        "operator": company.operator,
        "name": "ICS2 seal 2027",
        "description": "Seals our ENS filings",
        "purpose": "seal",
        "key_holder": True,
    }
    arguments.update(overrides)
    return reg.certificate_registration_start(**arguments)


def test_start_creates_the_identity_and_a_sealed_registration_pdf(dupont, keys):
    certificate = start(dupont)
    assert certificate.status == CS.SEALED
    identity = EoriIdentity.objects.get(operator=dupont.operator)
    assert certificate.identity == identity and identity.identifier == dupont.operator.eori
    assert certificate.created_by == dupont.lr and certificate.modified_by == dupont.lr
    pdf = kit.issued_pdf(certificate)
    assert pdf.startswith(b"%PDF")
    document = RegistrationDocument.objects.get(certificate=certificate)
    assert document.kind == K.ISSUED and document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert str(certificate.registration_pdf_id).encode() in pdf or b"Registrant" in pdf
    actions = kit.actions(certificate)
    assert actions == ["certificates.registration.start", "certificates.registration.sealed"]


def test_the_wizard_is_closed_without_a_granted_right(keys):
    closed = kit.company(granted=False)
    identities = list(EoriIdentity.objects.values_list("pk", "modified_at"))
    with pytest.raises(reg.CertificateNotAllowed) as refused:
        start(closed)
    assert refused.value.code == "no_right"
    assert not Certificate.objects.exists()
    assert list(EoriIdentity.objects.values_list("pk", "modified_at")) == identities


def test_only_the_legal_representative_and_managers_register(dupont, keys):
    with pytest.raises(reg.CertificateNotAllowed) as refused:
        start(dupont, person=dupont.employee)
    assert refused.value.code == "not_manager"
    assert start(dupont, person=dupont.manager).status == CS.SEALED


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(dupont, keys):
    identities = list(EoriIdentity.objects.values_list("pk", "modified_at"))
    with pytest.raises(ValidationError) as refused:
        start(dupont, name=" ", purpose="website", key_holder=None)
    assert set(refused.value.message_dict) == {"name", "purpose", "key_holder"}
    assert not Certificate.objects.exists()
    assert list(EoriIdentity.objects.values_list("pk", "modified_at")) == identities


def test_key_holder_uploads_the_pdf_signed_in_the_registrant_field(dupont, keys):
    certificate = start(dupont)
    seal = kit.leaf(keys.ca)
    signed = kit.sign_pades(kit.issued_pdf(certificate), seal, keys.ca)
    reg.certificate_registration_upload(
        person=dupont.lr, certificate=certificate, signed=signed, filename="signed.pdf"
    )
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE
    assert bytes(certificate.der) == seal.der
    assert certificate.sha256 == hashlib.sha256(seal.der).hexdigest()
    assert certificate.serial == f"{seal.cert.serial_number:X}"
    assert certificate.subject.endswith("CN=Transports Dupont seal") or "Dupont seal" in (
        certificate.subject
    )
    assert "Registrations Test CA" in certificate.issuer
    assert certificate.not_after == seal.cert.not_valid_after_utc
    assert certificate.activated_at is not None and certificate.qualified is False
    assert kit.kinds(certificate) == {K.ISSUED, K.SIGNED, K.PROOF}
    signed_doc = RegistrationDocument.objects.get(certificate=certificate, kind=K.SIGNED)
    assert bytes(signed_doc.content) == signed and signed_doc.filename == "signed.pdf"
    proof = RegistrationDocument.objects.get(certificate=certificate, kind=K.PROOF)
    assert bytes(proof.content).startswith(b"%PDF")
    actions = kit.actions(certificate)
    assert actions[-2:] == [
        "certificates.registration.uploaded",
        "certificates.registration.activated",
    ]
    # The legal representative (in French) and the manager are told; the employee is not.
    notices = Notice.objects.filter(topic="certificate.activated")
    assert {notice.recipient for notice in notices} == {dupont.lr, dupont.manager}
    french = notices.get(recipient=dupont.lr)
    assert french.sector == "certificates" and french.reference == certificate.serial[:40]
    mails = OutboxMessage.objects.filter(template="certificates/activated")
    assert {mail.to for mail in mails} == {dupont.lr.email, dupont.manager.email}
    assert mails.get(to=dupont.lr.email).language == "fr"


def test_detached_cades_signature_over_the_issued_pdf(dupont, keys):
    certificate = start(dupont)
    seal = kit.leaf(keys.ca)
    pdf = kit.issued_pdf(certificate)
    reg.certificate_registration_upload(
        person=dupont.manager,
        certificate=certificate,
        signed=pdf,
        detached_signature=kit.sign_cades(pdf, seal, keys.ca),
    )
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE and bytes(certificate.der) == seal.der
    assert kit.kinds(certificate) == {K.ISSUED, K.SIGNED, K.SIGNATURE, K.PROOF}


def test_non_key_holder_signs_with_own_certificate_and_uploads_the_registered_one(dupont, keys):
    certificate = start(dupont, key_holder=False)
    seal = kit.leaf(keys.ca)
    person = kit.leaf(keys.ca, "Ada Lovelace")
    signed = kit.sign_pades(kit.issued_pdf(certificate), person, keys.ca)
    reg.certificate_registration_upload(
        person=dupont.lr, certificate=certificate, signed=signed, uploaded_certificate=seal.pem
    )
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE and bytes(certificate.der) == seal.der
    assert K.CERTIFICATE in kit.kinds(certificate)


def _refused_upload(company: kit.Company, certificate: Certificate, **upload) -> ValidationError:
    events = AuditEvent.objects.count()
    notices, mails = Notice.objects.count(), OutboxMessage.objects.count()
    with pytest.raises(ValidationError) as refused:
        reg.certificate_registration_upload(person=company.lr, certificate=certificate, **upload)
    certificate.refresh_from_db()
    assert certificate.status == CS.SEALED
    assert kit.kinds(certificate) == {K.ISSUED}
    assert not certificate.der and not certificate.sha256 and certificate.activated_at is None
    assert (Notice.objects.count(), OutboxMessage.objects.count()) == (notices, mails)
    # Only the refused attempt is recorded.
    assert AuditEvent.objects.count() == events + 1
    assert AuditEvent.objects.last().action == "certificates.registration.upload_refused"
    return refused.value


def test_each_bad_file_gets_its_own_message_and_changes_nothing(dupont, keys):
    certificate = start(dupont)
    pdf = kit.issued_pdf(certificate)
    seal = kit.leaf(keys.ca)
    signed = kit.sign_pades(pdf, seal, keys.ca)
    other_key = kit.leaf(keys.ca, "Someone else").key
    cases = {
        "not a PDF": {"signed": b"this is not a PDF at all"},
        "signed by another key": {"signed": kit.sign_pades(pdf, seal, keys.ca, key=other_key)},
        # The page size changed in place: same length, same structure, other bytes.
        "changed PDF": {"signed": signed.replace(b"595.28", b"595.29", 1)},
        "changed after signing": {"signed": kit.add_revision(signed)},
        "expired certificate": {"signed": kit.sign_pades(pdf, kit.expired_leaf(keys.ca), keys.ca)},
        "unlisted CA": {
            "signed": kit.sign_pades(pdf, kit.leaf(keys.unlisted_ca), keys.unlisted_ca)
        },
    }
    found: dict[str, tuple[str, str]] = {}
    for label, upload in cases.items():
        error = _refused_upload(dupont, certificate, **upload)
        found[label] = (reg.refusal_code(error), " ".join(error.messages))
    codes = {label: code for label, (code, _message) in found.items()}
    assert codes["not a PDF"] == "not_pdf"
    assert codes["expired certificate"] == "expired"
    assert codes["unlisted CA"] == "unlisted_ca"
    assert codes["signed by another key"] in {"signature_invalid"}
    # Each of the five kinds of bad file of the issue gets its own message.
    five = ["not a PDF", "signed by another key", "expired certificate", "unlisted CA"]
    messages = {found[label][1] for label in five}
    assert len(messages) == len(five)
    assert b"595.28" in signed
    assert codes["changed PDF"] in {"signature_invalid", "seal_broken"}
    assert found["changed PDF"][1] not in {found["not a PDF"][1], found["expired certificate"][1]}
    assert codes["changed after signing"] in {
        "not_whole_document",
        "signature_invalid",
        "seal_broken",
    }
    # The person may try again: a good upload still works.
    reg.certificate_registration_upload(person=dupont.lr, certificate=certificate, signed=signed)
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE


def test_a_certificate_active_elsewhere_is_refused(dupont, keys):
    seal = kit.leaf(keys.ca)
    first = start(dupont)
    reg.certificate_registration_upload(
        person=dupont.lr,
        certificate=first,
        signed=kit.sign_pades(kit.issued_pdf(first), seal, keys.ca),
    )
    second = start(dupont, name="Same again")
    error = _refused_upload(
        dupont, second, signed=kit.sign_pades(kit.issued_pdf(second), seal, keys.ca)
    )
    assert reg.refusal_code(error) == "already_registered"


def test_upload_refusals_for_people_and_statuses(dupont, keys):
    certificate = start(dupont)
    signed = kit.sign_pades(kit.issued_pdf(certificate), kit.leaf(keys.ca), keys.ca)
    with pytest.raises(reg.CertificateNotAllowed):
        reg.certificate_registration_upload(
            person=dupont.employee, certificate=certificate, signed=signed
        )
    reg.certificate_registration_upload(person=dupont.lr, certificate=certificate, signed=signed)
    with pytest.raises(CertificateStateError):
        reg.certificate_registration_upload(
            person=dupont.lr, certificate=certificate, signed=signed
        )
    assert RegistrationDocument.objects.filter(certificate=certificate, kind=K.SIGNED).count() == 1


def test_non_key_holder_without_the_certificate_file_is_refused(dupont, keys):
    certificate = start(dupont, key_holder=False)
    signed = kit.sign_pades(kit.issued_pdf(certificate), kit.leaf(keys.ca, "Ada"), keys.ca)
    error = _refused_upload(dupont, certificate, signed=signed)
    assert reg.refusal_code(error) == "certificate_missing"
    assert "uploaded_certificate" in error.message_dict
