"""The JSON API's endpoints: shapes, filters, pagination, scoping and bad parameters.
Every answer is also checked against the OpenAPI document (tests/openapi_check.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from tests.conftest import bearer
from tests.openapi_check import checked
from webapp.extensions import db
from webapp.models import Task, utcnow

USER_FIELDS = {"id", "name", "email", "role", "username", "isActive", "createdAt"}
TASK_FIELDS = {
    "id", "title", "status", "userId", "description", "priority", "dueDate", "createdAt",
    "updatedAt", "completedAt", "city", "weather", "repo",
}


@pytest.fixture
def user_token(make_token, user):
    return make_token(user)


@pytest.fixture
def admin_token(make_token, admin):
    return make_token(admin)


@pytest.fixture
def api(client):
    """GET an API path with a token; the answer is checked against the OpenAPI document."""
    def _get(path: str, token: str, **params):
        return checked(client.get(path, query_string=params, headers=bearer(token)))
    return _get


def set_task(app, task_id: int, **values) -> None:
    """Change stored columns directly (creation times, enrichment snapshots)."""
    with app.app_context():
        task = db.session.get(Task, task_id)
        for name, value in values.items():
            setattr(task, name, value)
        db.session.commit()
        db.session.remove()


# --- /api/users ---------------------------------------------------------------------------

def test_user_lists_only_themself(api, user, other_user, user_token):
    resp = api("/api/users", user_token)
    assert resp.status_code == 200
    assert resp.json["count"] == 1
    assert [u["username"] for u in resp.json["users"]] == ["alice"]


def test_admin_lists_every_user(api, user, other_user, admin, admin_token):
    resp = api("/api/users", admin_token)
    assert resp.status_code == 200
    assert resp.json["count"] == 3
    assert {u["username"] for u in resp.json["users"]} == {"alice", "oscar", "root"}


def test_user_object_has_the_seed_field_names(api, user, user_token):
    resp = api(f"/api/users/{user.id}", user_token)
    assert resp.status_code == 200
    assert set(resp.json) == USER_FIELDS
    assert resp.json["name"] == "Alice Example"
    assert resp.json["isActive"] is True and resp.json["role"] == "user"
    assert resp.json["createdAt"].endswith("Z")


def test_user_cannot_see_another_user(api, user, other_user, user_token):
    resp = api(f"/api/users/{other_user.id}", user_token)
    assert resp.status_code == 404
    assert resp.json["code"] == "not_found"


def test_admin_sees_any_user(api, other_user, admin_token):
    resp = api(f"/api/users/{other_user.id}", admin_token)
    assert resp.status_code == 200
    assert resp.json["username"] == "oscar"


def test_absent_user_is_not_found(api, user_token):
    assert api("/api/users/999999", user_token).status_code == 404


# --- /api/tasks ---------------------------------------------------------------------------

def test_user_lists_only_own_tasks(api, user, other_user, make_task, user_token):
    mine = make_task(user, "Mine")
    make_task(other_user, "Theirs")
    resp = api("/api/tasks", user_token)
    assert resp.status_code == 200
    assert [t["id"] for t in resp.json["tasks"]] == [mine]
    assert resp.json["count"] == 1 and resp.json["total"] == 1


def test_admin_lists_every_task(api, user, other_user, make_task, admin_token):
    make_task(user, "Mine")
    make_task(other_user, "Theirs")
    resp = api("/api/tasks", admin_token)
    assert resp.status_code == 200
    assert {t["title"] for t in resp.json["tasks"]} == {"Mine", "Theirs"}


def test_task_object_has_the_seed_field_names(api, user, make_task, user_token):
    task_id = make_task(user, "Report", description="Two pages", priority="high",
                        due_date=date(2030, 1, 31))
    resp = api(f"/api/tasks/{task_id}", user_token)
    assert resp.status_code == 200
    assert TASK_FIELDS <= set(resp.json)
    assert resp.json["userId"] == user.id
    assert resp.json["dueDate"] == "2030-01-31"
    assert resp.json["weather"] is None and resp.json["repo"] is None


def test_task_shows_enrichment_snapshots(app, api, user, make_task, user_token):
    task_id = make_task(user, "Trip")
    fetched = datetime(2026, 3, 1, 12, 0, 0)
    set_task(app, task_id, city="Lisbon", weather={"temperature": 18.5, "condition": "Sunny"},
             weather_status="ok", weather_fetched_at=fetched,
             repo_full_name="pallets/flask", repo_stars=70000, repo_url="https://github.com/pallets/flask",
             repo_status="ok", repo_fetched_at=fetched)
    resp = api(f"/api/tasks/{task_id}", user_token)
    assert resp.status_code == 200
    assert resp.json["weather"]["condition"] == "Sunny" and resp.json["weather"]["status"] == "ok"
    assert resp.json["weather"]["temperature"] == 18.5
    assert resp.json["weather"]["fetchedAt"] == "2026-03-01T12:00:00Z"
    assert resp.json["repo"]["fullName"] == "pallets/flask"
    assert resp.json["repo"]["stars"] == 70000


def test_completed_task_shows_completion_time(api, user, make_task, user_token):
    task_id = make_task(user, "Done", status="completed")
    resp = api(f"/api/tasks/{task_id}", user_token)
    assert resp.json["completedAt"] is not None


@pytest.mark.parametrize("value", ["pending", "in-progress", "in_progress", "completed"])
def test_tasks_filter_by_status(api, user, make_task, user_token, value):
    for status in ("pending", "in-progress", "completed"):
        make_task(user, f"A {status} task", status=status)
    resp = api("/api/tasks", user_token, status=value)
    assert resp.status_code == 200
    assert [t["status"] for t in resp.json["tasks"]] == [value.replace("_", "-")]


def test_admin_filters_tasks_by_user_id(api, user, other_user, make_task, admin_token):
    make_task(user, "Mine")
    make_task(other_user, "Theirs")
    resp = api("/api/tasks", admin_token, userId=other_user.id)
    assert [t["title"] for t in resp.json["tasks"]] == ["Theirs"]


def test_user_filtering_by_another_user_id_gets_nothing(api, user, other_user, make_task,
                                                         user_token):
    make_task(other_user, "Theirs")
    resp = api("/api/tasks", user_token, userId=other_user.id)
    assert resp.status_code == 200
    assert resp.json["tasks"] == [] and resp.json["total"] == 0


def test_tasks_filter_by_priority_and_text(api, user, make_task, user_token):
    make_task(user, "Call the bank", priority="high")
    make_task(user, "Call mum", priority="low")
    make_task(user, "Water plants", priority="high", description="call nobody")
    resp = api("/api/tasks", user_token, priority="high", q="CALL the")
    assert [t["title"] for t in resp.json["tasks"]] == ["Call the bank"]


def test_tasks_filter_by_creation_dates_inclusive(app, api, user, make_task, user_token):
    for day in (1, 2, 3, 4):
        task_id = make_task(user, f"Day {day}")
        set_task(app, task_id, created_at=datetime(2026, 5, day, 23, 59))
    resp = api("/api/tasks", user_token, createdFrom="2026-05-02", createdTo="2026-05-03")
    assert sorted(t["title"] for t in resp.json["tasks"]) == ["Day 2", "Day 3"]


def test_tasks_sort_by_title_ascending(api, user, make_task, user_token):
    for title in ("beta", "Alpha", "gamma"):
        make_task(user, title)
    resp = api("/api/tasks", user_token, sort="title", order="asc")
    assert [t["title"] for t in resp.json["tasks"]] == ["Alpha", "beta", "gamma"]


def test_tasks_pagination_reports_totals(api, user, make_task, user_token):
    for n in range(7):
        make_task(user, f"Task {n}")
    resp = api("/api/tasks", user_token, perPage=3, page=3)
    assert resp.status_code == 200
    body = resp.json
    assert (body["count"], body["total"], body["page"], body["perPage"], body["pages"]) == (
        1, 7, 3, 3, 3)
    assert len(body["tasks"]) == 1


def test_page_past_the_last_is_empty(api, user, make_task, user_token):
    make_task(user, "Only one")
    resp = api("/api/tasks", user_token, page=5)
    assert resp.status_code == 200
    assert resp.json["tasks"] == [] and resp.json["total"] == 1


def test_tasks_list_loads_only_the_rows_of_the_page(app, client, user, make_task, user_token):
    for n in range(30):
        make_task(user, f"Task {n}")
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        resp = client.get("/api/tasks?perPage=5", headers=bearer(user_token))
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert resp.status_code == 200 and resp.json["count"] == 5 and resp.json["total"] == 30
    task_selects = [s for s in statements if "FROM tasks" in s]
    # One query: the page's rows, each carrying the total (a count(*) subquery).
    assert len(task_selects) == 1
    assert "LIMIT" in task_selects[0].upper() and "COUNT(*)" in task_selects[0].upper()
    # token, (last used), page with its total, the page's labels, its attachment counts: a
    # fixed number, no query per task.
    assert len(statements) <= 6


@pytest.mark.parametrize(("params", "name"), [
    ({"status": "done"}, "status"),
    ({"userId": "abc"}, "userId"),
    ({"userId": "-3"}, "userId"),
    ({"userId": "2147483648"}, "userId"),
    ({"page": "0"}, "page"),
    ({"perPage": "101"}, "perPage"),
    ({"priority": "urgent"}, "priority"),
    ({"createdFrom": "2026-13-01"}, "createdFrom"),
    ({"createdTo": "yesterday"}, "createdTo"),
    ({"createdTo": "9999-12-31"}, "createdTo"),
    ({"createdFrom": "2026-05-03", "createdTo": "2026-05-02"}, "createdTo"),
    ({"sort": "colour"}, "sort"),
    ({"order": "up"}, "order"),
    ({"due": "later"}, "due"),
    ({"q": "x" * 201}, "q"),
])
def test_bad_task_parameter_is_refused_naming_it(api, user_token, params, name):
    resp = api("/api/tasks", user_token, **params)
    assert resp.status_code == 400
    assert resp.json["code"] == "invalid_parameter"
    assert list(resp.json["fields"]) == [name]
    assert name in resp.json["error"]


def test_user_cannot_see_another_users_task(api, other_user, make_task, user_token):
    task_id = make_task(other_user, "Theirs")
    resp = api(f"/api/tasks/{task_id}", user_token)
    assert resp.status_code == 404
    assert resp.json == {"error": "Task not found.", "code": "not_found"}


def test_admin_sees_any_task(api, other_user, make_task, admin_token):
    task_id = make_task(other_user, "Theirs")
    assert api(f"/api/tasks/{task_id}", admin_token).json["title"] == "Theirs"


@pytest.mark.parametrize("task_id", ["999999", "0", "99999999999999999999", "-1", "abc"])
def test_absent_task_is_json_not_found(client, user_token, task_id):
    resp = client.get(f"/api/tasks/{task_id}", headers=bearer(user_token))
    assert resp.status_code == 404
    assert resp.is_json and resp.json["code"] == "not_found"


# --- /api/stats and /api/analytics --------------------------------------------------------

def test_user_stats_count_only_own_tasks(api, user, other_user, make_task, user_token):
    make_task(user, "a", status="pending")
    make_task(user, "b", status="in-progress")
    make_task(user, "c", status="completed")
    make_task(user, "d", status="completed")
    make_task(other_user, "e", status="pending")
    resp = api("/api/stats", user_token)
    assert resp.status_code == 200
    assert resp.json == {
        "users": {"total": 1},
        "tasks": {"total": 4, "pending": 1, "inProgress": 1, "completed": 2},
    }


def test_admin_stats_count_everything(api, user, other_user, admin, make_task, admin_token):
    make_task(user, "a")
    make_task(other_user, "b", status="in-progress")
    resp = api("/api/stats", admin_token)
    assert resp.json["users"] == {"total": 3}
    assert resp.json["tasks"] == {"total": 2, "pending": 1, "inProgress": 1, "completed": 0}


@pytest.fixture
def may_tasks(app, user, other_user, make_task):
    """Tasks created on 1, 2 and 3 May 2026 for alice and oscar."""
    made = [
        (user, "pending", 1), (user, "completed", 2), (user, "in-progress", 3),
        (other_user, "pending", 2), (other_user, "pending", 4),
    ]
    for owner, status, day in made:
        task_id = make_task(owner, f"{status} on {day}", status=status)
        set_task(app, task_id, created_at=datetime(2026, 5, day, 12, 0))


def test_admin_analytics_count_the_period_both_days_included(api, may_tasks, admin_token):
    resp = api("/api/analytics", admin_token, start_date="2026-05-02", end_date="2026-05-03")
    assert resp.status_code == 200
    assert resp.json["by_status"] == {"pending": 1, "in-progress": 1, "completed": 1}
    assert resp.json["by_user"] == {"alice": 2, "oscar": 1}


def test_user_analytics_count_only_own_tasks(api, may_tasks, user_token):
    resp = api("/api/analytics", user_token, start_date="2026-05-01", end_date="2026-05-31")
    assert resp.json["by_user"] == {"alice": 3}
    assert sum(resp.json["by_status"].values()) == 3


def test_analytics_without_dates_count_everything(api, may_tasks, admin_token):
    resp = api("/api/analytics", admin_token)
    assert resp.json["by_user"] == {"alice": 3, "oscar": 2}
    assert resp.json["period"] == {"start_date": None, "end_date": None}


@pytest.mark.parametrize(("params", "name"), [
    ({"start_date": "2026-05-03", "end_date": "2026-05-02"}, "end_date"),
    ({"start_date": "05/01/2026"}, "start_date"),
    ({"end_date": "2026-02-30"}, "end_date"),
])
def test_bad_analytics_period_is_refused_naming_it(api, user_token, params, name):
    resp = api("/api/analytics", user_token, **params)
    assert resp.status_code == 400
    assert list(resp.json["fields"]) == [name]


# --- Scripts written for the seed APIs ----------------------------------------------------

def test_seed_api_script_gets_the_same_field_names(api, admin, user, make_task, admin_token):
    make_task(user, "Seeded", status="pending")
    tasks = api("/api/tasks", admin_token, status="pending", userId=user.id).json
    assert {"tasks", "count"} <= set(tasks)
    assert {"id", "title", "status", "userId"} <= set(tasks["tasks"][0])
    stats = api("/api/stats", admin_token).json
    assert set(stats["tasks"]) >= {"total", "pending", "inProgress", "completed"}
    assert {"id", "name", "email", "role"} <= set(api(f"/api/users/{user.id}", admin_token).json)
    today = utcnow().date().isoformat()
    analytics = api("/api/analytics", admin_token, start_date="2020-01-01", end_date=today).json
    assert {"by_status", "by_user"} <= set(analytics)
