"""Finding tasks: the filters, sorting and paging shared by the list page, the CSV export
and `GET /api/tasks`, so they can never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination
from pydantic import BeforeValidator, field_validator
from sqlalchemy.orm import lazyload

from ..extensions import db
from ..models import (
    PRIORITIES,
    PRIORITY_LABELS,
    STATUS_LABELS,
    STATUSES,
    Attachment,
    Label,
    Task,
    task_labels,
)
from .dates import today_for
from .labels import LABEL_NAME_RULE, is_label_name, name_key
from .params import (
    Param,
    ParamSet,
    Spelling,
    choice,
    iso_date,
    not_before,
    refuse,
    text,
    whole_number,
)
from .permissions import can
from .search import task_text_matches
from .tasks import tasks_visible_to
from .text import MAX_ID

DUE_LABELS = {"overdue": "Overdue", "today": "Today", "week": "This week", "none": "No due date"}
DUE_CHOICES = tuple(DUE_LABELS)
SORT_LABELS = {"created": "Created", "updated": "Updated", "due": "Due date",
               "priority": "Priority", "title": "Title", "status": "Status"}
SORT_CHOICES = tuple(SORT_LABELS)
ORDER_LABELS = {"asc": "Ascending", "desc": "Descending"}
ORDER_CHOICES = tuple(ORDER_LABELS)
# The direction a sort takes when none is given: what people expect first (A to Z, the
# soonest due date, the highest priority, the newest).
DEFAULT_ORDER = {
    "created": "desc", "updated": "desc", "due": "asc", "priority": "desc", "title": "asc",
    "status": "asc",
}
MAX_LABEL_FILTERS = 10
PER_PAGE_CHOICES = (10, 25, 50, 100)
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
Q_MAX = 200
# Scripts and older links say in_progress; the stored value is in-progress.
STATUS_ALIASES = {"in_progress": "in-progress", "inprogress": "in-progress"}

PRIORITY_RANK = sa.case({"low": 1, "medium": 2, "high": 3}, value=Task.priority)
STATUS_RANK = sa.case({"pending": 1, "in-progress": 2, "completed": 3}, value=Task.status)
# "Completed" as a boolean, false (open) first. A literal, not a bound parameter: the indexes
# of the list's default order (models.Task, migration 0010) are on this very expression, and
# PostgreSQL's generic plan for a prepared statement cannot match `status = $1` to them.
OPEN_FIRST = Task.status == sa.literal_column("'completed'")
SORT_COLUMNS = {
    "created": Task.created_at,
    "updated": Task.updated_at,
    "due": Task.due_date,
    "priority": PRIORITY_RANK,
    "title": sa.func.lower(Task.title),
    "status": STATUS_RANK,
}


@dataclass(frozen=True)
class TaskFilters:
    """What a list of tasks is narrowed to, how it is sorted and which page is shown."""

    status: str | None = None
    priority: str | None = None
    owner_id: int | None = None
    q: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    due: str | None = None
    # Label names; a task matches when it carries every one (AND). Repeatable `label=`.
    labels: tuple[str, ...] = ()
    sort: str = "created"
    order: str | None = None  # None: the sort's own default direction (DEFAULT_ORDER)
    page: int = 1
    per_page: int = 25
    # Open tasks before completed ones, whatever the sort (the list page and board; not a
    # URL parameter). Sorting by status orders them by status instead.
    open_first: bool = False

    @property
    def is_narrowed(self) -> bool:
        """Whether any filter (not the sort or the page) leaves tasks out."""
        return any(getattr(self, name) not in (None, "", ()) for name in NARROWING_FIELDS)

    @property
    def direction(self) -> str:
        """The order in effect: the one asked for, or the sort's default."""
        return self.order or DEFAULT_ORDER[self.sort]

    def query_params(
        self, param_names: Mapping[str, str] | None = None, **changes
    ) -> dict[str, str | list[str]]:
        """The URL parameters that give this view again (defaults left out), with changes.

        A change to None drops the parameter, so `query_params(page=None)` links to page one.
        Labels give a list (url_for repeats the parameter).
        """
        names = {**PAGE_PARAM_NAMES, **(param_names or {})}
        defaults = TaskFilters()
        values = {**{f: getattr(self, f) for f in URL_FIELDS}, **changes}
        params: dict[str, str | list[str]] = {}
        for field, value in values.items():
            if value is None or value in ("", ()) or value == getattr(defaults, field):
                continue
            if field == "labels":
                params[names[field]] = list(value)
            else:
                params[names[field]] = (
                    value.isoformat() if isinstance(value, date) else str(value))
        return params

    def without_label(self, name: str) -> TaskFilters:
        """These filters less one label (a chip's remove link)."""
        return replace(self, labels=tuple(n for n in self.labels if n != name), page=1)

    def sorted_by(self, sort: str) -> dict[str, str | list[str]]:
        """The URL parameters of a click on a column header: that sort in its default
        direction, or the other direction when it is already the sort in effect."""
        if self.sort == sort:
            order = "asc" if self.direction == "desc" else "desc"
        else:
            order = DEFAULT_ORDER[sort]
        return self.query_params(sort=sort, order=None if order == DEFAULT_ORDER[sort]
                                 else order, page=None)


