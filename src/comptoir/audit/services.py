"""Append to and verify the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone

from comptoir.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from comptoir.core import request_context


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "subject_label": event.subject_label,
        "ip": event.ip,
        "request_id": event.request_id,
        "data": event.data,
        "previous_hash": event.previous_hash,
    }
    # Added after the first events were written: absent from their hashed content when empty,
    # so that the hashes of those events still verify.
    if event.on_behalf_of:
        payload["on_behalf_of"] = event.on_behalf_of
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    subject: models.Model | None = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Append one event. Runs inside the caller's transaction when there is one, so that the
    state change and its audit event commit (or roll back) together."""
    context = request_context.current()
    actor_obj = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            sequence=head.sequence + 1,
            occurred_at=timezone.now(),
            actor=actor_obj,  # type: ignore[misc]
            actor_label=actor_obj.get_username() if actor_obj else "",
            action=action,
            subject_type=subject._meta.label_lower if subject is not None else "",
            subject_id=str(subject.pk) if subject is not None else "",
            subject_label=str(subject)[:200] if subject is not None else "",
            ip=ip if ip is not None else context.ip,
            request_id=request_id if request_id is not None else context.request_id,
            data=json.loads(json.dumps(data or {}, default=str)),
            on_behalf_of=dict(context.on_behalf_of),
            previous_hash=head.hash,
        )
        event.hash = event_hash(event)
        event.save(force_insert=True)
        head.sequence = event.sequence
        head.hash = event.hash
        head.save(update_fields=["sequence", "hash"])
    return event


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    reason: str


def audit_verify() -> ChainBreak | None:
    """Walk the chain from the start; return the first broken link, or None when intact."""
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    for event in _iterate_events():
        if event.sequence != expected_sequence:
            return ChainBreak(expected_sequence, "event missing (deleted)")
        if event.previous_hash != previous_hash:
            return ChainBreak(
                event.sequence,
                "previous hash does not match (an earlier event was deleted or edited)",
            )
        if event_hash(event) != event.hash:
            return ChainBreak(event.sequence, "content does not match its hash (event edited)")
        previous_hash = event.hash
        expected_sequence += 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.sequence != expected_sequence - 1 or head.hash != previous_hash):
        return ChainBreak(expected_sequence, "newest events missing (deleted)")
    return None


def _iterate_events() -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = list(AuditEvent.objects.filter(sequence__gt=last).order_by("sequence")[:2000])
        if not batch:
            return
        yield from batch
        last = batch[-1].sequence
