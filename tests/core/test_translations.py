"""Every user-facing string has a French, English and German translation.

The catalogues are extracted afresh from the code into a scratch copy, merged with the committed
ones, and must come out with nothing untranslated or fuzzy; the committed .mo files must be the
compiled form of the committed .po files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "comptoir"
LANGUAGES = ("fr", "en", "de")


def _require_gettext() -> None:
    if shutil.which("xgettext") and shutil.which("msgfmt"):
        return
    message = "GNU gettext (xgettext, msgfmt) is not installed: apt-get install gettext"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _statistics(po_file: Path) -> tuple[int, int, int]:
    result = subprocess.run(
        ["msgfmt", "--statistics", "-o", os.devnull, str(po_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    text = result.stderr

    def count(label: str) -> int:
        match = re.search(rf"(\d+) {label}", text)
        return int(match.group(1)) if match else 0

    return count("translated"), count("fuzzy"), count("untranslated")


def _untranslated_ids(po_file: Path) -> list[str]:
    result = subprocess.run(
        ["msgattrib", "--untranslated", "--no-wrap", str(po_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    fuzzy = subprocess.run(
        ["msgattrib", "--only-fuzzy", "--no-wrap", str(po_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    ids = re.findall(r'^msgid "(.+)"$', result.stdout + fuzzy.stdout, flags=re.MULTILINE)
    return ids[:20]


def test_every_string_is_translated_in_fr_en_and_de(tmp_path):
    _require_gettext()
    scratch = tmp_path / "comptoir"
    shutil.copytree(PACKAGE, scratch, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = {
        **os.environ,
        "COMPTOIR_LOCALE_DIR": str(scratch / "locale"),
        "COMPTOIR_VAR_DIR": str(tmp_path / "var"),
        "PYTHONPATH": str(ROOT / "src"),
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
    }
    env.pop("DATABASE_URL", None)
    args = [
        sys.executable,
        "-m",
        "django",
        "makemessages",
        "--no-obsolete",
        "--ignore",
        "migrations/*",
    ]
    for language in LANGUAGES:
        args += ["-l", language]
    subprocess.run(args, cwd=scratch, env=env, check=True, capture_output=True, timeout=300)
    problems = []
    for language in LANGUAGES:
        po_file = scratch / "locale" / language / "LC_MESSAGES" / "django.po"
        translated, fuzzy, untranslated = _statistics(po_file)
        if fuzzy or untranslated:
            problems.append(
                f"{language}: {untranslated} untranslated, {fuzzy} fuzzy, e.g. "
                f"{_untranslated_ids(po_file)}"
            )
        assert translated > 50, f"{language}: suspiciously few strings ({translated})"
    assert not problems, "Run `make messages`, then translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogues_match_their_sources(tmp_path, language):
    _require_gettext()
    directory = PACKAGE / "locale" / language / "LC_MESSAGES"
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "-o", str(compiled), str(directory / "django.po")],
        check=True,
        capture_output=True,
    )
    assert compiled.read_bytes() == (directory / "django.mo").read_bytes(), (
        "The .mo file is stale: run `make messages`."
    )