NARROWING_FIELDS = ("status", "priority", "owner_id", "q", "created_from", "created_to", "due",
                    "labels")
# The fields that travel in the URL (open_first is the page's choice, not a parameter).
URL_FIELDS = tuple(name for name in TaskFilters.__dataclass_fields__ if name != "open_first")


def _label_names(values: Any) -> tuple[str, ...]:
    """The repeated label parameter as names (a leading "#" allowed, duplicates dropped)."""
    cleaned: dict[str, str] = {}
    for raw in values if isinstance(values, list | tuple) else [values]:
        value = str(raw or "").strip().removeprefix("#")
        if not value:
            continue
        if not is_label_name(value):
            raise refuse(f"A label name is {LABEL_NAME_RULE}.")
        cleaned.setdefault(name_key(value), value)
    if len(cleaned) > MAX_LABEL_FILTERS:
        raise refuse(f"Filter by at most {MAX_LABEL_FILTERS} labels.")
    return tuple(cleaned.values())


class TaskListParams(ParamSet):
    """The query parameters of a task listing: the list page, the board, the CSV export and
    `GET /api/tasks`. The pages say `owner` and `label` (SPEC "Pages"); the API speaks
    camelCase (userId, createdFrom, createdTo, perPage)."""

    status: Annotated[
        Literal[STATUSES] | None,
        Param("Status", choices=STATUS_LABELS, description="Only tasks with this status "
              "(`in_progress` is accepted for `in-progress`; case does not matter)."),
        choice(STATUSES, f"Unknown status; use one of {', '.join(STATUSES)}.",
               aliases=STATUS_ALIASES),
    ] = None
    priority: Annotated[
        Literal[PRIORITIES] | None,
        Param("Priority", choices=PRIORITY_LABELS,
              description="Only tasks with this priority."),
        choice(PRIORITIES, f"Unknown priority; use one of {', '.join(PRIORITIES)}."),
    ] = None
    owner_id: Annotated[
        int | None,
        Param("Owner", page="owner", api="userId", description="Tasks of this user (admins)."),
        whole_number(MAX_ID, "Owner must be a user id (a positive whole number)."),
    ] = None
    q: Annotated[
        str | None,
        Param("Search", description="Words in the title or description."),
        text(Q_MAX, f"Search text must be at most {Q_MAX} characters."),
    ] = None
    created_from: Annotated[
        date | None, Param("Created from", api="createdFrom",
              description="Tasks created on this day (UTC) or later."), iso_date(),
    ] = None
    created_to: Annotated[
        date | None,
        Param("Created to", api="createdTo",
              description="Tasks created on this day (UTC) or earlier; not before the first."),
        iso_date(),
    ] = None
    due: Annotated[
        Literal[DUE_CHOICES] | None,
        Param("Due", choices=DUE_LABELS, description="overdue (open, due before today), today, "
              "week (this calendar week) or none."),
        choice(DUE_CHOICES, f"Unknown due filter; use one of {', '.join(DUE_CHOICES)}."),
    ] = None
    labels: Annotated[
        tuple[str, ...],
        Param("Labels", page="label", api="label", repeated=True,
              description="Tasks carrying every label given (repeat the parameter)."),
        BeforeValidator(_label_names),
    ] = ()
    sort: Annotated[
        Literal[SORT_CHOICES] | None,
        Param("Sort by", choices=SORT_LABELS, description="Sort key (default: created)."),
        choice(SORT_CHOICES, f"Unknown sort; use one of {', '.join(SORT_CHOICES)}."),
    ] = None
    order: Annotated[
        Literal[ORDER_CHOICES] | None,
        Param("Order", choices=ORDER_LABELS, description="Sort direction (default: the "
              "sort's own: newest, A to Z, soonest due, highest priority)."),
        choice(ORDER_CHOICES, "Order must be asc or desc."),
    ] = None
    page: Annotated[
        int | None, Param("Page", description="Page number (default 1); a page past the last "
                          "answers an empty list."),
        whole_number(MAX_PAGE, f"Page must be a whole number from 1 to {MAX_PAGE}."),
    ] = None
    per_page: Annotated[
        int | None, Param("Per page", api="perPage", choices={str(n): str(n) for n in
                                                                PER_PAGE_CHOICES}),
        whole_number(MAX_PER_PAGE, f"Page size must be from 1 to {MAX_PER_PAGE}."),
    ] = None

    _check_period = field_validator("created_to")(
        not_before("created_from", "The end date is before the start date."))

    def to_filters(self, default_per_page: int = 25) -> TaskFilters:
        """These parameters as the filters the queries take (defaults filled in)."""
        values = {field: getattr(self, field) for field in URL_FIELDS
                  if getattr(self, field) not in (None, ())}
        values.setdefault("per_page", default_per_page)
        if values.get("order") == DEFAULT_ORDER[values.get("sort", "created")]:
            del values["order"]  # the sort's usual direction: one URL for one view
        return TaskFilters(**values)


