from __future__ import annotations

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tasks import task

from comptoir.approvals.spaces import spaces_purge_deleted


@task()
def purge_deleted_spaces(now: str | None = None) -> int:
    """Purge the professional spaces deleted longer ago than COMPTOIR_SPACE_RETENTION_DAYS
    (run it periodically, e.g. daily). `now`: an ISO 8601 time to count from (default: now)."""
    when = parse_datetime(now) if now else None
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when)
    return spaces_purge_deleted(now=when)
