"""Background work of the fallback procedure: telling every operator's people (their e-mails are
delivered by notifications.tasks.deliver_outbox_messages, a batch at a time)."""

from __future__ import annotations

from django_tasks import task

from comptoir.continuity.services import fan_out_run


@task()
def fallback_fan_out(outage_id: int, event: str) -> dict[str, int]:
    """Tell every operator's people that the outage opened or closed (idempotent: a re-run
    carries on where the last committed batch stopped)."""
    fan_out = fan_out_run(outage_id=outage_id, event=event)
    return {"notices": fan_out.notices, "emails": fan_out.emails, "batches": fan_out.batches}
