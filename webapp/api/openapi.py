"""The OpenAPI 3.1 description of the JSON API, written by hand and served at
/api/openapi.json. Tests check real answers against it and run schemathesis on it, so it
must change together with views.py and serializers.py."""

from __future__ import annotations

from copy import deepcopy

from ..models import PRIORITIES, STATUSES
from ..services.enrichment import SNAPSHOT_STATUSES
from ..services.task_queries import (
    DUE_CHOICES,
    MAX_PAGE,
    MAX_PER_PAGE,
    Q_MAX,
    SORT_CHOICES,
    STATUS_ALIASES,
)
from ..services.text import MAX_ID


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


STRING_OR_NULL = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time", "examples": ["2026-01-31T09:30:00Z"]}
TIMESTAMP_OR_NULL = nullable(TIMESTAMP)
COUNT = {"type": "integer", "minimum": 0}
ENRICHMENT_STATUS = {
    "type": "string", "enum": list(SNAPSHOT_STATUSES),
    "description": "pending until first fetched; unavailable comes with `error`.",
}

RATE_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "When the window resets, in seconds since the Unix epoch.",
        "schema": {"type": "integer"},
    },
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "description": "Every error of the API, whatever the status.",
        "required": ["error", "code"],
        "properties": {
            "error": {"type": "string", "description": "A message for people."},
            "code": {
                "type": "string",
                "description": "A machine-readable code: invalid_parameter, unauthorized, "
                "not_found, method_not_allowed, too_many_requests, ...",
            },
            "fields": {
                "type": "object",
                "description": "Messages per bad query parameter, keyed by its name.",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "error"]},
            "message": {"type": "string"},
            "database": {"type": "string", "enum": ["ok", "down"]},
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "name", "email", "role", "username", "isActive", "createdAt"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "name": {"type": "string", "description": "Display name."},
            "email": {"type": "string", "format": "email"},
            "role": {"type": "string", "enum": ["user", "admin"]},
            "username": {"type": "string"},
            "isActive": {"type": "boolean"},
            "createdAt": TIMESTAMP,
        },
    },
    "UserList": {
        "type": "object",
        "required": ["users", "count"],
        "properties": {
            "users": {"type": "array", "items": ref("User")},
            "count": COUNT,
        },
    },
    "Weather": {
        "type": "object",
        "description": "The weather for the task's city when it was last fetched; the "
                       "reading fields are null until `status` is `ok`.",
        "required": ["city", "status", "fetchedAt", "error", "location", "temperature", "unit",
                     "condition", "provider"],
        "properties": {
            "city": {"type": "string"},
            "status": ENRICHMENT_STATUS,
            "fetchedAt": TIMESTAMP_OR_NULL,
            "error": STRING_OR_NULL,
            "location": STRING_OR_NULL,
            "temperature": {"type": ["number", "null"]},
            "unit": STRING_OR_NULL,
            "condition": STRING_OR_NULL,
            "provider": STRING_OR_NULL,
        },
    },
    "Repo": {
        "type": "object",
        "description": "The task's GitHub repository when it was last fetched.",
        "required": ["fullName", "stars", "description", "url", "status", "fetchedAt", "error"],
        "properties": {
            "fullName": {"type": "string", "examples": ["pallets/flask"]},
            "stars": {"type": ["integer", "null"]},
            "description": STRING_OR_NULL,
            "url": STRING_OR_NULL,
            "status": ENRICHMENT_STATUS,
            "fetchedAt": TIMESTAMP_OR_NULL,
            "error": STRING_OR_NULL,
        },
    },
    "Task": {
        "type": "object",
        "required": [
            "id", "title", "status", "userId", "description", "priority", "dueDate",
            "createdAt", "updatedAt", "completedAt", "version", "city", "weather", "repo",
        ],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "title": {"type": "string", "minLength": 1, "maxLength": 100},
            "status": {"type": "string", "enum": list(STATUSES)},
            "userId": {"type": "integer", "description": "The owner's user id."},
            "description": STRING_OR_NULL,
            "priority": {"type": "string", "enum": list(PRIORITIES)},
            "dueDate": nullable({"type": "string", "format": "date"}),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
            "completedAt": TIMESTAMP_OR_NULL,
            "version": {"type": "integer", "description": "Incremented by every edit."},
            "city": STRING_OR_NULL,
            "weather": nullable(ref("Weather")),
            "repo": nullable(ref("Repo")),
        },
    },
    "TaskPage": {
        "type": "object",
        "required": ["tasks", "count", "total", "page", "perPage", "pages"],
        "properties": {
            "tasks": {"type": "array", "items": ref("Task")},
            "count": {**COUNT, "description": "Tasks in this answer."},
            "total": {**COUNT, "description": "Tasks matching the filters, on all pages."},
            "page": {"type": "integer", "minimum": 1},
            "perPage": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "pages": {**COUNT, "description": "Number of pages (0 when nothing matches)."},
        },
    },
    "Stats": {
        "type": "object",
        "required": ["users", "tasks"],
        "properties": {
            "users": {
                "type": "object", "required": ["total"], "properties": {"total": COUNT},
            },
            "tasks": {
                "type": "object",
                "required": ["total", "pending", "inProgress", "completed"],
                "properties": {
                    "total": COUNT, "pending": COUNT, "inProgress": COUNT, "completed": COUNT,
                },
            },
        },
    },
    "Analytics": {
        "type": "object",
        "required": ["by_status", "by_user"],
        "properties": {
            "by_status": {
                "type": "object",
                "required": list(STATUSES),
                "properties": {status: COUNT for status in STATUSES},
                "additionalProperties": False,
            },
            "by_user": {
                "type": "object",
                "description": "Tasks per owner's username (owners without tasks left out).",
                "additionalProperties": COUNT,
            },
            "period": {
                "type": "object",
                "properties": {
                    "start_date": nullable({"type": "string", "format": "date"}),
                    "end_date": nullable({"type": "string", "format": "date"}),
                },
            },
        },
    },
}


