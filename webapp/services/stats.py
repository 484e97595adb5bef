"""Task statistics, computed in the database (aggregates), scoped to what the actor may see.

Every figure comes from an aggregate query whatever the number of tasks; the dashboard, the
admin pages and the JSON API read them from here. The dashboard gets its figures from two
queries. The queries are built once for each shape of scope and cached, and the owner and
dates are bound when the query runs. Building a statement and its cache key costs more CPU
than the database takes to run one of these small aggregates.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal, NamedTuple

import sqlalchemy as sa
from pydantic import field_validator
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..models import PRIORITIES, STATUSES, StatusChange, Task, User, utcnow
from .errors import Forbidden
from .params import Param, ParamSet, choice, iso_date, not_before, whole_number
from .permissions import can
from .task_queries import start_of_day, start_of_next_day
from .text import MAX_ID

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


class _Shape(NamedTuple):
    """Which conditions a statistic's statement has: one owner's tasks (else everyone's), a
    first instant, a last one. The key of the statement caches (functools.cache)."""

    by_owner: bool
    from_start: bool
    to_end: bool


@dataclass(frozen=True)
class _Scope:
    """Whose tasks a figure counts (None: everyone's) and the instants its timestamp falls
    between (start included, end excluded, None: unbounded)."""

    owner_id: int | None
    start: datetime | None
    end: datetime | None

    @property
    def shape(self) -> _Shape:
        return _Shape(self.owner_id is not None, self.start is not None, self.end is not None)

    @property
    def params(self) -> dict[str, object]:
        """The values of the bound parameters :owner_id, :start and :end that are set."""
        values = {"owner_id": self.owner_id, "start": self.start, "end": self.end}
        return {name: value for name, value in values.items() if value is not None}


def _scope(actor: User, period: Period | None, owner_id: int | None) -> _Scope:
    """The actor's own tasks, or for an admin everyone's or the chosen owner's, in the period
    (both days included)."""
    if not can(actor, "view_all_stats"):
        owner_id = actor.id
    start = start_of_day(period.start) if period and period.start else None
    end = start_of_next_day(period.end) if period and period.end else None
    return _Scope(owner_id, start, end)


def _scope_conditions(shape: _Shape, when=Task.created_at) -> list:
    """Conditions on tasks for the shape, their `when` timestamp in the period; the values are
    the bound parameters :owner_id, :start and :end."""
    conditions = [Task.deleted_at.is_(None)]  # tasks in the bin count nowhere
    if shape.by_owner:
        conditions.append(Task.owner_id == sa.bindparam("owner_id"))
    if shape.from_start:
        conditions.append(when >= sa.bindparam("start"))
    if shape.to_end:
        conditions.append(when < sa.bindparam("end"))
    return conditions


def _in_scope(query: sa.Select, shape: _Shape, when=Task.created_at) -> sa.Select:
    return query.where(*_scope_conditions(shape, when))


@functools.cache
def _status_counts_query(shape: _Shape) -> sa.Select:
    return _in_scope(sa.select(Task.status, sa.func.count()).group_by(Task.status), shape)


def status_counts(
    actor: User, period: Period | None = None, owner_id: int | None = None
) -> dict[str, int]:
    """Number of visible tasks per status (every status present, zero when none)."""
    scope = _scope(actor, period, owner_id)
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({
        status: n for status, n in db.session.execute(_status_counts_query(scope.shape),
                                                      scope.params)
    })
    return counts


@functools.cache
def _owner_counts_query(shape: _Shape) -> sa.Select:
    return _in_scope(
        sa.select(User.username, sa.func.count(Task.id))
        .join(User, User.id == Task.owner_id)
        .group_by(User.username)
        .order_by(User.username),
        shape,
    )


def owner_counts(actor: User, period: Period | None = None) -> dict[str, int]:
    """Number of visible tasks per owner's username (users with no task are left out)."""
    scope = _scope(actor, period, None)
    rows = db.session.execute(_owner_counts_query(scope.shape), scope.params)
    return {username: n for username, n in rows}


def visible_user_count(actor: User) -> int:
    """How many accounts the actor may see: everyone for an admin, else only themself."""
    if not can(actor, "manage_users"):
        return 1
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


class _SecondsBetween(FunctionElement):
    """SQL for the seconds from one timestamp (the first argument) back to another, written
    for the dialect when the statement is compiled, so a cached statement fits both."""

    inherit_cache = True


@compiles(_SecondsBetween)
def _seconds_between_sqlite(element, compiler, **kw) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({later}) - julianday({earlier})) * 86400.0"


@compiles(_SecondsBetween, "postgresql")
def _seconds_between_postgresql(element, compiler, **kw) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM {later} - {earlier})"


def _day(column):
    """SQL for the calendar day (UTC) of a timestamp column."""
    return sa.func.date(column, type_=sa.Date)


