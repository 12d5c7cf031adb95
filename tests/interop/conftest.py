"""The shared interop corpus (real files nobody on this project wrote): `$COMPTOIR_INTEROP_DIR`,
or `<repository>/../shared/interop`. Never copied into the repository: when the folder is missing,
the tests that need it skip with a message that names it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def interop_path() -> Path:
    configured = os.environ.get("COMPTOIR_INTEROP_DIR")
    if configured:
        return Path(configured)
    return REPOSITORY.parent / "shared" / "interop"


@pytest.fixture(scope="session")
def interop_dir() -> Path:
    path = interop_path()
    if not path.is_dir():
        pytest.skip(
            f"interop corpus not found at {path}: set COMPTOIR_INTEROP_DIR to the folder "
            "(see ../shared/interop/README.md)"
        )
    return path
