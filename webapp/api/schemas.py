"""The API's declared shapes (pydantic v2): answers, request bodies and query parameters.

Answers are declared here and built as plain dicts by serializers.py (no model per row on a
read); with API_CHECK_ANSWERS (the tests) every answer is validated against its model.
Limits and choices come from the constants the forms and services use; every rule that gives
a message lives in the service (its `Invalid`) or the shared parser, never again here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask import current_app
from pydantic import Field, PrivateAttr, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from ..models import PRIORITIES, STATUSES
from ..services.enrichment import SNAPSHOT_STATUSES
from ..services.labels import LABEL_NAME_MAX
from ..services.task_queries import (
    DUE_CHOICES,
    MAX_LABEL_FILTERS,
    MAX_PAGE,
    MAX_PER_PAGE,
    ORDER_CHOICES,
    Q_MAX,
    SORT_CHOICES,
    STATUS_ALIASES,
    parse_task_filters,
)
from ..services.tasks import CITY_MAX, DESCRIPTION_MAX, TITLE_MAX
from ..services.text import MAX_ID
from .spec import ApiModel, BodyModel

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time",
                                                    "examples": ["2026-01-31T09:30:00Z"]})]
Day = Annotated[str, Field(json_schema_extra={"format": "date", "examples": ["2026-01-31"]})]
Count = Annotated[int, Field(ge=0)]
Snapshot = Literal[SNAPSHOT_STATUSES]  # type: ignore[valid-type]


# --- Answers ----------------------------------------------------------------------------------

class User(ApiModel):
    """A user account (field names follow the seed APIs: add fields, never rename)."""

    id: int = Field(ge=1)
    name: str = Field(description="Display name.")
    email: str = Field(json_schema_extra={"format": "email"})
    role: Literal["user", "admin"]
    username: str
    isActive: bool
    createdAt: Timestamp


class UserList(ApiModel):
    users: list[User]
    count: Count


class Weather(ApiModel):
    """The weather for the task's city when it was last fetched; the reading fields are null
    until `status` is `ok`."""

    city: str
    status: Snapshot = Field(description="pending until first fetched; unavailable comes "
                             "with `error`.")
    fetchedAt: Timestamp | None
    error: str | None
    location: str | None
    temperature: float | None
    unit: str | None
    condition: str | None
    provider: str | None


class Repo(ApiModel):
    """The task's GitHub repository when it was last fetched."""

    fullName: str = Field(examples=["pallets/flask"])
    status: Snapshot
    fetchedAt: Timestamp | None
    error: str | None
    stars: int | None
    description: str | None
    url: str | None


class Task(ApiModel):
    """A task. `version` moves on with every change; it is also the ETag."""

    id: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    status: Literal[STATUSES]  # type: ignore[valid-type]
    userId: int = Field(description="The owner's user id.")
    description: str | None
    priority: Literal[PRIORITIES]  # type: ignore[valid-type]
    dueDate: Day | None
    createdAt: Timestamp
    updatedAt: Timestamp
    completedAt: Timestamp | None
    version: int = Field(description="Incremented by every change; the ETag is its value.")
    city: str | None
    weather: Weather | None
    repo: Repo | None
    labels: list[str] = Field(description="The task's label names, sorted.")
    attachments: Count = Field(description="How many files are attached.")


class TaskPage(ApiModel):
    """One page of tasks. Follow the `next` Link header (or count pages) to read them all."""

    tasks: list[Task]
    count: Count = Field(description="Tasks in this answer.")
    total: Count = Field(description="Tasks matching the filters on all pages; a lower bound "
                         "when totalIsEstimate is true.")
    totalIsEstimate: bool = Field(description="True when more tasks match than the server "
                                  "counts (TASKS_TOTAL_BOUND): then `total` is that bound, "
                                  "`pages` follows from it, and the last Link is left out; "
                                  "follow `next` until there is none.")
    page: int = Field(ge=1)
    perPage: int = Field(ge=1, le=MAX_PER_PAGE)
    pages: Count = Field(description="Number of pages (0 when nothing matches).")


class StatusCounts(ApiModel):
    total: Count
    pending: Count
    inProgress: Count
    completed: Count


class UserCount(ApiModel):
    total: Count


class Stats(ApiModel):
    users: UserCount
    tasks: StatusCounts


ByStatus = Annotated[dict[str, int], WithJsonSchema({
    "type": "object", "required": list(STATUSES), "additionalProperties": False,
    "properties": {status: {"type": "integer", "minimum": 0} for status in STATUSES},
})]


class Period(ApiModel):
    start_date: Day | None
    end_date: Day | None


class Analytics(ApiModel):
    by_status: ByStatus
    by_user: dict[str, Count] = Field(description="Tasks per owner's username (owners "
                                      "without tasks left out).")
    period: Period


