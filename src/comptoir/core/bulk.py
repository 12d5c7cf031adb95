"""Inserting many rows fast, for the few places that write tens of thousands at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def rows_bulk_insert(
    model: type[models.Model],
    *,
    constant: dict[str, Any],
    varying: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert many rows of `model` fast: the constant columns prepared once, the varying ones
    per row; COPY on PostgreSQL, one executemany elsewhere. Django's bulk_create prepares every
    field of every object and is several times slower at this size."""
    if not rows:
        return
    meta = model._meta
    fields = {name: meta.get_field(name) for name in (*constant, *varying)}
    fixed = [
        fields[name].get_db_prep_save(value, connection)  # type: ignore[union-attr]
        for name, value in constant.items()
    ]
    preparers = [fields[name].get_db_prep_save for name in varying]  # type: ignore[union-attr]
    columns = [str(fields[name].column) for name in (*varying, *constant)]  # type: ignore[union-attr]
    prepared = (
        [*(prep(value, connection) for prep, value in zip(preparers, row, strict=True)), *fixed]
        for row in rows
    )
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for values in prepared:
                    copy.write_row(values)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608
                list(prepared),
            )
