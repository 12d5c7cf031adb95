from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.b2g.models import B2GClient
from comptoir.b2g.services import b2g_client_disable


class Command(BaseCommand):
    help = "Disable a B2G client: its token and certificate are refused from now on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        was_enabled = B2GClient.objects.filter(name=name.strip(), enabled=True).exists()
        try:
            client = b2g_client_disable(name=name)
        except B2GClient.DoesNotExist as exc:
            raise CommandError(f"No B2G client is named {name!r}.") from exc
        if was_enabled:
            self.stdout.write(f"Disabled the B2G client {client.name!r}.")
        else:
            self.stdout.write(f"The B2G client {client.name!r} was already disabled.")
