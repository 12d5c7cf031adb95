"""Create the EORI identities missing for operators with an EORI number (operators written in
bulk, before the post_save receiver, or when a queued backfill did not run).

    python manage.py certificates_identities            # now, in this process
    python manage.py certificates_identities --enqueue  # as a background task

Idempotent: running it again creates nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from comptoir.certificates import identities, tasks


class Command(BaseCommand):
    help = "Create the EORI identities missing for operators with an EORI number."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--enqueue", action="store_true", help="Run it as a background task instead."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=identities.BATCH_SIZE,
            help=f"Operators per transaction (default {identities.BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            result = tasks.eori_identities_backfill.enqueue()
            self.stdout.write(f"Enqueued task {result.id}.")
            return
        if options["batch_size"] < 1:
            raise CommandError("--batch-size: give a positive number of operators.")
        summary = identities.eori_identities_backfill(batch_size=options["batch_size"])
        self.stdout.write(
            f"{summary.created} EORI identit{'y' if summary.created == 1 else 'ies'} created "
            f"in {summary.batches} batch(es)."
        )
        if summary.shared:
            self.stdout.write(
                f"{summary.shared} operator(s) left without one: another operator's identity "
                "holds their EORI number."
            )
