from __future__ import annotations

from datetime import timedelta

import pytest

from comptoir.audit.models import AuditEvent
from comptoir.certificates.inspect import certificate_fields
from comptoir.certificates.models import Certificate, EoriIdentity
from comptoir.certificates.selectors import certificates_active_for, eori_identity_by_identifier
from comptoir.certificates.services import (
    CertificateStateError,
    NoEori,
    certificate_status_move,
    eori_identity_for,
)
from tests.certificates import pki
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory

S = Certificate.Status


@pytest.mark.django_db
def test_eori_identity_is_created_once_and_audited():
    operator = OperatorFactory()
    identity = eori_identity_for(operator)
    assert identity.operator == operator
    assert identity.identifier == operator.eori
    assert identity.identifier_type == "EORI"
    assert identity.actor_type == "EO"
    assert identity.public_id and identity.created_at and identity.modified_at
    assert eori_identity_for(operator).pk == identity.pk
    assert EoriIdentity.objects.count() == 1
    events = AuditEvent.objects.filter(action="certificates.identity.create")
    assert events.count() == 1
    assert events.get().subject_id == str(identity.pk)


@pytest.mark.django_db
def test_an_operator_without_eori_has_no_identity():
    operator = OperatorFactory(eori="")
    with pytest.raises(NoEori, match="no EORI number"):
        eori_identity_for(operator)
    assert not EoriIdentity.objects.exists()
    assert not AuditEvent.objects.filter(action="certificates.identity.create").exists()


def test_every_status_has_its_transitions_and_ends_are_final():
    assert set(Certificate.TRANSITIONS) == set(S.values)
    assert Certificate.can_move(S.DRAFT, S.SEALED)
    assert Certificate.can_move(S.SEALED, S.SIGNING_PENDING)
    assert Certificate.can_move(S.SIGNING_PENDING, S.ACTIVE)
    assert Certificate.can_move(S.SIGNING_PENDING, S.REFUSED)
    assert Certificate.can_move(S.ACTIVE, S.REVOKED)
    assert Certificate.can_move(S.ACTIVE, S.EXPIRED)
    assert not Certificate.can_move(S.DRAFT, S.ACTIVE)
    assert not Certificate.can_move(S.SEALED, S.ACTIVE)
    for final in (S.REFUSED, S.REVOKED, S.EXPIRED):
        assert Certificate.TRANSITIONS[final] == frozenset()


@pytest.mark.django_db
def test_a_certificate_row_keeps_its_der_and_details():
    identity = eori_identity_for(OperatorFactory())
    certificate = Certificate.objects.create(
        identity=identity,
        name="ICS2 seal",
        purpose=Certificate.Purpose.SEAL,
        der=b"\x30\x82\x01\x00",
        sha256="ab" * 32,
    )
    certificate.refresh_from_db()
    assert bytes(certificate.der) == b"\x30\x82\x01\x00"
    assert certificate.status == S.DRAFT
    assert certificate.registration_pdf_id != certificate.public_id
    assert list(Certificate.objects.filter(sha256="ab" * 32)) == [certificate]


@pytest.fixture
def active_certificate(db):
    identity = eori_identity_for(OperatorFactory())
    leaf = pki.make_leaf(pki.make_ca())
    return Certificate.objects.create(
        identity=identity,
        name="ICS2 seal",
        purpose=Certificate.Purpose.SEAL,
        status=S.ACTIVE,
        **certificate_fields(leaf.cert),
    )


def test_certificate_fields_fill_the_model(active_certificate):
    active_certificate.refresh_from_db()
    assert len(active_certificate.sha256) == 64
    assert active_certificate.subject.startswith("CN=Transports Dupont seal")
    assert active_certificate.version == 3
    assert active_certificate.signature_algorithm == "ecdsa-with-SHA256"


def test_a_status_move_is_audited_and_guarded(active_certificate):
    officer = UserFactory()
    stale = Certificate.objects.get(pk=active_certificate.pk)
    moved = certificate_status_move(
        certificate=active_certificate,
        target=S.REVOKED,
        actor=officer,
        action="certificates.certificate.revoke",
        changes={"revocation_reason": "Key lost", "revoked_by": officer},
        data={"reason": "Key lost"},
    )
    assert moved.status == S.REVOKED and moved.revoked_by == officer
    assert moved.modified_by == officer and moved.revocation_reason == "Key lost"
    event = AuditEvent.objects.get(action="certificates.certificate.revoke")
    assert event.subject_id == str(active_certificate.pk)
    assert event.data["from"] == "active" and event.data["to"] == "revoked"

    # A second person working from the page they loaded before: refused, nothing changed.
    with pytest.raises(CertificateStateError) as refused:
        certificate_status_move(
            certificate=stale,
            target=S.EXPIRED,
            actor=None,
            action="certificates.certificate.expire",
        )
    assert refused.value.status == S.REVOKED
    assert "is Revoked" in refused.value.message
    assert Certificate.objects.get(pk=active_certificate.pk).status == S.REVOKED
    assert not AuditEvent.objects.filter(action="certificates.certificate.expire").exists()


def test_a_move_outside_the_table_is_refused(active_certificate):
    with pytest.raises(CertificateStateError):
        certificate_status_move(
            certificate=active_certificate, target=S.SEALED, actor=None, action="x"
        )
    assert Certificate.objects.get(pk=active_certificate.pk).status == S.ACTIVE
    assert not AuditEvent.objects.filter(action="x").exists()


def test_active_certificates_by_eori(active_certificate):
    identifier = active_certificate.identity.identifier
    assert eori_identity_by_identifier(identifier) == active_certificate.identity
    assert eori_identity_by_identifier("FR000000000") is None
    now = pki.NOW
    assert list(certificates_active_for(identifier=identifier, at=now)) == [active_certificate]
    assert not certificates_active_for(identifier=identifier, at=now + timedelta(days=400))
    assert not certificates_active_for(identifier="FR000000000", at=now)
    Certificate.objects.filter(pk=active_certificate.pk).update(status=S.REVOKED)
    assert not certificates_active_for(identifier=identifier, at=now)
