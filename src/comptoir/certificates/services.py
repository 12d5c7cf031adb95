"""Write side of the certificates app."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.certificates.models import Certificate, EoriIdentity
from comptoir.operators.models import Operator


class NoEori(ValueError):
    """The operator has no EORI number: it cannot hold an EORI identity."""


def eori_identity_for(operator: Operator) -> EoriIdentity:
    """The operator's EORI identity, created (and audited) the first time it is asked for.
    Safe to call twice at once: the second caller gets the row the first one created."""
    if not operator.eori:
        raise NoEori(_("This operator has no EORI number."))
    existing = EoriIdentity.objects.filter(operator=operator).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            identity = EoriIdentity.objects.create(operator=operator, identifier=operator.eori)
            audit_record(
                action="certificates.identity.create",
                subject=identity,
                data={"operator": operator.pk, "identifier": operator.eori},
            )
    except IntegrityError:
        identity = EoriIdentity.objects.get(operator=operator)
    return identity


class CertificateStateError(Exception):
    """The certificate is not (or no longer) in a status that allows this move: someone else
    changed it first, or the move is not in ``Certificate.TRANSITIONS``. Nothing was changed."""

    def __init__(self, *, status: str, target: str) -> None:
        self.status = status
        self.target = target
        self.message = _("This certificate is %(status)s: it cannot become %(target)s.") % {
            "status": Certificate.Status(status).label,
            "target": Certificate.Status(target).label,
        }
        super().__init__(self.message)


def certificate_status_move(
    *,
    certificate: Certificate,
    target: str,
    actor: User | None,
    action: str,
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Certificate:
    """Move the certificate from the status it has in memory to ``target``, with the other field
    ``changes``, and record the audit event ``action`` — one transaction, guarded by a conditional
    UPDATE on the status, so that of two concurrent moves only one happens. The building block of
    the wizard, revocation and expiry services; raises CertificateStateError."""
    source = certificate.status
    if not Certificate.can_move(source, target):
        raise CertificateStateError(status=source, target=target)
    now = timezone.now()
    with transaction.atomic():
        updated = Certificate.objects.filter(pk=certificate.pk, status=source).update(
            status=target, modified_at=now, modified_by=actor, **(changes or {})
        )
        if updated != 1:
            current = (
                Certificate.objects.filter(pk=certificate.pk)
                .values_list("status", flat=True)
                .first()
            )
            raise CertificateStateError(status=current or source, target=target)
        audit_record(
            action=action,
            actor=actor,
            subject=certificate,
            data={"from": source, "to": target, **(data or {})},
        )
    certificate.refresh_from_db()
    return certificate
