from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.b2g.certificates import (
    MalformedCertificate,
    certificate_fingerprint,
    certificate_load,
)
from comptoir.b2g.selectors import b2g_operator_by_eori
from comptoir.b2g.services import b2g_client_create


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            str(message) for messages in error.message_dict.values() for message in messages
        )
    return " ".join(str(message) for message in error.messages)


class Command(BaseCommand):
    help = (
        "Create a B2G client: an access point of the administration, or with --operator an "
        "operator's own B2G system. Prints the bearer token on the last line: it is shown once "
        "and only its SHA-256 digest is kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A unique name (100 characters at most).")
        parser.add_argument(
            "--operator", metavar="EORI", default="", help="The operator whose B2G system it is."
        )
        certificate = parser.add_mutually_exclusive_group()
        certificate.add_argument(
            "--certificate-fingerprint",
            metavar="HEX",
            default="",
            help="The SHA-256 fingerprint of the client's TLS certificate (colons allowed).",
        )
        certificate.add_argument(
            "--certificate",
            metavar="PEMFILE",
            type=Path,
            default=None,
            help="The client's TLS certificate (PEM or DER); its SHA-256 fingerprint is kept.",
        )

    def handle(
        self,
        *args: Any,
        name: str,
        operator: str,
        certificate_fingerprint: str,
        certificate: Path | None,
        **options: Any,
    ) -> None:
        found = None
        if operator:
            found = b2g_operator_by_eori(eori=operator)
            if found is None:
                raise CommandError(f"No operator has the EORI number {operator!r}.")
        fingerprint = certificate_fingerprint
        if certificate is not None:
            try:
                fingerprint = _fingerprint_of_file(certificate)
            except OSError as exc:
                raise CommandError(f"Cannot read {certificate}: {exc.strerror or exc}.") from exc
            except MalformedCertificate as exc:
                raise CommandError(f"{certificate} does not hold an X.509 certificate.") from exc
        try:
            client, token = b2g_client_create(
                name=name, operator=found, certificate_fingerprint=fingerprint
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        self.stdout.write(f"Created the B2G client {client.name!r}.")
        if client.operator is not None:
            self.stdout.write(f"Operator: {client.operator.eori} {client.operator.name}")
        if client.certificate_fingerprint:
            self.stdout.write(f"Certificate SHA-256: {client.certificate_fingerprint}")
        self.stdout.write(
            "Its bearer token follows; it is shown only now: give it to the client's "
            "administrator through a safe channel."
        )
        self.stdout.write(token)


def _fingerprint_of_file(path: Path) -> str:
    return certificate_fingerprint(certificate_load(path.read_bytes()))