def _completion_changes(shape: _Shape, *columns) -> sa.Select:
    """Select columns over the completions recorded in the status history during the period
    (not the tasks completed now: a reopened task's completion still counts)."""
    return _in_scope(
        sa.select(*columns).select_from(StatusChange).join(Task, Task.id == StatusChange.task_id)
        .where(StatusChange.new_status == "completed"),
        shape, when=StatusChange.changed_at,
    )


def _average_completion_seconds():
    """SQL for the average seconds from a task's creation to its recorded completion."""
    return sa.func.avg(_SecondsBetween(StatusChange.changed_at, Task.created_at))


@functools.cache
def _completions_query(shape: _Shape) -> sa.Select:
    return _completion_changes(shape, sa.func.count(), _average_completion_seconds())


def completions(
    actor: User, period: Period | None = None, owner_id: int | None = None
) -> tuple[int, float | None]:
    """Completions recorded in the status history during the period, and the average seconds
    from each task's creation to that completion (None when there was none)."""
    scope = _scope(actor, period, owner_id)
    count, average = db.session.execute(_completions_query(scope.shape), scope.params).one()
    return count or 0, float(average) if average is not None else None


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


@functools.cache
def _user_task_counts_query(shape: _Shape, one_user: bool) -> sa.Select:
    # The period goes in the join, not the WHERE, so users without tasks keep their row.
    join_on = sa.and_(Task.owner_id == User.id, *_scope_conditions(shape))
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
    return query.where(User.id == sa.bindparam("user_id")) if one_user else query


def user_task_counts(
    actor: User, period: Period | None = None, user_id: int | None = None
) -> list[UserTaskCounts]:
    """Every account (or the one given) with its tasks created in the period per status,
    for admins. One LEFT JOIN ... GROUP BY, so users without tasks are listed with zeros.
    """
    if not can(actor, "view_all_stats"):
        raise Forbidden("view_all_stats", "Only admins can see every user's figures.")
    scope = _scope(actor, period, None)
    query = _user_task_counts_query(scope.shape, user_id is not None)
    params = scope.params | ({"user_id": user_id} if user_id is not None else {})
    return [
        UserTaskCounts(row[0], dict(zip(STATUSES, (int(n) for n in row[1:]), strict=True)))
        for row in db.session.execute(query, params)
    ]


# --- The dashboard --------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardQuery:
    """What the dashboard shows: the period (and the preset that gave it) and whose tasks."""

    period: Period
    preset: str | None = DEFAULT_PRESET
    owner_id: int | None = None

    def params(self) -> DashboardParams:
        """This dashboard as its declared parameters: the preset, or the dates."""
        if self.preset is not None:
            return DashboardParams(period=self.preset, user=self.owner_id)
        return DashboardParams(start=self.period.start, end=self.period.end, user=self.owner_id)

    def query_params(self) -> dict[str, str]:
        """The URL parameters that give this dashboard again (the default period left out)."""
        return self.params().to_args("page", defaults=DashboardParams(period=DEFAULT_PRESET))


class DashboardParams(ParamSet):
    """The dashboard's query parameters; `GET /api/analytics` reads the period's two dates
    under its own names (start_date, end_date) and nothing else."""

    period: Annotated[
        Literal[tuple(PERIOD_PRESETS)] | None,
        Param("Period", api=None, choices=PERIOD_PRESET_LABELS),
        choice(tuple(PERIOD_PRESETS), f"Unknown period; use one of {', '.join(PERIOD_PRESETS)}."),
    ] = None
    start: Annotated[
        date | None,
        Param("From", api="start_date", description="First day of the period (included)."),
        iso_date(),
    ] = None
    end: Annotated[
        date | None,
        Param("To", api="end_date", description="Last day of the period (included)."),
        iso_date(),
    ] = None
    user: Annotated[
        int | None,
        Param("User", api=None),
        whole_number(MAX_ID, "User must be a user id (a positive whole number)."),
    ] = None

    _check_period = field_validator("end")(
        not_before("start", "The end date is before the start date."))


def parse_dashboard_query(
    args: Mapping[str, str], actor: User, today: date | None = None
) -> tuple[DashboardQuery, dict[str, str]]:
    """The dashboard's query from its parameters: `period` (7, 30, 90, all), `start`, `end`
    and `user`. Explicit dates win over the preset. Bad values are left out with a message
    each, keyed by the parameter, like the task list's filters."""
    today = today or utcnow().date()
    params, errors = DashboardParams.from_args(args, "page")
    owner_id = params.user
    if owner_id is not None and not can(actor, "view_all_stats"):
        errors["user"] = "Only admins can see another user's figures."
        owner_id = None
    if params.start or params.end:
        return DashboardQuery(Period(params.start, params.end), None, owner_id), errors
    preset = params.period or DEFAULT_PRESET
    days = PERIOD_PRESETS[preset]
    if days is None:
        return DashboardQuery(Period(), preset, owner_id), errors
    return DashboardQuery(Period(today - timedelta(days=days - 1), today), preset, owner_id), errors


def analytics_period_from_args(args: Mapping[str, str]) -> tuple[Period, dict[str, str]]:
    """The period of `GET /api/analytics` (start_date, end_date; unbounded when absent),
    by the dashboard's rules, and a message per bad parameter."""
    params, errors = DashboardParams.from_args(args, "api")
    return Period(params.start, params.end), errors


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


