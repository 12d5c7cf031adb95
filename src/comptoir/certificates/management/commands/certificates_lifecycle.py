"""Expire the certificates whose validity ended and send the expiry reminders (60, 30 and 7
days before), in each person's language.

    python manage.py certificates_lifecycle            # now, in this process
    python manage.py certificates_lifecycle --enqueue  # as a background task

Idempotent: run it from cron (hourly is plenty)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from comptoir.certificates import tasks
from comptoir.certificates.registrations import (
    certificate_reminders_send,
    certificates_expire_due,
)


class Command(BaseCommand):
    help = "Expire certificates at the end of their validity and send the expiry reminders."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--enqueue", action="store_true", help="Run it as a background task instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            result = tasks.certificates_lifecycle.enqueue()
            self.stdout.write(f"Enqueued task {result.id}.")
            return
        expired = certificates_expire_due()
        reminded = certificate_reminders_send()
        self.stdout.write(f"{expired} certificate(s) expired, {reminded} reminder(s) sent.")
