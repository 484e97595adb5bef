"""Rules every stored text obeys, checked once for all services."""

from __future__ import annotations

NUL_MESSAGE = "Text must not contain NUL characters."
# Ids are INTEGER columns: 32-bit on PostgreSQL, which refuses a larger number in a query
# ("integer out of range") where SQLite would just find nothing.
MAX_ID = 2**31 - 1


def has_nul(value: object) -> bool:
    """True for a string holding a NUL character (PostgreSQL refuses to store it)."""
    return isinstance(value, str) and "\x00" in value


def nul_errors(**values: object) -> dict[str, list[str]]:
    """Field errors for each named value that holds a NUL character."""
    return {name: [NUL_MESSAGE] for name, value in values.items() if has_nul(value)}


def valid_id(value: int) -> bool:
    """True when the number can be a database id (so a query with it cannot overflow)."""
    return 1 <= value <= MAX_ID
