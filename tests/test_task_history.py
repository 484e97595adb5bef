"""Status history: written by the service on create, edit, complete and reopen; shown on the
task's page; it is what the dashboard's completions are counted from."""

from __future__ import annotations

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import StatusChange, User
from webapp.services import stats
from webapp.services import tasks as task_service


def steps(task_id: int) -> list[tuple]:
    return [(c.old_status, c.new_status, c.changed_by_id) for c in db.session.scalars(
        sa.select(StatusChange).where(StatusChange.task_id == task_id)
        .order_by(StatusChange.changed_at, StatusChange.id))]


def test_service_records_create_edit_complete_and_reopen(ctx, user, admin):
    alice = db.session.get(User, user.id)
    root = db.session.get(User, admin.id)
    task = task_service.create_task(alice, task_service.TaskData(title="Write"))
    task_service.update_task(root, task.id, task_service.TaskData(
        title="Write", status="in-progress"), None)
    task_service.set_completed(alice, task.id, True)
    task_service.set_completed(alice, task.id, True)  # completing twice records nothing new
    task_service.set_completed(alice, task.id, False)
    assert steps(task.id) == [
        (None, "pending", alice.id),
        ("pending", "in-progress", root.id),
        ("in-progress", "completed", alice.id),
        ("completed", "pending", alice.id),
    ]


def test_edit_without_status_change_records_nothing(ctx, user):
    alice = db.session.get(User, user.id)
    task = task_service.create_task(alice, task_service.TaskData(title="Same"))
    task_service.update_task(alice, task.id, task_service.TaskData(title="Renamed"), None)
    assert len(steps(task.id)) == 1


def test_detail_page_shows_the_timeline(user_client, user, make_task):
    task_id = make_task(user, "Timeline")
    user_client.form_post(f"/tasks/{task_id}/complete")
    html = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)
    timeline = html.split('<ol class="timeline">')[1].split("</ol>")[0]
    assert "created as Pending" in timeline
    assert "Pending → Completed" in timeline
    assert "by Alice Example" in timeline


def test_completion_counted_by_the_dashboard_is_the_recorded_one(ctx, user):
    alice = db.session.get(User, user.id)
    task = task_service.create_task(alice, task_service.TaskData(title="Done soon"))
    task_service.set_completed(alice, task.id, True)
    task_service.set_completed(alice, task.id, False)
    task_service.set_completed(alice, task.id, True)
    count, average = stats.completions(alice, stats.Period())
    assert count == 2
    assert average is not None and average < 60
