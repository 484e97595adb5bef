"""Rules for text and numbers that come from outside, checked once for all services."""

from __future__ import annotations

from datetime import date

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
