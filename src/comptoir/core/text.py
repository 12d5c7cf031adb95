"""Text helpers: folded for search (the form in which names are stored for the directory and in
which what people type is compared with them), and made drawable by the PDF core fonts."""

from __future__ import annotations

import re
import unicodedata

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSABLE = str.maketrans(
    {"ł": "l", "ı": "i", "ø": "o", "œ": "oe", "æ": "ae", "đ": "d", "ð": "d", "þ": "th", "ħ": "h"}
)


def search_text(value: str) -> str:
    """Lower case, accents removed (é → e, ß → ss), every run of other characters one space."""
    decomposed = unicodedata.normalize("NFKD", (value or "").casefold().translate(_UNDECOMPOSABLE))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_ALPHANUMERIC.sub(" ", plain).strip()


_TYPOGRAPHY = str.maketrans(
    {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u202f": " "}
)


def latin1(text: object) -> str:
    """The text as the PDF core fonts (Latin-1) can draw it: typographic quotes and dashes made
    plain, other letters without their accents, anything else a question mark."""
    value = str(text).translate(_TYPOGRAPHY)
    try:
        value.encode("latin-1")
        return value
    except UnicodeEncodeError:
        pass
    out = []
    for char in value:
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            try:
                base.encode("latin-1")
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)
