"""The declared query parameters (STYLE 3): one declaration per listing gives the page's and
the API's parsing, the messages, the filter bar's labels and choices, the URL round trip and
the API's OpenAPI parameters."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from webapp.api import schemas
from webapp.services import stats
from webapp.services.audit import AuditFilters
from webapp.services.task_queries import TaskFilters, TaskListParams, task_filters_from_args

DATE = "Use a date in the form YYYY-MM-DD."

# (field, page value, API value... ) -> parsed value; both spellings read the same rules.
TASK_VALID = [
    ("status", "status", "status", "in_progress", "in-progress"),
    ("status", "status", "status", "Completed", "completed"),
    ("priority", "priority", "priority", "HIGH", "high"),
    ("owner_id", "owner", "userId", "7", 7),
    ("owner_id", "owner", "userId", str(2**31 - 1), 2**31 - 1),
    ("q", "q", "q", "milk & bread", "milk & bread"),
    ("created_from", "created_from", "createdFrom", "2026-01-31", date(2026, 1, 31)),
    ("created_to", "created_to", "createdTo", "2026-02-28", date(2026, 2, 28)),
    ("due", "due", "due", "week", "week"),
    ("sort", "sort", "sort", "priority", "priority"),
    ("order", "order", "order", "asc", "asc"),
    ("page", "page", "page", "3", 3),
    ("per_page", "per_page", "perPage", "100", 100),
]

TASK_INVALID = [
    ("status", "status", "done", "Unknown status; use one of pending, in-progress, completed."),
    ("priority", "priority", "urgent", "Unknown priority; use one of low, medium, high."),
    ("owner", "userId", "abc", "Owner must be a user id (a positive whole number)."),
    ("owner", "userId", str(2**31), "Owner must be a user id (a positive whole number)."),
    ("owner", "userId", "-1", "Owner must be a user id (a positive whole number)."),
    ("q", "q", "x" * 201, "Search text must be at most 200 characters."),
    ("q", "q", "a\x00b", "Search text must be at most 200 characters."),
    ("created_from", "createdFrom", "2026-02-31", DATE),
    ("created_to", "createdTo", "2026-1-5", DATE),
    ("created_to", "createdTo", "9999-12-31", DATE),
    ("due", "due", "later", "Unknown due filter; use one of overdue, today, week, none."),
    ("sort", "sort", "owner", "Unknown sort; use one of created, updated, due, priority, "
                              "title, status."),
    ("order", "order", "sideways", "Order must be asc or desc."),
    ("page", "page", "0", "Page must be a whole number from 1 to 1000000."),
    ("page", "page", "1.5", "Page must be a whole number from 1 to 1000000."),
    ("per_page", "perPage", "101", "Page size must be from 1 to 100."),
    ("label", "label", "two words", "A label name is 1 to 32 letters, digits, _ or -."),
]


@pytest.mark.parametrize(("field", "page_name", "api_name", "raw", "value"), TASK_VALID)
@pytest.mark.parametrize("spelling", ["page", "api"])
def test_task_parameter_is_read_in_both_spellings(field, page_name, api_name, raw, value,
                                                  spelling):
    name = page_name if spelling == "page" else api_name
    params, errors = TaskListParams.from_args(MultiDict({name: f"  {raw} "}), spelling)
    assert errors == {}
    assert getattr(params, field) == value


@pytest.mark.parametrize(("page_name", "api_name", "raw", "message"), TASK_INVALID)
@pytest.mark.parametrize("spelling", ["page", "api"])
def test_bad_task_parameter_is_left_out_with_its_message(page_name, api_name, raw, message,
                                                         spelling):
    name = page_name if spelling == "page" else api_name
    args = MultiDict([(name, raw), ("priority" if name != "priority" else "status", "low"
                                    if name != "priority" else "pending")])
    filters, errors = task_filters_from_args(args, spelling)
    assert errors == {name: message}
    # The other parameter still counts.
    assert filters.priority == "low" or filters.status == "pending"


def test_each_spelling_reads_only_its_own_names():
    filters, errors = task_filters_from_args({"userId": "3", "perPage": "10"}, "page")
    assert (filters.owner_id, filters.per_page, errors) == (None, 25, {})
    filters, errors = task_filters_from_args({"owner": "3", "per_page": "10"}, "api")
    assert (filters.owner_id, filters.per_page, errors) == (None, 25, {})


def test_every_bad_parameter_is_named_at_once():
    _, errors = task_filters_from_args(
        {"userId": "x", "createdFrom": "soon", "perPage": "0", "status": "pending"}, "api")
    assert list(errors) == ["userId", "createdFrom", "perPage"]


def test_period_end_before_start_names_the_end_in_each_spelling():
    filters, errors = task_filters_from_args(
        {"createdFrom": "2026-03-02", "createdTo": "2026-03-01"}, "api")
    assert errors == {"createdTo": "The end date is before the start date."}
    assert (filters.created_from, filters.created_to) == (date(2026, 3, 2), None)


def test_repeated_labels_are_read_once_each_case_insensitively():
    args = MultiDict([("label", "#Home"), ("label", "home"), ("label", "work"), ("label", "")])
    filters, errors = task_filters_from_args(args, "page")
    assert (filters.labels, errors) == (("Home", "work"), {})
    too_many = MultiDict([("label", f"l{n}") for n in range(11)])
    assert task_filters_from_args(too_many, "api")[1] == {
        "label": "Filter by at most 10 labels."}


def test_url_round_trip_in_the_page_spelling():
    filters = TaskFilters(status="completed", owner_id=4, q="x", created_from=date(2026, 1, 1),
                          labels=("a", "b"), sort="due", order="desc", page=2, per_page=50)
    args = MultiDict()
    for name, value in filters.query_params().items():
        for item in value if isinstance(value, list) else [value]:
            args.add(name, item)
    assert task_filters_from_args(args, "page") == (filters, {})


def test_declaration_gives_the_filter_bar_its_labels_and_choices():
    assert TaskListParams.param("owner_id").label == "Owner"
    assert TaskListParams.names("page")["owner_id"] == "owner"
    assert TaskListParams.names("api")["owner_id"] == "userId"
    assert TaskListParams.choices("status") == [
        ("pending", "Pending"), ("in-progress", "In progress"), ("completed", "Completed")]
    assert ("week", "This week") in TaskListParams.choices("due")


def test_api_query_model_documents_the_api_names_with_enums_and_formats():
    schema = schemas.TaskListQuery.model_json_schema()
    properties = schema["properties"]
    assert {"userId", "createdFrom", "createdTo", "perPage", "label"} <= set(properties)
    assert "owner" not in properties and "per_page" not in properties
    assert properties["userId"]["title"] == "Owner"
    assert properties["createdFrom"]["anyOf"][0]["format"] == "date"
    assert properties["status"]["anyOf"][0]["enum"][:3] == ["pending", "in-progress", "completed"]
    assert properties["perPage"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert properties["label"]["type"] == "array"


def test_api_query_model_reads_through_the_parameter_set():
    model = schemas.TaskListQuery
    assert model.model_validate({"userId": "12", "status": "in_progress"}).params.owner_id == 12
    with pytest.raises(ValidationError) as refused:
        model.model_validate({"userId": "0"})
    assert refused.value.errors()[0]["ctx"]["fields"] == {
        "userId": ["Owner must be a user id (a positive whole number)."]}


# --- The dashboard and /api/analytics ---------------------------------------------------------

@pytest.mark.parametrize(("args", "period", "errors"), [
    ({"start_date": "2026-03-01", "end_date": "2026-03-31"},
     stats.Period(date(2026, 3, 1), date(2026, 3, 31)), {}),
    ({}, stats.Period(), {}),
    ({"start_date": "2026-02-30"}, stats.Period(), {"start_date": DATE}),
    ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, stats.Period(date(2026, 3, 2)),
     {"end_date": "The end date is before the start date."}),
    # The page's names and its preset mean nothing to the API.
    ({"start": "2026-03-01", "period": "7", "user": "2"}, stats.Period(), {}),
])
def test_analytics_period_uses_the_dashboard_rules_under_api_names(args, period, errors):
    assert stats.analytics_period_from_args(args) == (period, errors)


def test_dashboard_declaration_gives_presets_and_api_names():
    assert stats.DashboardParams.choices("period")[0] == ("7", "7 days")
    assert stats.DashboardParams.names("api") == {"start": "start_date", "end": "end_date"}
    schema = schemas.AnalyticsQuery.model_json_schema()
    assert set(schema["properties"]) == {"start_date", "end_date"}


def test_dashboard_query_round_trips_through_its_url():
    query = stats.DashboardQuery(stats.Period(date(2026, 1, 1), None), None, 5)
    assert query.query_params() == {"start": "2026-01-01", "user": "5"}
    assert stats.DashboardQuery(stats.Period(), "30").query_params() == {}
    assert stats.DashboardQuery(stats.Period(), "all").query_params() == {"period": "all"}


# --- The audit page -----------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "expected", "errors"), [
    ({"user": " Alice ", "action": "task.create", "date_from": "2026-01-01", "page": "2"},
     AuditFilters(user="alice", action="task.create", date_from=date(2026, 1, 1), page=2), {}),
    ({"user": "x" * 33}, AuditFilters(), {"user": "Enter a username (at most 32 characters)."}),
    ({"action": "task.explode"}, AuditFilters(), {"action": "Unknown action."}),
    ({"date_to": "tomorrow"}, AuditFilters(), {"date_to": DATE}),
    ({"page": "0", "action": "auth.login"}, AuditFilters(action="auth.login"),
     {"page": "Page must be a whole number from 1 to 1000000."}),
])
def test_audit_parameters(args, expected, errors):
    assert AuditFilters.from_args(args, "page") == (expected, errors)


def test_audit_filters_round_trip_through_their_url():
    filters = AuditFilters(user="bob", action="auth.logout", date_to=date(2026, 5, 1), page=3)
    assert filters.to_args() == {"user": "bob", "action": "auth.logout",
                                 "date_to": "2026-05-01", "page": "3"}
    assert AuditFilters.from_args(filters.to_args()) == (filters, {})
