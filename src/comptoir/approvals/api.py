"""The deciders' work queue in the API: the same scope as the pages (a request outside the
caller's scope answers 404), the same messages. Mounted under /api/v1/requests."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field, field_validator

from comptoir.accounts.models import User
from comptoir.approvals import selectors, services
from comptoir.approvals.forms import REASON_MAX
from comptoir.approvals.handlers import HANDLERS
from comptoir.approvals.models import Request
from comptoir.approvals.views import already_closed_message
from comptoir.core.api_types import Error
from comptoir.operators.models import Authority

PAGE_SIZE = 50


class _ApiRequest(HttpRequest):
    auth: User


class RequestError(Error):
    """An error about one request, with the status it has now (409: decided by someone else)."""

    status: str | None = None


class QueueQuery(Schema):
    kind: str | None = None
    status: Literal["submitted", "approved", "rejected", "withdrawn", "expired"] | None = None
    age: int | None = Field(None, ge=1, le=3650, description="Waiting for more than N days.")
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    operation: str | None = Field(None, max_length=40)
    q: str | None = Field(None, max_length=200, description="EORI number, name or reference.")
    page: int = Field(1, ge=1)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str | None) -> str | None:
        if value is not None and value not in HANDLERS:
            raise ValueError(_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(HANDLERS)})
        return value


class RequestItem(Schema):
    id: uuid.UUID
    reference: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    operator_name: str | None
    eori: str | None
    country: str | None
    authority: str | None
    submitted_at: datetime
    expires_at: datetime
    age_days: int


class QueuePage(Schema):
    count: int
    page: int
    pages: int
    items: list[RequestItem]


class Event(Schema):
    at: datetime
    from_status: str
    to_status: str
    actor: str | None
    reason: str


class RequestDetail(RequestItem):
    payload: dict[str, Any]
    reason: str
    decided_by: str | None
    decided_at: datetime | None
    can_decide: bool
    events: list[Event]


class ReassignIn(Schema):
    authority: str = Field(..., description="The code of the authority to pass the request to")


class RejectIn(Schema):
    reason: str = Field(..., max_length=REASON_MAX)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(_("Enter the reason for rejecting the request."))
        return value


def _item(item: Request) -> dict[str, Any]:
    operator = item.operator
    return {
        "id": item.public_id,
        "reference": item.reference,
        "kind": item.kind,
        "kind_label": str(item.get_kind_display()),
        "status": item.status,
        "status_label": str(item.get_status_display()),
        "operator_name": operator.name if operator else None,
        "eori": (operator.eori or None) if operator else None,
        "country": operator.country if operator else None,
        "authority": item.authority.code if item.authority else None,
        "submitted_at": item.submitted_at,
        "expires_at": item.expires_at,
        "age_days": (timezone.now() - item.submitted_at).days,
    }


def _detail(actor: User, item: Request) -> dict[str, Any]:
    return {
        **_item(item),
        "payload": item.payload,
        "reason": item.reason,
        "decided_by": item.decided_by.username if item.decided_by else None,
        "decided_at": item.decided_at,
        "can_decide": selectors.request_can_decide(actor=actor, request=item),
        "events": [
            {
                "at": event.at,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "actor": event.actor.username if event.actor else None,
                "reason": event.reason,
            }
            for event in selectors.request_events(request=item)
        ],
    }


def _load(actor: User, request_id: uuid.UUID) -> Request:
    try:
        return selectors.request_for_decider(actor=actor, request_id=request_id)
    except Request.DoesNotExist as exc:
        raise HttpError(404, _("Not Found")) from exc


def _refused(exc: Exception) -> Status:
    if isinstance(exc, services.RequestAlreadyDecided):
        return Status(
            409,
            {
                "detail": already_closed_message(exc.status),
                "code": "already_decided",
                "status": exc.status,
            },
        )
    if isinstance(exc, services.RequestExpired):
        return Status(409, {"detail": str(exc.message), "code": "expired", "status": "expired"})
    assert isinstance(exc, services.NotAllowedToDecide)
    return Status(403, {"detail": str(exc.message), "code": "not_allowed_to_decide"})


_ERRORS = {401: RequestError, 403: RequestError, 404: RequestError, 409: RequestError}


def build_router() -> Router:
    """A fresh router (a ninja router can be mounted on one API only)."""
    router = Router(tags=["requests"])

    @router.get(
        "/queue",
        response={200: QueuePage, 401: Error, 403: Error},
        summary="Requests the caller may decide, oldest first",
    )
    def queue(request: _ApiRequest, filters: Query[QueueQuery]):
        data = filters.model_dump(exclude_none=True)
        page = data.pop("page", 1)
        rows = selectors.requests_to_decide(actor=request.auth, filters=data)
        count = rows.count()
        start = (page - 1) * PAGE_SIZE
        return {
            "count": count,
            "page": page,
            "pages": max(1, math.ceil(count / PAGE_SIZE)),
            "items": [_item(item) for item in rows[start : start + PAGE_SIZE]],
        }

    @router.get(
        "/{uuid:request_id}",
        response={200: RequestDetail, **_ERRORS},
        summary="One request the caller may decide, with its history",
    )
    def detail(request: _ApiRequest, request_id: uuid.UUID):
        return _detail(request.auth, _load(request.auth, request_id))

    @router.post(
        "/{uuid:request_id}/approve",
        response={200: RequestDetail, **_ERRORS},
        summary="Approve a request",
    )
    def approve(request: _ApiRequest, request_id: uuid.UUID):
        item = _load(request.auth, request_id)
        try:
            services.request_approve(actor=request.auth, request_id=item.public_id)
        except (
            services.RequestAlreadyDecided,
            services.RequestExpired,
            services.NotAllowedToDecide,
        ) as exc:
            return _refused(exc)
        return _detail(request.auth, _load(request.auth, request_id))

    @router.post(
        "/{uuid:request_id}/reject",
        response={200: RequestDetail, **_ERRORS},
        summary="Reject a request, with the reason the requester will read",
    )
    def reject(request: _ApiRequest, request_id: uuid.UUID, body: RejectIn):
        item = _load(request.auth, request_id)
        try:
            services.request_reject(
                actor=request.auth, request_id=item.public_id, reason=body.reason
            )
        except (
            services.RequestAlreadyDecided,
            services.RequestExpired,
            services.NotAllowedToDecide,
        ) as exc:
            return _refused(exc)
        return _detail(request.auth, _load(request.auth, request_id))

    @router.post(
        "/{uuid:request_id}/reassign",
        response={200: RequestDetail, 422: Error, **_ERRORS},
        summary="Pass a waiting customs request to another authority (administrators)",
    )
    def reassign(request: _ApiRequest, request_id: uuid.UUID, body: ReassignIn):
        item = _load(request.auth, request_id)
        if not request.auth.is_superuser:
            return Status(
                403,
                {
                    "detail": _("Only administrators can reassign a request."),
                    "code": "not_allowed_to_reassign",
                },
            )
        authority = Authority.objects.filter(code=body.authority.strip()).first()
        if authority is None:
            raise ValidationError({"authority": _("Choose an authority from the list.")})
        try:
            services.request_reassign(
                actor=request.auth, request_id=item.public_id, authority=authority
            )
        except (services.RequestAlreadyDecided, services.NotAllowedToDecide) as exc:
            return _refused(exc)
        return _detail(request.auth, _load(request.auth, request_id))

    return router


router = build_router()
