"""Edits never silently overwrite each other; a create form sent twice makes one task."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import Client, login
from webapp.extensions import db
from webapp.models import Task

SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')


def edit(client, task_id: int, title: str, version: int, htmx: bool = False):
    return client.form_post(f"/tasks/{task_id}", {
        "title": title, "status": "pending", "priority": "medium", "version": str(version),
    }, htmx=htmx)


def stored_title(app, task_id: int) -> str:
    with app.app_context():
        return db.session.get(Task, task_id).title


@pytest.fixture
def second_session(app, user):
    """The same user in another browser."""
    other = app.test_client()
    assert login(other, user).status_code == 303
    other.logged_in = True
    return other


def test_stale_edit_without_js_is_409_with_newer_and_typed_values(app, user_client, user,
                                                                   second_session, make_task):
    task_id = make_task(user, "Original")
    assert edit(second_session, task_id, "Saved first", 1).status_code == 303
    resp = edit(user_client, task_id, "Typed later", 1)
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "<html" in body
    assert "Saved first" in body  # the newer values
    assert 'value="Typed later"' in body  # what this user typed, kept in the form
    assert stored_title(app, task_id) == "Saved first"


def test_stale_edit_with_htmx_is_409_fragment(app, user_client, user, second_session, make_task):
    task_id = make_task(user, "Original")
    edit(second_session, task_id, "Saved first", 1)
    resp = edit(user_client, task_id, "Typed later", 1, htmx=True)
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "<html" not in body and f'id="task-{task_id}"' in body
    assert "Saved first" in body and 'value="Typed later"' in body
    assert 'name="version" type="hidden" value="2"' in body


def test_save_after_reading_the_conflict_wins(app, user_client, user, second_session, make_task):
    task_id = make_task(user, "Original")
    edit(second_session, task_id, "Saved first", 1)
    edit(user_client, task_id, "Typed later", 1)
    assert edit(user_client, task_id, "Typed later", 2).status_code == 303
    assert stored_title(app, task_id) == "Typed later"


def test_admin_and_owner_editing_at_once_conflict(app, user_client, user, admin, make_task):
    task_id = make_task(user, "Shared")
    admin_client = app.test_client()
    login(admin_client, admin)
    admin_client.logged_in = True
    form = admin_client.get(f"/tasks/{task_id}/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in form
    assert edit(user_client, task_id, "Owner's edit", 1).status_code == 303
    resp = admin_client.form_post(f"/tasks/{task_id}", {
        "title": "Admin's edit", "status": "pending", "priority": "medium",
        "owner_id": str(user.id), "version": "1"})
    assert resp.status_code == 409
    assert stored_title(app, task_id) == "Owner's edit"


def task_titles(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Task.title)))


def test_create_form_sent_twice_creates_one_task(app, user_client):
    key = SUBMISSION_KEY.search(user_client.get("/tasks/new").get_data(as_text=True)).group(1)
    data = {"title": "Only once", "status": "pending", "priority": "medium",
            "submission_key": key}
    assert user_client.form_post("/tasks", data).status_code == 303
    again = user_client.form_post("/tasks", data, follow_redirects=True)
    assert again.status_code == 200
    assert "was already added" in again.get_data(as_text=True)
    assert task_titles(app) == ["Only once"]


def test_quick_add_double_click_with_htmx_creates_one_task(app, user_client):
    key = SUBMISSION_KEY.search(user_client.get("/tasks").get_data(as_text=True)).group(1)
    data = {"title": "Double click", "submission_key": key}
    first = user_client.form_post("/tasks", data, htmx=True)
    second = user_client.form_post("/tasks", data, htmx=True)
    assert first.status_code == 201
    assert second.status_code == 200
    assert "<tr" not in second.get_data(as_text=True)
    assert "already added" in second.get_data(as_text=True)
    assert task_titles(app) == ["Double click"]


def test_quick_add_answer_carries_a_new_submission_key(app, user_client):
    page_key = SUBMISSION_KEY.search(user_client.get("/tasks").get_data(as_text=True)).group(1)
    resp = user_client.form_post("/tasks", {"title": "First", "submission_key": page_key},
                                 htmx=True)
    new_key = SUBMISSION_KEY.search(resp.get_data(as_text=True)).group(1)
    assert new_key != page_key
    user_client.form_post("/tasks", {"title": "Second", "submission_key": new_key}, htmx=True)
    assert sorted(task_titles(app)) == ["First", "Second"]


def test_invalid_create_can_be_corrected_and_sent_with_the_same_key(app, user_client):
    key = "k" * 32
    resp = user_client.form_post("/tasks", {"title": "", "submission_key": key})
    assert resp.status_code == 422
    assert user_client.form_post("/tasks", {"title": "Fixed", "submission_key": key}
                                 ).status_code == 303
    assert task_titles(app) == ["Fixed"]


def test_form_sent_twice_to_two_processes_without_redis_creates_one_task(
        app, make_app, database_url, user):
    """Two workers (or instances) without Redis each have their own cache: the database's
    unique submission key still lets only one of them create the task."""
    key = "double-submit-key-0001"
    answers = []
    for instance in (make_app(SQLALCHEMY_DATABASE_URI=database_url),
                     make_app(SQLALCHEMY_DATABASE_URI=database_url)):
        instance.test_client_class = Client
        browser = instance.test_client()
        login(browser, user)
        answers.append(browser.form_post("/tasks", {
            "title": "Sent twice", "status": "pending", "priority": "medium",
            "submission_key": key,
        }, follow_redirects=True))
    assert [a.status_code for a in answers] == [200, 200]
    assert "was already added" in answers[1].get_data(as_text=True)
    assert task_titles(app) == ["Sent twice"]


def test_the_same_key_from_two_users_creates_a_task_each(app, user_client, user, make_user):
    other = make_user("keyholder")
    app.test_client_class = Client
    other_client = app.test_client()
    login(other_client, other)
    data = {"title": "Same key", "submission_key": "shared-key-000000001"}
    assert user_client.form_post("/tasks", data).status_code == 303
    assert other_client.form_post("/tasks", data).status_code == 303
    assert task_titles(app) == ["Same key", "Same key"]
