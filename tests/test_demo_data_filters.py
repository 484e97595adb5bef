"""The demo data (`flask demo seed`): every filter and sort of the list page gives the rows
computed in Python from the same tasks, for a user and for an admin."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import login
from tests.test_task_filters import expected_page_order
from webapp.cli import DEMO_ACCOUNTS
from webapp.extensions import db
from webapp.models import Task, User, utcnow

ROW_ID = re.compile(r'<tr id="task-(\d+)"')


@pytest.fixture
def demo(app):
    with app.app_context():  # `flask` itself pushes one; the test runner does not
        result = app.test_cli_runner().invoke(args=["demo", "seed"])
        assert result.exit_code == 0, result.output
        rows = [dict(id=t.id, title=t.title, status=t.status, priority=t.priority,
                     due_date=t.due_date, created_at=t.created_at, updated_at=t.updated_at,
                     description=t.description, owner=t.owner.username)
                for t in db.session.scalars(sa.select(Task))]
        ids = {u.username: u.id for u in db.session.scalars(sa.select(User))}
    return rows, ids


def demo_user(name: str):
    for username, _, _, password, role in DEMO_ACCOUNTS:
        if username == name:
            return type("Demo", (), {"username": username, "password": password, "role": role})
    raise KeyError(name)


def checks(today):
    monday = today - timedelta(days=today.weekday())
    yield {}, lambda r: True
    for status in ("pending", "in-progress", "completed"):
        yield {"status": status}, lambda r, s=status: r["status"] == s
    for priority in ("low", "medium", "high"):
        yield {"priority": priority}, lambda r, p=priority: r["priority"] == p
    yield {"due": "overdue"}, lambda r: (r["due_date"] is not None and r["due_date"] < today
                                         and r["status"] != "completed")
    yield {"due": "today"}, lambda r: r["due_date"] == today
    yield {"due": "week"}, lambda r: (r["due_date"] is not None
                                      and monday <= r["due_date"] <= monday + timedelta(days=6))
    yield {"due": "none"}, lambda r: r["due_date"] is None
    yield {"q": "THE"}, lambda r: ("the" in r["title"].lower()
                                   or "the" in (r["description"] or "").lower())


@pytest.mark.parametrize("who", ["john", "admin"])
def test_demo_data_every_filter_and_sort_gives_the_right_rows(client, demo, who):
    rows, ids = demo
    assert login(client, demo_user(who)).status_code == 303
    visible = rows if who == "admin" else [r for r in rows if r["owner"] == who]
    for params, predicate in checks(utcnow().date()):
        matching = [r for r in visible if predicate(r)]
        for sort in ("created", "updated", "due", "priority", "title", "status"):
            for order in ("asc", "desc"):
                query = {**params, "sort": sort, "order": order, "per_page": 10}
                expected = expected_page_order(matching, sort, order)
                pages = max(1, -(-len(expected) // 10))
                got = []
                for page in range(1, pages + 1):
                    resp = client.get("/tasks", query_string={**query, "page": page})
                    assert resp.status_code == 200
                    got += [int(n) for n in ROW_ID.findall(resp.get_data(as_text=True))]
                assert got == expected, (who, query)


def test_demo_admin_filters_by_owner(client, demo):
    rows, ids = demo
    login(client, demo_user("admin"))
    resp = client.get("/tasks", query_string={"owner": ids["jane"], "per_page": 100})
    got = {int(n) for n in ROW_ID.findall(resp.get_data(as_text=True))}
    assert got == {r["id"] for r in rows if r["owner"] == "jane"}
