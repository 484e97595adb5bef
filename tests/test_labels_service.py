"""Labels in the service layer: the name rule, case-insensitive names per user, tasks
carrying them, and the same name created twice at the same moment."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Label, User
from webapp.services import labels as label_service
from webapp.services import tasks as task_service
from webapp.services.errors import Invalid, NotFound
from webapp.services.tasks import TaskData


def actor(record) -> User:
    return db.session.get(User, record.id)


@pytest.mark.parametrize("name", ["work", "W", "home-office", "q4_goals", "2026", "écoles",
                                  "#work", "x" * 32])
def test_label_names_that_follow_the_rule_are_accepted(ctx, user, name):
    label = label_service.create_label(actor(user), name)
    assert label.name == name.removeprefix("#")


@pytest.mark.parametrize("name", ["", " ", "#", "two words", "dot.name", "x" * 33, "a/b",
                                  "emoji🙂", "semi;colon"])
def test_label_names_that_break_the_rule_are_refused(ctx, user, name):
    with pytest.raises(Invalid) as error:
        label_service.create_label(actor(user), name)
    assert "name" in error.value.field_errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Label)) == 0


def test_label_names_are_case_insensitive_per_user(ctx, user, other_user):
    label_service.create_label(actor(user), "Work")
    with pytest.raises(Invalid) as error:
        label_service.create_label(actor(user), "WORK")
    assert "already have a label" in error.value.field_errors["name"][0]
    # Another user's labels are their own business.
    assert label_service.create_label(actor(other_user), "work").name == "work"


def test_rename_and_recolour_keep_the_label_on_its_tasks(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="t", labels=["work"]))
    label = task.labels[0]
    label_service.update_label(actor(user), label.id, "Office", "green")
    db.session.expire_all()
    task = db.session.get(type(task), task.id)
    assert [(lbl.name, lbl.colour) for lbl in task.labels] == [("Office", "green")]


def test_recolour_outside_the_palette_is_refused(ctx, user):
    label = label_service.create_label(actor(user), "work")
    with pytest.raises(Invalid) as error:
        label_service.update_label(actor(user), label.id, "work", "#ff0000")
    assert "colour" in error.value.field_errors


def test_deleting_a_label_takes_it_off_its_tasks_only(ctx, user):
    task = task_service.create_task(actor(user), TaskData(title="t", labels=["a", "b"]))
    label_service.delete_label(actor(user), task.labels[0].id)
    db.session.expire_all()
    task = db.session.get(type(task), task.id)
    assert [lbl.name for lbl in task.labels] == ["b"]


def test_another_users_label_is_not_found(ctx, user, other_user):
    theirs = label_service.create_label(actor(other_user), "secret")
    with pytest.raises(NotFound):
        label_service.update_label(actor(user), theirs.id, "mine", "blue")
    with pytest.raises(NotFound):
        label_service.delete_label(actor(user), theirs.id)


def test_a_task_only_carries_labels_of_its_owner(ctx, admin, user):
    label_service.create_label(actor(admin), "work")
    task = task_service.create_task(actor(admin), TaskData(title="t", owner_id=user.id,
                                                           labels=["work"]))
    # The name was resolved among the owner's labels (created there), not the admin's.
    assert [lbl.owner_id for lbl in task.labels] == [user.id]


def test_owner_change_moves_the_labels_into_the_new_owners_set(ctx, admin, user, other_user):
    task = task_service.create_task(actor(user), TaskData(title="t", labels=["errands"]))
    moved = task_service.update_task(
        actor(admin), task.id, TaskData(title="t", owner_id=other_user.id), task.version
    )
    assert [(lbl.name, lbl.owner_id) for lbl in moved.labels] == [("errands", other_user.id)]


def test_labels_on_a_task_are_checked_like_every_field(ctx, user):
    with pytest.raises(Invalid) as error:
        task_service.create_task(actor(user), TaskData(title="t", labels=["ok", "not ok"]))
    assert "labels" in error.value.field_errors


def test_the_same_new_label_from_two_requests_at_once_is_created_once(app, user):
    """Two quick adds with #errands released together: one label, both tasks carry it."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def add(title: str) -> None:
        try:
            with app.app_context():
                me = db.session.get(User, user.id)
                barrier.wait()
                task_service.create_task(me, TaskData(title=title, labels=["Errands"]))
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=add, args=(f"task {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    with app.app_context():
        labels = db.session.scalars(sa.select(Label)).all()
        assert [lbl.name for lbl in labels] == ["Errands"]
        count = db.session.execute(sa.text("SELECT count(*) FROM task_labels")).scalar()
        assert count == 2
