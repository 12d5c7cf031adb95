"""Import operators from a CSV file as exported from a national register (docs/directory.md).

`operators_import()` reads the file (UTF-8 with or without BOM, `;` or `,` between values, a
header line naming the columns), checks every row, and upserts the good ones: a row is matched
by its EORI number or, without one, by its country and national identification number, so that
importing the same file twice changes nothing and creates no duplicate. Rows are written in
batches, each in its own transaction: the batch's existing operators are read and compared, the
changed ones updated and the new ones inserted in bulk (executemany; on PostgreSQL, COPY, and an
UPDATE from a temporary table). Outside a transaction, a second thread writes each batch while
the next one is read and checked. The planner statistics are refreshed after a large import.
Every rejected row is listed in a report (line, column, value, reason); one audit event records
the run and its counts. A run that created or updated operators then sends
`signals.operators_imported` once (the rows written in bulk had no post_save).

Rules for existing operators: only the columns present in the file are written (a column left
out of the header keeps its values); the status is kept (new operators are active); an EORI is
never changed or removed, but an operator known only by its national identification number gets
the EORI of a row that carries both.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.core.identifiers import eori_validate
from comptoir.core.text import search_text
from comptoir.operators.models import Operator
from comptoir.operators.signals import operators_imported

#: The columns of the file and the Operator fields they fill, in the order of the docs.
COLUMNS: dict[str, str] = {
    "eori": "eori",
    "name": "name",
    "country": "country",
    "region": "region",
    "city": "city",
    "postcode": "postcode",
    "address": "address_line1",
    "address2": "address_line2",
    "phone": "phone",
    "fax": "fax",
    "email": "email",
    "website": "website",
    "national_id": "national_id",
    "latitude": "latitude",
    "longitude": "longitude",
}
#: Other spellings of a column name accepted in the header (after lower case, `-`/space → `_`).
COLUMN_ALIASES: dict[str, str] = {
    "address_line1": "address",
    "address_line_1": "address",
    "address_line2": "address2",
    "address_line_2": "address2",
    "eori_number": "eori",
    "zip": "postcode",
    "postal_code": "postcode",
    "e_mail": "email",
    "lat": "latitude",
    "lon": "longitude",
    "lng": "longitude",
}
#: Text fields written from the file, with their maximum length (the model's).
TEXT_FIELDS: tuple[str, ...] = (
    "name",
    "country",
    "region",
    "city",
    "postcode",
    "address_line1",
    "address_line2",
    "phone",
    "fax",
    "email",
    "website",
    "national_id",
)
#: Every field an import writes on a new operator (besides status and times).
WRITTEN_FIELDS: tuple[str, ...] = (*TEXT_FIELDS, "eori", "latitude", "longitude", "search_name")
CONTACT_FIELDS: tuple[str, ...] = ("phone", "fax", "email", "website")
DEFAULT_BATCH_SIZE = 10_000
#: Rows written from which the table is vacuumed and analysed at the end (statistics and, on
#: PostgreSQL, the visibility map).
ANALYZE_AFTER = 10_000
#: Rows read between two calls of the progress callback.
PROGRESS_EVERY = 1000
#: Rows per IN (…) list when reading matches, below SQLite's historical 999 parameters.
_IN_CHUNK = 900

_COUNTRY = re.compile(r"[A-Z]{2}\Z")
_PHONE = re.compile(r"\+?[0-9 ().\-/]+\Z")
_DIGIT = re.compile(r"[0-9]")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://")
_SIX_PLACES = Decimal("0.000001")
# The common shapes of e-mail and web addresses, which Django's validators accept too: checked
# first because the full validators cost several times more (a million rows are imported).
_PLAIN_HOST = r"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_PLAIN_EMAIL = re.compile(rf"[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@{_PLAIN_HOST}\Z", re.IGNORECASE)
_PLAIN_URL = re.compile(
    rf"https?://{_PLAIN_HOST}(?::[0-9]{{1,5}})?(?:[/?#][^\s]*)?\Z", re.IGNORECASE
)
_email_validator = EmailValidator()
_url_validator = URLValidator(schemes=["http", "https"])


class ImportFileError(Exception):
    """The file as a whole cannot be imported (missing, not UTF-8, no header, a required column
    missing…); nothing was written."""


@dataclass(frozen=True)
class Rejection:
    line: int
    column: str
    value: str
    reason: str


@dataclass
class ImportSummary:
    source: Path
    rejects_path: Path
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    seconds: float = 0.0
    ignored_columns: list[str] = field(default_factory=list)
    delimiter: str = ","

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    operator_id: int | None = None


def _model_field(name: str) -> models.Field[Any, Any]:
    model_field = Operator._meta.get_field(name)
    assert isinstance(model_field, models.Field)
    return model_field


# --- Reading the file ----------------------------------------------------------------------


def _scan(path: Path) -> tuple[int, str]:
    """Count the lines and hash the file, checking on the way that it is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    digest = hashlib.sha256()
    lines = 0
    last = b""
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                bad_line = lines + chunk[: error.start].count(b"\n") + 1
                raise ImportFileError(
                    _("The file is not UTF-8 text (line %(line)s): export it again as CSV UTF-8.")
                    % {"line": bad_line}
                ) from None
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file is not UTF-8 text (it ends in the middle of a character).")
        ) from None
    if last and last != b"\n":
        lines += 1
    return lines, digest.hexdigest()