class Health(ApiModel):
    status: Literal["ok", "error"]
    message: str
    database: Literal["ok", "down"] | None = None


class LiveMessage(ApiModel):
    """One change. Over SSE it is the `data:` of a message whose `event:` is the type and
    whose `id:` resumes the stream; over the WebSocket it also has `id`."""

    type: Literal["task.created", "task.updated", "task.completed", "task.reopened",
                  "task.deleted", "reset"]
    taskId: int | None
    task: Task | None = Field(description="The task as GET /api/tasks/{id} shows it, read "
                              "when the message is sent; null for task.deleted and reset.")
    id: str | None = Field(None, description="WebSocket messages only.")


# --- Request bodies ---------------------------------------------------------------------------
# Values are taken as strings and checked by the service (TaskData, _clean), so a form and a
# script refused for the same reason read the same message; the document still shows the
# choices and limits (WithJsonSchema).

def _doc(schema: dict, nullable: bool = False) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [schema, {"type": "null"}]} if nullable else schema)


StatusText = Annotated[str, _doc({
    "type": "string", "enum": [*STATUSES, "in_progress", "todo", "done"],
    "description": "in_progress, todo (= pending) and done (= completed) are accepted for "
    "older scripts."})]
PriorityText = Annotated[str, _doc({"type": "string", "enum": list(PRIORITIES)})]
TitleText = Annotated[str, _doc({"type": "string", "minLength": 1, "maxLength": TITLE_MAX})]
DescriptionText = Annotated[str | None, _doc(
    {"type": "string", "maxLength": DESCRIPTION_MAX}, nullable=True)]
DueText = Annotated[str | None, WithJsonSchema({"anyOf": [
    {"type": "string", "format": "date", "examples": ["2026-01-31"]},
    {"type": "string", "pattern": r"^\s*$", "description": "Empty: no due date."},
    {"type": "null"}]})]
CityText = Annotated[str | None, _doc(
    {"type": "string", "maxLength": CITY_MAX, "examples": ["Berlin"]}, nullable=True)]
RepoText = Annotated[str | None, _doc(
    {"type": "string", "maxLength": 200, "examples": ["pallets/flask"],
     "description": "owner/name or its https://github.com/owner/name address"}, nullable=True)]
LabelNames = Annotated[list[str] | None, _doc(
    {"type": "array", "items": {"type": "string", "maxLength": LABEL_NAME_MAX},
     "description": "Label names; new ones are created for the owner."}, nullable=True)]
OwnerId = Annotated[int | None, _doc(
    {"type": "integer", "minimum": 1, "maximum": MAX_ID,
     "description": "The owner (admins only; anyone else naming another user: 403)."},
    nullable=True)]


class TaskCreate(BodyModel):
    """A new task: only the title is required."""

    title: TitleText
    description: DescriptionText = None
    status: StatusText = "pending"
    priority: PriorityText = "medium"
    dueDate: DueText = None
    city: CityText = None
    repo: RepoText = None
    labels: LabelNames = None
    userId: OwnerId = None


class TaskChange(BodyModel):
    """The fields to change; the others keep their values. `null` clears description,
    dueDate, city, repo (and labels: none); it is refused for title, status and priority."""

    title: TitleText = None  # type: ignore[assignment]  (absent: unchanged; null: refused)
    description: DescriptionText = None
    status: StatusText = None  # type: ignore[assignment]
    priority: PriorityText = None  # type: ignore[assignment]
    dueDate: DueText = None
    city: CityText = None
    repo: RepoText = None
    labels: LabelNames = None
    userId: OwnerId = None

    @model_validator(mode="before")
    @classmethod
    def required_fields_are_not_null(cls, values: Any) -> Any:
        if isinstance(values, dict):
            nulls = [name for name in ("title", "status", "priority")
                     if name in values and values[name] is None]
            if nulls:
                raise PydanticCustomError("null_refused", "{names} cannot be null.", {
                    "names": ", ".join(nulls),
                    "fields": {name: [f"{name.capitalize()} cannot be null."]
                               for name in nulls}})
        return values


# --- Query parameters -------------------------------------------------------------------------
# Declared here for the document; read by the one parser the task list page and the CSV export
# use (services.task_queries.parse_task_filters), so the messages are the page's.

BLANK = {"type": "string", "pattern": r"^\s*$"}


DATE = {"type": "string", "format": "date", "examples": ["2026-01-31"]}
API_TASK_PARAMS = {"owner_id": "userId", "created_from": "createdFrom",
                   "created_to": "createdTo", "per_page": "perPage", "labels": "label"}


