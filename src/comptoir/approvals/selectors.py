"""Reads about requests, scoped by the person who asks: the deciders' work queue."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.approvals.handlers import HANDLERS, deciders
from comptoir.approvals.models import Request, RequestEvent
from comptoir.operators.models import CustomsOperation, Position

RS = Request.Status


class QueueFilters(TypedDict, total=False):
    kind: str
    status: str
    age: int | None
    country: str
    operation: str
    q: str


def _customs_kinds() -> list[str]:
    return [kind for kind, handler in HANDLERS.items() if handler.decided_in == "authority"]


def _scope(actor: User) -> Q:
    """The requests this person may decide: by the kind's deciding organisation and roles.
    Administrators (superusers) also see every customs request, so that they can reassign it."""
    if not actor.is_authenticated or not actor.is_active:
        return Q(pk__in=[])
    valid = Position.objects.filter(person=actor, status=Position.Status.VALID)
    scope = Q(pk__in=[])
    for kind, handler in HANDLERS.items():
        roles = valid.filter(role__in=handler.decider_roles)
        if handler.decided_in == "authority":
            authorities = roles.filter(authority__isnull=False).values("authority_id")
            scope |= Q(kind=kind, authority_id__in=authorities)
        else:
            operators = roles.filter(operator__isnull=False).values("operator_id")
            scope |= Q(kind=kind, operator_id__in=operators)
    scope &= ~Q(requester_id=actor.pk)
    if actor.is_superuser:
        scope |= Q(kind__in=_customs_kinds())
    return scope


def _in_scope(actor: User) -> QuerySet[Request]:
    return Request.objects.filter(_scope(actor)).select_related(
        "operator", "authority", "requester", "decided_by"
    )


def requests_to_decide(
    *, actor: User, filters: QueueFilters | Mapping[str, Any] | None = None
) -> QuerySet[Request]:
    """The requests waiting for this person's decision, oldest first. A status filter shows
    the decided ones instead; the other filters narrow the list."""
    filters = filters or {}
    rows = _in_scope(actor).filter(status=filters.get("status") or RS.SUBMITTED)
    if kind := filters.get("kind"):
        rows = rows.filter(kind=kind)
    if age := filters.get("age"):
        rows = rows.filter(submitted_at__lte=timezone.now() - timedelta(days=age))
    if country := filters.get("country"):
        rows = rows.filter(operator__country=country.upper())
    if operation := filters.get("operation"):
        # Codes are stored as JSON lists; "CODE" with its quotes matches one whole element.
        quoted = f'"{operation}"'
        rows = rows.filter(
            Q(payload__operations__icontains=quoted)
            | Q(payload__add__icontains=quoted)
            | Q(payload__remove__icontains=quoted)
        )
    if q := (filters.get("q") or "").strip():
        compact = "".join(q.split()).upper()
        rows = rows.filter(
            Q(operator__eori__icontains=compact)
            | Q(operator__name__icontains=q)
            | Q(reference__iexact=compact)
        )
    return rows.order_by("submitted_at", "pk")


def request_for_decider(*, actor: User, request_id: uuid.UUID | str) -> Request:
    """One request in the person's scope; Request.DoesNotExist (a 404) for any other."""
    try:
        public_id = uuid.UUID(str(request_id))
    except ValueError:
        raise Request.DoesNotExist from None
    return _in_scope(actor).get(public_id=public_id)


def request_can_decide(*, actor: User, request: Request) -> bool:
    return request.status == RS.SUBMITTED and deciders(request).filter(pk=actor.pk).exists()


def request_can_reassign(*, actor: User, request: Request) -> bool:
    return (
        actor.is_superuser and request.status == RS.SUBMITTED and request.kind in _customs_kinds()
    )


def request_events(*, request: Request) -> QuerySet[RequestEvent]:
    """The request's history, oldest first."""
    return RequestEvent.objects.filter(request=request).select_related("actor").order_by("at", "pk")


@dataclass(frozen=True)
class DetailRow:
    key: Any
    value: str


def _operation_labels(codes: list[str]) -> str:
    found = {op.code: op for op in CustomsOperation.objects.filter(code__in=codes)}
    language = translation.get_language() or settings.LANGUAGE_CODE
    labels = []
    for code in codes:
        operation = found.get(code)
        label = operation.label_in(language) if operation else None
        labels.append(f"{label} ({code})" if label else code)
    return ", ".join(labels) or "—"


def request_details(*, request: Request) -> list[DetailRow]:
    """What the request asks for, as label/value rows for a summary list."""
    payload = request.payload or {}
    rows: list[DetailRow] = []
    if "operations" in payload:
        rows.append(
            DetailRow(_("Customs operations asked for"), _operation_labels(payload["operations"]))
        )
    if payload.get("add"):
        rows.append(DetailRow(_("Operations to add"), _operation_labels(payload["add"])))
    if payload.get("remove"):
        rows.append(DetailRow(_("Operations to remove"), _operation_labels(payload["remove"])))
    if role := payload.get("role"):
        rows.append(DetailRow(_("Role asked for"), str(Position.Role(role).label)))
    if request.kind == Request.Kind.AUTHORITY_ROLE and isinstance(payload.get("position"), int):
        target = Position.objects.select_related("authority").filter(pk=payload["position"]).first()
        if target is not None and target.authority is not None:
            rows.append(DetailRow(_("Authority where the role is asked"), str(target.authority)))
    if message := payload.get("message"):
        rows.append(DetailRow(_("Message from the requester"), message))
    if email := payload.get("email"):
        rows.append(DetailRow(_("Requester's contact email address"), email))
    if phone := payload.get("phone"):
        rows.append(DetailRow(_("Requester's contact phone number"), phone))
    if to_person := payload.get("to_person"):
        person = User.objects.filter(pk=to_person).first()
        name = (person.get_full_name() or person.username) if person else "—"
        rows.append(DetailRow(_("New legal representative"), name))
    handler = HANDLERS.get(request.kind)
    if handler is not None and handler.detail_rows is not None:
        rows.extend(DetailRow(label, value) for label, value in handler.detail_rows(request))
    return rows


def requests_for_person(*, person: User) -> QuerySet[Request]:
    """The requests the person made, newest first."""
    return (
        Request.objects.filter(requester=person)
        .select_related("operator", "authority")
        .order_by("-submitted_at", "-pk")
    )


def request_for_person(*, person: User, public_id: uuid.UUID | str) -> Request:
    """One request the person made; Request.DoesNotExist (a 404) for any other."""
    return requests_for_person(person=person).get(public_id=public_id)
