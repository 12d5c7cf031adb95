from django.core.management.base import BaseCommand

from comptoir.notifications.services import outbox_requeue_due


class Command(BaseCommand):
    help = "Queue a delivery task for every outbox message whose next attempt is due."

    def handle(self, *args, **options):
        count = outbox_requeue_due()
        self.stdout.write(f"{count} message(s) queued for delivery.")
