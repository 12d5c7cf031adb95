"""The signed-in person's dashboard in the API, mounted under /api/v1/dashboard: their tasks, how
many expire soon, and a page of their notices, with the same filters as the page. Marking notices
read is at /api/v1/notices/{id}/read and /api/v1/notices/read-all."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field, field_validator

from comptoir.accounts.models import User
from comptoir.core.api_types import Error
from comptoir.notifications import dashboard, selectors
from comptoir.notifications.models import Notice
from comptoir.notifications.worklist import WorkItem, task_due_soon_days, work_item_due_soon


class _ApiRequest(HttpRequest):
    auth: User


class DashboardQuery(Schema):
    kind: Literal["", "tasks", "notices"] = Field(
        "", description="tasks or notices only; empty: both."
    )
    type: str = Field(
        "",
        max_length=120,
        description="A task's type (approval, fallback…) or a notice's topic, whole "
        "(request.approved) or its first part (request).",
    )
    sector: str = Field("", max_length=30, description="company, customs, lodging, continuity…")
    priority: Literal["", "low", "normal", "high"] = ""
    unread: bool = Field(False, description="Only the notices not read yet (tasks unchanged).")
    q: str = Field("", max_length=40, description="All or part of a reference number.")
    page: int = Field(1, ge=1, description="The page of notices.")
    page_size: int = Field(20, ge=1, le=100, description="Notices per page.")

    @field_validator("type", "sector", "q")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    def filters(self) -> dashboard.DashboardFilters:
        return dashboard.DashboardFilters(
            kind=self.kind,
            type=self.type,
            sector=self.sector,
            priority=self.priority,
            unread=self.unread,
            q=self.q,
        )


class TaskOut(Schema):
    type: str
    type_label: str
    title: str
    link: str = Field(..., description="Where the task is done, a path in the portal.")
    sector: str
    priority: str
    reference: str
    created_at: datetime
    due_at: datetime | None
    due_soon: bool = Field(..., description="Expires within the due-soon window.")


class NoticeOut(Schema):
    id: uuid.UUID
    type: str = Field(..., description="The notice's topic.")
    type_label: str
    title: str
    body: str
    link: str
    sector: str
    priority: str
    reference: str
    operator: int | None
    created_at: datetime
    read_at: datetime | None


class NoticesPage(Schema):
    items: list[NoticeOut]
    count: int = Field(..., description="How many notices match the filters.")
    page: int
    pages: int
    page_size: int
    unread: int = Field(..., description="How many of the person's notices are unread.")


class DashboardOut(Schema):
    tasks: list[TaskOut] = Field(..., description="The tasks matching the filters, soonest due.")
    tasks_due_soon: int = Field(
        ..., description="How many of all the person's tasks expire within due_soon_days."
    )
    due_soon_days: int
    notices: NoticesPage


def _task(task: WorkItem) -> dict[str, Any]:
    return {
        "type": task.type,
        "type_label": dashboard.type_label(task.type),
        "title": task.title,
        "link": task.link,
        "sector": task.sector,
        "priority": task.priority,
        "reference": task.reference,
        "created_at": task.created_at,
        "due_at": task.due_at,
        "due_soon": work_item_due_soon(task),
    }


def _notice(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.public_id,
        "type": notice.topic,
        "type_label": dashboard.type_label(notice.topic),
        "title": notice.title,
        "body": notice.body,
        "link": notice.link,
        "sector": notice.sector,
        "priority": notice.priority,
        "reference": notice.reference,
        "operator": notice.operator_id,
        "created_at": notice.created_at,
        "read_at": notice.read_at,
    }


def build_router() -> Router:
    """A fresh router (a ninja router can be mounted on one API only)."""
    router = Router(tags=["dashboard"])

    @router.get(
        "",
        response={200: DashboardOut, 401: Error, 403: Error},
        summary="The signed-in person's tasks and notices, filtered, notices paged",
    )
    def dashboard_get(request: _ApiRequest, query: Query[DashboardQuery]):
        person = request.auth
        filters = query.filters()
        tasks = dashboard.dashboard_tasks(person=person)
        notices = dashboard.dashboard_notices(person=person, filters=filters)
        count = notices.count()
        start = (query.page - 1) * query.page_size
        matching = dashboard.dashboard_tasks_filter(tasks=tasks, filters=filters)
        return {
            "tasks": [_task(task) for task in matching],
            "tasks_due_soon": dashboard.tasks_due_soon_count(tasks=tasks),
            "due_soon_days": task_due_soon_days(),
            "notices": {
                "items": [_notice(notice) for notice in notices[start : start + query.page_size]],
                "count": count,
                "page": query.page,
                "pages": max(1, math.ceil(count / query.page_size)),
                "page_size": query.page_size,
                "unread": selectors.notices_unread_count(person=person),
            },
        }

    return router


router = build_router()
