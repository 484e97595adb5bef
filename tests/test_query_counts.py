"""The list page and the dashboard run the same number of SQL statements at 10 and at 200
tasks: every figure is an aggregate query, nothing is loaded row by row (no N+1). The
dashboard's figures share two queries, whatever the number of figures."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tests.conftest import bearer, login
from tests.factories import add_task
from webapp.extensions import db
from webapp.models import Task


@contextmanager
def counted(app):
    """Count the SQL statements sent to the database inside the block."""
    statements: list[str] = []

    def before_cursor_execute(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


def add_tasks(app, owners, total: int) -> None:
    """Tasks spread over owners, statuses, priorities, due dates and the last 60 days."""
    start = datetime.now() - timedelta(days=60)  # noqa: DTZ005 (naive like the columns)
    with app.app_context():
        for n in range(total):
            status = ("pending", "in-progress", "completed")[n % 3]
            created = start + timedelta(hours=7 * n % (24 * 60))
            add_task(owners[n % len(owners)].id, f"Task {n}", created, status,
                     ("low", "medium", "high")[n % 3],
                     due_date=created.date() + timedelta(days=n % 20) if n % 4 else None,
                     completions=(created + timedelta(hours=5),) if status == "completed"
                     else ())
        db.session.commit()
        db.session.remove()


def statement_count(app, client, path: str, headers=None) -> int:
    client.get(path, headers=headers)  # warm up: first-request work is not what is counted
    with counted(app) as statements:
        resp = client.get(path, headers=headers)
    assert resp.status_code == 200
    return len(statements)


PATHS = [
    "/tasks",
    "/tasks?status=completed&sort=due&order=asc&per_page=50",
    "/tasks?q=task&page=2&per_page=5",
    "/dashboard",
    "/dashboard?period=all",
]


@pytest.mark.parametrize("path", PATHS)
def test_user_page_runs_as_many_queries_at_200_tasks_as_at_10(app, user_client, user,
                                                              other_user, path):
    add_tasks(app, [user, other_user], 20)  # 10 of alice's
    at_10 = statement_count(app, user_client, path)
    add_tasks(app, [user, other_user], 380)  # 200 of alice's
    assert statement_count(app, user_client, path) == at_10


@pytest.mark.parametrize("path", [*PATHS, "/dashboard?period=90&user=2", "/admin/users"])
def test_admin_page_runs_as_many_queries_at_200_tasks_as_at_10(app, admin_client, user,
                                                               other_user, path):
    add_tasks(app, [user, other_user], 10)
    at_10 = statement_count(app, admin_client, path)
    add_tasks(app, [user, other_user], 190)
    assert statement_count(app, admin_client, path) == at_10


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard?period=all"])
def test_user_dashboard_runs_three_queries(app, user_client, user, path):
    # The session's user, the headline figures (one row of conditional aggregates) and
    # both per-day series (one UNION ALL): each figure of its own would be 8 statements.
    add_tasks(app, [user], 20)
    assert statement_count(app, user_client, path) <= 3


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard?period=90&user=2"])
def test_admin_dashboard_runs_five_queries(app, admin_client, user, other_user, path):
    # As for a user, plus the per-user table and the user filter's choices.
    add_tasks(app, [user, other_user], 20)
    assert statement_count(app, admin_client, path) <= 5


def test_htmx_list_fragment_runs_a_bounded_number_of_queries(app, user_client, user):
    add_tasks(app, [user], 200)
    assert statement_count(app, user_client, "/tasks?per_page=100",
                           headers={"HX-Request": "true"}) <= 4


@pytest.mark.parametrize("who", ["user", "admin"])
def test_a_list_counts_and_fetches_its_page_in_one_query(app, client, user, other_user, admin,
                                                         who):
    """The total rides along with the page's rows (a scalar subquery counting the matches,
    at most TASKS_TOTAL_BOUND + 1 of them): one query on tasks, for a user's own list and
    an admin's list of every task alike."""
    add_tasks(app, [user, other_user], 60)
    login(client, admin if who == "admin" else user)
    client.get("/tasks", headers={"HX-Request": "true"})
    with counted(app) as statements:
        resp = client.get("/tasks?per_page=10", headers={"HX-Request": "true"})
    assert ("60 tasks" if who == "admin" else "30 tasks") in resp.get_data(as_text=True)
    on_tasks = [s for s in statements if "FROM tasks" in s]
    assert len(on_tasks) == 1 and "count(*)" in on_tasks[0].lower()
    # The session's user, the page with its total, and the labels of the page's rows (one
    # query for all of them, whatever their number).
    assert len(statements) == 3
    assert "task_labels.task_id IN" in statements[2]


def test_api_task_list_runs_the_same_statements_at_200_tasks_as_at_10(app, client, user,
                                                                       make_token):
    """A bearer request: the token and its owner in one joined statement, then the page with
    its total in one more, whatever the number of tasks."""
    headers = bearer(make_token(user))
    client.get("/api/tasks", headers=headers)  # the token's last use is written once a minute
    add_tasks(app, [user], 10)
    few = statement_count(app, client, "/api/tasks?perPage=100", headers)
    add_tasks(app, [user], 190)
    with counted(app) as statements:
        resp = client.get("/api/tasks?perPage=100", headers=headers)
    assert resp.status_code == 200 and len(resp.get_json()["tasks"]) == 100
    assert len(statements) == few <= 2
    token_query = statements[0].lower()
    assert "from api_tokens join users" in token_query


def test_api_single_task_runs_four_statements(app, client, user, make_token):
    """The token with its owner, the task, its label names, its attachment count."""
    headers = bearer(make_token(user))
    add_tasks(app, [user], 20)
    client.get("/api/tasks", headers=headers)
    with app.app_context():
        task_id = db.session.scalar(sa.select(Task.id).limit(1))
    assert statement_count(app, client, f"/api/tasks/{task_id}", headers) == 4


@pytest.mark.parametrize("who", ["user", "admin"])
def test_the_lists_first_page_is_read_from_its_order_index(app, client, user, admin, who,
                                                           database_url):
    """The default order (open first, newest first) is what ix_tasks_open_first and
    ix_tasks_owner_id_open_first hold (migration 0011): with sorting switched off the planner
    must still find a plan, from that index. On a large table it is the plan it chooses
    (an admin's first page at 1,100,000 tasks: 1.6 s sorted, 8 ms from the index)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's EXPLAIN")
    add_tasks(app, [user, admin], 40)
    login(client, admin if who == "admin" else user)
    client.get("/tasks")
    params: list = []

    def keep_parameters(conn, cursor, statement, parameters, *args):
        params.append(parameters)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", keep_parameters)
    try:
        with counted(app) as statements:
            assert client.get("/tasks").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", keep_parameters)
    page_statement, page_params = next((s, p) for s, p in zip(statements, params, strict=False)
                                       if "FROM tasks" in s and "ORDER BY" in s)
    with app.app_context(), db.engine.connect() as conn:
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(
            "EXPLAIN " + page_statement, page_params))
    expected = "ix_tasks_open_first" if who == "admin" else "ix_tasks_owner_id_open_first"
    assert f"Index Scan using {expected} on tasks" in plan, plan