PAGE_PARAM_NAMES = TaskListParams.names("page")
API_PARAM_NAMES = TaskListParams.names("api")


def task_filters_from_args(
    args: Mapping[str, str], spelling: Spelling = "page", default_per_page: int = 25,
) -> tuple[TaskFilters, dict[str, str]]:
    """Read task filters from query parameters (the page's or the API's names).

    Returns the filters with every bad value left out, and a message per bad parameter keyed
    by the parameter's name as sent, so pages can say what they ignored and the API can
    answer 400 naming it.
    """
    params, errors = TaskListParams.from_args(args, spelling)
    return params.to_filters(default_per_page), errors


def start_of_day(day: date) -> datetime:
    """Midnight UTC at the start of the day, for comparing with stored timestamps."""
    return datetime.combine(day, time.min)


def start_of_next_day(day: date) -> datetime:
    """Midnight after the day: the exclusive end of a period that includes the day."""
    if day >= date.max:
        return datetime.max
    return start_of_day(day + timedelta(days=1))


def filtered_tasks(actor, filters: TaskFilters) -> sa.Select:
    """The tasks the actor may see that match the filters, in the requested order."""
    query = tasks_visible_to(actor)
    if filters.status:
        query = query.where(Task.status == filters.status)
    if filters.priority:
        query = query.where(Task.priority == filters.priority)
    if filters.owner_id is not None:
        query = query.where(Task.owner_id == filters.owner_id)
    if filters.q:
        query = query.where(task_text_matches(filters.q, db.engine.dialect.name))
    if filters.created_from:
        query = query.where(Task.created_at >= start_of_day(filters.created_from))
    if filters.created_to:
        query = query.where(Task.created_at < start_of_next_day(filters.created_to))
    if filters.due:
        query = query.where(_due_condition(filters.due, today_for(actor)))
    for label in filters.labels:
        query = query.where(Task.id.in_(_tasks_labelled(actor, filters, label)))
    return query.order_by(*task_order(filters))


def task_order(filters: TaskFilters) -> list:
    """ORDER BY terms for the filters' sort (open tasks first when asked)."""
    column = SORT_COLUMNS[filters.sort]
    ascending = filters.direction == "asc"
    terms = []
    if filters.open_first and filters.sort != "status":
        terms.append(OPEN_FIRST)
    if filters.sort == "due":
        terms.append(Task.due_date.is_(None))  # undated tasks last whichever the direction
    # The id makes the order total.
    terms += [column.asc() if ascending else column.desc(),
              Task.id.asc() if ascending else Task.id.desc()]
    return terms


