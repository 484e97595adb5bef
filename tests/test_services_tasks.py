"""Task services without HTTP: rules for creating, editing, completing and deleting."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import StatusChange, Task, User, utcnow
from webapp.services import tasks as task_service
from webapp.services.errors import Conflict, Forbidden, Invalid, NotFound
from webapp.services.tasks import TaskData


def actor(record) -> User:
    return db.session.get(User, record.id)


def test_user_creates_task_with_defaults_and_history(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="  Water the plants  "))
    assert task.title == "Water the plants"
    assert (task.status, task.priority, task.owner_id, task.version) == (
        "pending", "medium", user.id, 1)
    changes = task_service.task_history(task)
    assert [(c.old_status, c.new_status) for c in changes] == [(None, "pending")]


# Zero-width space, zero-width joiners, a Hangul filler, a right-to-left override and a soft
# hyphen: each is "not empty" to strip(), and each draws nothing.
@pytest.mark.parametrize("title", ["", "   ", "x" * 101, "\u200b", "\u200b\u200d \u2060",
                                   "\u3164", "\u202e\u202c", "\u00ad\ufeff"])
def test_user_cannot_create_task_with_bad_title(ctx, user, title):
    with pytest.raises(Invalid) as error:
        task_service.create_task(actor(user), TaskData(title=title))
    assert "title" in error.value.field_errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


def test_title_of_exactly_100_characters_is_accepted(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="y" * 100))
    assert len(task.title) == 100


@pytest.mark.parametrize("field,value", [("status", "done"), ("priority", "urgent")])
def test_user_cannot_use_unknown_choice(ctx, user, field, value):
    with pytest.raises(Invalid) as error:
        task_service.create_task(actor(user), TaskData(title="t", **{field: value}))
    assert field in error.value.field_errors


def test_description_longer_than_10000_is_refused(ctx, user):
    with pytest.raises(Invalid) as error:
        task_service.create_task(actor(user), TaskData(title="t", description="d" * 10_001))
    assert "description" in error.value.field_errors


def test_completing_sets_completed_at_and_completing_again_keeps_first_time(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="t"))
    first = task_service.set_completed(actor(user), task.id, True).completed_at
    assert first is not None
    again = task_service.set_completed(actor(user), task.id, True)
    assert again.completed_at == first
    assert again.status == "completed"


def test_reopening_clears_completed_at_and_records_history(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="t"))
    task_service.set_completed(actor(user), task.id, True)
    reopened = task_service.set_completed(actor(user), task.id, False)
    assert reopened.status == "pending" and reopened.completed_at is None
    steps = [(c.old_status, c.new_status) for c in task_service.task_history(reopened)]
    assert steps == [(None, "pending"), ("pending", "completed"), ("completed", "pending")]


def test_edit_to_completed_sets_completed_at_and_bumps_version(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="t"))
    edited = task_service.update_task(
        actor(user), task.id, TaskData(title="t2", status="completed"), expected_version=1
    )
    assert edited.completed_at is not None
    assert edited.version == 2


def test_an_edit_that_changes_nothing_keeps_the_version_and_the_search_text(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="Café", description="Noted"))
    db.session.expire_all()  # as in a new request: nothing loaded, the search columns deferred

    same = task_service.update_task(actor(user), task.id,
                                    TaskData(title="Café", description="Noted"), 1)

    assert same.version == 1
    renamed = task_service.update_task(actor(user), task.id,
                                       TaskData(title="CAFÉ au lait", description="Noted"), 1)
    assert renamed.version == 2
    found = db.session.scalars(sa.select(Task.id).where(Task.search_title == "café au lait"))
    assert list(found) == [task.id]


def test_stale_edit_is_refused_and_changes_nothing(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="original"))
    task_service.update_task(actor(user), task.id, TaskData(title="newer"), expected_version=1)
    with pytest.raises(Conflict) as error:
        task_service.update_task(actor(user), task.id, TaskData(title="stale"), expected_version=1)
    assert error.value.current.title == "newer"
    db.session.expire_all()
    assert db.session.get(Task, task.id).title == "newer"


def test_user_cannot_see_others_task(ctx, user, other_user):
    task = task_service.create_task(actor(other_user), TaskData(title="private"))
    with pytest.raises(NotFound):
        task_service.get_task_for(actor(user), task.id)
    with pytest.raises(NotFound):
        task_service.delete_task(actor(user), task.id)


def test_user_cannot_give_task_to_someone_else(ctx, user, other_user):
    with pytest.raises(Forbidden):
        task_service.create_task(actor(user), TaskData(title="t", owner_id=other_user.id))


def test_admin_creates_task_for_another_user(ctx, admin, user):
    task = task_service.create_task(actor(admin), TaskData(title="t", owner_id=user.id))
    assert task.owner_id == user.id


def test_admin_cannot_give_task_to_inactive_user(ctx, admin, make_user):
    gone = make_user("gone", active=False)
    with pytest.raises(Invalid) as error:
        task_service.create_task(actor(admin), TaskData(title="t", owner_id=gone.id))
    assert "owner_id" in error.value.field_errors


def test_visible_tasks_are_scoped_to_owner_unless_admin(ctx, user, other_user, admin):
    task_service.create_task(actor(user), TaskData(title="mine"))
    task_service.create_task(actor(other_user), TaskData(title="theirs"))
    mine = db.session.scalars(task_service.tasks_visible_to(actor(user))).all()
    everything = db.session.scalars(task_service.tasks_visible_to(actor(admin))).all()
    assert [t.title for t in mine] == ["mine"]
    assert sorted(t.title for t in everything) == ["mine", "theirs"]


def test_purging_a_deleted_task_removes_its_history(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="t"))
    task_service.delete_task(actor(user), task.id)
    # In the bin the history stays (Undo brings it back); the purge takes it with the task.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusChange)) == 1
    later = utcnow() + task_service.DELETED_RETENTION + timedelta(minutes=1)
    assert task_service.purge_deleted_tasks(now=later) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatusChange)) == 0


@pytest.mark.parametrize("title", ["\u05e9\u05dc\u05d5\u05dd", "\u200bx", "\u2764\ufe0f",
                                   "\u0644\u200f"])
def test_title_with_a_visible_character_is_accepted(ctx, user, title):
    task = task_service.create_task(actor(user), TaskData(title=title))
    assert task.title == title
