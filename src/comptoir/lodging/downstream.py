"""Where accepted declarations go: the national system reads them from a downstream.

COMPTOIR_LODGING_DOWNSTREAM chooses it:
- "folder" (the default): an outbox folder the national system reads,
  COMPTOIR_LODGING_FOLDER (default <COMPTOIR_VAR_DIR>/downstream). Each declaration becomes
  `<MRN>.xml` or `<MRN>.json` (the payload, byte for byte), then `<MRN>.meta.json` (MRN, operator,
  EORI, type, channel, lodged at, SHA-256), written last: a reader takes a declaration once its
  .meta.json is there. Each file is written to a temporary name in the folder and renamed, so a
  reader never sees half a file; writing the same declaration again gives the same files.
- a dotted path to a callable `hand_over(declaration) -> None` (another transport): it must be
  idempotent too, and raise on failure (the attempt is retried with back-off)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from comptoir.lodging.models import Declaration


def folder() -> Path:
    configured = getattr(settings, "COMPTOIR_LODGING_FOLDER", None)
    if configured:
        return Path(configured)
    var_dir = getattr(settings, "VAR_DIR", None) or Path(settings.BASE_DIR) / "var"
    return Path(var_dir) / "downstream"


def metadata(declaration: Declaration) -> dict[str, object]:
    return {
        "mrn": declaration.mrn,
        "operator_eori": declaration.operator.eori,
        "operator_name": declaration.operator.name,
        "declaration_type": declaration.declaration_type.code,
        "channel": declaration.channel,
        "format": declaration.format,
        "lodged_at": timezone.localtime(declaration.lodged_at).isoformat(),
        "payload_size": declaration.payload_size,
        "payload_sha256": declaration.payload_sha256,
    }


def _write_atomic(directory: Path, name: str, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def folder_hand_over(declaration: Declaration) -> None:
    directory = folder()
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomic(directory, f"{declaration.mrn}.{declaration.format}", bytes(declaration.payload))
    meta = json.dumps(metadata(declaration), indent=2, sort_keys=True).encode() + b"\n"
    _write_atomic(directory, f"{declaration.mrn}.meta.json", meta)


def _adapter() -> Callable[[Declaration], None]:
    name = str(getattr(settings, "COMPTOIR_LODGING_DOWNSTREAM", "folder") or "folder")
    if name == "folder":
        return folder_hand_over
    return import_string(name)  # type: ignore[no-any-return]


def hand_over(declaration: Declaration) -> None:
    """Give the declaration to the configured downstream; raises on failure."""
    _adapter()(declaration)
