"""The board (/tasks/board) and the small edits from a row: moves and inline changes go
through the service with the version check, the status history and the audit trail; two
moves of the same version at the same moment: one wins, the other is refused."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from tests.conftest import HTMX, login
from webapp.extensions import db
from webapp.models import AuditEvent, StatusChange, Task


def task_row(app, task_id: int) -> Task:
    with app.app_context():
        task = db.session.get(Task, task_id)
        db.session.expunge(task)
        return task


def test_board_has_a_column_per_status_with_the_cards(user_client, user, make_task):
    ids = {s: make_task(user, f"A {s} task", status=s)
           for s in ("pending", "in-progress", "completed")}
    html = user_client.get("/tasks/board").get_data(as_text=True)
    for status, task_id in ids.items():
        column = html[html.index(f'data-status="{status}"'):]
        column = column[:column.index("</ul>")]
        assert f'id="card-{task_id}"' in column
    assert html.count('class="move-form"') == 3


def test_board_filters_like_the_list(user_client, user, make_task):
    keep = make_task(user, "Buy paint", priority="high")
    drop = make_task(user, "Call mum", priority="low")
    html = user_client.get("/tasks/board?priority=high").get_data(as_text=True)
    assert f'id="card-{keep}"' in html and f'id="card-{drop}"' not in html
    assert "Priority: High" in html  # the chip


def test_board_runs_as_many_queries_at_200_tasks_as_at_10(app, user_client, user, other_user):
    from tests.test_query_counts import add_tasks, statement_count

    add_tasks(app, [user, other_user], 20)
    at_10 = statement_count(app, user_client, "/tasks/board")
    add_tasks(app, [user, other_user], 380)
    assert statement_count(app, user_client, "/tasks/board") == at_10


def test_move_without_javascript_changes_status_with_history_and_audit(app, user_client,
                                                                        user, make_task):
    task_id = make_task(user, "Write docs")
    resp = user_client.form_post(f"/tasks/{task_id}/move", {
        "status": "in-progress", "version": "1", "next": "/tasks/board?priority=medium"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/tasks/board?priority=medium"
    task = task_row(app, task_id)
    assert (task.status, task.version) == ("in-progress", 2)
    with app.app_context():
        steps = db.session.execute(sa.select(StatusChange.old_status, StatusChange.new_status)
                                   .where(StatusChange.task_id == task_id)
                                   .order_by(StatusChange.id)).all()
        assert [tuple(s) for s in steps] == [(None, "pending"), ("pending", "in-progress")]
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "task.update"))
        assert event.changes == {"status": ["pending", "in-progress"]}


def test_move_to_completed_sets_completed_at(app, user_client, user, make_task):
    task_id = make_task(user, "Ship it")
    user_client.form_post(f"/tasks/{task_id}/move", {"status": "completed", "version": "1"})
    assert task_row(app, task_id).completed_at is not None


def test_htmx_move_answers_the_board_as_the_page_shows_it(user_client, user, make_task):
    moved = make_task(user, "Paint fence", priority="high")
    other = make_task(user, "Low thing", priority="low")
    resp = user_client.form_post(
        f"/tasks/{moved}/move", {"status": "completed", "version": "1"}, htmx=True,
        headers={"HX-Current-URL": "http://localhost/tasks/board?priority=high"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith('<section id="board"')
    completed = html[html.index('data-status="completed"'):]
    assert f'id="card-{moved}"' in completed[:completed.index("</ul>")]
    assert f'id="card-{other}"' not in html  # the page's filter still applies
    assert "Moved “Paint fence” to Completed." in html


def test_stale_move_is_refused_and_changes_nothing(app, user_client, user, make_task):
    task_id = make_task(user, "Contested")
    user_client.form_post(f"/tasks/{task_id}/move", {"status": "in-progress", "version": "1"})
    resp = user_client.form_post(f"/tasks/{task_id}/move",
                                 {"status": "completed", "version": "1"}, htmx=True)
    assert resp.status_code == 409
    assert "changed by someone else" in resp.get_data(as_text=True)
    assert task_row(app, task_id).status == "in-progress"


def test_same_move_sent_twice_keeps_the_card_where_it_asked(app, user_client, user, make_task):
    """The board's `x` key and a double-clicked Move send the column they want with the
    version they saw: the second one finds the card there already and changes nothing."""
    task_id = make_task(user, "Twice to done")
    first = user_client.form_post(f"/tasks/{task_id}/move",
                                  {"status": "completed", "version": "1"}, htmx=True)
    with app.app_context():
        completed_at = db.session.get(Task, task_id).completed_at
    second = user_client.form_post(f"/tasks/{task_id}/move",
                                   {"status": "completed", "version": "1"}, htmx=True)
    assert (first.status_code, second.status_code) == (200, 200)
    assert "is already in Completed" in second.get_data(as_text=True)
    task = task_row(app, task_id)
    assert task.status == "completed" and task.version == 2
    assert task.completed_at == completed_at


def test_bad_move_is_422_and_changes_nothing(app, user_client, user, make_task):
    task_id = make_task(user, "Stay")
    resp = user_client.form_post(f"/tasks/{task_id}/move",
                                 {"status": "archived", "version": "1"}, htmx=True)
    assert resp.status_code == 422
    assert task_row(app, task_id).status == "pending"


def test_another_users_card_cannot_be_moved(user_client, other_user, make_task):
    theirs = make_task(other_user, "Not yours")
    resp = user_client.form_post(f"/tasks/{theirs}/move", {"status": "completed"})
    assert resp.status_code == 404


def test_two_moves_of_the_same_version_at_once_one_wins(app, user, make_task):
    """Both clients saw version 1; released together, exactly one move is applied and the
    other is refused with 409 (the version check, not the last writer, decides)."""
    task_id = make_task(user, "Race me")
    clients = []
    for _ in range(2):
        client = app.test_client()
        assert login(client, user).status_code == 303
        clients.append((client, client.csrf_token("/tasks")))
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def move(client, token: str, target: str) -> None:
        barrier.wait()
        resp = client.post(f"/tasks/{task_id}/move", data={"status": target, "version": "1"},
                           headers={**HTMX, "X-CSRFToken": token})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=move, args=(*pair, target))
               for pair, target in zip(clients, ("in-progress", "completed"), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(statuses) == [200, 409]
    with app.app_context():
        changes = db.session.scalar(sa.select(sa.func.count()).select_from(StatusChange)
                                    .where(StatusChange.task_id == task_id))
        assert changes == 2  # created, and the one move that won
        assert db.session.get(Task, task_id).version == 2


# --- Inline edits from a row ------------------------------------------------------------

def test_title_edits_in_place(app, user_client, user, make_task):
    task_id = make_task(user, "Tpyo")
    form = user_client.hx_get(f"/tasks/{task_id}/edit/title")
    assert form.status_code == 200 and 'name="title"' in form.get_data(as_text=True)
    assert 'name="description"' not in form.get_data(as_text=True)  # only the title
    resp = user_client.form_post(f"/tasks/{task_id}/fields",
                                 {"title": "Typo", "version": "1"}, htmx=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith(f'<tr id="task-{task_id}"')
    task = task_row(app, task_id)
    assert (task.title, task.status, task.version) == ("Typo", "pending", 2)


def test_status_priority_and_due_change_from_the_row(app, user_client, user, make_task):
    task_id = make_task(user, "Row change", priority="low")
    resp = user_client.form_post(f"/tasks/{task_id}/fields", {
        "status": "in-progress", "priority": "high", "version": "1"}, htmx=True)
    assert resp.status_code == 200
    resp = user_client.form_post(f"/tasks/{task_id}/fields",
                                 {"due_date": "2031-05-06", "version": "2"}, htmx=True)
    assert resp.status_code == 200
    task = task_row(app, task_id)
    assert (task.status, task.priority, task.due_date.isoformat(), task.title) == (
        "in-progress", "high", "2031-05-06", "Row change")


def test_row_change_without_javascript_redirects_back(app, user_client, user, make_task):
    task_id = make_task(user, "No JS")
    resp = user_client.form_post(f"/tasks/{task_id}/fields",
                                 {"status": "completed", "version": "1", "next": "/tasks"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/tasks"
    assert task_row(app, task_id).status == "completed"


def test_empty_inline_title_is_refused_with_the_row_as_it_was(app, user_client, user,
                                                              make_task):
    task_id = make_task(user, "Keep me")
    resp = user_client.form_post(f"/tasks/{task_id}/fields",
                                 {"title": "  ", "version": "1"}, htmx=True)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Title is required." in html and "Keep me" in html
    assert task_row(app, task_id).title == "Keep me"


def test_stale_row_change_is_409_with_current_values(app, user_client, user, make_task):
    task_id = make_task(user, "v1")
    user_client.form_post(f"/tasks/{task_id}/fields", {"title": "v2", "version": "1"},
                          htmx=True)
    resp = user_client.form_post(f"/tasks/{task_id}/fields",
                                 {"priority": "high", "version": "1"}, htmx=True)
    assert resp.status_code == 409 and "v2" in resp.get_data(as_text=True)
    assert task_row(app, task_id).priority == "medium"


def test_another_users_row_fields_are_404(user_client, other_user, make_task):
    theirs = make_task(other_user, "Not yours")
    assert user_client.hx_get(f"/tasks/{theirs}/edit/title").status_code == 404
    assert user_client.form_post(f"/tasks/{theirs}/fields",
                                 {"title": "mine", "version": "1"}).status_code == 404


def test_header_links_sort_with_usual_directions_and_reverse(user_client, user, make_task):
    for title in ("banana", "Apple", "cherry"):
        make_task(user, title)
    html = user_client.get("/tasks").get_data(as_text=True)
    # Title A to Z first; a second click on the sorted column reverses it.
    assert 'href="/tasks?sort=title"' in html and 'href="/tasks?sort=due"' in html
    html = user_client.get("/tasks?sort=title").get_data(as_text=True)
    assert 'aria-sort="ascending"' in html and 'href="/tasks?sort=title&amp;order=desc"' in html
    order = [t for t in ("Apple", "banana", "cherry") if t in html]
    assert [html.index(f">{t}</a>") for t in order] == sorted(
        html.index(f">{t}</a>") for t in order)
    html = user_client.get("/tasks?sort=title&order=desc").get_data(as_text=True)
    assert 'aria-sort="descending"' in html
    assert html.index(">cherry</a>") < html.index(">Apple</a>")


def test_completed_tasks_come_after_open_ones(user_client, user, make_task):
    done = make_task(user, "Done first", status="completed")
    open_one = make_task(user, "Still open")
    html = user_client.get("/tasks?sort=created&order=asc").get_data(as_text=True)
    assert html.index(f'id="task-{open_one}"') < html.index(f'id="task-{done}"')
    # Sorting by status is the user's own order.
    html = user_client.get("/tasks?sort=status&order=desc").get_data(as_text=True)
    assert html.index(f'id="task-{done}"') < html.index(f'id="task-{open_one}"')