class QueryModel(ApiModel):
    """Query parameters: the document's declaration of a parser's parameters. Subclasses read
    the values with that parser and refuse bad ones naming each (400 invalid_parameter)."""

    @staticmethod
    def refuse(errors: dict[str, str]) -> PydanticCustomError:
        return PydanticCustomError("invalid_parameter", "Bad value for {names}.", {
            "names": ", ".join(errors),
            "fields": {name: [message] for name, message in errors.items()}})


def _param_schema(schema: dict) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [schema, BLANK]})


class TaskListQuery(QueryModel):
    """Filters, sort and page of GET /api/tasks (those of the task list page)."""

    status: Annotated[str | None, _param_schema(
        {"type": "string", "enum": [*STATUSES, *STATUS_ALIASES]})] = Field(
        None, description="Only tasks with this status (`in_progress` is accepted for "
        "`in-progress`; case does not matter).")
    userId: Annotated[str | None, _param_schema(
        {"type": "integer", "minimum": 1, "maximum": MAX_ID})] = Field(
        None, description="Only tasks owned by this user (a user only ever sees their own).")
    priority: Annotated[str | None, _param_schema(
        {"type": "string", "enum": list(PRIORITIES)})] = Field(
        None, description="Only tasks with this priority.")
    q: Annotated[str | None, _param_schema({"type": "string", "maxLength": Q_MAX})] = Field(
        None, description="Text to find in the title or description (case-insensitive).")
    createdFrom: Annotated[str | None, _param_schema(DATE)] = Field(
        None, description="Tasks created on this day (UTC) or later.")
    createdTo: Annotated[str | None, _param_schema(DATE)] = Field(
        None, description="Tasks created on this day (UTC) or earlier; not before "
        "createdFrom.")
    due: Annotated[str | None, _param_schema(
        {"type": "string", "enum": list(DUE_CHOICES)})] = Field(
        None, description="overdue (open, due before today), today, week (this calendar "
        "week) or none.")
    label: Annotated[list[str] | None, WithJsonSchema({
        "type": "array", "maxItems": MAX_LABEL_FILTERS,
        "items": {"type": "string", "maxLength": LABEL_NAME_MAX}})] = Field(
        None, description="Only tasks carrying every one of these labels (repeat the "
        "parameter; a leading # is allowed).")
    sort: Annotated[str | None, _param_schema(
        {"type": "string", "enum": list(SORT_CHOICES), "default": "created"})] = Field(
        None, description="Sort key.")
    order: Annotated[str | None, _param_schema(
        {"type": "string", "enum": list(ORDER_CHOICES)})] = Field(
        None, description="Sort direction (default: the sort's own: newest, A to Z, soonest "
        "due, highest priority).")
    page: Annotated[str | None, _param_schema(
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1})] = Field(
        None, description="Page number; a page past the last answers an empty list.")
    perPage: Annotated[str | None, _param_schema(
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 25})] = Field(
        None, description=f"Tasks per page (at most {MAX_PER_PAGE}).")

    _filters: Any = PrivateAttr(None)

    @model_validator(mode="after")
    def read_filters(self) -> TaskListQuery:
        args = _Args({name: value for name, value in self.model_dump().items()
                      if value is not None})
        filters, errors = parse_task_filters(
            args, API_TASK_PARAMS, with_labels=True,
            default_per_page=current_app.config["TASKS_PER_PAGE"])
        if errors:
            raise self.refuse(errors)
        self._filters = filters
        return self

    @property
    def filters(self):
        """The parsed services.task_queries.TaskFilters."""
        return self._filters


class AnalyticsQuery(QueryModel):
    """The period of GET /api/analytics (the dates follow the task list's rules)."""

    start_date: Annotated[str | None, _param_schema(DATE)] = Field(
        None, description="First day of the period (UTC), included; open when absent.")
    end_date: Annotated[str | None, _param_schema(DATE)] = Field(
        None, description="Last day of the period (UTC), included; open when absent; not "
        "before start_date.")

    _filters: Any = PrivateAttr(None)

    @model_validator(mode="after")
    def read_period(self) -> AnalyticsQuery:
        args = {"start_date": self.start_date or "", "end_date": self.end_date or ""}
        filters, errors = parse_task_filters(
            args, {"created_from": "start_date", "created_to": "end_date"})
        if errors:
            raise self.refuse(errors)
        self._filters = filters
        return self

    @property
    def period(self) -> tuple[date | None, date | None]:
        return self._filters.created_from, self._filters.created_to


class _Args(dict):
    """A dict with MultiDict's getlist, for the parser's repeatable `label`."""

    def getlist(self, name: str) -> list[str]:
        value = self.get(name)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    def get(self, name, default=None):
        value = super().get(name, default)
        if isinstance(value, list):  # a repeated single-valued parameter: the first
            return value[0] if value else default
        return value