def error_response(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": json_content(ref("Error"))}
    if headers:
        response["headers"] = headers
    return response


RESPONSES = {
    "BadParameter": error_response("A query parameter has a bad value; `fields` names it."),
    "Unauthorized": error_response(
        "No credentials, or a token that is invalid, expired, revoked or whose owner is "
        "deactivated.",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "NotFound": error_response("No such object, or one the caller may not see."),
    "MethodNotAllowed": error_response(
        "The API is read-only: only GET (and HEAD, OPTIONS) are answered.",
        {"Allow": {"schema": {"type": "string"}}},
    ),
    "TooManyRequests": error_response(
        "The rate limit of the user (all their tokens together) is used up.",
        {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": True,
                "schema": {"type": "integer"},
            },
            **RATE_HEADERS,
        },
    ),
}


def response_ref(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def ok(description: str, schema_name: str, rate_limited: bool = True) -> dict:
    response = {"description": description, "content": json_content(ref(schema_name))}
    if rate_limited:
        response["headers"] = RATE_HEADERS
    return response


def operation(summary: str, description: str, response: dict, *, tag: str,
              parameters: list | None = None, bad_parameters: bool = False,
              not_found: bool = False, public: bool = False) -> dict:
    """One GET operation with the errors every API call can answer."""
    responses = {"200": response}
    if bad_parameters:
        responses["400"] = response_ref("BadParameter")
    if not public:
        responses["401"] = response_ref("Unauthorized")
    if not_found:
        responses["404"] = response_ref("NotFound")
    responses["405"] = response_ref("MethodNotAllowed")
    responses["429"] = response_ref("TooManyRequests")
    op = {"summary": summary, "description": description, "tags": [tag],
          "operationId": summary.lower().replace(" ", "_"), "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if public:
        op["security"] = []
    return op


# An empty (or blank) query value counts as absent, as in the task list's filter form.
BLANK = {"type": "string", "pattern": r"^\s*$"}


def query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False,
            "schema": {"anyOf": [schema, BLANK]}, "description": description}


def path_id(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


DATE = {"type": "string", "format": "date", "examples": ["2026-01-31"]}

TASK_FILTERS = [
    query("status", {"type": "string", "enum": [*STATUSES, *STATUS_ALIASES]},
          "Only tasks with this status (`in_progress` is accepted for `in-progress`; "
          "case does not matter)."),
    query("userId", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
          "Only tasks owned by this user (a user only ever sees their own)."),
    query("priority", {"type": "string", "enum": list(PRIORITIES)},
          "Only tasks with this priority."),
    query("q", {"type": "string", "maxLength": Q_MAX},
          "Text to find in the title or description (case-insensitive)."),
    query("createdFrom", DATE, "Tasks created on this day (UTC) or later."),
    query("createdTo", DATE,
          "Tasks created on this day (UTC) or earlier; must not be before createdFrom."),
    query("due", {"type": "string", "enum": list(DUE_CHOICES)},
          "overdue (open, due before today), today, week (this calendar week) or none."),
    query("sort", {"type": "string", "enum": list(SORT_CHOICES), "default": "created"},
          "Sort key."),
    query("order", {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
          "Sort direction."),
    query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
          "Page number; a page past the last answers an empty list."),
    query("perPage", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 25},
          f"Tasks per page (at most {MAX_PER_PAGE})."),
]

PERIOD = [
    query("start_date", DATE, "First day of the period (UTC), included; open when absent."),
    query("end_date", DATE,
          "Last day of the period (UTC), included; open when absent; not before start_date."),
]

DESCRIPTION = """\
Read-only JSON API of Taskdeck, for scripts.

**Authentication**: `Authorization: Bearer <token>` with a personal API token (create one on
the Account page, or with `flask --app wsgi tokens create USERNAME --name NAME`). A logged-in
browser session works too. A user sees only themself and their own tasks; an admin sees
everyone.

**Query parameters** left empty count as absent.

**Errors** are JSON: `{"error": "...", "code": "...", "fields": {...}}`; `fields` names each
bad query parameter.

**Rate limit**: 100 requests a minute per user, all their tokens and their browser session
together; every answer carries `X-RateLimit-*` headers, and 429 carries `Retry-After`.
"""

PATHS = {
    "/health": {"get": {
        "summary": "Health", "operationId": "health", "tags": ["operations"], "security": [],
        "description": "Whether the application and its database answer (public, not rate "
        "limited, outside /api).",
        "responses": {
            "200": {"description": "The application and its database answer.",
                    "content": json_content(ref("Health"))},
            "503": {"description": "The database does not answer.",
                    "content": json_content(ref("Health"))},
        },
    }},
    "/api/users": {"get": operation(
        "List users", "Every account for an admin; only the caller for anyone else.",
        ok("The accounts the caller may see.", "UserList"), tag="users",
    )},
    "/api/users/{id}": {"get": operation(
        "Get user", "One account: the caller themself, or anyone for an admin.",
        ok("The account.", "User"), tag="users", not_found=True,
        parameters=[path_id("id", "The user's id.")],
    )},
    "/api/tasks": {"get": operation(
        "List tasks",
        "One page of the tasks the caller may see, filtered and sorted. `count` is the "
        "number of tasks in this answer, `total` the number of all matches.",
        ok("A page of tasks.", "TaskPage"), tag="tasks", parameters=TASK_FILTERS,
        bad_parameters=True,
    )},
    "/api/tasks/{id}": {"get": operation(
        "Get task", "One task; another user's task is reported as absent (404).",
        ok("The task.", "Task"), tag="tasks", not_found=True,
        parameters=[path_id("id", "The task's id.")],
    )},
    "/api/stats": {"get": operation(
        "Get stats", "Counts of the accounts and tasks the caller may see.",
        ok("The counts.", "Stats"), tag="statistics",
    )},
    "/api/analytics": {"get": operation(
        "Get analytics",
        "Tasks created in the period (both days included), per status and per owner.",
        ok("The counts.", "Analytics"), tag="statistics", parameters=PERIOD,
        bad_parameters=True,
    )},
    "/api/openapi.json": {"get": operation(
        "Get OpenAPI document", "This document (public).",
        {"description": "The OpenAPI document.",
         "content": {"application/json": {"schema": {"type": "object"}}}, "headers": RATE_HEADERS},
        tag="documentation", public=True,
    )},
    "/api/docs": {"get": operation(
        "Get API docs", "This document rendered for people (public).",
        {"description": "An HTML page.", "content": {"text/html": {"schema": {"type": "string"}}},
         "headers": RATE_HEADERS},
        tag="documentation", public=True,
    )},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Taskdeck API", "version": "1.0.0", "description": DESCRIPTION},
    "servers": [{"url": "/"}],
    "security": [{"bearerToken": []}, {"sessionCookie": []}],
    "tags": [
        {"name": "tasks"}, {"name": "users"}, {"name": "statistics"},
        {"name": "operations"}, {"name": "documentation"},
    ],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "responses": RESPONSES,
        "securitySchemes": {
            "bearerToken": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token (starts with td_).",
            },
            "sessionCookie": {
                "type": "apiKey", "in": "cookie", "name": "session",
                "description": "The session of a browser logged in to Taskdeck.",
            },
        },
    },
}


def openapi_document() -> dict:
    """A copy of the document (callers may not change the shared one)."""
    return deepcopy(DOCUMENT)
