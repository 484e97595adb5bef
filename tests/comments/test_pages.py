"""Comments on a task's page: one timeline with the status changes (newest last), add, edit
(marked edited), delete, without JavaScript and with htmx; audit events for each."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.conftest import HTMX, login
from webapp.extensions import db
from webapp.models import AuditEvent, Comment, StatusChange


def comments(app) -> list[Comment]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Comment).order_by(Comment.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def audit_actions(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.target_id)
            .where(AuditEvent.action.like("comment.%")).order_by(AuditEvent.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def timeline_of(html: str) -> str:
    return html.split('<ol class="timeline">')[1].split("</ol>")[0]


def test_owner_comments_without_javascript(app, user_client, user, make_task):
    task_id = make_task(user)

    resp = user_client.form_post(f"/tasks/{task_id}/comments", {"body": "Looks **good**"})

    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/tasks/{task_id}#activity"
    page = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)
    timeline = timeline_of(page)
    assert "Looks <strong>good</strong>" in timeline and "Alice Example" in timeline
    assert "Comment added." in page
    [comment] = comments(app)
    assert comment.body == "Looks **good**" and comment.author_id == user.id


def test_page_has_a_labelled_comment_box(user_client, user, make_task):
    task_id = make_task(user)

    html = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)

    assert '<label for="new-comment-body">Comment</label>' in html
    assert '<textarea id="new-comment-body" maxlength="10000" name="body"' in html


def test_timeline_mixes_status_changes_and_comments_newest_last(app, user_client, user,
                                                                make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "first comment"})
    user_client.form_post(f"/tasks/{task_id}/complete")
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "second comment"})
    with app.app_context():
        # Spread the steps in time (the test runs within one clock tick).
        rows = db.session.scalars(sa.select(Comment).order_by(Comment.id)).all()
        changes = db.session.scalars(
            sa.select(StatusChange).order_by(StatusChange.id)).all()
        start = changes[0].changed_at
        rows[0].created_at = start + timedelta(minutes=1)
        changes[1].changed_at = start + timedelta(minutes=2)
        rows[1].created_at = start + timedelta(minutes=3)
        db.session.commit()
        db.session.remove()

    timeline = timeline_of(user_client.get(f"/tasks/{task_id}").get_data(as_text=True))

    steps = ["created as Pending", "first comment", "Pending → Completed", "second comment"]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions)


def test_blank_comment_is_refused_with_the_form_shown_again(app, user_client, user, make_task):
    task_id = make_task(user)

    plain = user_client.form_post(f"/tasks/{task_id}/comments", {"body": "   "})
    htmx = user_client.form_post(f"/tasks/{task_id}/comments", {"body": ""}, htmx=True)
    too_long = user_client.form_post(f"/tasks/{task_id}/comments", {"body": "x" * 10_001})

    assert plain.status_code == 422 and "Write something first." in plain.get_data(as_text=True)
    assert "<html" in plain.get_data(as_text=True)
    assert htmx.status_code == 422 and htmx.headers["HX-Retarget"] == "#comment-form"
    assert "<html" not in htmx.get_data(as_text=True)
    assert too_long.status_code == 422
    assert "x" * 10_001 in too_long.get_data(as_text=True)  # what was typed is kept
    assert comments(app) == []


def test_htmx_comment_updates_the_timeline_and_empties_the_form(user_client, user, make_task):
    task_id = make_task(user)

    resp = user_client.form_post(f"/tasks/{task_id}/comments", {"body": "Via htmx"}, htmx=True)

    html = resp.get_data(as_text=True)
    assert resp.status_code == 201
    assert html.lstrip().startswith('<div id="timeline">') and "Via htmx" in html
    assert '<form id="comment-form"' in html and 'hx-swap-oob="true"' in html
    assert "Comment added." in html and "<html" not in html


def test_timeline_fragment_for_htmx_and_the_page_otherwise(user_client, user, make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "Hello"})

    fragment = user_client.get(f"/tasks/{task_id}/comments", headers=HTMX)
    plain = user_client.get(f"/tasks/{task_id}/comments")

    assert fragment.status_code == 200 and "Hello" in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert plain.status_code == 302 and plain.headers["Location"] == f"/tasks/{task_id}#activity"


def test_author_edits_a_comment_and_it_is_marked_edited(app, user_client, user, make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "Typo hree"})
    [comment] = comments(app)

    form = user_client.get(f"/tasks/{task_id}/comments/{comment.id}/edit")
    resp = user_client.form_post(f"/tasks/{task_id}/comments/{comment.id}",
                                 {"body": "Typo here"})

    assert form.status_code == 200 and "Typo hree" in form.get_data(as_text=True)
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/tasks/{task_id}#comment-{comment.id}"
    [edited] = comments(app)
    assert edited.body == "Typo here" and edited.is_edited
    page = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "(edited)" in timeline_of(page)


def test_saving_the_same_text_does_not_mark_it_edited(app, user_client, user, make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "Same"})
    [comment] = comments(app)

    user_client.form_post(f"/tasks/{task_id}/comments/{comment.id}", {"body": "Same"})

    assert not comments(app)[0].is_edited
    assert audit_actions(app) == [("comment.create", str(comment.id))]


def test_htmx_edit_swaps_the_comment_in_place(app, user_client, user, make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "Before"})
    [comment] = comments(app)

    form = user_client.get(f"/tasks/{task_id}/comments/{comment.id}/edit", headers=HTMX)
    saved = user_client.form_post(f"/tasks/{task_id}/comments/{comment.id}", {"body": "After"},
                                  htmx=True)
    invalid = user_client.form_post(f"/tasks/{task_id}/comments/{comment.id}", {"body": ""},
                                    htmx=True)
    cancel = user_client.get(f"/tasks/{task_id}/comments/{comment.id}", headers=HTMX)

    form_html = form.get_data(as_text=True)
    assert form_html.lstrip().startswith(f'<li class="comment editing" id="comment-{comment.id}"')
    assert '<label for="comment-' in form_html and "Edit comment</label>" in form_html
    assert saved.status_code == 200
    assert f'<li class="comment" id="comment-{comment.id}">' in saved.get_data(as_text=True)
    assert "(edited)" in saved.get_data(as_text=True)
    assert invalid.status_code == 422 and "Write something first." in invalid.get_data(
        as_text=True)
    assert cancel.status_code == 200 and "After" in cancel.get_data(as_text=True)


def test_author_deletes_a_comment(app, user_client, user, make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "Gone soon"})
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "Gone by htmx"})
    first, second = comments(app)

    plain = user_client.form_post(f"/tasks/{task_id}/comments/{first.id}/delete")
    htmx = user_client.form_post(f"/tasks/{task_id}/comments/{second.id}/delete", htmx=True)

    assert plain.status_code == 303
    assert htmx.status_code == 200 and "Comment deleted." in htmx.get_data(as_text=True)
    assert comments(app) == []


def test_admin_deletes_any_comment_but_edits_only_their_own(app, client, user, admin,
                                                            make_task):
    task_id = make_task(user)
    alice = app.test_client()
    login(alice, user)
    alice.logged_in = True
    alice.form_post(f"/tasks/{task_id}/comments", {"body": "Alice's"})
    [comment] = comments(app)
    login(client, admin)
    client.logged_in = True

    edit = client.form_post(f"/tasks/{task_id}/comments/{comment.id}", {"body": "Admin's now"})
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    delete = client.form_post(f"/tasks/{task_id}/comments/{comment.id}/delete")

    assert edit.status_code == 403
    assert "Only its author can edit a comment." in edit.get_data(as_text=True)
    # The admin is offered Delete but not Edit on someone else's comment.
    own = page.split(f'id="comment-{comment.id}"')[1].split("</li>")[0]
    assert "/delete" in own and "/edit" not in own
    assert delete.status_code == 303
    assert comments(app) == []


def test_owner_cannot_delete_an_admins_comment_on_their_task(app, client, user, admin,
                                                            make_task):
    task_id = make_task(user)
    boss = app.test_client()
    login(boss, admin)
    boss.logged_in = True
    boss.form_post(f"/tasks/{task_id}/comments", {"body": "From the admin"})
    [comment] = comments(app)
    login(client, user)
    client.logged_in = True

    resp = client.form_post(f"/tasks/{task_id}/comments/{comment.id}/delete")

    assert resp.status_code == 403
    assert len(comments(app)) == 1


def test_each_comment_change_is_audited(app, user_client, user, make_task):
    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "One"})
    [comment] = comments(app)
    user_client.form_post(f"/tasks/{task_id}/comments/{comment.id}", {"body": "Two"})
    user_client.form_post(f"/tasks/{task_id}/comments/{comment.id}/delete")

    assert audit_actions(app) == [("comment.create", str(comment.id)),
                                  ("comment.update", str(comment.id)),
                                  ("comment.delete", str(comment.id))]


def test_a_deleted_task_keeps_its_comments_until_the_purge(app, user_client, user, make_task):
    from datetime import timedelta

    from webapp.models import utcnow
    from webapp.services import tasks as task_service

    task_id = make_task(user)
    user_client.form_post(f"/tasks/{task_id}/comments", {"body": "On a doomed task"})

    user_client.form_post(f"/tasks/{task_id}/delete")

    assert len(comments(app)) == 1  # Undo brings the task back with its conversation
    assert user_client.get(f"/tasks/{task_id}/comments").status_code == 404
    with app.app_context():
        later = utcnow() + task_service.DELETED_RETENTION + timedelta(minutes=1)
        assert task_service.purge_deleted_tasks(now=later) == 1
    assert comments(app) == []
