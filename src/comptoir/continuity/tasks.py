"""Background work of the fallback procedure: telling every operator's people, and delivering
their e-mails a batch at a time."""

from __future__ import annotations

from django_tasks import task

from comptoir.continuity.services import fan_out_run
from comptoir.notifications.services import outbox_deliver


@task()
def fallback_fan_out(outage_id: int, event: str) -> dict[str, int]:
    """Tell every operator's people that the outage opened or closed (idempotent: a re-run
    carries on where the last committed batch stopped)."""
    fan_out = fan_out_run(outage_id=outage_id, event=event)
    return {"notices": fan_out.notices, "emails": fan_out.emails, "batches": fan_out.batches}


@task()
def deliver_outbox_batch(message_ids: list[str]) -> dict[str, int]:
    """Deliver these outbox messages one after the other (each one idempotent: a message already
    sent or not due is left alone; a failure schedules its own retry)."""
    counts: dict[str, int] = {}
    for message_id in message_ids:
        message = outbox_deliver(message_id=message_id)
        status = message.status if message is not None else "missing"
        counts[status] = counts.get(status, 0) + 1
    return counts
