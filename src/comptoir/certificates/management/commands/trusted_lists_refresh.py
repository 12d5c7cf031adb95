"""Read the trusted lists named in the settings again and replace the cached copy.

    python manage.py trusted_lists_refresh            # now, in this process
    python manage.py trusted_lists_refresh --enqueue  # as a background task

Run it from cron (daily is plenty: national lists are reissued every few months at most)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from comptoir.certificates import tasks, trust


class Command(BaseCommand):
    help = "Read the trusted lists (ETSI TS 119 612) again and replace the cached copy."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--enqueue", action="store_true", help="Run it as a background task instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            result = tasks.trusted_lists_refresh.enqueue()
            self.stdout.write(f"Enqueued task {result.id}.")
            return
        summary = trust.trusted_lists_refresh()
        for entry in summary["lists"]:
            state = "stale copy" if entry.get("stale") else "ok"
            checked = "signature checked" if entry["signature_checked"] else "signature NOT checked"
            self.stdout.write(
                f"{entry['kind']:9} {entry['territory'] or '-':3} seq {entry['sequence']} "
                f"issued {entry['issued'][:10]} next {entry['next_update'][:10] or '-'} "
                f"{entry['ca_services']} CA services, {checked}, {state}: {entry['location']}"
            )
        if summary["alternate_certs"]:
            self.stdout.write(f"alternate: {summary['alternate_certs']} CA certificates")
        for error in summary["errors"]:
            self.stderr.write(f"error: {error}")
        self.stdout.write(f"version {summary['version'][:16]}")
        if summary["errors"]:
            raise CommandError(f"{len(summary['errors'])} list(s) could not be loaded.")
