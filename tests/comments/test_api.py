"""Comments through the JSON API: create, list, edit (marked edited), delete, with the page's
rules and messages and the same audit events. Every JSON answer is also checked against the
OpenAPI document."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.comments.test_pages import comments
from tests.conftest import bearer
from tests.openapi_check import checked
from webapp.extensions import db
from webapp.models import AuditEvent, Comment

COMMENT_FIELDS = {"id", "body", "author", "createdAt", "updatedAt", "edited"}


def api(client, method: str, url: str, token: str, body=None):
    """Call the API with a token; a JSON answer is checked against the document."""
    resp = client.open(url, method=method, headers=bearer(token), json=body)
    return checked(resp, method.lower()) if resp.status_code != 204 else resp


def audit_events(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.target_id,
                      AuditEvent.changes)
            .where(AuditEvent.action.like("comment.%")).order_by(AuditEvent.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_owner_comments_and_gets_201_with_the_comment(app, client, user, make_task,
                                                      make_token):
    task_id = make_task(user)

    resp = api(client, "POST", f"/api/tasks/{task_id}/comments", make_token(user, write=True),
               {"body": "  Looks **good**  "})

    assert resp.status_code == 201
    [stored] = comments(app)
    assert set(resp.json) == COMMENT_FIELDS
    assert resp.json["id"] == stored.id
    assert resp.json["body"] == "Looks **good**"  # trimmed, Markdown as typed
    assert resp.json["author"] == {"id": user.id, "username": "alice", "name": "Alice Example"}
    assert resp.json["edited"] is False
    assert resp.json["createdAt"] == resp.json["updatedAt"]
    assert resp.json["createdAt"].endswith("Z")
    assert resp.headers["Location"] == f"/api/tasks/{task_id}/comments/{stored.id}"


def test_owner_lists_comments_oldest_first(client, user, admin, make_task, make_token):
    task_id = make_task(user)
    url = f"/api/tasks/{task_id}/comments"
    api(client, "POST", url, make_token(user, write=True), {"body": "first"})
    api(client, "POST", url, make_token(admin, write=True), {"body": "second"})

    resp = api(client, "GET", f"/api/tasks/{task_id}/comments", make_token(user, write=True))

    assert resp.status_code == 200
    assert resp.json["count"] == 2
    assert [(item["body"], item["author"]["username"]) for item in resp.json["comments"]] == [
        ("first", "alice"), ("second", "root")]


def test_one_comment_can_be_read(client, user, make_task, make_token):
    task_id = make_task(user)
    token = make_token(user, write=True)
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", token, {"body": "Hi"}).json

    resp = api(client, "GET", f"/api/tasks/{task_id}/comments/{created['id']}", token)

    assert resp.status_code == 200 and resp.json == created


def test_author_edits_a_comment_and_it_is_marked_edited(app, client, user, make_task,
                                                        make_token):
    task_id = make_task(user)
    token = make_token(user, write=True)
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", token,
                  {"body": "Typo hree"}).json

    resp = api(client, "PATCH", f"/api/tasks/{task_id}/comments/{created['id']}", token,
               {"body": "Typo here"})

    assert resp.status_code == 200
    assert resp.json["body"] == "Typo here" and resp.json["edited"] is True
    assert resp.json["updatedAt"] >= resp.json["createdAt"]
    [stored] = comments(app)
    assert stored.body == "Typo here" and stored.is_edited


def test_sending_the_same_text_again_is_not_an_edit(app, client, user, make_task, make_token):
    task_id = make_task(user)
    token = make_token(user, write=True)
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", token, {"body": "Same"}).json

    resp = api(client, "PATCH", f"/api/tasks/{task_id}/comments/{created['id']}", token,
               {"body": "Same"})

    assert resp.status_code == 200 and resp.json["edited"] is False
    assert [event[0] for event in audit_events(app)] == ["comment.create"]


def test_author_deletes_a_comment_with_204(app, client, user, make_task, make_token):
    task_id = make_task(user)
    token = make_token(user, write=True)
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", token, {"body": "Bye"}).json
    url = f"/api/tasks/{task_id}/comments/{created['id']}"

    resp = api(client, "DELETE", url, token)
    again = api(client, "DELETE", url, token)

    assert resp.status_code == 204 and resp.data == b""
    assert again.status_code == 404 and again.json["code"] == "not_found"
    assert comments(app) == []


def test_admin_deletes_any_comment_but_edits_only_their_own(app, client, user, admin,
                                                            make_task, make_token):
    task_id = make_task(user)
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", make_token(user, write=True),
                  {"body": "Alice's"}).json
    url = f"/api/tasks/{task_id}/comments/{created['id']}"
    boss = make_token(admin, write=True)

    edit = api(client, "PATCH", url, boss, {"body": "Admin's now"})
    delete = api(client, "DELETE", url, boss)

    assert edit.status_code == 403
    assert edit.json == {"error": "Only its author can edit a comment.", "code": "forbidden"}
    assert delete.status_code == 204
    assert comments(app) == []


def test_owner_cannot_delete_an_admins_comment_on_their_task(app, client, user, admin,
                                                            make_task, make_token):
    task_id = make_task(user)
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", make_token(admin, write=True),
                  {"body": "From the admin"}).json

    resp = api(client, "DELETE", f"/api/tasks/{task_id}/comments/{created['id']}",
               make_token(user, write=True))

    assert resp.status_code == 403
    assert resp.json["error"] == "Only its author or an admin can delete a comment."
    assert len(comments(app)) == 1


@pytest.mark.parametrize("body,field,message", [
    ({"body": "   "}, "body", "Write something first."),
    ({"body": ""}, "body", "Write something first."),
    ({"body": "x" * 10_001}, "body", "A comment must be at most 10000 characters."),
    ({"body": "nul\x00byte"}, "body", None),
])
def test_bad_comment_is_422_with_the_pages_message(app, client, user, make_task, make_token,
                                                   body, field, message):
    task_id = make_task(user)

    resp = api(client, "POST", f"/api/tasks/{task_id}/comments", make_token(user, write=True), body)

    assert resp.status_code == 422
    assert field in resp.json["fields"]
    if message:
        assert resp.json["fields"][field] == [message]
    assert comments(app) == []


@pytest.mark.parametrize("body", [{}, {"body": None}, {"body": 5}, {"body": ["a"]}, [],
                                  {"body": "ok", "extra": 1}])
def test_malformed_comment_bodies_are_refused_and_change_nothing(app, client, user, make_task,
                                                                 make_token, body):
    task_id = make_task(user)

    resp = api(client, "POST", f"/api/tasks/{task_id}/comments", make_token(user, write=True), body)

    assert resp.status_code in {400, 422}
    assert "code" in resp.json
    assert comments(app) == []


def test_body_that_is_not_json_is_refused(app, client, user, make_task, make_token):
    task_id = make_task(user)
    headers = bearer(make_token(user, write=True))

    broken = client.post(f"/api/tasks/{task_id}/comments", headers=headers,
                         data="{not json", content_type="application/json")
    as_form = client.post(f"/api/tasks/{task_id}/comments", headers=headers,
                          data={"body": "a form"})

    assert broken.status_code == 400 and broken.json["code"] == "invalid_json"
    assert as_form.status_code == 415
    assert comments(app) == []


def test_a_bad_edit_keeps_the_comment(app, client, user, make_task, make_token):
    task_id = make_task(user)
    token = make_token(user, write=True)
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", token, {"body": "Keep"}).json

    resp = api(client, "PATCH", f"/api/tasks/{task_id}/comments/{created['id']}", token,
               {"body": " "})

    assert resp.status_code == 422
    assert resp.json["fields"]["body"] == ["Write something first."]
    [stored] = comments(app)
    assert stored.body == "Keep" and not stored.is_edited


def test_comment_of_a_deleted_account_has_no_author(app, client, user, admin, make_task,
                                                    make_token, make_user):
    task_id = make_task(user)
    gone = make_user("gone", role="admin")
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", make_token(gone, write=True),
                  {"body": "Before I go"}).json
    with app.app_context():
        db.session.execute(sa.update(Comment).where(Comment.id == created["id"])
                           .values(author_id=None))
        db.session.commit()
        db.session.remove()

    resp = api(client, "GET", f"/api/tasks/{task_id}/comments", make_token(user, write=True))

    assert resp.status_code == 200
    assert resp.json["comments"][0]["author"] is None


def test_each_api_comment_change_is_audited_like_the_pages(app, client, user, make_task,
                                                           make_token):
    task_id = make_task(user)
    token = make_token(user, write=True)
    created = api(client, "POST", f"/api/tasks/{task_id}/comments", token, {"body": "One"}).json
    url = f"/api/tasks/{task_id}/comments/{created['id']}"
    api(client, "PATCH", url, token, {"body": "Two"})
    api(client, "DELETE", url, token)

    target, via = str(created["id"]), {"via": "api", "token": token[:10]}
    assert audit_events(app) == [
        ("comment.create", user.id, target, {"task_id": task_id, **via}),
        ("comment.update", user.id, target, {"task_id": task_id, **via}),
        ("comment.delete", user.id, target, {"task_id": task_id, "author_id": user.id, **via})]