def _tasks_labelled(actor, filters: TaskFilters, label: str) -> sa.Select:
    """Ids of tasks carrying a label of that name, among the labels the actor may use: their
    own, or for an admin any owner's (the chosen owner's when the list is narrowed to one).
    An index range of (owner_id, name_key) then (label_id, task_id)."""
    query = (
        sa.select(task_labels.c.task_id)
        .join(Label, Label.id == task_labels.c.label_id)
        .where(Label.name_key == name_key(label))
    )
    if not can(actor, "view_all_tasks"):
        return query.where(Label.owner_id == actor.id)
    if filters.owner_id is not None:
        return query.where(Label.owner_id == filters.owner_id)
    return query


def _due_condition(due: str, today: date):
    if due == "overdue":
        return sa.and_(Task.due_date < today, Task.status != "completed")
    if due == "today":
        return Task.due_date == today
    if due == "week":  # the calendar week, Monday to Sunday, that contains today
        monday = today - timedelta(days=today.weekday())
        return Task.due_date.between(monday, monday + timedelta(days=6))
    return Task.due_date.is_(None)


class TaskPage(SelectPagination):
    """A page of tasks and the number of all matches, from one query.

    The count rides along with the page's rows as a scalar subquery (run once), so a page
    costs one statement where Flask-SQLAlchemy's pagination runs two: each has a fixed cost in
    Python and a round trip, most of what a page of a user's tasks costs (docs/BENCHMARKS.md).

    With a `total_bound` the count reads at most bound + 1 matching rows (a count over a
    LIMITed subquery), so its cost stops growing with the data: an admin's list over a million
    tasks, or a user with 100,000, counts 10,001 rows. Beyond the bound `total` is None (the
    pages say "10,000+", the API reports the bound as an estimate) and so is `pages`; the
    page still knows whether a next page exists, because it fetches one row more than it
    shows. Without a bound the total is exact, however many rows that takes.
    """

    def __init__(self, *, total_bound: int | None = None, with_summaries: bool = False,
                 **kwargs):
        self.total_bound = total_bound
        self.with_summaries = with_summaries
        # {task id: TaskSummary} when with_summaries: read by the page's own query.
        self.summaries: dict[int, TaskSummary] = {}
        self._has_more = False
        self._counted: int | None = None
        super().__init__(**kwargs)

    def _count_statement(self) -> sa.Select:
        matches = self._query_args["select"].options(lazyload("*")).order_by(None)
        if self.total_bound is not None:
            matches = matches.limit(self.total_bound + 1)
        return sa.select(sa.func.count()).select_from(
            matches.with_only_columns(Task.id).subquery())

    def _query_items(self) -> list:
        count = self._count_statement().scalar_subquery()
        select = self._query_args["select"].add_columns(count)
        if self.with_summaries:
            select = select.add_columns(*SUMMARY_COLUMNS)
        select = select.limit(self.per_page + 1).offset(self._query_offset)
        rows = self._query_args["session"].execute(select).all()
        self._has_more = len(rows) > self.per_page
        rows = rows[:self.per_page]
        self._counted = rows[0][1] if rows else None
        if self.with_summaries:
            self.summaries = {row[0].id: TaskSummary.of(row[2], row[3]) for row in rows}
        return [row[0] for row in rows]

    def _query_count(self) -> int | None:
        counted = self._counted
        if counted is None:  # past the last page no row carries the count
            counted = self._query_args["session"].scalar(self._count_statement())
        if self.total_bound is None or counted <= self.total_bound:
            return counted
        if self.items and not self._has_more:
            return self._query_offset + len(self.items)  # the last page tells the total
        return None

    @property
    def total_is_estimate(self) -> bool:
        """True when more than `total_bound` tasks match and the exact total is unknown."""
        return self.total is None

    @property
    def total_or_bound(self) -> int:
        """The exact total, or the bound when more tasks match (what the API reports, with
        `total_is_estimate`)."""
        return self.total_bound if self.total is None else self.total

    @property
    def pages(self) -> int | None:
        """The number of pages, or None when the total is beyond the bound."""
        return None if self.total is None else super().pages

    @property
    def has_next(self) -> bool:
        return self._has_more

    def iter_pages(self, *, left_edge: int = 2, left_current: int = 2, right_current: int = 4,
                   right_edge: int = 2):
        """Page numbers for a pager, None for a gap. Without a known last page: the first
        pages, those before this one, this one and the next."""
        if self.pages is not None:
            yield from super().iter_pages(left_edge=left_edge, left_current=left_current,
                                          right_current=right_current, right_edge=right_edge)
            return
        last = self.page + 1 if self.has_next else self.page
        left_end = min(1 + left_edge, last + 1)
        yield from range(1, left_end)
        middle = max(left_end, self.page - left_current)
        if middle > left_end:
            yield None
        yield from range(middle, last + 1)


