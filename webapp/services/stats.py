"""Task statistics, computed in the database (GROUP BY), scoped to what the actor may see.

Every figure is one aggregate query whatever the number of tasks; the dashboard, the admin
pages and the JSON API read them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import PRIORITIES, STATUSES, StatusChange, Task, User, utcnow
from .errors import Forbidden
from .permissions import can
from .task_queries import _parse_date, _parse_positive_int, start_of_day, start_of_next_day

PERIOD_PRESETS = {"7": 7, "30": 30, "90": 90, "all": None}
PERIOD_PRESET_LABELS = {"7": "7 days", "30": "30 days", "90": "90 days", "all": "All time"}
DEFAULT_PRESET = "30"
# Longer charts are drawn per week, so a chart never has more than about 180 bars.
MAX_DAILY_BARS = 180


@dataclass(frozen=True)
class Period:
    """Tasks created from `start` to `end`, both days included; None means unbounded."""

    start: date | None = None
    end: date | None = None


def _in_period(column, period: Period | None) -> list:
    """Conditions putting a timestamp column inside the period (both days included)."""
    conditions = []
    if period and period.start:
        conditions.append(column >= start_of_day(period.start))
    if period and period.end:
        conditions.append(column < start_of_next_day(period.end))
    return conditions


def _scoped(query: sa.Select, actor: User, period: Period | None, owner_id: int | None,
            when=Task.created_at):
    """Narrow a query on tasks to the actor's (or, for an admin, the chosen owner's) tasks
    whose `when` timestamp falls in the period."""
    if not can(actor, "view_all_stats"):
        query = query.where(Task.owner_id == actor.id)
    elif owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    return query.where(*_in_period(when, period))


def _grouped_counts(column, keys: tuple[str, ...], actor: User, period: Period | None,
                    owner_id: int | None) -> dict[str, int]:
    query = _scoped(sa.select(column, sa.func.count()).group_by(column), actor, period, owner_id)
    counts = dict.fromkeys(keys, 0)
    counts.update({key: n for key, n in db.session.execute(query)})
    return counts


def status_counts(
    actor: User, period: Period | None = None, owner_id: int | None = None
) -> dict[str, int]:
    """Number of visible tasks per status (every status present, zero when none)."""
    return _grouped_counts(Task.status, STATUSES, actor, period, owner_id)


def priority_counts(
    actor: User, period: Period | None = None, owner_id: int | None = None
) -> dict[str, int]:
    """Number of visible tasks per priority (every priority present, zero when none)."""
    return _grouped_counts(Task.priority, PRIORITIES, actor, period, owner_id)


def overdue_count(
    actor: User, period: Period | None = None, owner_id: int | None = None,
    today: date | None = None,
) -> int:
    """Visible open tasks whose due date has passed."""
    today = today or utcnow().date()
    query = _scoped(
        sa.select(sa.func.count()).select_from(Task)
        .where(Task.due_date < today, Task.status != "completed"),
        actor, period, owner_id,
    )
    return db.session.scalar(query) or 0


def owner_counts(actor: User, period: Period | None = None) -> dict[str, int]:
    """Number of visible tasks per owner's username (users with no task are left out)."""
    query = _scoped(
        sa.select(User.username, sa.func.count(Task.id))
        .join(User, User.id == Task.owner_id)
        .group_by(User.username)
        .order_by(User.username),
        actor, period, None,
    )
    return {username: n for username, n in db.session.execute(query)}


def visible_user_count(actor: User) -> int:
    """How many accounts the actor may see: everyone for an admin, else only themself."""
    if not can(actor, "manage_users"):
        return 1
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def _seconds_between(later, earlier):
    """SQL for the seconds from one timestamp column to another, on SQLite and PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def _day(column):
    """SQL for the calendar day (UTC) of a timestamp column."""
    return sa.func.date(column, type_=sa.Date)


def completions(
    actor: User, period: Period | None = None, owner_id: int | None = None
) -> tuple[int, float | None]:
    """Completions recorded in the status history during the period, and the average seconds
    from each task's creation to that completion (None when there was none)."""
    query = _scoped(
        sa.select(sa.func.count(), sa.func.avg(_seconds_between(StatusChange.changed_at,
                                                                 Task.created_at)))
        .select_from(StatusChange).join(Task, Task.id == StatusChange.task_id)
        .where(StatusChange.new_status == "completed"),
        actor, period, owner_id, when=StatusChange.changed_at,
    )
    count, average = db.session.execute(query).one()
    return count or 0, float(average) if average is not None else None


