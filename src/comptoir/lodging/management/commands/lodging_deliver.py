"""Hand the declarations that are due to the national system now, in this process."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from comptoir.lodging.models import Declaration
from comptoir.lodging.services import (
    declaration_deliver,
    declarations_due,
    declarations_requeue_due,
    declarations_retry_failed,
)


class Command(BaseCommand):
    help = (
        "Hand over every declaration whose next attempt is due (or, with --queue, queue a "
        "background task for each). --failed first gives the declarations that failed for good "
        "a new series of attempts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue", action="store_true", help="Queue background tasks instead of delivering."
        )
        parser.add_argument(
            "--failed",
            action="store_true",
            help="Retry the declarations whose hand-over failed for good.",
        )

    def handle(self, *args, queue: bool, failed: bool, **options):
        if failed:
            count = declarations_retry_failed()
            self.stdout.write(f"{count} failed declaration(s) set to be handed over again.")
        if queue:
            count = declarations_requeue_due()
            self.stdout.write(f"{count} declaration(s) queued for hand-over.")
            return
        delivered = failed_now = 0
        for declaration_id in declarations_due():
            declaration = declaration_deliver(declaration_id=declaration_id)
            if declaration is None:
                continue
            if declaration.delivery_status == Declaration.Delivery.DELIVERED:
                delivered += 1
            else:
                failed_now += 1
                self.stderr.write(f"{declaration.mrn}: {declaration.last_error}")
        self.stdout.write(f"{delivered} declaration(s) handed over, {failed_now} not.")
