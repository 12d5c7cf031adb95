"""The embedded default in one command: migrate, load demo data, start the background worker
and the web server together."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, load demo data, then serve the portal with its background worker."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")

    def handle(self, *args, addrport: str, no_demo: bool, **options):
        # The autoreloader runs this command again in a child process; only the parent prepares.
        if os.environ.get("RUN_MAIN") != "true":
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
            if not no_demo:
                call_command("demo_seed")
            # Mail left undelivered by an earlier run (worker stopped mid-send) goes out now.
            call_command("outbox_requeue")
            call_command("lodging_deliver", "--queue")
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--interval", "1"],
                cwd=settings.BASE_DIR,
            )
            self.stdout.write(f"Background worker started (pid {worker.pid}).")
            if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
                self.stdout.write(
                    f"E-mails land in the outbox: {settings.EMAIL_FILE_PATH} "
                    f"and on http://{addrport}/dev/outbox/"
                )
            self.stdout.write(f"Portal: http://{addrport}/")
            try:
                call_command("runserver", addrport)
            finally:
                worker.terminate()
                worker.wait(timeout=10)
            return
        call_command("runserver", addrport)
