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
from pydantic import ConfigDict, Field, StrictBool

from comptoir.accounts.models import User
from comptoir.core.api_types import Error
from comptoir.notifications import selectors, services
from comptoir.notifications.models import Notice
from comptoir.notifications.preferences import notice_preferences_set

PAGE_SIZE = 50


class _ApiRequest(HttpRequest):
    auth: User


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

_BY_EMAIL = "True: by e-mail and in the portal; false: only in the portal."


class PreferencesOut(Schema):
    """For each category of notices, whether it also arrives by e-mail (in the portal always)."""

    to_decide: bool = Field(..., description="Requests waiting for my decision. " + _BY_EMAIL)
    my_requests: bool = Field(..., description="Decisions on my requests. " + _BY_EMAIL)
    company: bool = Field(
        ..., description="News of my companies (invitations, new members). " + _BY_EMAIL
    )


class PreferencesIn(Schema):
    """The categories given change; the others keep their choice."""

    model_config = ConfigDict(extra="forbid")

    to_decide: StrictBool | None = Field(None, description=_BY_EMAIL)
    my_requests: StrictBool | None = Field(None, description=_BY_EMAIL)
    company: StrictBool | None = Field(None, description=_BY_EMAIL)


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

    @router.get(
        "/preferences",
        response={200: PreferencesOut, **_REFUSALS},
        summary="Which notices also reach the signed-in person by e-mail",
    )
    def preferences(request: _ApiRequest):
        return selectors.notice_preferences(person=request.auth)

    @router.put(
        "/preferences",
        response={200: PreferencesOut, **_REFUSALS},
        summary="Choose which notices also reach the signed-in person by e-mail",
    )
    def preferences_set(request: _ApiRequest, payload: PreferencesIn):
        return notice_preferences_set(
            person=request.auth, choices=payload.model_dump(exclude_none=True)
        )

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
