from __future__ import annotations

from django_tasks import task

from comptoir.lodging.services import declaration_deliver, declarations_requeue_due


@task()
def deliver_declaration(declaration_id: str) -> str:
    """Hand one accepted declaration to the national system (idempotent)."""
    declaration = declaration_deliver(declaration_id=declaration_id)
    return declaration.delivery_status if declaration is not None else "missing"


@task()
def requeue_due_declarations() -> int:
    """Queue the hand-overs that are due (run it periodically, e.g. every few minutes)."""
    return declarations_requeue_due()
