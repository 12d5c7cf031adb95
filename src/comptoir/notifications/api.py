"""The signed-in person's in-app notices in the API, mounted under /api/v1/notices. Only the
person's own notices exist here: any other id answers 404."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from comptoir.accounts.models import User
from comptoir.notifications import selectors, services
from comptoir.notifications.models import Notice

PAGE_SIZE = 50


class _ApiRequest(HttpRequest):
    auth: User


class Error(Schema):
    detail: str
    code: str | None = None


class NoticesQuery(Schema):
    unread: bool = Field(False, description="Only the notices not read yet.")
    page: int = Field(1, ge=1)


class NoticeOut(Schema):
    id: uuid.UUID
    topic: str
    title: str
    body: str
    link: str
    operator: int | None
    created_at: datetime
    read_at: datetime | None


class NoticesPage(Schema):
    count: int = Field(..., description="How many notices match the query.")
    unread: int = Field(..., description="How many of the person's notices are unread.")
    page: int
    pages: int
    items: list[NoticeOut]


class ReadAll(Schema):
    marked: int = Field(..., description="How many notices were unread and are now read.")
    unread: int


def _out(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.public_id,
        "topic": notice.topic,
        "title": notice.title,
        "body": notice.body,
        "link": notice.link,
        "operator": notice.operator_id,
        "created_at": notice.created_at,
        "read_at": notice.read_at,
    }


_REFUSALS = {401: Error, 403: Error}


def build_router() -> Router:
    """A fresh router (a ninja router can be mounted on one API only)."""
    router = Router(tags=["notices"])

    @router.get(
        "",
        response={200: NoticesPage, **_REFUSALS},
        summary="The signed-in person's notices, newest first",
    )
    def notices(request: _ApiRequest, filters: Query[NoticesQuery]):
        rows = selectors.notices_for_person(person=request.auth, unread_only=filters.unread)
        count = rows.count()
        start = (filters.page - 1) * PAGE_SIZE
        return {
            "count": count,
            "unread": selectors.notices_unread_count(person=request.auth),
            "page": filters.page,
            "pages": max(1, math.ceil(count / PAGE_SIZE)),
            "items": [_out(notice) for notice in rows[start : start + PAGE_SIZE]],
        }

    @router.post(
        "/read-all",
        response={200: ReadAll, **_REFUSALS},
        summary="Mark every notice of the signed-in person read",
    )
    def read_all(request: _ApiRequest):
        marked = services.notices_mark_all_read(person=request.auth)
        return {"marked": marked, "unread": selectors.notices_unread_count(person=request.auth)}

    @router.post(
        "/{uuid:notice_id}/read",
        response={200: NoticeOut, **_REFUSALS, 404: Error},
        summary="Mark one of the signed-in person's notices read (again: no change)",
    )
    def read(request: _ApiRequest, notice_id: uuid.UUID):
        try:
            notice = services.notice_mark_read(person=request.auth, notice_id=notice_id)
        except Notice.DoesNotExist as exc:
            raise HttpError(404, _("Not Found")) from exc
        return _out(notice)

    return router


router = build_router()
