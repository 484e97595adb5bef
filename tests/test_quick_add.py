"""The quick-add parser: what each form of the line means (README, "Quick add")."""

from __future__ import annotations

from datetime import date

import pytest

from webapp.services.quick_add import QuickAdd, parse_quick_add

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(("line", "expected"), [
    # The example: every kind of marker at once.
    ("Call Bob tomorrow !high #work",
     QuickAdd("Call Bob", date(2026, 11, 24), "high", ("work",))),
    ("Water plants today", QuickAdd("Water plants", MONDAY)),
    ("Pay rent tomorrow", QuickAdd("Pay rent", date(2026, 11, 24))),
    # Weekdays: the next one, a week ahead when it is today's name.
    ("Team lunch friday", QuickAdd("Team lunch", date(2026, 11, 27))),
    ("Gym Monday", QuickAdd("Gym", date(2026, 11, 30))),
    ("Standup next tuesday", QuickAdd("Standup", date(2026, 11, 24))),
    ("Dentist SUNDAY", QuickAdd("Dentist", date(2026, 11, 29))),
    # in N days / weeks
    ("Renew passport in 3 days", QuickAdd("Renew passport", date(2026, 11, 26))),
    ("Check oil in 1 day", QuickAdd("Check oil", date(2026, 11, 24))),
    ("Review in 2 weeks", QuickAdd("Review", date(2026, 12, 7))),
    # ISO dates
    ("Tax return 2027-01-31", QuickAdd("Tax return", date(2027, 1, 31))),
    # A preposition right before the date goes with it.
    ("Call the bank on friday", QuickAdd("Call the bank", date(2026, 11, 27))),
    ("Report due tomorrow", QuickAdd("Report", date(2026, 11, 24))),
    ("Finish slides by 2026-12-01", QuickAdd("Finish slides", date(2026, 12, 1))),
    # Priorities, any case; the last one wins.
    ("Ship it !LOW", QuickAdd("Ship it", priority="low")),
    ("Ship it !medium", QuickAdd("Ship it", priority="medium")),
    ("Ship it !low !high", QuickAdd("Ship it", priority="high")),
    # Labels, created if new; duplicates (any case) once, as first written.
    ("Plan trip #Travel #family #travel",
     QuickAdd("Plan trip", labels=("Travel", "family"))),
    ("Markers first #home !high tomorrow call mum",
     QuickAdd("Markers first call mum", date(2026, 11, 24), "high", ("home",))),
    ("Fix #backend-api_v2 bug", QuickAdd("Fix bug", labels=("backend-api_v2",))),
    ("Café #écoles", QuickAdd("Café", labels=("écoles",))),
])
def test_quick_add_reads_each_form(line, expected):
    assert parse_quick_add(line, MONDAY) == expected


@pytest.mark.parametrize("line", [
    # "#" or "!" inside a sentence, not a marker: the title keeps the text as typed.
    "Learn C# basics",
    "Reply to issue #42",
    "Close tickets #1 and #2",
    "Wow! Great idea",
    "Say hello ! to the team",
    "Use a lone # sign",
    "Mark it !important",
    "Email a@b.com about #",
    "Buy milk, eggs!",
    "Price is 5! yes",
    "Tag #way-too-long-label-name-that-goes-on-and-on here",
    "Tag #bad.name here",
    # Date-like text that is not a date phrase.
    "Read tomorrow, then rest",
    "Invoice 2026-02-30",
    "Tuesdays are busy",
    "Arrive in time",
    "Sleep in",
])
def test_quick_add_keeps_text_that_only_looks_like_a_marker(line):
    assert parse_quick_add(line, MONDAY) == QuickAdd(line)


def test_quick_add_backslash_keeps_a_marker_as_text():
    parsed = parse_quick_add(r"Watch \Tomorrow Never Dies \#1 \!high #films", MONDAY)
    assert parsed == QuickAdd("Watch Tomorrow Never Dies #1 !high", labels=("films",))


def test_quick_add_takes_the_last_date_and_keeps_earlier_ones_in_the_title():
    parsed = parse_quick_add("Move monday meeting to friday", MONDAY)
    assert parsed == QuickAdd("Move monday meeting to", date(2026, 11, 27))


def test_quick_add_of_markers_alone_leaves_an_empty_title():
    assert parse_quick_add("#work !high tomorrow", MONDAY).title == ""


def test_quick_add_squeezes_the_spaces_left_by_markers():
    assert parse_quick_add("  Call   Bob  !high   now ", MONDAY).title == "Call Bob now"
