"""htmx requests get fragments; boosted and history-restore requests get full pages."""

import re

import sqlalchemy as sa

from tests.conftest import HTMX
from webapp.extensions import db
from webapp.models import Task


def test_htmx_list_request_gets_fragment_with_vary(user_client, user, make_task):
    make_task(user, "Listed")
    resp = user_client.hx_get("/tasks")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<html" not in html and 'id="task-list"' in html and "Listed" in html
    assert "HX-Request" in resp.headers["Vary"]


def test_boosted_and_history_restore_requests_get_full_page(user_client):
    for header in ("HX-Boosted", "HX-History-Restore-Request"):
        resp = user_client.get("/tasks", headers={**HTMX, header: "true"})
        assert "<html" in resp.get_data(as_text=True)


def test_htmx_quick_add_returns_row_fresh_form_and_oob_flash(user_client):
    resp = user_client.form_post("/tasks", {"title": "Via htmx"}, htmx=True)
    assert resp.status_code == 201
    html = resp.get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith("<tr id=\"task-")
    assert 'id="quick-add"' in html and 'hx-swap-oob="true"' in html
    assert re.search(r'<input[^>]*id="quick-title"[^>]*value=""', html)
    assert '<template><div id="flash" aria-live="polite" hx-swap-oob="true">' in html
    assert "Added “Via htmx”." in html


def test_htmx_quick_add_error_retargets_the_form_with_422(user_client, app):
    resp = user_client.form_post("/tasks", {"title": "   "}, htmx=True)
    assert resp.status_code == 422
    assert resp.headers["HX-Retarget"] == "#quick-add"
    assert resp.headers["HX-Reswap"] == "outerHTML"
    assert "Title is required." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


def test_htmx_edit_gets_inline_row_form(user_client, user, make_task):
    task_id = make_task(user, "Inline")
    resp = user_client.hx_get(f"/tasks/{task_id}/edit")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html
    assert f'<tr id="task-{task_id}" class="task editing" data-editing>' in html
    assert f'id="task-{task_id}-title"' in html


def test_htmx_update_returns_row(user_client, user, make_task):
    task_id = make_task(user, "Before")
    resp = user_client.form_post(
        f"/tasks/{task_id}", {"title": "After", "version": "1"}, htmx=True)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert f'<tr id="task-{task_id}"' in html and "After" in html and "Saved “After”." in html


def test_htmx_update_error_returns_row_form_with_422(user_client, user, make_task):
    task_id = make_task(user, "Before")
    resp = user_client.form_post(f"/tasks/{task_id}", {"title": "", "version": "1"}, htmx=True)
    assert resp.status_code == 422
    assert "editing" in resp.get_data(as_text=True)


def test_htmx_stale_update_is_409_with_current_values(user_client, user, make_task):
    task_id = make_task(user, "v1")
    user_client.form_post(f"/tasks/{task_id}", {"title": "v2", "version": "1"}, htmx=True)
    resp = user_client.form_post(f"/tasks/{task_id}", {"title": "mine", "version": "1"}, htmx=True)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "<dd>v2</dd>" in html and 'value="mine"' in html and 'value="2"' in html


def test_htmx_complete_returns_completed_row(user_client, user, make_task):
    task_id = make_task(user, "Do it")
    resp = user_client.form_post(f"/tasks/{task_id}/complete", htmx=True)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "status-completed" in html and "Completed “Do it”." in html
    # The row now offers the opposite state, as a state of its own.
    assert f'hx-post="/tasks/{task_id}/reopen"' in html


def test_htmx_complete_sent_twice_keeps_the_row_completed(app, user_client, user, make_task):
    task_id = make_task(user, "Twice")
    row = user_client.get("/tasks").get_data(as_text=True)
    assert f'hx-post="/tasks/{task_id}/complete"' in row
    first = user_client.form_post(f"/tasks/{task_id}/complete", htmx=True)
    second = user_client.form_post(f"/tasks/{task_id}/complete", htmx=True)
    assert second.status_code == 200
    assert "status-completed" in second.get_data(as_text=True)
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.status == "completed" and task.version == 2
    assert first.status_code == 200


def test_htmx_reopen_returns_open_row(user_client, user, make_task):
    task_id = make_task(user, "Undone", status="completed")
    for _ in range(2):
        resp = user_client.form_post(f"/tasks/{task_id}/reopen", htmx=True)
        assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "status-pending" in html and f'hx-post="/tasks/{task_id}/complete"' in html


def test_htmx_delete_returns_empty_row_and_flash(user_client, user, make_task):
    task_id = make_task(user, "Bye")
    resp = user_client.form_post(f"/tasks/{task_id}/delete", htmx=True)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<tr" not in html and "Deleted “Bye”." in html


def test_htmx_row_fragment_cancels_edit(user_client, user, make_task):
    task_id = make_task(user, "Row")
    resp = user_client.hx_get(f"/tasks/{task_id}/row")
    assert resp.status_code == 200
    assert f'<tr id="task-{task_id}" class="task status-pending' in resp.get_data(as_text=True)


def test_htmx_not_found_is_a_fragment(user_client):
    resp = user_client.hx_get("/tasks/424242/edit")
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert "<html" not in html and "Task not found." in html
