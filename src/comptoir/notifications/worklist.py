"""Tasks on a person's dashboard, gathered from the apps that know them.

Notices are stored (Notice); tasks are computed when the dashboard is read, from the state that
makes them tasks (a request waiting for the person's decision, an open fallback, a certificate
about to expire…). Each app registers a source in its AppConfig.ready(), so that this module,
low in the layers, never imports the apps above it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

if TYPE_CHECKING:
    from comptoir.accounts.models import User


@dataclass(frozen=True)
class WorkItem:
    """One task for one person. `type` names what it is (e.g. "approval", "fallback"), `sector`
    the area of work (same values as Notice.sector), `priority` one of Notice.Priority, `link` a
    path inside the portal where the task is done, `due_at` when it expires (None: no deadline)."""

    type: str
    title: str
    link: str
    sector: str
    priority: str
    reference: str
    created_at: datetime
    due_at: datetime | None = None


WorkSource = Callable[["User"], Iterable[WorkItem]]

_SOURCES: dict[str, WorkSource] = {}


def work_source(name: str) -> Callable[[WorkSource], WorkSource]:
    """Register a source of tasks under a name (registering the same name again replaces it)."""

    def register(source: WorkSource) -> WorkSource:
        _SOURCES[name] = source
        return source

    return register


def work_items_for(*, person: User) -> list[WorkItem]:
    """Every task of the person from every registered source, soonest due first, then newest."""
    items = [item for source in _SOURCES.values() for item in source(person)]
    far = datetime.max.replace(tzinfo=None)
    return sorted(
        items,
        key=lambda item: (
            item.due_at.replace(tzinfo=None) if item.due_at else far,
            -item.created_at.timestamp(),
        ),
    )


def task_due_soon_days() -> int:
    """A task due within this many days is "about to expire" (COMPTOIR_TASK_DUE_SOON_DAYS,
    7 by default)."""
    return int(getattr(settings, "COMPTOIR_TASK_DUE_SOON_DAYS", 7))


def work_item_due_soon(item: WorkItem, *, now: datetime | None = None) -> bool:
    """Whether the task expires within task_due_soon_days() (or is already overdue)."""
    if item.due_at is None:
        return False
    now = now or timezone.now()
    return item.due_at <= now + timedelta(days=task_due_soon_days())
