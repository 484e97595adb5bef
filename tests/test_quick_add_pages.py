"""Quick add over HTTP: the server reads the line with the same parser as the preview, with
or without JavaScript; the preview says what will be set."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Label, Task, utcnow


def only_task(app) -> Task:
    with app.app_context():
        task = db.session.scalars(sa.select(Task)).one()
        task.label_names = [lbl.name for lbl in task.labels]
        db.session.expunge(task)
        return task


def test_quick_add_without_javascript_reads_the_line(app, user_client, user):
    resp = user_client.form_post("/tasks", {
        "quick": "1", "title": "Call Bob tomorrow !high #work", "submission_key": "k" * 20})
    assert resp.status_code == 303
    task = only_task(app)
    assert (task.title, task.priority, task.due_date, task.label_names) == (
        "Call Bob", "high", utcnow().date() + timedelta(days=1), ["work"])


def test_quick_add_with_htmx_answers_the_new_row_with_its_labels(app, user_client, user):
    resp = user_client.form_post("/tasks", {"quick": "1", "title": "Plan trip #travel"},
                                 htmx=True)
    assert resp.status_code == 201
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith('<tr id="task-') and "Plan trip" in html
    assert "label-chip" in html and "travel" in html


def test_quick_add_reuses_an_existing_label_whatever_its_case(app, user_client, user):
    user_client.form_post("/labels", {"name": "Work", "colour": "green"})
    user_client.form_post("/tasks", {"quick": "1", "title": "Report #WORK"})
    with app.app_context():
        assert db.session.scalars(sa.select(Label.name)).all() == ["Work"]


def test_quick_add_of_markers_only_is_refused_with_the_form_kept(app, user_client):
    resp = user_client.form_post("/tasks", {"quick": "1", "title": "#work !high"}, htmx=True)
    assert resp.status_code == 422
    assert resp.headers["HX-Retarget"] == "#quick-add"
    assert "Title is required." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Label)) == 0


def test_quick_add_error_without_javascript_shows_the_full_form_filled_in(user_client):
    resp = user_client.form_post("/tasks", {"quick": "1", "title": "tomorrow !low #home"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Title is required." in html
    assert '<option selected value="low">' in html and 'value="home"' in html


def test_quick_add_keeps_hash_and_bang_inside_a_sentence(app, user_client):
    user_client.form_post("/tasks", {"quick": "1", "title": "Reply to issue #42 in C#!"})
    task = only_task(app)
    assert (task.title, task.label_names, task.priority) == (
        "Reply to issue #42 in C#!", [], "medium")


def test_preview_shows_what_will_be_set_and_which_labels_are_new(user_client):
    user_client.form_post("/labels", {"name": "work", "colour": "blue"})
    resp = user_client.hx_get("/tasks/quick-add/preview",
                              query_string={"title": "Call Bob friday !high #work #errands"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html
    assert "Call Bob" in html and "High" in html and '<time class="due' in html
    assert "#work</span> " in html and "#errands</span> <small class=\"muted\">(new)" in html


def test_preview_of_nothing_is_empty(user_client):
    resp = user_client.hx_get("/tasks/quick-add/preview", query_string={"title": "  "})
    assert resp.status_code == 200 and resp.get_data(as_text=True).strip() == ""