def created_per_day(
    actor: User, period: Period | None = None, owner_id: int | None = None
) -> dict[date, int]:
    """Tasks created on each day of the period (days without any are left out)."""
    day = _day(Task.created_at)
    query = _scoped(sa.select(day, sa.func.count()).group_by(day), actor, period, owner_id)
    return {_as_date(d): n for d, n in db.session.execute(query)}


def completed_per_day(
    actor: User, period: Period | None = None, owner_id: int | None = None
) -> dict[date, int]:
    """Completions (from the status history) on each day of the period."""
    day = _day(StatusChange.changed_at)
    query = _scoped(
        sa.select(day, sa.func.count()).select_from(StatusChange)
        .join(Task, Task.id == StatusChange.task_id)
        .where(StatusChange.new_status == "completed").group_by(day),
        actor, period, owner_id, when=StatusChange.changed_at,
    )
    return {_as_date(d): n for d, n in db.session.execute(query)}


def first_task_day(actor: User, owner_id: int | None = None) -> date | None:
    """The day the earliest visible task was created, where an all-time chart starts."""
    query = _scoped(sa.select(sa.func.min(Task.created_at)), actor, None, owner_id)
    first = db.session.scalar(query)
    return _as_date(first) if first is not None else None


def _as_date(value) -> date:
    # SQLite hands back text for some expressions; PostgreSQL real dates and datetimes.
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if hasattr(value, "date") and callable(value.date) else value


@dataclass(frozen=True)
class UserTaskCounts:
    """One account with the number of its tasks per status."""

    user: User
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def user_task_counts(
    actor: User, period: Period | None = None, user_id: int | None = None
) -> list[UserTaskCounts]:
    """Every account (or the one given) with its tasks created in the period per status,
    for admins. One LEFT JOIN ... GROUP BY, so users without tasks are listed with zeros.
    """
    if not can(actor, "view_all_stats"):
        raise Forbidden("view_all_stats", "Only admins can see every user's figures.")
    join_on = sa.and_(Task.owner_id == User.id, *_in_period(Task.created_at, period))
    per_status = [
        sa.func.coalesce(sa.func.sum(sa.case((Task.status == status, 1), else_=0)), 0)
        for status in STATUSES
    ]
    query = (
        sa.select(User, *per_status)
        .outerjoin(Task, join_on)
        .group_by(User.id)
        .order_by(User.username)
    )
    if user_id is not None:
        query = query.where(User.id == user_id)
    return [
        UserTaskCounts(row[0], dict(zip(STATUSES, (int(n) for n in row[1:]), strict=True)))
        for row in db.session.execute(query)
    ]


# --- The dashboard --------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardQuery:
    """What the dashboard shows: the period (and the preset that gave it) and whose tasks."""

    period: Period
    preset: str | None = DEFAULT_PRESET
    owner_id: int | None = None

    def query_params(self) -> dict[str, str]:
        """The URL parameters that give this dashboard again (the default period left out)."""
        params: dict[str, str] = {}
        if self.preset is not None:
            if self.preset != DEFAULT_PRESET:
                params["period"] = self.preset
        else:
            for name in ("start", "end"):
                day = getattr(self.period, name)
                if day is not None:
                    params[name] = day.isoformat()
        if self.owner_id is not None:
            params["user"] = str(self.owner_id)
        return params


