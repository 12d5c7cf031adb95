from __future__ import annotations

from django.db.models import Q, QuerySet

from comptoir.audit.models import AuditEvent


def audit_events_for_person(*, person_id: int) -> QuerySet[AuditEvent]:
    """Events the person did, and events done to their account."""
    return AuditEvent.objects.filter(
        Q(actor_id=person_id) | Q(subject_type="accounts.user", subject_id=str(person_id))
    ).order_by("-sequence")
