from __future__ import annotations

from django_tasks import task

from comptoir.approvals.services import requests_expire_due


@task()
def expire_due_requests() -> int:
    """Expire the requests whose time ran out (run it periodically, e.g. hourly)."""
    return requests_expire_due()
