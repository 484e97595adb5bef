"""Task pages without JavaScript: plain forms, 303 redirects, 422 forms, flashes."""

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Task
from webapp.services import tasks as task_service


def count_tasks(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Task))


def test_user_sees_only_own_tasks_in_list(user_client, user, other_user, make_task):
    make_task(user, "Mine to do")
    make_task(other_user, "Someone else's")
    resp = user_client.get("/tasks")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Mine to do" in html and "Someone else" not in html
    assert "1 task<" in html


def test_admin_sees_every_task_with_owner(admin_client, user, other_user, make_task):
    make_task(user, "Task of Alice")
    make_task(other_user, "Task of Oscar")
    html = admin_client.get("/tasks").get_data(as_text=True)
    assert "Task of Alice" in html and "Task of Oscar" in html
    assert "Oscar Other" in html and ">Owner<" in html


def test_quick_add_without_js_redirects_with_flash(user_client, app):
    resp = user_client.form_post("/tasks", {"title": "Call the plumber"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/tasks"
    html = user_client.get("/tasks").get_data(as_text=True)
    assert "Added “Call the plumber”." in html
    assert count_tasks(app) == 1


@pytest.mark.parametrize("data,message", [
    ({"title": ""}, "Title is required."),
    ({"title": "x" * 101}, "Field cannot be longer than 100 characters."),
    ({"title": "ok", "status": "done"}, "Not a valid choice"),
    ({"title": "ok", "priority": "urgent"}, "Not a valid choice"),
    ({"title": "ok", "due_date": "2026-02-31"}, "Not a valid date value."),
])
def test_bad_task_input_is_shown_next_to_field_and_changes_nothing(user_client, app, data, message):
    resp = user_client.form_post("/tasks", data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert count_tasks(app) == 0


def test_form_with_errors_keeps_what_the_user_typed(user_client):
    resp = user_client.form_post("/tasks", {
        "title": "Keep me", "description": "typed text", "due_date": "2026-02-31",
    })
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'value="Keep me"' in html and "typed text" in html


def test_full_form_creates_task_with_every_field(user_client, app):
    resp = user_client.form_post("/tasks", {
        "title": "Plan trip", "description": "Train tickets", "status": "in-progress",
        "priority": "high", "due_date": "2026-12-24",
    })
    assert resp.status_code == 303
    with app.app_context():
        task = db.session.scalar(sa.select(Task))
        assert (task.status, task.priority, str(task.due_date), task.description) == (
            "in-progress", "high", "2026-12-24", "Train tickets")


def test_new_task_page_has_labelled_fields(user_client):
    html = user_client.get("/tasks/new").get_data(as_text=True)
    for label in ("Title", "Description", "Status", "Priority", "Due date"):
        assert f">{label}</label>" in html
    assert ">Owner</label>" not in html


def test_admin_new_task_page_offers_owner(admin_client, user):
    html = admin_client.get("/tasks/new").get_data(as_text=True)
    assert ">Owner</label>" in html and "Alice Example (alice)" in html


def test_admin_creates_task_for_user(admin_client, user, app):
    resp = admin_client.form_post("/tasks", {"title": "For Alice", "owner_id": str(user.id)})
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Task.owner_id)) == user.id


def test_user_cannot_assign_by_posting_owner_field(user_client, user, other_user, app):
    resp = user_client.form_post("/tasks", {"title": "Sneaky", "owner_id": str(other_user.id)})
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Task.owner_id)) == user.id


def test_detail_page_shows_task_and_history(user_client, user, make_task):
    task_id = make_task(user, "Detailed", description="Line one", priority="high")
    resp = user_client.get(f"/tasks/{task_id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Detailed" in html and "Line one" in html
    assert "created as Pending" in html


def test_edit_page_saves_and_redirects_to_detail(user_client, user, make_task, app):
    task_id = make_task(user, "Old title")
    assert user_client.get(f"/tasks/{task_id}/edit").status_code == 200
    resp = user_client.form_post(f"/tasks/{task_id}", {
        "title": "New title", "status": "pending", "priority": "low", "version": "1",
    })
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/tasks/{task_id}"
    with app.app_context():
        assert db.session.get(Task, task_id).title == "New title"


def test_edit_with_error_shows_form_again(user_client, user, make_task, app):
    task_id = make_task(user, "Stays")
    resp = user_client.form_post(f"/tasks/{task_id}", {"title": "", "version": "1"})
    assert resp.status_code == 422
    assert "Title is required." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Task, task_id).title == "Stays"


def test_stale_edit_shows_newer_values_and_keeps_typed_ones(user_client, user, make_task, app):
    task_id = make_task(user, "First")
    user_client.form_post(f"/tasks/{task_id}", {"title": "Second", "version": "1"})
    resp = user_client.form_post(f"/tasks/{task_id}", {"title": "Mine", "version": "1"})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "changed by someone else" in html
    assert "<dd>Second</dd>" in html and 'value="Mine"' in html
    with app.app_context():
        assert db.session.get(Task, task_id).title == "Second"


def test_complete_and_reopen_without_js(user_client, user, make_task, app):
    task_id = make_task(user, "Finish me")
    resp = user_client.form_post(f"/tasks/{task_id}/complete", {"next": f"/tasks/{task_id}"})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/tasks/{task_id}"
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.status == "completed" and task.completed_at is not None
    user_client.form_post(f"/tasks/{task_id}/reopen")
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.status == "pending" and task.completed_at is None


