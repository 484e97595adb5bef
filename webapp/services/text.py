"""Rules for text and numbers that come from outside, checked once for all services."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

NUL_MESSAGE = "Text must not contain NUL characters."
# Ids are INTEGER columns: 32-bit on PostgreSQL, which refuses a larger number in a query
# ("integer out of range") where SQLite would just find nothing.
MAX_ID = 2**31 - 1


# Characters that draw nothing: format characters (zero-width space, joiners, bidi controls,
# soft hyphen), combining marks on their own, controls, separators, and the few letters and
# symbols that render blank (Hangul fillers, the braille blank).
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
VISIBLE_MESSAGE = "must contain a visible character"

# Unicode's explicit bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO,
# RLO, LRI, RLI, FSI, PDI). Typed into a title they reorder the text after them, even past the
# title itself ("Trojan Source"). The implicit marks (LRM, RLM, ALM) cannot, and right-to-left
# writers need them, so they stay.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI_TABLE = dict.fromkeys(map(ord, BIDI_CONTROLS))
_BIDI_RE = re.compile(f"[{BIDI_CONTROLS}]")


def has_visible_character(value: str | None) -> bool:
    """True when the text has at least one character that draws something."""
    return any(
        not char.isspace() and char not in BLANK_GLYPHS
        and unicodedata.category(char) not in INVISIBLE_CATEGORIES
        for char in value or ""
    )


def strip_bidi_controls(value: str) -> str:
    """The text without bidirectional embedding, override and isolate characters."""
    # Most text on a page is ASCII: the test is far cheaper than the translation.
    if value.isascii() or not _BIDI_RE.search(value):
        return value
    return value.translate(_BIDI_TABLE)


def has_nul(value: object) -> bool:
    """True for a string holding a NUL character (PostgreSQL refuses to store it)."""
    return isinstance(value, str) and "\x00" in value


def nul_errors(**values: object) -> dict[str, list[str]]:
    """Field errors for each named value that holds a NUL character."""
    return {name: [NUL_MESSAGE] for name, value in values.items() if has_nul(value)}


def valid_id(value: int) -> bool:
    """True when the number can be a database id (so a query with it cannot overflow)."""
    return 1 <= value <= MAX_ID


def parse_date(value: str) -> date:
    """A YYYY-MM-DD date before 9999-12-31; ValueError otherwise.

    The last representable day is refused: a period that includes a day ends at midnight
    after it, which does not exist for date.max.
    """
    if len(value) != 10:
        raise ValueError(value)
    day = date.fromisoformat(value)
    if day == date.max:
        raise ValueError(value)
    return day


def parse_positive_int(value: str, maximum: int) -> int:
    """A whole number from 1 to maximum written in digits; ValueError otherwise."""
    if not value.isdigit() or len(value) > 12:
        raise ValueError(value)
    number = int(value)
    if not 1 <= number <= maximum:
        raise ValueError(value)
    return number
