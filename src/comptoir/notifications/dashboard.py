"""Reads for a person's dashboard: their tasks (computed by the registered work sources) and
their notices (stored), with the same filters for both, and the labels shown for types and
sectors. Everything here is scoped by the person; nothing writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from comptoir.notifications.models import Notice
from comptoir.notifications.worklist import WorkItem, work_item_due_soon, work_items_for

if TYPE_CHECKING:
    from comptoir.accounts.models import User

KIND_NOTICES = "notices"
KIND_TASKS = "tasks"

#: Labels of the sectors (Notice.sector, WorkItem.sector); an unknown sector shows as stored.
SECTOR_LABELS: dict[str, str | Promise] = {
    "company": _("Company"),
    "customs": _("Customs"),
    "lodging": _("Lodging of declarations"),
    "continuity": _("Fallback procedure"),
}

#: Labels of the types: a task's type, a notice's topic ("request.approved") or the first part
#: of a topic ("request"). Apps may add theirs with type_label_register() in ready().
TYPE_LABELS: dict[str, str | Promise] = {
    "approval": _("Decision to take"),
    "request": _("Request"),
    "request.submitted": _("Request submitted"),
    "request.approved": _("Request approved"),
    "request.rejected": _("Request rejected"),
    "request.withdrawn": _("Request withdrawn"),
    "request.expired": _("Request expired"),
    "operators": _("Company news"),
    "outage": _("B2G outage"),
    "fallback": _("Fallback procedure"),
    "lodging": _("Lodging of declarations"),
    "lodging.accepted": _("Declaration accepted, reference issued"),
}


def type_label_register(code: str, label: str | Promise) -> None:
    """Name a type of task or notice for the dashboard (a lazy translation)."""
    TYPE_LABELS[code] = label


def type_label(code: str) -> str:
    """The label of a type: its own, else its first part's with the rest in brackets
    ("lodging.issued" → "Lodging of declarations (issued)"), else the code itself."""
    if (label := TYPE_LABELS.get(code)) is not None:
        return str(label)
    group, _dot, rest = code.partition(".")
    if rest and (label := TYPE_LABELS.get(group)) is not None:
        return f"{label} ({rest})"
    return code


def sector_label_register(code: str, label: str | Promise) -> None:
    """Name a sector for the dashboard (a lazy translation)."""
    SECTOR_LABELS[code] = label


def sector_label(code: str) -> str:
    label = SECTOR_LABELS.get(code)
    return str(label) if label is not None else code


@dataclass(frozen=True)
class DashboardFilters:
    """What the person asked to see. `kind` is "", "notices" or "tasks"; `type` matches a task's
    type, or a notice's topic exactly or by its first part; `q` searches reference numbers
    (case-insensitive, part of one is enough); `unread` narrows the notices only (a task stays
    to do until it is done)."""

    kind: str = ""
    type: str = ""
    sector: str = ""
    priority: str = ""
    unread: bool = False
    q: str = ""


def _reference_term(q: str) -> str:
    """References are stored without spaces: "26lu 1234" searches "26LU1234"."""
    return "".join((q or "").split())


def dashboard_notices(*, person: User, filters: DashboardFilters) -> QuerySet[Notice]:
    """The person's notices matching the filters, newest first (none when only tasks are
    asked for)."""
    notices = Notice.objects.filter(recipient=person)
    if filters.kind == KIND_TASKS:
        return notices.none()
    if filters.type:
        notices = notices.filter(Q(topic=filters.type) | Q(topic__startswith=f"{filters.type}."))
    if filters.sector:
        notices = notices.filter(sector=filters.sector)
    if filters.priority:
        notices = notices.filter(priority=filters.priority)
    if filters.unread:
        notices = notices.filter(read_at__isnull=True)
    if term := _reference_term(filters.q):
        notices = notices.filter(reference__icontains=term)
    return notices.order_by("-created_at", "-pk")


def dashboard_tasks_filter(*, tasks: list[WorkItem], filters: DashboardFilters) -> list[WorkItem]:
    """The tasks (from work_items_for) matching the filters, in the same order (soonest due
    first); none when only notices are asked for."""
    if filters.kind == KIND_NOTICES:
        return []
    term = _reference_term(filters.q).casefold()
    return [
        task
        for task in tasks
        if (not filters.type or task.type == filters.type)
        and (not filters.sector or task.sector == filters.sector)
        and (not filters.priority or task.priority == filters.priority)
        and (not term or term in task.reference.casefold())
    ]


def tasks_due_soon_count(*, tasks: list[WorkItem], now: datetime | None = None) -> int:
    """How many of the tasks expire within COMPTOIR_TASK_DUE_SOON_DAYS (or are overdue)."""
    now = now or timezone.now()
    return sum(1 for task in tasks if work_item_due_soon(task, now=now))


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass
class DashboardChoices:
    """The values the filters offer: the known ones and whatever the person's tasks and
    notices carry."""

    types: list[Choice] = field(default_factory=list)
    sectors: list[Choice] = field(default_factory=list)


def dashboard_choices(*, person: User, tasks: list[WorkItem]) -> DashboardChoices:
    """Types: every task type, notice topic and topic group the person has, plus the known
    ones; sectors likewise. Sorted by label. Two queries."""
    type_codes = {code for code in TYPE_LABELS if "." not in code} | {task.type for task in tasks}
    for topic in Notice.objects.filter(recipient=person).values_list("topic", flat=True).distinct():
        type_codes.add(topic)
        type_codes.add(topic.split(".", 1)[0])
    sector_codes = set(SECTOR_LABELS) | {task.sector for task in tasks if task.sector}
    sector_codes |= set(
        Notice.objects.filter(recipient=person)
        .exclude(sector="")
        .values_list("sector", flat=True)
        .distinct()
    )
    return DashboardChoices(
        types=sorted(
            (Choice(code, type_label(code)) for code in type_codes if code),
            key=lambda choice: choice.label.casefold(),
        ),
        sectors=sorted(
            (Choice(code, sector_label(code)) for code in sector_codes),
            key=lambda choice: choice.label.casefold(),
        ),
    )


def dashboard_tasks(*, person: User) -> list[WorkItem]:
    """Every task of the person (unfiltered), soonest due first."""
    if not person.is_authenticated:
        return []
    return work_items_for(person=person)
