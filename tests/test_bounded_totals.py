"""Totals that do not read everything: a list counts its matches up to a bound (exact below
it, marked above it), for a user's own list and an admin's list of every task alike, and the
pager copes without a last page."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tests.conftest import login
from webapp.extensions import db
from webapp.models import Task, User
from webapp.services.task_queries import TaskFilters, paginate_tasks


def insert_tasks(owner_id: int, count: int) -> None:
    start = datetime(2026, 1, 1)
    db.session.execute(sa.insert(Task.__table__), [{
        "title": f"Task {n}", "status": "pending", "priority": "medium", "owner_id": owner_id,
        "version": 1, "created_at": start + timedelta(minutes=n), "updated_at": start,
    } for n in range(count)])
    db.session.commit()


@pytest.fixture
def twelve_each(ctx, user, other_user, admin):
    """12 tasks of alice's, 12 of oscar's; returns alice and the admin."""
    insert_tasks(user.id, 12)
    insert_tasks(other_user.id, 12)
    return db.session.get(User, user.id), db.session.get(User, admin.id)


def page(actor, bound, **filters):
    return paginate_tasks(actor, TaskFilters(per_page=5, **filters), total_bound=bound)


@pytest.mark.parametrize(("who", "matches"), [("alice", 12), ("admin", 24)])
def test_total_is_exact_up_to_the_bound(twelve_each, who, matches):
    actor = twelve_each[0] if who == "alice" else twelve_each[1]
    for bound in (matches, matches + 1, None):
        shown = page(actor, bound)
        assert (shown.total, shown.total_is_estimate, shown.total_or_bound) == (
            matches, False, matches)
        assert shown.pages == -(-matches // 5) and shown.has_next
        assert list(shown.iter_pages()) == list(range(1, shown.pages + 1))


@pytest.mark.parametrize(("who", "matches"), [("alice", 12), ("admin", 24)])
def test_total_beyond_the_bound_is_marked_and_the_pager_still_goes_on(twelve_each, who,
                                                                      matches):
    actor = twelve_each[0] if who == "alice" else twelve_each[1]
    first = page(actor, 10)
    assert (first.total, first.total_is_estimate, first.total_or_bound) == (None, True, 10)
    assert first.pages is None and first.has_next and not first.has_prev
    assert list(first.iter_pages()) == [1, 2] and len(first.items) == 5
    second = page(actor, 10, page=2)
    assert second.total is None and second.has_prev and second.has_next
    assert second.prev_num == 1 and second.next_num == 3
    last_number = -(-matches // 5)
    last = page(actor, 10, page=last_number)  # the last page tells the exact total
    assert (last.total, last.pages, last.has_next) == (matches, last_number, False)
    past = page(actor, 10, page=last_number + 1)
    assert past.items == [] and past.total is None and not past.has_next


def test_filters_narrow_what_is_counted(twelve_each):
    alice, root = twelve_each
    assert page(root, 10, owner_id=alice.id).total is None
    assert page(root, 12, owner_id=alice.id).total == 12
    assert page(alice, 10, q="Task 1").total == 3  # Task 1, 10, 11


def test_the_count_reads_at_most_bound_plus_one_rows(twelve_each, app):
    """The count is over a subquery LIMITed to bound + 1, sent in the page's own query."""
    _, root = twelve_each
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, *args):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page(root, 7)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(sent) == 1
    statement, parameters = sent[0]
    values = parameters.values() if isinstance(parameters, dict) else parameters
    assert "count(*)" in statement.lower() and statement.upper().count("LIMIT") == 2
    assert 8 in values  # the bound + 1


def test_list_page_says_beyond_the_bound_and_offers_next_and_previous(
        app, client, user, other_user, admin, monkeypatch):
    with app.app_context():
        insert_tasks(user.id, 12)
        insert_tasks(other_user.id, 12)
    monkeypatch.setitem(app.config, "TASKS_TOTAL_BOUND", 10)
    login(client, user)
    first = client.get("/tasks?per_page=5").get_data(as_text=True)
    assert "10+ tasks" in first and "Page 1<" in first and "Page 1 of" not in first
    assert 'rel="next"' in first and "Last »" not in first
    second = client.get("/tasks?per_page=5&page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and 'rel="next"' in second and "10+ tasks" in second
    last = client.get("/tasks?per_page=5&page=3").get_data(as_text=True)
    assert "12 tasks" in last and "Page 3 of 3" in last
    past = client.get("/tasks?per_page=5&page=9").get_data(as_text=True)
    assert "Page 9 is past the end; showing page 1." in past and "10+ tasks" in past
    monkeypatch.setitem(app.config, "TASKS_TOTAL_BOUND", 100)
    exact = client.get("/tasks?per_page=5").get_data(as_text=True)
    assert "12 tasks" in exact and "Page 1 of 3" in exact and "Last »" in exact


def test_admin_list_at_the_default_bound_says_10000_plus(app, admin_client, user):
    with app.app_context():
        insert_tasks(user.id, 10_001)
    html = admin_client.get("/tasks", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "10,000+ tasks" in html
