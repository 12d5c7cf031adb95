"""Run manage.py in a fresh interpreter with a controlled environment (settings are read at
start-up, so start-up behaviour can only be tested this way)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage_check(
    env: dict[str, str], *, drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`manage.py check` with `env` on top of this environment, less variables starting with
    any prefix in `drop` (and DATABASE_URL, so the embedded default applies unless given)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", *drop))}
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
