"""`flask demo bulk`: many users with realistic tasks, inserted in bulk."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa

from webapp.cli import BULK_PASSWORD
from webapp.extensions import db
from webapp.models import StatusChange, Task, User

from .conftest import login


def run_bulk(app, *args: str):
    result = app.test_cli_runner().invoke(args=["demo", "bulk", *args])
    assert result.exit_code == 0, result.output
    return result


def test_bulk_creates_users_with_their_tasks(app, ctx):
    run_bulk(app, "--users", "3", "--tasks-per-user", "20")

    per_owner = db.session.execute(
        sa.select(Task.owner_id, sa.func.count()).group_by(Task.owner_id)
    ).all()
    assert sorted(n for _, n in per_owner) == [20, 20, 20]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 3


def test_bulk_status_changes_match_each_task(app, ctx):
    run_bulk(app, "--users", "2", "--tasks-per-user", "50")

    for task in db.session.scalars(sa.select(Task)):
        changes = db.session.scalars(
            sa.select(StatusChange).where(StatusChange.task_id == task.id)
            .order_by(StatusChange.changed_at)
        ).all()
        assert changes[0].old_status is None and changes[0].changed_at == task.created_at
        if task.status == "completed":
            assert [c.new_status for c in changes] == ["pending", "completed"]
            assert changes[1].changed_at == task.completed_at >= task.created_at
        else:
            assert [c.new_status for c in changes] == [task.status]
            assert task.completed_at is None


def test_bulk_user_logs_in_with_the_shared_password(app, client, ctx):
    run_bulk(app, "--users", "2", "--tasks-per-user", "1")
    bulk_user = SimpleNamespace(username="bulk000002", password=BULK_PASSWORD)

    assert login(client, bulk_user).status_code == 303


def test_bulk_run_twice_adds_users_and_new_tasks_still_get_ids(app, make_task, ctx):
    run_bulk(app, "--users", "2", "--tasks-per-user", "5")
    result = run_bulk(app, "--users", "1", "--tasks-per-user", "5")
    owner = db.session.scalar(sa.select(User).where(User.username == "bulk000003"))

    task_id = make_task(owner, "Made after the bulk load")

    assert "bulk000003" in result.output
    assert task_id > max(db.session.scalars(sa.select(Task.id).where(Task.id != task_id)))
