"""Every operator with an EORI number gets its EORI identity (issue 5): the operators written
before the post_save receiver (comptoir.certificates.identity_receivers) existed get theirs here,
in batches, with one audit event ``certificates.identities.backfill`` for the run. An operator
whose EORI number is already the identifier of another operator's identity gets none (the
identifier is unique). Historical models only; the reverse leaves the identities (certificates
may hang from them)."""

import uuid

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone

BATCH = 1000
IN_CHUNK = 900  # below SQLite's historical limit of 999 parameters


def identities_backfill(apps, schema_editor):
    Operator = apps.get_model("operators", "Operator")
    EoriIdentity = apps.get_model("certificates", "EoriIdentity")
    missing = (
        Operator.objects.exclude(eori="")
        .filter(
            ~Exists(EoriIdentity.objects.filter(operator_id=OuterRef("pk"))),
            ~Exists(EoriIdentity.objects.filter(identifier=OuterRef("eori"))),
        )
        .order_by("pk")
    )
    created = 0
    last_pk = 0
    while True:
        rows = list(missing.filter(pk__gt=last_pk).values_list("pk", "eori")[:BATCH])
        if not rows:
            break
        last_pk = rows[-1][0]
        now = timezone.now()
        identities = [
            EoriIdentity(
                public_id=uuid.uuid4(),
                operator_id=pk,
                identifier=eori,
                identifier_type="EORI",
                actor_type="EO",
                created_at=now,
                modified_at=now,
            )
            for pk, eori in rows
        ]
        EoriIdentity.objects.bulk_create(identities, ignore_conflicts=True)
        public_ids = [identity.public_id for identity in identities]
        created += sum(
            EoriIdentity.objects.filter(public_id__in=public_ids[start : start + IN_CHUNK]).count()
            for start in range(0, len(public_ids), IN_CHUNK)
        )
    if created:
        _audit(apps, data={"created": created, "migration": "certificates.0003"})
    return created


def _audit(apps, *, data):
    """One event appended to the hash chain, as comptoir.audit.services.audit_record does."""
    from comptoir.audit.services import event_hash

    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    event = AuditEvent(
        sequence=head.sequence + 1,
        occurred_at=timezone.now(),
        actor_id=None,
        actor_label="",
        action="certificates.identities.backfill",
        subject_type="",
        subject_id="",
        subject_label="",
        ip=None,
        request_id="",
        data=data,
        on_behalf_of={},
        previous_hash=head.hash,
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    head.sequence = event.sequence
    head.hash = event.hash
    head.save(update_fields=["sequence", "hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_on_behalf_of"),
        ("certificates", "0002_registration_documents_rights"),
        ("operators", "0008_mandates"),
    ]

    operations = [migrations.RunPython(identities_backfill, migrations.RunPython.noop)]
