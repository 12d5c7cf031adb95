from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from comptoir.b2g.selectors import b2g_clients_list


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


class Command(BaseCommand):
    help = "List the B2G clients: name, operator EORI, enabled, allowed calls, last used, created."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [("NAME", "OPERATOR", "ENABLED", "CALLS", "LAST USED", "CREATED")]
        for client in b2g_clients_list():
            rows.append(
                (
                    client.name,
                    client.operator.eori if client.operator is not None else "-",
                    "yes" if client.enabled else "no",
                    str(client.calls),
                    _when(client.last_used_at),
                    _when(client.created_at),
                )
            )
        if len(rows) == 1:
            self.stdout.write("No B2G client yet.")
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
