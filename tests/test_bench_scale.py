"""The scale series' data loader (bench/scale.py, PostgreSQL only): rows made by
`INSERT ... SELECT FROM generate_series` must be tasks the app reads like its own, or the
benchmark measures something else: owners, history, search columns and rebuilt indexes."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from bench import scale
from webapp.extensions import db
from webapp.models import StatusChange, Task, User, fold_for_search
from webapp.services.task_queries import TaskFilters, paginate_tasks


@pytest.fixture
def postgres_app(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("bench/scale.py loads PostgreSQL only")
    return app


def test_loaded_tasks_read_like_the_apps_own(postgres_app, monkeypatch):
    monkeypatch.setattr(scale, "REBUILD_INDEXES_FROM", 100)  # small data, same rebuild path
    now = datetime(2026, 11, 30, 12, 0)
    with postgres_app.app_context():
        with db.engine.begin() as conn:
            indexes_before = index_definitions(conn)
            ids = scale.add_users(conn, scale.bulk_names(1, 3), "not-a-hash", now)
            added = scale.add_tasks(conn, min(ids), max(ids), 60, now)
        assert added == 180
        with db.engine.connect() as conn:
            assert index_definitions(conn) == indexes_before  # dropped and built again
        owner = db.session.get(User, ids[0])
        page = paginate_tasks(owner, TaskFilters(per_page=100))
        assert page.total == 60 and {t.owner_id for t in page.items} == {owner.id}
        tasks = db.session.scalars(sa.select(Task)).all()
        for task in tasks:
            assert (task.completed_at is not None) == (task.status == "completed")
            assert task.version == (2 if task.completed_at else 1)
            assert task.created_at <= now and task.updated_at >= task.created_at
        changes = db.session.scalar(sa.select(sa.func.count()).select_from(StatusChange))
        assert changes == len(tasks) + sum(t.status == "completed" for t in tasks)
        # The search columns hold what the app would have written, so searches find them.
        folded = {t.id: (t.title, t.description) for t in tasks}
        expected = {i for i, (title, text) in folded.items()
                    if "report" in fold_for_search(title) or
                    "report" in fold_for_search(text or "")}
        assert expected, "the vocabulary has a report (and the seed is fixed)"
        for owner_id in ids:
            owner = db.session.get(User, owner_id)
            own = {t.id for t in tasks if t.owner_id == owner_id}
            found = paginate_tasks(owner, TaskFilters(q="Report", per_page=100))
            assert {t.id for t in found.items} == expected & own


def index_definitions(conn) -> set[str]:
    return set(conn.scalars(sa.text(
        "SELECT indexdef FROM pg_indexes WHERE tablename IN ('tasks', 'status_changes')")))
