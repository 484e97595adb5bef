"""Migration 0007: existing tasks are folded and indexed for search; on SQLite the FTS5
table's triggers exist at the head (a later migration that rebuilds `tasks` drops them)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.test_migration_0002 import insert_task
from webapp.extensions import db
from webapp.models import User, fold_for_search
from webapp.services.task_queries import TaskFilters, filtered_tasks

SQLITE_TRIGGERS = {"tasks_search_after_insert", "tasks_search_after_delete",
                   "tasks_search_after_update"}


@pytest.fixture
def at_0003(ctx):
    downgrade(revision="0003")
    try:
        yield
    finally:
        db.session.rollback()
        upgrade()


def test_upgrade_folds_and_indexes_the_tasks_already_there(user, at_0003):
    titles = ["Straße fegen", "ÉCOLE anrufen", "plain words"]
    ids = [insert_task(user.id, title, "pending", datetime(2026, 1, 1)) for title in titles]
    db.session.commit()
    upgrade()
    stored = dict(db.session.execute(sa.text("SELECT id, search_title FROM tasks")).all())
    assert stored == {i: fold_for_search(t) for i, t in zip(ids, titles, strict=True)}
    alice = db.session.get(User, user.id)
    for q, expected in (("STRASSE", ids[0]), ("école", ids[1]), ("É", ids[1])):
        found = [task.id for task in db.session.scalars(filtered_tasks(alice, TaskFilters(q=q)))]
        assert found == [expected]


def test_sqlite_search_triggers_exist_at_the_head(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 table and its triggers are SQLite's")
    names = set(db.session.scalars(sa.text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks'")))
    assert names >= SQLITE_TRIGGERS
