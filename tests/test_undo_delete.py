"""Delete with Undo: a deleted task leaves every list, page, figure and API answer at once;
Undo brings it back with its history, labels and enrichment snapshot; the purge removes it
for good after DELETED_RETENTION."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.conftest import bearer
from webapp.extensions import db
from webapp.models import AuditEvent, StatusChange, Task, User, utcnow
from webapp.services import tasks as task_service
from webapp.services.tasks import DELETED_RETENTION, TaskData


def make_rich_task(app, owner) -> int:
    """A task with labels, a completed-then-reopened history and a weather snapshot."""
    with app.app_context():
        actor = db.session.get(User, owner.id)
        task = task_service.create_task(actor, TaskData(title="Rich task", city="Oslo",
                                                        labels=["work", "q4"]))
        task_service.set_completed(actor, task.id, True)
        task_service.set_completed(actor, task.id, False)
        task = db.session.get(Task, task.id)
        task.weather = {"temperature": 3, "unit": "°C", "condition": "Snow", "location": "Oslo"}
        task.weather_status, task.weather_fetched_at = "ok", utcnow()
        db.session.commit()
        task_id = task.id
        db.session.remove()
    return task_id


def snapshot(app, task_id: int) -> dict:
    with app.app_context():
        task = db.session.get(Task, task_id)
        history = db.session.scalar(sa.select(sa.func.count()).select_from(StatusChange)
                                    .where(StatusChange.task_id == task_id))
        return {"labels": [lbl.name for lbl in task.labels], "history": history,
                "weather": task.weather, "deleted": task.deleted_at is not None}


def test_htmx_delete_removes_the_row_and_offers_undo(app, user_client, user):
    task_id = make_rich_task(app, user)
    resp = user_client.form_post(f"/tasks/{task_id}/delete", htmx=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f'<tr id="task-{task_id}"' not in html  # the row's swap is empty
    assert 'id="undo"' in html and 'hx-swap-oob="true"' in html
    assert "Deleted “Rich task”." in html and f"/tasks/{task_id}/restore" in html


def test_deleted_task_is_gone_everywhere_at_once(app, user_client, user, make_token):
    task_id = make_rich_task(app, user)
    token = make_token(user)
    user_client.form_post(f"/tasks/{task_id}/delete", htmx=True)
    assert f'id="task-{task_id}"' not in user_client.get("/tasks").get_data(as_text=True)
    assert f'id="card-{task_id}"' not in user_client.get("/tasks/board").get_data(as_text=True)
    for path in (f"/tasks/{task_id}", f"/tasks/{task_id}/edit", f"/tasks/{task_id}/row"):
        assert user_client.get(path).status_code == 404, path
    assert user_client.form_post(f"/tasks/{task_id}/complete").status_code == 404
    assert user_client.form_post(f"/tasks/{task_id}/reopen").status_code == 404
    assert user_client.get(f"/api/tasks/{task_id}", headers=bearer(token)).status_code == 404
    api = user_client.get("/api/tasks", headers=bearer(token)).json
    assert api["total"] == 0
    assert user_client.get("/api/stats", headers=bearer(token)).json["tasks"]["total"] == 0
    assert 'id="stat-total">0<' in user_client.get("/dashboard?period=all").get_data(as_text=True)
    assert "Rich task" not in user_client.get("/tasks/export.csv").get_data(as_text=True)


def test_undo_brings_the_task_back_with_history_labels_and_snapshot(app, user_client, user):
    task_id = make_rich_task(app, user)
    before = snapshot(app, task_id)
    user_client.form_post(f"/tasks/{task_id}/delete", htmx=True)
    assert snapshot(app, task_id)["deleted"]
    resp = user_client.form_post(f"/tasks/{task_id}/restore", htmx=True)
    assert resp.status_code == 200
    assert "taskdeck:restored" in resp.headers["HX-Trigger"]
    assert "Restored “Rich task”." in resp.get_data(as_text=True)
    assert snapshot(app, task_id) == before
    assert f'id="task-{task_id}"' in user_client.get("/tasks").get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.target_id == str(task_id)).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["task.delete", "task.restore"]


def test_delete_without_javascript_keeps_the_confirm_page_then_offers_undo(app, user_client,
                                                                           user, make_task):
    task_id = make_task(user, "Plain delete")
    assert "will be deleted" in user_client.get(f"/tasks/{task_id}/delete").get_data(
        as_text=True)
    resp = user_client.form_post(f"/tasks/{task_id}/delete", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Deleted “Plain delete”." in html and f'action="/tasks/{task_id}/restore"' in html
    resp = user_client.form_post(f"/tasks/{task_id}/restore")
    assert resp.status_code == 303
    assert user_client.get(f"/tasks/{task_id}").status_code == 200


def test_undo_of_another_users_task_is_404(app, user_client, other_user, make_task):
    theirs = make_task(other_user, "Oscar's")
    with app.app_context():
        task_service.delete_task(db.session.get(User, other_user.id), theirs)
    assert user_client.form_post(f"/tasks/{theirs}/restore").status_code == 404
    assert snapshot(app, theirs)["deleted"]


def test_undo_of_a_task_not_deleted_is_404(user_client, user, make_task):
    task_id = make_task(user, "Alive")
    assert user_client.form_post(f"/tasks/{task_id}/restore").status_code == 404


def test_purge_removes_only_tasks_deleted_long_enough_ago(app, user, make_task):
    old, recent, restored = (make_task(user, t) for t in ("old", "recent", "restored"))
    with app.app_context():
        actor = db.session.get(User, user.id)
        for task_id in (old, recent, restored):
            task_service.delete_task(actor, task_id)
        task_service.restore_task(actor, restored)
        db.session.execute(sa.update(Task).where(Task.id == old).values(
            deleted_at=utcnow() - DELETED_RETENTION - timedelta(hours=1)))
        db.session.commit()
        assert task_service.purge_deleted_tasks() == 1
        remaining = set(db.session.scalars(sa.select(Task.id)))
        assert remaining == {recent, restored}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusChange).where(
            StatusChange.task_id == old)) == 0


def test_purge_command_reports_what_it_removed(app, user, make_task):
    task_id = make_task(user, "expired")
    with app.app_context():
        task_service.delete_task(db.session.get(User, user.id), task_id)
        db.session.execute(sa.update(Task).values(deleted_at=utcnow() - timedelta(days=30)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["tasks", "purge"])
    assert result.exit_code == 0 and "Purged 1 deleted task" in result.output
