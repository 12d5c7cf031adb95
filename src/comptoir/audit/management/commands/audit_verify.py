from django.core.management.base import BaseCommand, CommandError

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; name the first broken link."

    def handle(self, *args, **options):
        broken = audit_verify()
        if broken is not None:
            raise CommandError(f"Audit chain broken at event #{broken.sequence}: {broken.reason}.")
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {count} events verified."))