@dataclass(frozen=True)
class TaskSummary:
    """What a list shows of a task's labels and files without loading them: the label names
    (sorted as the labels are) and the number of attachments."""

    labels: tuple[str, ...]
    attachments: int

    @classmethod
    def of(cls, joined_names: str | None, attachments: int | None) -> TaskSummary:
        names = sorted((joined_names or "").split(LABEL_SEPARATOR), key=name_key)
        return cls(tuple(name for name in names if name), attachments or 0)


# A label name is letters, digits, _ and - (LABEL_NAME_RULE): a comma never occurs in one.
LABEL_SEPARATOR = ","
# Correlated subqueries riding on the page's own query (one statement for the page, however
# many rows): the task's label names joined, and its number of attachments.
SUMMARY_COLUMNS = (
    sa.select(sa.func.aggregate_strings(Label.name, LABEL_SEPARATOR))
    .select_from(task_labels.join(Label, Label.id == task_labels.c.label_id))
    .where(task_labels.c.task_id == Task.id).correlate(Task).scalar_subquery(),
    sa.select(sa.func.count()).select_from(Attachment).where(Attachment.task_id == Task.id)
    .correlate(Task).scalar_subquery(),
)


def paginate_tasks(actor, filters: TaskFilters, total_bound: int | None = None,
                   with_summaries: bool = False) -> TaskPage:
    """One page of matching tasks with the number of all matches, in one query.

    `total_bound` (the pages pass TASKS_TOTAL_BOUND) caps what is counted: beyond it the page's
    `total` is None and `total_is_estimate` True. Without it the total is exact, which reads
    every match (an admin's list: every task). `with_summaries` reads each task's label
    names and attachment count in the same statement (`page.summaries`).
    """
    return TaskPage(select=filtered_tasks(actor, filters), session=db.session(),
                    page=filters.page, per_page=filters.per_page, error_out=False,
                    max_per_page=MAX_PER_PAGE, total_bound=total_bound,
                    with_summaries=with_summaries)


BOARD_COLUMN_LIMIT = 100


@dataclass(frozen=True)
class BoardColumn:
    """One status's column of the board: its first tasks in the list's order, and how many
    match in all."""

    status: str
    tasks: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.tasks)


def board_columns(actor, filters: TaskFilters,
                  limit: int = BOARD_COLUMN_LIMIT) -> list[BoardColumn]:
    """The board: one column per status with the tasks the list's filters match (its page
    and page size aside), up to `limit` per column. One count per status in one GROUP BY,
    then each column's first tasks: a fixed number of queries whatever the number of tasks."""
    matching = filtered_tasks(actor, replace(filters, status=None)).order_by(None)
    if filters.status:
        matching = matching.where(Task.status == filters.status)
    counted = matching.with_only_columns(Task.status, sa.func.count()).group_by(Task.status)
    totals = dict(db.session.execute(counted).all())
    columns = []
    for status in STATUSES:
        tasks = []
        if totals.get(status):
            query = filtered_tasks(actor, replace(filters, status=status)).limit(limit)
            tasks = list(db.session.scalars(query).unique())
        columns.append(BoardColumn(status, tasks, totals.get(status, 0)))
    return columns
