"""Dates as the viewer reads them: their time zone, their "today", relative due dates.

Timestamps are stored in UTC; pages show them in the zone the viewer's browser reported
(`User.time_zone`), the API keeps UTC. A user who has not reported one yet sees UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_ZONE = "UTC"
ZONE_NAME_MAX = 64
# "in N days" / "N days ago" up to this many days; a short date beyond.
RELATIVE_DAYS = 13
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def known_zones() -> frozenset[str]:
    """The IANA zone names this machine knows (read once)."""
    return frozenset(available_timezones())


def is_time_zone(name: str | None) -> bool:
    """Whether the name is a known IANA zone such as "Europe/Paris"."""
    return bool(name) and len(name) <= ZONE_NAME_MAX and name in known_zones()


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_of(user) -> ZoneInfo:
    """The user's zone (UTC for anonymous users and for those who have not reported one)."""
    name = getattr(user, "time_zone", None) if user is not None else None
    return _zone(name if name and is_time_zone(name) else DEFAULT_ZONE)


def today_for(user) -> date:
    """Today's date where the user is."""
    return datetime.now(zone_of(user)).date()


def to_local(moment: datetime, user) -> datetime:
    """A stored (naive UTC) timestamp in the user's zone."""
    return moment.replace(tzinfo=UTC).astimezone(zone_of(user))


def short_date(day: date, today: date) -> str:
    """ "12 Jan", with the year when it is not this year's."""
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return text if day.year == today.year else f"{text} {day.year}"


def relative_day(day: date, today: date) -> str:
    """ "today", "tomorrow", "yesterday", "in 3 days", "5 days ago", or a short date."""
    days = (day - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    if 0 < days <= RELATIVE_DAYS:
        return f"in {days} days"
    if -RELATIVE_DAYS <= days < 0:
        return f"{-days} days ago"
    return short_date(day, today)


def due_state(day: date | None, today: date, completed: bool) -> str | None:
    """ "overdue", "today" or None: what a due date should be highlighted as."""
    if day is None or completed:
        return None
    if day < today:
        return "overdue"
    if day == today:
        return "today"
    return None
