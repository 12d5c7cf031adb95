"""The requests waiting for a person's decision, as tasks on their dashboard (source "approvals",
registered in ApprovalsConfig.ready())."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.approvals.models import Request
from comptoir.approvals.selectors import requests_to_decide
from comptoir.notifications.worklist import WorkItem, task_due_soon_days, work_source

if TYPE_CHECKING:
    from comptoir.accounts.models import User

#: At most this many approval tasks on one dashboard (the queue at /requests/queue/ has them all).
MAX_ITEMS = 200

RK = Request.Kind

#: The area of work of each kind of request: the company's own business, or customs'.
SECTORS: dict[str, str] = {
    RK.MEMBERSHIP: "company",
    RK.OPERATOR_ROLE: "company",
    RK.LEGAL_REPRESENTATIVE_TRANSFER: "company",
    RK.OPERATOR_REGISTRATION: "customs",
    RK.OPERATION_CHANGE: "customs",
    RK.CERTIFICATE_ACCESS: "certificates",
    RK.AUTHORITY_ROLE: "customs",
}


def request_sector(kind: str) -> str:
    """The dashboard sector of a kind of request ("company" or "customs")."""
    return SECTORS.get(kind, "customs")


@work_source("approvals")
def approval_tasks(person: User) -> Iterable[WorkItem]:
    """One task per request the person may decide now (not expired yet), in the person's
    language, high priority when it expires within COMPTOIR_TASK_DUE_SOON_DAYS. One query."""
    if not person.is_authenticated:
        return []
    now = timezone.now()
    soon = now + timedelta(days=task_due_soon_days())
    rows = (
        requests_to_decide(actor=person)
        .filter(expires_at__gt=now)
        .order_by("expires_at", "pk")[:MAX_ITEMS]
    )
    items: list[WorkItem] = []
    with translation.override(person.language or translation.get_language()):
        for request in rows:
            organisation = request.operator or request.authority
            about = organisation.name if organisation is not None else request.reference
            items.append(
                WorkItem(
                    type="approval",
                    title=_("Decide: %(kind)s — %(about)s")
                    % {"kind": request.get_kind_display(), "about": about},
                    link=reverse("approvals:detail", kwargs={"public_id": request.public_id}),
                    sector=request_sector(request.kind),
                    priority="high" if request.expires_at <= soon else "normal",
                    reference=request.reference,
                    created_at=request.submitted_at,
                    due_at=request.expires_at,
                )
            )
    return items
