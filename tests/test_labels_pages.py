"""Labels in pages: the Labels page, the task form, the list's `label` filter (repeatable,
every label required) and isolation between users: another user's label is never shown,
usable or found (404)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import login
from webapp.extensions import db
from webapp.models import Label, Task, User
from webapp.services import tasks as task_service
from webapp.services.tasks import TaskData

ROW_ID = re.compile(r'<tr id="task-(\d+)"')


def add(app, owner, title: str, labels: list[str], **values) -> int:
    with app.app_context():
        task = task_service.create_task(db.session.get(User, owner.id),
                                        TaskData(title=title, labels=labels, **values))
        task_id = task.id
        db.session.remove()
    return task_id


def label_id(app, owner, name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Label.id).where(
            Label.owner_id == owner.id, Label.name_key == name.lower()))


def rows(resp) -> list[int]:
    return [int(n) for n in ROW_ID.findall(resp.get_data(as_text=True))]


@pytest.fixture
def labelled(app, user, other_user):
    """Alice: work+urgent, work, home; Oscar: his own "work" and a "secret"."""
    ids = {
        "both": add(app, user, "Quarterly report", ["work", "urgent"]),
        "work": add(app, user, "Team lunch", ["Work"]),
        "home": add(app, user, "Fix the tap", ["home"]),
        "theirs": add(app, other_user, "Oscar's work", ["work", "secret"]),
    }
    return ids


def test_user_filters_by_one_label(user_client, labelled):
    resp = user_client.get("/tasks?label=work")
    assert resp.status_code == 200
    assert sorted(rows(resp)) == sorted([labelled["both"], labelled["work"]])


def test_label_filter_is_case_insensitive_and_takes_a_hash(user_client, labelled):
    assert sorted(rows(user_client.get("/tasks?label=%23WORK"))) == sorted(
        [labelled["both"], labelled["work"]])


def test_repeated_label_filter_needs_every_label(user_client, labelled):
    resp = user_client.get("/tasks?label=work&label=urgent")
    assert rows(resp) == [labelled["both"]]
    assert rows(user_client.get("/tasks?label=work&label=home")) == []


def test_label_filter_shows_a_removable_chip_per_label(user_client, labelled):
    html = user_client.get("/tasks?label=work&label=urgent").get_data(as_text=True)
    assert 'href="/tasks?label=urgent"' in html and 'href="/tasks?label=work"' in html


def test_another_users_label_name_filters_nothing_of_theirs(user_client, labelled):
    # "secret" is Oscar's only: Alice's list has no such label, and shows none of his tasks.
    resp = user_client.get("/tasks?label=secret")
    assert resp.status_code == 200 and rows(resp) == []
    assert "Oscar" not in resp.get_data(as_text=True)


def test_board_takes_the_same_label_filter(user_client, labelled):
    html = user_client.get("/tasks/board?label=urgent").get_data(as_text=True)
    assert f'id="card-{labelled["both"]}"' in html
    assert f'id="card-{labelled["work"]}"' not in html


def test_admin_filters_everyone_by_label_name(admin_client, labelled):
    resp = admin_client.get("/tasks?label=work&per_page=100")
    assert sorted(rows(resp)) == sorted([labelled["both"], labelled["work"],
                                         labelled["theirs"]])


def test_bad_label_parameter_is_ignored_and_named(user_client, labelled):
    resp = user_client.get("/tasks?label=no%20spaces")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "A label name is" in html
    assert len(rows(resp)) == 3


def test_labels_page_shows_only_the_users_own_labels(user_client, labelled):
    html = user_client.get("/labels").get_data(as_text=True)
    assert "urgent" in html and "home" in html
    assert "secret" not in html


def test_user_adds_renames_recolours_and_deletes_a_label(app, user_client, user, labelled):
    resp = user_client.form_post("/labels", {"name": "errands", "colour": "teal"})
    assert resp.status_code == 303
    new_id = label_id(app, user, "errands")
    resp = user_client.form_post(f"/labels/{new_id}", {
        f"label-{new_id}-name": "Shopping", f"label-{new_id}-colour": "pink"})
    assert resp.status_code == 303
    html = user_client.get("/labels").get_data(as_text=True)
    assert 'label-chip label-pink' in html and "Shopping" in html
    assert user_client.form_post(f"/labels/{new_id}/delete").status_code == 303
    assert f'id="label-{new_id}"' not in user_client.get("/labels").get_data(as_text=True)


def test_duplicate_or_bad_label_name_is_refused_with_422(user_client, labelled):
    resp = user_client.form_post("/labels", {"name": "URGENT", "colour": "blue"})
    assert resp.status_code == 422 and "already have a label" in resp.get_data(as_text=True)
    resp = user_client.form_post("/labels", {"name": "two words", "colour": "blue"})
    assert resp.status_code == 422 and "A label name is" in resp.get_data(as_text=True)
    resp = user_client.form_post("/labels", {"name": "fine", "colour": "chartreuse"})
    assert resp.status_code == 422


def test_another_users_label_is_404_on_every_label_route(app, user_client, other_user,
                                                         labelled):
    theirs = label_id(app, other_user, "secret")
    assert user_client.form_post(f"/labels/{theirs}", {
        f"label-{theirs}-name": "mine", f"label-{theirs}-colour": "blue"}).status_code == 404
    assert user_client.form_post(f"/labels/{theirs}/delete").status_code == 404
    with app.app_context():
        assert db.session.get(Label, theirs).name == "secret"


def test_task_form_sets_labels_and_creates_new_ones(app, user_client, user, labelled):
    task_id = labelled["home"]
    resp = user_client.form_post(f"/tasks/{task_id}", {
        "title": "Fix the tap", "status": "pending", "priority": "medium", "version": "1",
        "label_names": "home, plumbing"})
    assert resp.status_code == 303
    with app.app_context():
        names = [lbl.name for lbl in db.session.get(Task, task_id).labels]
    assert names == ["home", "plumbing"]
    assert label_id(app, user, "plumbing") is not None


def test_edit_without_the_labels_field_keeps_the_labels(app, user_client, labelled):
    task_id = labelled["both"]
    resp = user_client.form_post(f"/tasks/{task_id}", {"title": "Renamed", "version": "1"})
    assert resp.status_code == 303
    with app.app_context():
        assert [lbl.name for lbl in db.session.get(Task, task_id).labels] == ["urgent", "work"]


def test_board_label_form_offers_only_the_owners_labels(user_client, labelled):
    html = user_client.get(f"/tasks/{labelled['home']}/labels").get_data(as_text=True)
    assert 'value="urgent"' in html and 'value="secret"' not in html


def test_board_label_form_sets_the_labels(app, user_client, labelled):
    task_id = labelled["home"]
    resp = user_client.form_post(f"/tasks/{task_id}/labels", {
        "chosen": ["urgent"], "new_labels": "#garden", "version": "1"}, htmx=True)
    assert resp.status_code == 200 and f'id="card-{task_id}"' in resp.get_data(as_text=True)
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert [lbl.name for lbl in task.labels] == ["garden", "urgent"]
        assert task.version == 2


def test_another_users_task_labels_are_404(user_client, labelled):
    theirs = labelled["theirs"]
    assert user_client.get(f"/tasks/{theirs}/labels").status_code == 404
    assert user_client.form_post(f"/tasks/{theirs}/labels",
                                 {"new_labels": "hijack"}).status_code == 404


def test_list_loads_labels_in_one_query_for_the_page(app, user_client, user):
    from tests.test_query_counts import counted

    for n in range(12):
        add(app, user, f"Task {n}", [f"l{n}", "common"])
    user_client.get("/tasks")
    with counted(app) as statements:
        resp = user_client.get("/tasks")
    html = resp.get_data(as_text=True)
    task_rows = html[html.index('id="task-rows"'):html.index("</tbody>")]
    assert resp.status_code == 200 and task_rows.count("#</span>l") == 12
    assert len([s for s in statements if "FROM labels" in s or "JOIN labels" in s]) <= 2


def test_other_user_never_sees_labels_in_pages(client, app, other_user, labelled):
    assert login(client, other_user).status_code == 303
    html = client.get("/tasks").get_data(as_text=True)
    assert "urgent" not in html and "home" not in html
    html = client.get("/labels").get_data(as_text=True)
    assert "urgent" not in html and "secret" in html
