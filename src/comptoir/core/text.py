"""Text folded for search: the form in which names are stored for the directory and in which
what people type is compared with them."""

from __future__ import annotations

import re
import unicodedata

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


def search_text(value: str) -> str:
    """Lower case, accents removed (é → e, ß → ss), every run of other characters one space."""
    decomposed = unicodedata.normalize("NFKD", (value or "").casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_ALPHANUMERIC.sub(" ", plain).strip()
