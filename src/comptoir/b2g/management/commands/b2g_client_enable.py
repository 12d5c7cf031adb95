from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.b2g.management.commands.b2g_client_create import validation_message
from comptoir.b2g.models import B2GClient
from comptoir.b2g.services import b2g_client_enable


class Command(BaseCommand):
    help = "Enable a disabled B2G client again (same token and certificate)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        was_disabled = B2GClient.objects.filter(name=name.strip(), enabled=False).exists()
        try:
            client = b2g_client_enable(name=name)
        except B2GClient.DoesNotExist as exc:
            raise CommandError(f"No B2G client is named {name!r}.") from exc
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        if was_disabled:
            self.stdout.write(f"Enabled the B2G client {client.name!r}.")
        else:
            self.stdout.write(f"The B2G client {client.name!r} was already enabled.")
