"""The trusted-list settings that read the shared interop corpus (../shared/interop/README.md;
the folder comes from the `interop_dir` fixture of tests/interop/conftest.py) as of the dates
the corpus documents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

#: The lists' signing certificates expired in 2020: verify them as of the day after the EU list.
LISTS_VERIFIED_AT = datetime(2019, 9, 5, tzinfo=UTC)
LOTL = "trusted-lists/eu-lotl-seq248-2019-09-04.xml"
LU = "trusted-lists/LU-tl-seq37-2019-08-07.xml"
BE = "trusted-lists/BE-tl-seq43-2019-06-13.xml"
CZ = "trusted-lists/CZ-tl-seq77-2019-08-23.xml"


def use_corpus_lists(settings, folder: Path, *names: str) -> None:
    """Settings that load the EU list of the lists (checked with the signer certificates of the
    Official Journal, bundled with pyHanko) and the national lists named, all verified as of
    2019-09-05."""
    settings.COMPTOIR_TRUSTED_LISTS = [str(folder / LOTL)] + [str(folder / n) for n in names]
    settings.COMPTOIR_TRUSTED_LISTS_LOTL_SIGNERS = "pyhanko:ojeu-1"
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY = True
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY_AT = LISTS_VERIFIED_AT.isoformat()


_snapshots: dict[tuple[str, ...], dict] = {}


def preload_corpus_lists(settings, folder: Path, *names: str) -> None:
    """``use_corpus_lists``, and the verified snapshot put in the cache (computed once per test
    session for each set of lists: checking the XAdES signatures takes a second or two)."""
    from comptoir.certificates import trust

    use_corpus_lists(settings, folder, *names)
    key = tuple(settings.COMPTOIR_TRUSTED_LISTS)
    if key not in _snapshots:
        _snapshots[key] = trust._load_snapshot(None)
    trust._cache_snapshot(_snapshots[key])