def _sniff_delimiter(header_line: str) -> str:
    """`;` or `,` (or a tab), whichever separates the header's column names."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _header_columns(cells: Sequence[str]) -> tuple[list[str | None], list[str]]:
    """The known column of each header cell (None for ignored ones) and the ignored names."""
    columns: list[str | None] = []
    ignored: list[str] = []
    seen: set[str] = set()
    for cell in cells:
        name = re.sub(r"[\s\-]+", "_", cell.strip().lower())
        name = COLUMN_ALIASES.get(name, name)
        if name in COLUMNS:
            if name in seen:
                raise ImportFileError(
                    _("The header names the column “%(column)s” twice.") % {"column": name}
                )
            seen.add(name)
            columns.append(name)
        else:
            columns.append(None)
            if cell.strip():
                ignored.append(cell.strip())
    return columns, ignored


# --- Checking one row ----------------------------------------------------------------------


def _coordinate(raw: str, *, limit: int) -> Decimal:
    try:
        number = Decimal(raw.replace(",", ".") if "." not in raw else raw)
    except InvalidOperation:
        raise ValueError from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise ValueError
    return number.quantize(_SIX_PLACES, rounding=ROUND_HALF_EVEN)


class _RowChecker:
    """Turns the cells of one line into Operator values, or into the reasons it is refused."""

    def __init__(self, *, columns: list[str | None], country: str) -> None:
        self.columns = columns
        self.present = {column for column in columns if column is not None}
        self.country = country
        self.max_length: dict[str, int] = {
            name: _model_field(name).max_length or 0 for name in (*TEXT_FIELDS, "eori")
        }
        # EORI and country have their own checks and messages.
        self.length_checked = {
            name: limit
            for name, limit in self.max_length.items()
            if name not in ("eori", "country")
        }
        self.seen_eori: dict[str, int] = {}
        # (country, national id) → (line, whether that row had an EORI)
        self.seen_national: dict[tuple[str, str], tuple[int, bool]] = {}

    def check(self, cells: list[str], line: int) -> tuple[dict[str, Any] | None, list[Rejection]]:
        if len(cells) != len(self.columns):
            return None, [
                Rejection(
                    line,
                    "",
                    "",
                    str(
                        _("This line has %(found)s values but the header has %(expected)s columns")
                        % {"found": len(cells), "expected": len(self.columns)}
                    ),
                )
            ]
        raw: dict[str, str] = {}
        for column, cell in zip(self.columns, cells, strict=True):
            if column is not None:
                raw[column] = cell.strip()
        problems: list[Rejection] = []

        def refuse(column: str, reason: Any) -> None:
            problems.append(Rejection(line, column, raw.get(column, "")[:200], str(reason)))

        values: dict[str, Any] = {}
        for column, value in raw.items():
            model_field = COLUMNS[column]
            limit = self.length_checked.get(model_field)
            if limit is not None and len(value) > limit:
                refuse(
                    column,
                    _("%(column)s must be %(max)s characters or fewer")
                    % {"column": column, "max": limit},
                )
            values[model_field] = value

        name = values.get("name", "")
        if not name:
            refuse("name", _("Enter the operator's name"))

        country = values.get("country", "").upper() or self.country
        values["country"] = country
        if not country:
            refuse("country", _("Enter the country as a two-letter code, for example FR"))
        elif not _COUNTRY.match(country):
            refuse(
                "country",
                _("Enter the country as a two-letter code (ISO 3166), for example FR"),
            )
        elif self.country and country != self.country:
            refuse(
                "country",
                _("This file is imported for %(expected)s: this row is for %(country)s")
                % {"expected": self.country, "country": country},
            )

        eori = values.get("eori", "")
        if eori:
            try:
                eori = eori_validate(value=eori)
            except ValidationError as error:
                refuse("eori", error.messages[0])
        values["eori"] = eori
        national_id = values.setdefault("national_id", "")
        if not eori and not national_id and "eori" not in {p.column for p in problems}:
            refuse(
                "eori",
                _(
                    "Give the EORI number or, for an operator established outside the European "
                    "Union, its national identification number"
                ),
            )

        if not any(values.get(contact) for contact in CONTACT_FIELDS):
            refuse(
                "phone, fax, email, website",
                _("Give at least one of phone, fax, email or website"),
            )
        for column in ("phone", "fax"):
            number = values.get(column, "")
            if number and (not _PHONE.match(number) or len(_DIGIT.findall(number)) < 4):
                refuse(
                    column,
                    _(
                        "Enter a %(column)s number with at least 4 digits, using only digits, "
                        "spaces and + ( ) - . /"
                    )
                    % {"column": column},
                )
        email = values.get("email", "")
        if email and not _PLAIN_EMAIL.match(email):
            try:
                _email_validator(email)
            except ValidationError:
                refuse(
                    "email",
                    _("Enter an email address in the correct format, like name@example.com"),
                )
        website = values.get("website", "")
        if website:
            if not _SCHEME.match(website):
                website = f"https://{website}"
                values["website"] = website
            try:
                if not _PLAIN_URL.match(website):
                    _url_validator(website)
            except ValidationError:
                refuse(
                    "website",
                    _(
                        "Enter a website address in the correct format, like "
                        "https://www.example.com"
                    ),
                )
            if len(website) > self.max_length["website"]:
                refuse(
                    "website",
                    _("%(column)s must be %(max)s characters or fewer")
                    % {"column": "website", "max": self.max_length["website"]},
                )

        for column, limit, example in (("latitude", 90, "48.8566"), ("longitude", 180, "2.3522")):
            text = values.pop(column, "")
            if column not in self.present:
                continue
            values[column] = None
            if text:
                try:
                    values[column] = _coordinate(text, limit=limit)
                except ValueError:
                    refuse(
                        column,
                        _(
                            "Enter the %(column)s as a number between -%(limit)s and "
                            "%(limit)s, like %(example)s"
                        )
                        % {"column": column, "limit": limit, "example": example},
                    )
        if (
            "latitude" in self.present
            and "longitude" in self.present
            and not _problems_in(problems, "latitude", "longitude")
            and (values["latitude"] is None) != (values["longitude"] is None)
        ):
            missing = "latitude" if values["latitude"] is None else "longitude"
            refuse(missing, _("Give both latitude and longitude, or neither"))

        if not problems:
            self._check_duplicate(values, line, refuse)
        if problems:
            return None, problems
        values["search_name"] = search_text(name)[: self.max_length["name"]]
        return values, []

    def _check_duplicate(
        self, values: dict[str, Any], line: int, refuse: Callable[[str, Any], None]
    ) -> None:
        eori, country, national_id = values["eori"], values["country"], values["national_id"]
        if eori:
            earlier = self.seen_eori.get(eori)
            if earlier is not None:
                refuse(
                    "eori",
                    _("The EORI number %(eori)s is already on line %(line)s")
                    % {"eori": eori, "line": earlier},
                )
                return
        if national_id:
            earlier_national = self.seen_national.get((country, national_id))
            # Two rows with EORI numbers may share a national number (the EORI tells them
            # apart); a row without EORI may not share it with any other row.
            if earlier_national is not None and not (eori and earlier_national[1]):
                refuse(
                    "national_id",
                    _(
                        "The national identification number %(number)s for %(country)s is "
                        "already on line %(line)s"
                    )
                    % {"number": national_id, "country": country, "line": earlier_national[0]},
                )
                return
            self.seen_national.setdefault((country, national_id), (line, bool(eori)))
        if eori:
            self.seen_eori[eori] = line


def _problems_in(problems: list[Rejection], *columns: str) -> bool:
    return any(problem.column in columns for problem in problems)


# --- Writing -------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Matcher:
    """Finds the existing operator of each row: by EORI; else by country and national number
    (the first operator with that pair; for a row with an EORI, only one that has none yet)."""

    def __init__(self) -> None:
        self.national: dict[tuple[str, str], tuple[int, bool]] = {}
        rows = (
            Operator.objects.exclude(national_id="")
            .order_by("-pk")
            .values_list("pk", "country", "national_id", "eori")
        )
        for pk, country, national_id, eori in rows.iterator(chunk_size=5000):
            self.national[(country, national_id)] = (pk, bool(eori))

    def match(self, rows: list[_Row]) -> None:
        eoris = [row.values["eori"] for row in rows if row.values["eori"]]
        by_eori: dict[str, int] = {}
        if connection.vendor == "postgresql" and eoris:
            with connection.cursor() as cursor:
                # The eori <> '' lets the planner use the partial unique index on eori.
                cursor.execute(
                    f"SELECT eori, id FROM {Operator._meta.db_table} "  # noqa: S608
                    "WHERE eori = ANY(%s) AND eori <> ''",
                    [eoris],
                )
                by_eori.update(cursor.fetchall())
        else:
            for chunk in _chunks(eoris, _IN_CHUNK):
                # The exclude() lets SQLite use the partial unique index on eori.
                by_eori.update(
                    Operator.objects.filter(eori__in=chunk)
                    .exclude(eori="")
                    .values_list("eori", "pk")
                )
        for row in rows:
            eori = row.values["eori"]
            row.operator_id = by_eori.get(eori) if eori else None
            national_id = row.values["national_id"]
            if row.operator_id is not None or not national_id:
                continue
            key = (row.values["country"], national_id)
            found = self.national.get(key)
            if found is None:
                continue
            pk, has_eori = found
            if not eori:
                row.operator_id = pk
            elif not has_eori:
                row.operator_id = pk
                # That operator now has an EORI: no other row takes it by its national number.
                self.national[key] = (pk, True)


class _Writer:
    """Writes one batch of checked rows; returns (created, updated, unchanged)."""

    def __init__(self, *, fields: list[str], now: Any) -> None:
        # The fields compared and written for existing operators: the file's columns.
        self.fields = fields
        self.now = now

    def write(self, rows: list[_Row]) -> tuple[int, int, int]:
        raise NotImplementedError


class _BatchWriter(_Writer):
    """Any database (SQLite): read the matched operators and compare them in Python, then one
    executemany UPDATE for those that differ and one executemany INSERT for the new ones."""

    def write(self, rows: list[_Row]) -> tuple[int, int, int]:
        ops, quote = connection.ops, connection.ops.quote_name
        table = quote(Operator._meta.db_table)
        now = ops.adapt_datetimefield_value(self.now)

        def prepared(name: str, value: Any) -> Any:
            if name in ("latitude", "longitude"):
                return ops.adapt_decimalfield_value(value, 9, 6)
            return value

        matched = [row for row in rows if row.operator_id is not None]
        current: dict[int, dict[str, Any]] = {}
        for chunk in _chunks([row.operator_id for row in matched], _IN_CHUNK):
            for existing in Operator.objects.filter(pk__in=chunk).values("pk", *self.fields):
                current[existing["pk"]] = existing
        changes: list[list[Any]] = []
        for row in matched:
            assert row.operator_id is not None
            old = current[row.operator_id]
            new = {name: row.values[name] for name in self.fields}
            new["eori"] = old["eori"] or row.values["eori"]
            if any(old[name] != new[name] for name in self.fields):
                changes.append(
                    [*(prepared(name, new[name]) for name in self.fields), now, row.operator_id]
                )
        with connection.cursor() as cursor:
            if changes:
                assignments = ", ".join(f"{quote(name)} = %s" for name in self.fields)
                cursor.executemany(
                    f"UPDATE {table} SET {assignments}, modified_at = %s "  # noqa: S608
                    "WHERE id = %s",
                    changes,
                )
            created = [
                [
                    *(
                        prepared(name, row.values.get(name, "" if name in TEXT_FIELDS else None))
                        for name in WRITTEN_FIELDS
                    ),
                    Operator.Status.ACTIVE,
                    now,
                    now,
                ]
                for row in rows
                if row.operator_id is None
            ]
            if created:
                columns = ", ".join(
                    quote(name) for name in (*WRITTEN_FIELDS, "status", "created_at", "modified_at")
                )
                placeholders = ", ".join(["%s"] * (len(WRITTEN_FIELDS) + 3))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
                    created,
                )
        return len(created), len(changes), len(matched) - len(changes)


class _PostgresWriter(_Writer):
    """PostgreSQL: COPY the new operators straight into the table; COPY the matched ones into a
    temporary table, then one UPDATE of those whose values differ."""

    TEMP = "comptoir_operator_import"

    @staticmethod
    def _values(row: _Row) -> Iterator[Any]:
        values = row.values
        return (values.get(name, "" if name in TEXT_FIELDS else None) for name in WRITTEN_FIELDS)

    def write(self, rows: list[_Row]) -> tuple[int, int, int]:
        table = Operator._meta.db_table
        new = [row for row in rows if row.operator_id is None]
        matched = [row for row in rows if row.operator_id is not None]
        updated = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if new:
                columns = ", ".join((*WRITTEN_FIELDS, "status", "created_at", "modified_at"))
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    tail = (Operator.Status.ACTIVE.value, self.now, self.now)
                    for row in new:
                        copy.write_row((*self._values(row), *tail))
            if matched:
                cursor.execute(f"DROP TABLE IF EXISTS {self.TEMP}")
                definitions = ", ".join(
                    f"{name} {_model_field(name).db_type(connection)}" for name in WRITTEN_FIELDS
                )
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {self.TEMP} (operator_id bigint, {definitions})"
                )
                columns = ", ".join(("operator_id", *WRITTEN_FIELDS))
                with raw.copy(f"COPY {self.TEMP} ({columns}) FROM STDIN") as copy:
                    for row in matched:
                        copy.write_row((row.operator_id, *self._values(row)))
                compared = [name for name in self.fields if name != "eori"]
                new_eori = "COALESCE(NULLIF(o.eori, ''), t.eori)"
                cursor.execute(
                    f"UPDATE {table} AS o SET "  # noqa: S608 (names from this module)
                    + ", ".join(f"{name} = t.{name}" for name in compared)
                    + f", eori = {new_eori}, modified_at = %s "
                    f"FROM {self.TEMP} AS t WHERE o.id = t.operator_id AND "
                    f"({', '.join(f'o.{name}' for name in compared)}, o.eori) IS DISTINCT FROM "
                    f"({', '.join(f't.{name}' for name in compared)}, {new_eori})",
                    [self.now],
                )
                updated = cursor.rowcount
                cursor.execute(f"DROP TABLE {self.TEMP}")
        return len(new), updated, len(matched) - updated


class _Pipeline:
    """Hands batches to `write`: in a thread of its own, with its own database connection, so
    that the database works on one batch while the next is read and checked (a queue of two
    batches at most); or at once, in the caller's thread. An error in the writing thread is
    raised in the caller's at the next batch or at close()."""

    _DONE: Any = object()

    def __init__(self, write: Callable[[list[_Row]], None], *, threaded: bool) -> None:
        self.write = write
        self.error: BaseException | None = None
        self.aborted = False
        self.thread: threading.Thread | None = None
        if threaded:
            self.queue: queue.Queue[Any] = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name="operators-import", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            while (batch := self.queue.get()) is not self._DONE:
                if self.error is None and not self.aborted:
                    try:
                        self.write(batch)
                    except BaseException as error:  # raised again in the caller's thread
                        self.error = error
        finally:
            connection.close()

    def _raise_error(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def put(self, batch: list[_Row]) -> None:
        if not batch:
            return
        if self.thread is None:
            self.write(batch)
            return
        self._raise_error()
        self.queue.put(batch)

    def close(self, *, abort: bool = False) -> None:
        if self.thread is None or not self.thread.is_alive():
            return
        self.aborted = abort
        self.queue.put(self._DONE)
        self.thread.join()
        if not abort:
            self._raise_error()


# --- The import ----------------------------------------------------------------------------


def rejects_path_for(source: Path) -> Path:
    """Where the report of rejected rows goes by default: `<name>.rejects.csv` beside the file."""
    return source.with_name(f"{source.stem}.rejects.csv")


def operators_import(
    *,
    source: Path,
    country: str = "",
    batch_size: int = DEFAULT_BATCH_SIZE,
    rejects_path: Path | None = None,
    actor: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import the operators of a CSV file; see the module's docstring and docs/directory.md.

    `progress(rows_done, rows_total)` is called after each batch (`rows_total` counts the file's
    lines after the header, an upper bound when values span several lines). Raises
    ImportFileError, before writing anything, when the file as a whole cannot be read."""
    started = time.monotonic()
    country = (country or "").strip().upper()
    if country and not _COUNTRY.match(country):
        raise ImportFileError(
            _("--country: enter a two-letter country code (ISO 3166), for example FR.")
        )
    if batch_size < 1:
        raise ImportFileError(_("The batch size must be a positive number."))
    source = Path(source)
    if not source.is_file():
        raise ImportFileError(_("There is no file at %(path)s.") % {"path": source})
    lines, sha256 = _scan(source)
    rejects_path = Path(rejects_path) if rejects_path else rejects_path_for(source)
    summary = ImportSummary(source=source, rejects_path=rejects_path)
    total = max(lines - 1, 0)

    if rejects_path.resolve() == source.resolve():
        raise ImportFileError(_("The report of rejected rows cannot overwrite the file imported."))
    with contextlib.ExitStack() as files:
        stream = files.enter_context(source.open(encoding="utf-8-sig", newline=""))
        header_line = stream.readline()
        if not header_line.strip():
            raise ImportFileError(
                _("The file is empty: the first line must name the columns (eori;name;country…).")
            )
        summary.delimiter = _sniff_delimiter(header_line)
        header = next(csv.reader([header_line], delimiter=summary.delimiter))
        columns, summary.ignored_columns = _header_columns(header)
        present = {column for column in columns if column}
        missing = [column for column in ("name", "country") if column not in present]
        if country and "country" in missing:
            missing.remove("country")
        if missing:
            raise ImportFileError(
                _("The header has no column %(columns)s (it names: %(header)s).")
                % {"columns": ", ".join(missing), "header": ", ".join(header)}
            )
        if "eori" not in present and "national_id" not in present:
            raise ImportFileError(
                _("The header has no column eori or national_id: rows could not be matched.")
            )
        rejects_file = files.enter_context(rejects_path.open("w", encoding="utf-8", newline=""))
        report = csv.writer(rejects_file)
        report.writerow(["line", "column", "value", "reason"])

        checker = _RowChecker(columns=columns, country=country)
        fields = sorted(
            {COLUMNS[column] for column in present} | {"country", "eori", "search_name"}
        )
        now = timezone.now()
        writer_class = _PostgresWriter if connection.vendor == "postgresql" else _BatchWriter
        writer = writer_class(fields=fields, now=now)
        matcher = _Matcher()

        def flush(batch: list[_Row]) -> None:
            if not batch:
                return
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        # Portal writes to operators wait for this batch (reads do not), so
                        # that an EORI cannot be taken between matching and writing.
                        cursor.execute(
                            f"LOCK TABLE {Operator._meta.db_table} IN SHARE ROW EXCLUSIVE MODE"
                        )
                matcher.match(batch)
                created, updated, unchanged = writer.write(batch)
            summary.created += created
            summary.updated += updated
            summary.unchanged += unchanged

        reader = csv.reader(stream, delimiter=summary.delimiter)
        batch: list[_Row] = []
        previous_line = 1
        # Outside a transaction, batches are written by a thread of their own while the next
        # ones are read and checked; inside one (the caller's), in this thread.
        pipeline = _Pipeline(flush, threaded=not connection.in_atomic_block)
        try:
            for cells in reader:
                line = previous_line + 1
                previous_line = reader.line_num + 1  # the header was read before the reader
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                summary.rows += 1
                if progress is not None and summary.rows % PROGRESS_EVERY == 0:
                    progress(summary.rows, total)
                values, problems = checker.check(cells, line)
                if problems:
                    summary.rejected += 1
                    report.writerows((p.line, p.column, p.value, p.reason) for p in problems)
                    continue
                assert values is not None
                batch.append(_Row(line=line, values=values))
                if len(batch) >= batch_size:
                    pipeline.put(batch)
                    batch = []
            pipeline.put(batch)
            pipeline.close()
        except BaseException as error:
            pipeline.close(abort=True)
            # The batches already written stay (importing again resumes); say so in the log.
            summary.seconds = time.monotonic() - started
            if summary.created or summary.updated:
                with contextlib.suppress(Exception):  # the error raised matters more
                    _audit(
                        summary=summary, sha256=sha256, country=country, actor=actor, error=error
                    )
                with contextlib.suppress(Exception):
                    _announce(summary)
            raise
        if progress is not None:
            progress(summary.rows, total)
    if summary.created + summary.updated >= ANALYZE_AFTER:
        table = connection.ops.quote_name(Operator._meta.db_table)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                # VACUUM also marks the new pages all-visible, so that directory searches read
                # the name index alone (an index-only scan) instead of visiting the table for
                # every row until autovacuum comes by: measured 91 ms → 12 ms for a common
                # word at a million operators. It cannot run inside a transaction.
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            else:
                cursor.execute(f"ANALYZE {table}")
    summary.seconds = time.monotonic() - started
    _audit(summary=summary, sha256=sha256, country=country, actor=actor)
    _announce(summary)
    return summary


def _announce(summary: ImportSummary) -> None:
    """Once per run: the operators written in bulk had no post_save (see signals.py)."""
    if summary.created or summary.updated:
        operators_imported.send(sender=Operator, created=summary.created, updated=summary.updated)


def _audit(
    *,
    summary: ImportSummary,
    sha256: str,
    country: str,
    actor: User | None,
    error: BaseException | None = None,
) -> None:
    data: dict[str, Any] = {
        "file": summary.source.name,
        "sha256": sha256,
        "country": country,
        **summary.counts(),
        "seconds": round(summary.seconds, 3),
    }
    if error is not None:
        data["error"] = f"{type(error).__name__}: {error}"[:500]
    with transaction.atomic():
        audit_record(
            action="operators.import_failed" if error is not None else "operators.imported",
            actor=actor,
            data=data,
        )
