from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from comptoir.operators.importing import (
    DEFAULT_BATCH_SIZE,
    ImportFileError,
    operators_import,
)


class Command(BaseCommand):
    help = (
        "Import operators from a CSV file exported from a national register (columns in "
        "docs/directory.md): rows are matched by EORI, or by country and national "
        "identification number, so that importing the same file again changes nothing. "
        "Rejected rows are listed with the reason in a report beside the file."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8, ; or , separated).")
        parser.add_argument(
            "--country",
            default="",
            metavar="XX",
            help=(
                "The country of the register: fills empty country cells (or the missing "
                "country column) and rejects rows of any other country."
            ),
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            metavar="N",
            help=f"Rows written per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--rejects",
            type=Path,
            default=None,
            metavar="PATH",
            help="Where to write the report of rejected rows (default: FILE.rejects.csv).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not show the progress bar."
        )

    def handle(
        self,
        *args: Any,
        file: Path,
        country: str,
        batch_size: int,
        rejects: Path | None,
        no_progress: bool,
        **options: Any,
    ) -> None:
        bar: tqdm[Any] | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if no_progress:
                return
            if bar is None:
                bar = tqdm(
                    total=total,
                    unit=" rows",
                    unit_scale=total >= 100_000,
                    desc=file.name,
                    file=getattr(self.stderr, "_out", None),
                    dynamic_ncols=True,
                )
            bar.update(done - bar.n)

        try:
            summary = operators_import(
                source=file,
                country=country,
                batch_size=batch_size,
                rejects_path=rejects,
                progress=progress,
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        finally:
            if bar is not None:
                bar.close()
        if summary.ignored_columns:
            self.stdout.write(f"Columns ignored: {', '.join(summary.ignored_columns)}.")
        self.stdout.write(
            f"{summary.source.name}: {summary.rows} rows in {summary.seconds:.1f} s — "
            f"{summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {summary.rejected} rejected."
        )
        if summary.rejected:
            self.stdout.write(self.style.WARNING(f"Rejected rows and why: {summary.rejects_path}"))