def test_complete_form_sent_twice_keeps_the_task_completed(user_client, user, make_task, app):
    task_id = make_task(user, "Double click")
    form = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f'action="/tasks/{task_id}/complete"' in form
    user_client.form_post(f"/tasks/{task_id}/complete")
    with app.app_context():
        first = db.session.get(Task, task_id).completed_at
    resp = user_client.form_post(f"/tasks/{task_id}/complete")
    assert resp.status_code == 303
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.status == "completed" and task.completed_at == first
        assert [c.new_status for c in task_service.task_history(task)] == [
            "pending", "completed"]


def test_reopen_form_sent_twice_keeps_the_task_open(user_client, user, make_task, app):
    task_id = make_task(user, "Again", status="completed")
    assert f'action="/tasks/{task_id}/reopen"' in user_client.get(
        f"/tasks/{task_id}").get_data(as_text=True)
    for _ in range(2):
        assert user_client.form_post(f"/tasks/{task_id}/reopen").status_code == 303
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.status == "pending" and task.completed_at is None


def test_complete_ignores_offsite_next(user_client, user, make_task):
    task_id = make_task(user, "t")
    resp = user_client.form_post(f"/tasks/{task_id}/complete", {"next": "//evil.example/"})
    assert resp.headers["Location"] == "/tasks"


def test_the_toggle_path_is_gone(user_client, user, make_task):
    task_id = make_task(user, "t")
    assert user_client.form_post(f"/tasks/{task_id}/toggle").status_code == 404


def test_delete_asks_for_confirmation_then_deletes(user_client, user, make_task, app):
    task_id = make_task(user, "Doomed")
    confirm = user_client.get(f"/tasks/{task_id}/delete")
    assert confirm.status_code == 200
    assert "will be deleted" in confirm.get_data(as_text=True)
    assert count_tasks(app) == 1
    resp = user_client.form_post(f"/tasks/{task_id}/delete")
    assert resp.status_code == 303 and resp.headers["Location"] == "/tasks"
    # Gone from the list at once; the next page offers Undo (tests/test_undo_delete.py).
    html = user_client.get("/tasks").get_data(as_text=True)
    assert "Doomed" in html and f'action="/tasks/{task_id}/restore"' in html
    assert f'id="task-{task_id}"' not in html
    assert user_client.get(f"/tasks/{task_id}").status_code == 404


def test_unknown_task_is_404_page(user_client):
    resp = user_client.get("/tasks/999999")
    assert resp.status_code == 404
    assert "Task not found." in resp.get_data(as_text=True)


@pytest.mark.parametrize("task_id", ["2147483648", "99999999999999999999999"])
def test_task_id_beyond_column_range_is_404_not_500(user_client, task_id):
    assert user_client.get(f"/tasks/{task_id}").status_code == 404
    # Werkzeug answers the POST route with 405 once the id fails its converter: never a 500.
    assert user_client.form_post(f"/tasks/{task_id}/delete").status_code in (404, 405)


def test_edit_form_without_version_field_saves_instead_of_failing(user_client, user, make_task,
                                                                  app):
    task_id = make_task(user, "Old title")
    resp = user_client.form_post(f"/tasks/{task_id}", {
        "title": "New title", "status": "pending", "priority": "low",
    })
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.get(Task, task_id).title == "New title"


def test_htmx_edit_with_an_empty_body_changes_nothing(user_client, user, make_task, app):
    """A field the edit form does not send keeps the task's value (WTForms fills the form
    from the task), so an empty body saves the task as it is."""
    task_id = make_task(user, "Stays")
    resp = user_client.form_post(f"/tasks/{task_id}", {}, htmx=True)
    assert resp.status_code == 200
    assert "Stays" in resp.get_data(as_text=True)
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert (task.title, task.status, task.priority) == ("Stays", "pending", "medium")


def test_title_of_only_a_zero_width_space_is_refused_on_the_form(user_client, app):
    resp = user_client.form_post("/tasks", {"title": "\u200b"})
    assert resp.status_code == 422
    assert "Title must contain a visible character." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


def test_bidi_controls_in_stored_text_are_stripped_wherever_it_is_shown(user_client, user,
                                                                       make_task):
    """Titles keep what was typed; pages never print an override, embedding or isolate, in
    text, attributes or form values (the Jinja finalize hook, not each template)."""
    title = f"invoice {RLO}fdp.exe{PDF} {LRI}x{PDI}"
    task_id = make_task(user, title, description=f"see {RLO}here", city=f"Par{RLO}is")
    for url in ("/tasks", f"/tasks/{task_id}", f"/tasks/{task_id}/edit",
                f"/tasks/{task_id}/row", f"/tasks/{task_id}/delete"):
        html = user_client.get(url).get_data(as_text=True)
        assert "invoice fdp.exe x" in html, url
        assert not any(char in html for char in (RLO, PDF, LRI, PDI)), url


def test_right_to_left_marks_and_text_are_shown_as_typed(user_client, user, make_task):
    title = "\u05e9\u05dc\u05d5\u05dd\u200f 42"
    make_task(user, title)
    assert title in user_client.get("/tasks").get_data(as_text=True)
