"""Every committed task change publishes one event, whoever makes it; nothing is published
for a change that is rolled back. Events carry ids and versions, never content."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import login
from webapp.extensions import db
from webapp.live.events import ACCESS_CHANGED, TaskChange, event_type
from webapp.live.streams import Viewer, event_type_for
from webapp.models import Task, User, utcnow
from webapp.services import enrichment
from webapp.services import tasks as task_service
from webapp.services import tokens as token_service
from webapp.services import users as user_service
from webapp.services.errors import Conflict, Invalid


@pytest.fixture
def published(app):
    """The events published from now on: call it to read them (oldest first)."""
    bus = app.extensions["taskdeck_live"].bus
    start = bus.position()

    def read(kind: str = "task"):
        events = bus.history(start).events
        if kind == "task":
            return [e for e in events if e.is_task_event]
        return [e for e in events if e.type == ACCESS_CHANGED]

    return read


def actor(user_id: int) -> User:
    return db.session.get(User, user_id)


def test_each_service_change_publishes_one_event_with_owner_and_version(ctx, user, published):
    me = actor(user.id)
    task = task_service.create_task(me, task_service.TaskData(title="Write tests"))
    task_service.update_task(me, task.id, task_service.TaskData(title="Write more tests"), 1)
    task_service.set_completed(me, task.id, True)
    task_service.set_completed(me, task.id, True)  # completing twice changes nothing
    task_service.set_completed(me, task.id, False)
    task_service.delete_task(me, task.id)

    events = published()

    assert [(e.type, e.task_id, e.owner_id, e.version) for e in events] == [
        ("task.created", task.id, user.id, 1),
        ("task.updated", task.id, user.id, 2),
        ("task.completed", task.id, user.id, 3),
        ("task.reopened", task.id, user.id, 4),
        ("task.deleted", task.id, user.id, 5),  # to the bin: an update of the row
    ]
    assert all(e.id and e.time > 0 for e in events)
    assert "Write" not in "".join(e.to_json() for e in events)  # no content travels


def test_completing_through_an_edit_is_only_task_completed(ctx, user, published):
    me = actor(user.id)
    task = task_service.create_task(me, task_service.TaskData(title="Edit me"))

    task_service.update_task(
        me, task.id, task_service.TaskData(title="Edited and done", status="completed"), 1)

    assert [e.type for e in published()] == ["task.created", "task.completed"]


def test_refused_edits_publish_nothing(ctx, user, published):
    me = actor(user.id)
    task = task_service.create_task(me, task_service.TaskData(title="Keep me"))
    with pytest.raises(Invalid):
        task_service.update_task(me, task.id, task_service.TaskData(title=" "), 1)
    with pytest.raises(Conflict):
        task_service.update_task(me, task.id, task_service.TaskData(title="Stale"), 7)

    assert [e.type for e in published()] == ["task.created"]


def test_a_rolled_back_flush_is_never_announced(ctx, user, published):
    task = Task(title="Never committed", owner_id=user.id)
    db.session.add(task)
    db.session.flush()
    task.status = "completed"
    db.session.flush()
    db.session.rollback()

    assert published() == []


def test_reassignment_is_announced_to_both_owners(ctx, user, other_user, admin, published):
    mine = task_service.create_task(actor(user.id), task_service.TaskData(title="Hand over"))

    task_service.update_task(actor(admin.id), mine.id, task_service.TaskData(
        title="Hand over", owner_id=other_user.id), 1)

    event = published()[-1]
    assert (event.type, event.owner_id, event.owner_ids) == (
        "task.updated", other_user.id, (user.id, other_user.id))
    # The former owner learns only that it left their view; the new owner sees the change;
    # anyone else hears nothing.
    assert event_type_for(Viewer(user.id, "user"), event) == "task.deleted"
    assert event_type_for(Viewer(other_user.id, "user"), event) == "task.updated"
    assert event_type_for(Viewer(admin.id, "admin"), event) == "task.updated"
    assert event_type_for(Viewer(999, "user"), event) is None


def test_an_enrichment_snapshot_stored_with_a_core_update_is_announced(ctx, user, published):
    task = task_service.create_task(actor(user.id), task_service.TaskData(
        title="Weather", city="Oslo"))

    stored = enrichment.store_snapshot(task.id, "weather", "Oslo", {
        "weather": {"temperature": 3}, "weather_status": "ok", "weather_error": None,
        "weather_fetched_at": None,
    })

    assert stored is True
    assert [(e.type, e.task_id, e.version) for e in published()] == [
        ("task.created", task.id, 1), ("task.updated", task.id, 1)]  # a snapshot is no edit


def test_a_core_update_that_matches_nothing_announces_nothing(ctx, user, published):
    task = task_service.create_task(actor(user.id), task_service.TaskData(title="x", city="A"))

    assert enrichment.store_snapshot(task.id, "weather", "Elsewhere", {}) is False

    assert [e.type for e in published()] == ["task.created"]


def test_core_statements_on_tasks_are_announced_whoever_writes_them(ctx, user, published):
    me = actor(user.id)
    ids = [task_service.create_task(me, task_service.TaskData(title=f"t{n}")).id
           for n in range(3)]

    db.session.execute(sa.update(Task).where(Task.id.in_(ids[:2])).values(status="completed"))
    db.session.execute(sa.delete(Task).where(Task.id == ids[2]))
    db.session.commit()

    assert [(e.type, e.task_id) for e in published()][3:] == [
        ("task.completed", ids[0]), ("task.completed", ids[1]), ("task.deleted", ids[2])]


def test_pages_and_htmx_fragments_publish(client, user, published):
    login(client, user)
    client.form_post("/tasks", {"title": "From the page", "status": "pending",
                                "priority": "low"})
    task_id = published()[-1].task_id
    client.form_post(f"/tasks/{task_id}/complete", htmx=True)
    client.form_post(f"/tasks/{task_id}/delete", htmx=True)

    assert [e.type for e in published()] == ["task.created", "task.completed", "task.deleted"]


def test_the_cli_publishes(app, user, published):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])

    assert result.exit_code == 0, result.output
    types = {e.type for e in published()}
    assert {"task.created", "task.completed"} <= types


def test_access_changes_are_announced(ctx, user, admin, published):
    me = actor(user.id)
    token, _ = token_service.create_token(me, "script")
    user_service.log_out(me)
    token_service.revoke_token(actor(user.id), token.id)
    user_service.set_active(actor(admin.id), user.id, False)

    assert [(e.user_id, e.token_id) for e in published("access")] == [
        (user.id, None), (user.id, token.id), (user.id, None)]


def test_delete_undo_and_purge_are_announced_once(ctx, user, published):
    """Deleting moves a task to the bin (task.deleted), Undo brings it back (task.created),
    and purging it from the bin later announces nothing more."""
    me = actor(user.id)
    task = task_service.create_task(me, task_service.TaskData(title="Bin me"))
    task_service.delete_task(me, task.id)
    task_service.restore_task(actor(user.id), task.id)
    task_service.delete_task(actor(user.id), task.id)
    purged = task_service.purge_deleted_tasks(now=utcnow() + timedelta(days=365))

    assert purged == 1
    assert [e.type for e in published()] == [
        "task.created", "task.deleted", "task.created", "task.deleted"]


def test_event_type_rules_are_a_list_to_extend():
    """How another way for a task to come or go would plug in: a rule in the list."""
    from webapp.live import events

    change = TaskChange(7)
    change.record({"archived_at": None, "status": "pending"},
                  {"archived_at": "2026-01-01", "status": "pending"})
    assert event_type(change) == "task.updated"
    original = events.EVENT_RULES
    events.EVENT_RULES = [(lambda c: c.was_set("archived_at"), "task.deleted"), *original]
    try:
        assert event_type(change) == "task.deleted"
    finally:
        events.EVENT_RULES = original
