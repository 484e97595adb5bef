"""The quick-add line: "Call Bob tomorrow !high #work" is the task "Call Bob", due tomorrow,
priority high, label work.

The rule (README, "Quick add"), applied to whitespace-separated words:
- `!low`, `!medium`, `!high` (any case) set the priority; the last one wins.
- `#name` adds the label `name` (created if new) when `name` is a label name (1-32 letters,
  digits, `_` or `-`) that is not only digits: `#42` stays in the title as a reference.
- A date phrase sets the due date: `today`, `tomorrow`, a weekday (`friday`: the next one,
  never today), `next friday`, `in 3 days`, `in 2 weeks`, or an ISO date `2026-12-31`; an
  `on`, `by` or `due` just before it goes with it. When there are several, the last one
  counts and the others stay in the title.
- Only whole words are read: `C#`, `Wow!`, `#1`, `!important`, `tomorrow,` and a lone `#` or
  `!` stay in the title as they are. A word starting with a backslash is kept as written,
  without the backslash: `\\#work`, `\\!high`, `\\tomorrow`.
The same function runs for the preview under the field (htmx asks the server as you type)
and for the form sent without JavaScript, so they cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..models import PRIORITIES
from .labels import is_label_name, name_key
from .text import parse_date

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PREPOSITIONS = ("on", "by", "due")
MAX_OFFSET_DAYS = 3660  # "in N days/weeks" up to about ten years
_COUNT_RE = re.compile(r"\d{1,4}")


@dataclass(frozen=True)
class QuickAdd:
    """What a quick-add line means."""

    title: str
    due_date: date | None = None
    priority: str | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)


def _date_at(words: list[str], start: int, today: date) -> tuple[date, int] | None:
    """The date phrase starting at words[start] and how many words it takes, if any."""
    word = words[start]
    following = words[start + 1] if start + 1 < len(words) else None
    if word == "today":
        return today, 1
    if word == "tomorrow":
        return today + timedelta(days=1), 1
    if word in WEEKDAYS:
        return _next_weekday(today, WEEKDAYS.index(word)), 1
    if word == "next" and following in WEEKDAYS:
        return _next_weekday(today, WEEKDAYS.index(following)), 2
    if word == "in" and following and _COUNT_RE.fullmatch(following) and start + 2 < len(words):
        count, unit = int(following), words[start + 2]
        days = {"day": 1, "days": 1, "week": 7, "weeks": 7}.get(unit)
        if days and count * days <= MAX_OFFSET_DAYS:
            return today + timedelta(days=count * days), 3
        return None
    if len(word) == 10 and word[4] == "-":
        try:
            return parse_date(word), 1
        except ValueError:
            return None
    return None


def _next_weekday(today: date, weekday: int) -> date:
    """The next such weekday after today (a week ahead when today is that day)."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def parse_quick_add(text: str, today: date) -> QuickAdd:
    """Read a quick-add line (see the module's docstring for the rule)."""
    words = (text or "").split()
    kept: list[str] = []  # the title's words
    literal: set[int] = set()  # positions written with a backslash: never read as a date
    priority = None
    labels: dict[str, str] = {}
    for word in words:
        if word.startswith("\\") and len(word) > 1:
            literal.add(len(kept))
            kept.append(word[1:])
        elif word.startswith("!") and word[1:].lower() in PRIORITIES:
            priority = word[1:].lower()
        elif word.startswith("#") and is_label_name(word[1:]) and not word[1:].isdigit():
            labels.setdefault(name_key(word[1:]), word[1:])
        else:
            kept.append(word)
    due_date, span = None, None
    lowered = [w.lower() if i not in literal else "" for i, w in enumerate(kept)]
    start = 0
    while start < len(lowered):
        found = _date_at(lowered, start, today)
        if not found:
            start += 1
            continue
        day, length = found
        begin = start - 1 if start and lowered[start - 1] in PREPOSITIONS else start
        due_date, span = day, (begin, start + length)
        start += length
    if span:
        kept[span[0]:span[1]] = []
    title = " ".join(kept)
    return QuickAdd(title=title, due_date=due_date, priority=priority,
                    labels=tuple(labels.values()))
