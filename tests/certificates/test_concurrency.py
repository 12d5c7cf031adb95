"""Two moves of the same certificate at the same moment on PostgreSQL (customs revoking it while
the expiry runs): one happens, the other is refused, one audit event."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.certificates.inspect import certificate_fields
from comptoir.certificates.models import Certificate
from comptoir.certificates.services import (
    CertificateStateError,
    certificate_status_move,
    eori_identity_for,
)
from tests.certificates import pki
from tests.factories_operators import OperatorFactory
from tests.markers import requires_postgresql

S = Certificate.Status


@requires_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_revoke_and_expire_at_once_give_one_end():
    certificate = Certificate.objects.create(
        identity=eori_identity_for(OperatorFactory()),
        name="ICS2 seal",
        purpose=Certificate.Purpose.SEAL,
        status=S.ACTIVE,
        **certificate_fields(pki.make_leaf(pki.make_ca()).cert),
    )
    barrier = threading.Barrier(2, timeout=20)
    outcomes: dict[str, object] = {}

    def run(target: str) -> None:
        mine = Certificate.objects.get(pk=certificate.pk)  # both read ACTIVE
        barrier.wait()
        try:
            certificate_status_move(
                certificate=mine, target=target, actor=None, action=f"certificates.{target}"
            )
            outcomes[target] = "done"
        except Exception as exc:
            outcomes[target] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in (S.REVOKED, S.EXPIRED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    results = list(outcomes.values())
    assert results.count("done") == 1, outcomes
    [refusal] = [r for r in results if isinstance(r, CertificateStateError)]
    winner = next(target for target, result in outcomes.items() if result == "done")
    assert refusal.status == winner
    assert Certificate.objects.get(pk=certificate.pk).status == winner
    assert (
        AuditEvent.objects.filter(
            action__in=["certificates.revoked", "certificates.expired"]
        ).count()
        == 1
    )
    assert audit_verify() is None
