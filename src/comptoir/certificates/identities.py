"""Every operator with an EORI number has its EORI identity (issue 5).

An operator saved through the ORM gets it at once (``identity_receivers``: the ``post_save`` of
Operator, in the same transaction). The directory import writes operators in bulk, without
``post_save``: at the end of a run it sends ``operators.signals.operators_imported`` and the
certificates app queues ``tasks.eori_identities_backfill``, which creates the missing identities
here in batches (``manage.py certificates_identities`` runs the same backfill).

The identifier is unique: when an operator's EORI number is already the identifier of another
operator's identity (a number that moved from one space of the company to another), the operator
gets none and its page says the identity is held by the other space."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from comptoir.audit.services import audit_record
from comptoir.certificates.models import EoriIdentity
from comptoir.certificates.services import eori_identity_for
from comptoir.operators.models import Operator

#: Operators per batch (one transaction and at most one audit event each).
BATCH_SIZE = 1000
#: Values per IN (…) list, below SQLite's historical limit of 999 parameters.
_IN_CHUNK = 900


def eori_identity_ensure(*, operator: Operator) -> EoriIdentity | None:
    """The operator's EORI identity, created (and audited, by ``services.eori_identity_for``)
    when it has none; None when it has no EORI number or when that number is the identifier of
    another operator's identity."""
    if not operator.eori:
        return None
    found = list(
        EoriIdentity.objects.filter(Q(operator_id=operator.pk) | Q(identifier=operator.eori))[:2]
    )
    own = next((identity for identity in found if identity.operator_id == operator.pk), None)
    if own is not None:
        return own
    if found:
        return None
    try:
        return eori_identity_for(operator)
    except EoriIdentity.DoesNotExist:
        # Another operator's identity took this identifier a moment ago (eori_identity_for
        # found the unique conflict, then no identity of this operator).
        return None


def eori_identity_holder(*, operator: Operator) -> Operator | None:
    """The other operator whose identity has this operator's EORI number as identifier (the
    operator has no identity of its own then), or None."""
    if not operator.eori:
        return None
    identity = (
        EoriIdentity.objects.filter(identifier=operator.eori)
        .exclude(operator_id=operator.pk)
        .select_related("operator")
        .first()
    )
    return identity.operator if identity is not None else None


def operators_missing_identity(*, after_pk: int = 0) -> QuerySet[Operator]:
    """Operators with an EORI number, no identity, and whose number no other identity holds;
    those with an id above ``after_pk``."""
    return Operator.objects.exclude(eori="").filter(
        ~Exists(
            # The bound on the identities too: PostgreSQL merges the two id orders, and would
            # otherwise walk the identities of every operator before after_pk on each batch.
            EoriIdentity.objects.filter(operator_id=OuterRef("pk"), operator_id__gt=after_pk)
        ),
        ~Exists(EoriIdentity.objects.filter(identifier=OuterRef("eori"))),
        pk__gt=after_pk,
    )


def operators_sharing_identity() -> QuerySet[Operator]:
    """Operators with an EORI number and no identity because another operator's identity has
    that number as identifier."""
    return Operator.objects.exclude(eori="").filter(
        ~Exists(EoriIdentity.objects.filter(operator_id=OuterRef("pk"))),
        Exists(EoriIdentity.objects.filter(identifier=OuterRef("eori"))),
    )


@dataclass(frozen=True)
class BackfillSummary:
    created: int
    batches: int
    shared: int

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "batches": self.batches, "shared": self.shared}


def eori_identities_backfill(*, batch_size: int = BATCH_SIZE) -> BackfillSummary:
    """Create the identities missing for operators with an EORI number, ``batch_size``
    operators at a time (in id order), each batch in one transaction with one audit event
    ``certificates.identities.backfill`` that counts what it created. Idempotent and safe to
    run beside the portal or another backfill: a row created meanwhile is skipped (conflicts are
    ignored) and not counted. ``shared`` counts the operators left without an identity because
    another operator's identity holds their EORI number."""
    if batch_size < 1:
        raise ValueError("The batch size must be a positive number.")
    created = batches = 0
    last_pk = 0
    while True:
        missing = operators_missing_identity(after_pk=last_pk).order_by("pk")
        rows = list(missing.values_list("pk", "eori")[:batch_size])
        if not rows:
            break
        last_pk = rows[-1][0]
        now = timezone.now()
        identities = [
            EoriIdentity(
                public_id=uuid.uuid4(),
                operator_id=pk,
                identifier=eori,
                created_at=now,
                modified_at=now,
            )
            for pk, eori in rows
        ]
        with transaction.atomic():
            EoriIdentity.objects.bulk_create(identities, ignore_conflicts=True)
            # Conflicts leave no trace in bulk_create's answer: count the ids written here.
            public_ids = [identity.public_id for identity in identities]
            count = sum(
                EoriIdentity.objects.filter(
                    public_id__in=public_ids[start : start + _IN_CHUNK]
                ).count()
                for start in range(0, len(public_ids), _IN_CHUNK)
            )
            if count:
                audit_record(
                    action="certificates.identities.backfill",
                    data={
                        "created": count,
                        "operators": len(rows),
                        "first_operator": rows[0][0],
                        "last_operator": last_pk,
                    },
                )
        created += count
        batches += 1
    return BackfillSummary(
        created=created, batches=batches, shared=operators_sharing_identity().count()
    )