@dataclass(frozen=True)
class _Headline:
    """The dashboard's figures that are one number each (or one per status and priority)."""

    by_status: dict[str, int]
    by_priority: dict[str, int]
    overdue: int
    average_completion_seconds: float | None
    first_task_day: date | None


def _count_where(condition):
    # count(*) FILTER (WHERE ...): PostgreSQL and SQLite (3.30+) both have it, and unlike
    # sum(case ...) it gives 0, not NULL, when no row matches.
    return sa.func.count().filter(condition)


@functools.cache
def _headline_query(shape: _Shape) -> sa.Select:
    # Both subqueries read tables the outer query reads too: correlate(None) keeps them
    # standalone rather than tied to the outer row.
    average = (_completion_changes(shape, _average_completion_seconds())
               .correlate(None).scalar_subquery())
    # The first task at all, not the period's: an all-time chart starts there.
    first = (_in_scope(sa.select(sa.func.min(Task.created_at)),
                       shape._replace(from_start=False, to_end=False))
             .correlate(None).scalar_subquery())
    overdue = sa.and_(Task.due_date < sa.bindparam("today"), Task.status != "completed")
    return _in_scope(
        sa.select(
            *(_count_where(Task.status == status) for status in STATUSES),
            *(_count_where(Task.priority == priority) for priority in PRIORITIES),
            _count_where(overdue),
            average,
            first,
        ).select_from(Task),
        shape,
    )


def _headline(scope: _Scope, today: date) -> _Headline:
    """Counts per status and per priority and the overdue count of the period's tasks, the
    average time to complete and the day of the first task, in one row.

    One query of conditional aggregates instead of one query each: every round trip costs
    about as much CPU in SQLAlchemy and the driver as a small aggregate does in the database.
    """
    result = db.session.execute(_headline_query(scope.shape), scope.params | {"today": today})
    values = iter(result.one())  # in the order of the query's columns
    by_status = {status: next(values) for status in STATUSES}
    by_priority = {priority: next(values) for priority in PRIORITIES}
    overdue, average, first_created = values
    return _Headline(
        by_status=by_status,
        by_priority=by_priority,
        overdue=overdue,
        average_completion_seconds=float(average) if average is not None else None,
        first_task_day=_as_date(first_created) if first_created is not None else None,
    )


@functools.cache
def _per_day_query(shape: _Shape) -> sa.CompoundSelect:
    created_day = _day(Task.created_at)
    created = _in_scope(
        sa.select(sa.literal_column("'created'"), created_day, sa.func.count())
        .group_by(created_day),
        shape,
    )
    completed_day = _day(StatusChange.changed_at)
    completed = _completion_changes(
        shape, sa.literal_column("'completed'"), completed_day, sa.func.count(),
    ).group_by(completed_day)
    return sa.union_all(created, completed)


def _per_day(scope: _Scope) -> tuple[dict[date, int], dict[date, int]]:
    """Tasks created and completions recorded on each day of the period (days without any
    are left out), both series from one UNION ALL whose rows name their series."""
    series: dict[str, dict[date, int]] = {"created": {}, "completed": {}}
    for name, day, n in db.session.execute(_per_day_query(scope.shape), scope.params):
        series[name][_as_date(day)] = n
    return series["created"], series["completed"]


def dashboard(actor: User, query: DashboardQuery, today: date | None = None) -> Dashboard:
    """Compute the dashboard: two aggregate queries (three for admins) whatever the data size."""
    today = today or utcnow().date()
    period = query.period
    scope = _scope(actor, period, query.owner_id)  # a user's own tasks whatever owner_id says
    headline = _headline(scope, today)
    created, completed = _per_day(scope)
    # The chart runs over the period, but not over days to come nor (for "all time" or a
    # far-off start) over years before the first task: its length is bounded by the data,
    # whatever dates the client asked for, and without any task by MAX_DAILY_BARS days.
    first = headline.first_task_day
    chart_end = min(period.end or today, today)
    chart_start = period.start or first or chart_end
    chart_start = max(chart_start, _days_before(first or chart_end, MAX_DAILY_BARS))
    bars, bar_days = _bars(chart_start, chart_end, created, completed)
    return Dashboard(
        query=query,
        by_status=headline.by_status,
        by_priority=headline.by_priority,
        overdue=headline.overdue,
        # The same history rows as the completed series, so its total is the count.
        completed_in_period=sum(completed.values()),
        average_completion_seconds=headline.average_completion_seconds,
        bars=bars,
        bar_days=bar_days,
        users=user_task_counts(actor, period) if can(actor, "view_all_stats") else None,
        chart_start=chart_start,
        chart_end=chart_end,
    )


def _days_before(day: date, days: int) -> date:
    """The day `days` before, or the first representable day (a client may ask for year 1)."""
    return day - timedelta(days=days) if day.toordinal() > days else date.min


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
