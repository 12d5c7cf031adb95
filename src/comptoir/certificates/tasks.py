from __future__ import annotations

from typing import Any

from django_tasks import task

from comptoir.certificates import trust


@task()
def trusted_lists_refresh() -> dict[str, Any]:
    """Read the trusted lists again and replace the cached copy (see trust.py). Returns the
    summary: each list's territory, sequence number, dates and CA count, and the errors."""
    return trust.trusted_lists_refresh()
