from __future__ import annotations

from django_tasks import task

from comptoir.notifications.services import outbox_deliver


@task()
def deliver_outbox_message(message_id: str) -> str:
    message = outbox_deliver(message_id=message_id)
    return message.status if message is not None else "missing"
