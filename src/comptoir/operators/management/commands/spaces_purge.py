from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from comptoir.operators.tasks import purge_deleted_spaces


class Command(BaseCommand):
    help = (
        "Queue the task that purges the professional spaces deleted longer ago than "
        "COMPTOIR_SPACE_RETENTION_DAYS (run it from cron, daily)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            nargs="?",
            const="",
            default=None,
            metavar="ISO",
            help=(
                "Purge here instead of queueing; with an ISO 8601 time "
                "(e.g. 2030-01-31T00:00:00+00:00), count the retention period from it."
            ),
        )

    def handle(self, *args, now: str | None, **options):
        if now is None:
            purge_deleted_spaces.enqueue()
            self.stdout.write("Purge of deleted spaces queued.")
            return
        when = None
        if now:
            try:
                when = parse_datetime(now)
            except ValueError:
                when = None
            if when is None:
                raise CommandError(
                    f"--now: {now!r} is not an ISO 8601 time, like 2030-01-31T00:00:00+00:00."
                )
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        count = purge_deleted_spaces.call(when.isoformat() if when else None)
        self.stdout.write(f"{count} space(s) purged.")