def parse_dashboard_query(
    args: Mapping[str, str], actor: User, today: date | None = None
) -> tuple[DashboardQuery, dict[str, str]]:
    """Read `period` (7, 30, 90, all), `start`, `end` and `user` from query parameters.

    Explicit dates win over the preset. Bad values are left out with a message each, keyed
    by the parameter, like the task list's filters.
    """
    today = today or utcnow().date()
    errors: dict[str, str] = {}

    def raw(name: str) -> str:
        return (args.get(name) or "").strip()

    preset = raw("period").lower() or DEFAULT_PRESET
    if preset not in PERIOD_PRESETS:
        errors["period"] = f"Unknown period; use one of {', '.join(PERIOD_PRESETS)}."
        preset = DEFAULT_PRESET
    dates: dict[str, date] = {}
    for name in ("start", "end"):
        if raw(name):
            try:
                dates[name] = _parse_date(raw(name))
            except ValueError:
                errors[name] = "Use a date in the form YYYY-MM-DD."
    if "start" in dates and "end" in dates and dates["start"] > dates["end"]:
        errors["end"] = "The end date is before the start date."
        del dates["end"]
    owner_id = None
    if raw("user"):
        try:
            owner_id = _parse_positive_int(raw("user"), 2**63 - 1)
        except ValueError:
            errors["user"] = "User must be a user id (a positive whole number)."
        if owner_id is not None and not can(actor, "view_all_stats"):
            errors["user"] = "Only admins can see another user's figures."
            owner_id = None
    if dates:
        return DashboardQuery(Period(dates.get("start"), dates.get("end")), None, owner_id), errors
    days = PERIOD_PRESETS[preset]
    if days is None:
        return DashboardQuery(Period(), preset, owner_id), errors
    return DashboardQuery(Period(today - timedelta(days=days - 1), today), preset, owner_id), errors


@dataclass(frozen=True)
class ChartBar:
    """One bar pair of the flow chart: a day (or the Monday of a week) and its counts."""

    start: date
    created: int
    completed: int


@dataclass
class Dashboard:
    """Every figure of the dashboard for one actor, period and owner."""

    query: DashboardQuery
    by_status: dict[str, int]
    by_priority: dict[str, int]
    overdue: int
    completed_in_period: int
    average_completion_seconds: float | None
    bars: list[ChartBar]
    bar_days: int  # 1: a bar per day; 7: a bar per week
    users: list[UserTaskCounts] | None = None
    chart_start: date | None = None
    chart_end: date | None = None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def completion_rate(self) -> float | None:
        """Share of the period's tasks that are completed now (None without tasks)."""
        return self.by_status["completed"] / self.total if self.total else None

    @property
    def created_total(self) -> int:
        return sum(bar.created for bar in self.bars)

    @property
    def completed_total(self) -> int:
        return sum(bar.completed for bar in self.bars)


def dashboard(actor: User, query: DashboardQuery, today: date | None = None) -> Dashboard:
    """Compute the dashboard: a fixed number of aggregate queries whatever the data size."""
    today = today or utcnow().date()
    period, owner_id = query.period, query.owner_id
    if not can(actor, "view_all_stats"):
        owner_id = None
    count, average = completions(actor, period, owner_id)
    # The chart runs over the period, but not over days to come nor (for "all time" or a
    # far-off start) over years before the first task.
    first = first_task_day(actor, owner_id)
    chart_end = min(period.end or today, today)
    chart_start = period.start or first or chart_end
    if first is not None:
        chart_start = max(chart_start, first - timedelta(days=MAX_DAILY_BARS))
    bars, bar_days = _bars(
        chart_start, chart_end,
        created_per_day(actor, period, owner_id), completed_per_day(actor, period, owner_id),
    )
    return Dashboard(
        query=query,
        by_status=status_counts(actor, period, owner_id),
        by_priority=priority_counts(actor, period, owner_id),
        overdue=overdue_count(actor, period, owner_id, today),
        completed_in_period=count,
        average_completion_seconds=average,
        bars=bars,
        bar_days=bar_days,
        users=user_task_counts(actor, period) if can(actor, "view_all_stats") else None,
        chart_start=chart_start,
        chart_end=chart_end,
    )


def _bars(start: date, end: date, created: dict[date, int], completed: dict[date, int]):
    """One bar per day from start to end, or one per week (from Monday) for long periods."""
    if end < start:
        return [], 1
    span = (end - start).days + 1
    step = 1 if span <= MAX_DAILY_BARS else 7
    if step == 7:
        start = start - timedelta(days=start.weekday())
    buckets: dict[date, list[int]] = {}
    day = start
    while day <= end:
        buckets[day] = [0, 0]
        day += timedelta(days=step)
    for index, series in enumerate((created, completed)):
        for when, n in series.items():
            key = when - timedelta(days=(when - start).days % step)
            if key in buckets:
                buckets[key][index] += n
    return [ChartBar(day, c, d) for day, (c, d) in buckets.items()], step
