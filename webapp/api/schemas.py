"""The API's declared shapes (pydantic v2): answers, request bodies and query parameters.

Answers are declared here and built as plain dicts by serializers.py (no model per row on a
read); with API_CHECK_ANSWERS (the tests) every answer is validated against its model.
Limits and choices come from the constants the forms and services use; every rule that gives
a message lives in the service (its `Invalid`) or the shared parser, never again here.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, WithJsonSchema, create_model, model_validator
from pydantic_core import PydanticCustomError

from ..models import PRIORITIES, STATUSES
from ..services.enrichment import SNAPSHOT_STATUSES
from ..services.labels import LABEL_NAME_MAX
from ..services.params import ParamSet
from ..services.stats import DashboardParams
from ..services.task_queries import (
    MAX_PER_PAGE,
    TaskListParams,
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
# Not declared again here: each listing's parameter set (services.params) gives the API's names,
# labels, descriptions and, from its parsers, the schema of the values; reading goes through
# that set's from_args, so the messages are the page's.

BLANK = {"type": "string", "pattern": r"^\s*$"}


class QueryModel(ApiModel):
    """Query parameters as the document shows them (text, blank meaning absent), read by the
    listing's parameter set; bad ones are refused naming each (400 invalid_parameter)."""

    params_class: ClassVar[type[ParamSet]]
    _params: Any = PrivateAttr(None)

    @staticmethod
    def refuse(errors: dict[str, str]) -> PydanticCustomError:
        return PydanticCustomError("invalid_parameter", "Bad value for {names}.", {
            "names": ", ".join(errors),
            "fields": {name: [message] for name, message in errors.items()}})

    @model_validator(mode="after")
    def read_params(self) -> QueryModel:
        args = _Args({name: value for name, value in self.model_dump().items()
                      if value is not None})
        params, errors = self.params_class.from_args(args, "api")
        if errors:
            raise self.refuse(errors)
        self._params = params
        return self

    @property
    def params(self) -> ParamSet:
        """The parsed parameter set."""
        return self._params


def query_model(params_class: type[ParamSet], name: str, doc: str) -> type[QueryModel]:
    """The documented query model of a listing's parameter set: one field per parameter the
    API reads, under its API name."""
    fields: dict[str, Any] = {}
    for field, api_name in params_class.names("api").items():
        declared = params_class.param(field)
        value = params_class.value_schema(field)
        if declared.repeated:
            annotation = Annotated[list[str] | None, WithJsonSchema({
                "type": "array", "items": value})]
        else:
            annotation = Annotated[str | None, WithJsonSchema({"anyOf": [value, BLANK]})]
        fields[api_name] = (annotation, Field(
            None, title=declared.label, description=declared.description or declared.label))
    model = create_model(name, __base__=QueryModel, __doc__=doc, **fields)
    model.params_class = params_class
    return model


TaskListQuery = query_model(
    TaskListParams, "TaskListQuery",
    "Filters, sort and page of GET /api/tasks (those of the task list page).")
AnalyticsQuery = query_model(
    DashboardParams, "AnalyticsQuery",
    "The period of GET /api/analytics (the dashboard's rules for its dates).")


class _Args(dict):
    """A dict with MultiDict's getlist, for the parser's repeatable `label`."""

    def getlist(self, name: str) -> list[str]:
        value = super().get(name)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    def get(self, name, default=None):
        value = super().get(name, default)
        if isinstance(value, list):  # a repeated single-valued parameter: the first
            return value[0] if value else default
        return value
