"""Migration 0002: the indexes exist, and tasks without a status history get one."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from webapp.extensions import db

NEW_INDEXES = {
    "tasks": {"ix_tasks_owner_id_created_at", "ix_tasks_owner_id_status",
              "ix_tasks_owner_id_due_date", "ix_tasks_created_at", "ix_tasks_due_date"},
    "status_changes": {"ix_status_changes_new_status_changed_at"},
}


def index_names(table: str) -> set[str]:
    return {ix["name"] for ix in sa.inspect(db.engine).get_indexes(table)}


def history(task_id: int) -> list[tuple]:
    query = sa.text(
        "SELECT old_status, new_status, changed_by_id, changed_at FROM status_changes "
        "WHERE task_id = :id ORDER BY changed_at, id"
    ).columns(old_status=sa.String, new_status=sa.String, changed_by_id=sa.Integer,
              changed_at=sa.DateTime)
    return [tuple(row) for row in db.session.execute(query, {"id": task_id})]


def insert_task(owner_id: int, title: str, status: str, created_at: datetime,
                completed_at: datetime | None = None) -> int:
    # Typed parameters, so timestamps are stored exactly as the models store them.
    query = sa.text(
        "INSERT INTO tasks (title, status, priority, owner_id, version, created_at, updated_at,"
        " completed_at) VALUES (:title, :status, 'medium', :owner, 1, :created, :created,"
        " :completed) RETURNING id"
    ).bindparams(sa.bindparam("created", type_=sa.DateTime),
                 sa.bindparam("completed", type_=sa.DateTime))
    values = {"title": title, "status": status, "owner": owner_id, "created": created_at,
              "completed": completed_at}
    return db.session.execute(query, values).scalar_one()


@pytest.fixture
def at_0001(ctx):
    """The database downgraded to 0001 for the test, and back at the head afterwards."""
    downgrade(revision="0001")
    try:
        yield
    finally:
        db.session.rollback()
        upgrade()


def test_upgrade_creates_the_filter_and_dashboard_indexes(ctx):
    for table, names in NEW_INDEXES.items():
        assert names <= index_names(table)


def test_downgrade_drops_the_indexes(at_0001):
    for table, names in NEW_INDEXES.items():
        assert not names & index_names(table)


def test_upgrade_backfills_history_of_tasks_without_one(user, at_0001):
    created = datetime(2026, 3, 1, 9, 30)
    done = datetime(2026, 3, 4, 17, 0)
    open_id = insert_task(user.id, "open", "in-progress", created)
    done_id = insert_task(user.id, "done", "completed", created, done)
    born_done_id = insert_task(user.id, "born done", "completed", created, created)
    no_time_id = insert_task(user.id, "no completion time", "completed", created)
    kept_id = insert_task(user.id, "has history", "pending", created)
    db.session.execute(sa.text(
        "INSERT INTO status_changes (task_id, old_status, new_status, changed_by_id, changed_at)"
        " VALUES (:id, NULL, 'pending', :user, :at)"
    ).bindparams(sa.bindparam("at", type_=sa.DateTime)),
        {"id": kept_id, "user": user.id, "at": created})
    db.session.commit()

    upgrade()

    assert history(open_id) == [(None, "in-progress", None, created)]
    assert history(done_id) == [(None, "pending", None, created),
                                ("pending", "completed", None, done)]
    assert history(born_done_id) == [(None, "completed", None, created)]
    assert history(no_time_id) == [(None, "completed", None, created)]
    assert history(kept_id) == [(None, "pending", user.id, created)]


def test_backfill_feeds_the_dashboard_completions(user, at_0001):
    from webapp.models import User
    from webapp.services.stats import Period, completions

    insert_task(user.id, "done", "completed", datetime(2026, 3, 1), datetime(2026, 3, 3))
    db.session.commit()
    upgrade()
    alice = db.session.get(User, user.id)
    count, average = completions(alice, Period(datetime(2026, 3, 1).date(), None))
    assert count == 1
    assert average == pytest.approx(2 * 86400, abs=1)
