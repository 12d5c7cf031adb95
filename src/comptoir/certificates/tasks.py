from __future__ import annotations

from typing import Any

from django_tasks import task

from comptoir.certificates import trust


@task()
def trusted_lists_refresh() -> dict[str, Any]:
    """Read the trusted lists again and replace the cached copy (see trust.py). Returns the
    summary: each list's territory, sequence number, dates and CA count, and the errors."""
    return trust.trusted_lists_refresh()


@task()
def certificates_lifecycle() -> dict[str, int]:
    """EXPIRED at the end of validity, then the expiry reminders (60, 30 and 7 days before).
    Idempotent: run it as often as you like (hourly is plenty)."""
    from comptoir.certificates.registrations import (
        certificate_reminders_send,
        certificates_expire_due,
    )

    return {"expired": certificates_expire_due(), "reminded": certificate_reminders_send()}


@task()
def eori_identities_backfill() -> dict[str, int]:
    """Create the EORI identities missing for operators with an EORI number, in batches (queued
    after a directory import; see identities.py). Idempotent. Returns the counts: created,
    batches, shared (operators whose EORI number another operator's identity holds)."""
    from comptoir.certificates.identities import eori_identities_backfill as backfill

    return backfill().counts()
