from __future__ import annotations

from django_tasks import task

from comptoir.notifications.services import outbox_deliver


@task()
def deliver_outbox_message(message_id: str) -> str:
    message = outbox_deliver(message_id=message_id)
    return message.status if message is not None else "missing"


@task()
def deliver_outbox_messages(message_ids: list[str]) -> dict[str, int]:
    """Deliver these outbox messages one after the other (each one idempotent: a message already
    sent or not due is left alone; a failure schedules its own retry)."""
    counts: dict[str, int] = {}
    for message_id in message_ids:
        message = outbox_deliver(message_id=message_id)
        status = message.status if message is not None else "missing"
        counts[status] = counts.get(status, 0) + 1
    return counts
