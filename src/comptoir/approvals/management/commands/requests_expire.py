from django.core.management.base import BaseCommand

from comptoir.approvals.tasks import expire_due_requests


class Command(BaseCommand):
    help = "Queue the task that expires requests whose time ran out (run it from cron, hourly)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now", action="store_true", help="Run the expiry here instead of queueing it."
        )

    def handle(self, *args, now: bool, **options):
        if now:
            count = expire_due_requests.call()
            self.stdout.write(f"{count} request(s) expired.")
        else:
            expire_due_requests.enqueue()
            self.stdout.write("Expiry of due requests queued.")
