"""Two uploads of the same signed registration document at the same moment on PostgreSQL (a
double click, or two managers): one registers the certificate, the other is told its status
changed; one signed document, one proof, one set of notices."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from comptoir.audit.services import audit_verify
from comptoir.certificates import registrations as reg
from comptoir.certificates.models import Certificate, RegistrationDocument
from comptoir.certificates.services import CertificateStateError
from comptoir.notifications.models import Notice
from tests.certificates import test_registrations_kit as kit
from tests.markers import requires_postgresql


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_uploads_at_once_register_once(settings, tmp_path):
    keys = kit.trust_setup(settings, tmp_path)
    dupont = kit.company()
    certificate = reg.certificate_registration_start(
        person=dupont.lr,
        operator=dupont.operator,
        name="ICS2 seal",
        description="",
        purpose="seal",
        key_holder=True,
    )
    signed = kit.sign_pades(kit.issued_pdf(certificate), kit.leaf(keys.ca), keys.ca)
    barrier = threading.Barrier(2, timeout=30)
    outcomes: dict[str, object] = {}

    def run(who: str) -> None:
        person = dupont.lr if who == "lr" else dupont.manager
        mine = Certificate.objects.select_related("identity__operator").get(pk=certificate.pk)
        barrier.wait()
        try:
            reg.certificate_registration_upload(person=person, certificate=mine, signed=signed)
            outcomes[who] = "done"
        except Exception as exc:
            outcomes[who] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(who,)) for who in ("lr", "manager")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    results = list(outcomes.values())
    assert results.count("done") == 1, outcomes
    assert any(isinstance(result, CertificateStateError) for result in results), outcomes
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ACTIVE
    assert RegistrationDocument.objects.filter(certificate=certificate).count() == 3
    assert Notice.objects.filter(topic="certificate.activated").count() == 2
    assert kit.actions(certificate).count("certificates.registration.activated") == 1
    assert audit_verify() is None
