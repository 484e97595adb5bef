"""Every attachment and comment route for anonymous, the task's owner, another user and an
admin: the task's rule holds (another user's file or comment is 404, never 403; anonymous is
sent to log in), and a refused request changes nothing. Access is decided before any storage
is touched, so these run on the folder storage only."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.attachments.conftest import attachment_rows, fetch
from tests.conftest import HTMX, login
from webapp.extensions import db
from webapp.models import Comment, User

OK = "ok"
# (method, path, what the owner gets); {task}, {file}, {comment} are filled in.
ATTACHMENT_ROUTES = [
    ("GET", "/tasks/{task}/attachments", 200),
    ("POST", "/tasks/{task}/attachments", 303),
    ("GET", "/tasks/{task}/attachments/{file}", 200),
    ("GET", "/tasks/{task}/attachments/{file}/thumbnail", 200),
    ("POST", "/tasks/{task}/attachments/{file}/delete", 303),
]
COMMENT_ROUTES = [
    ("GET", "/tasks/{task}/comments", 302),  # the task's page (htmx gets the timeline)
    ("POST", "/tasks/{task}/comments", 303),
    ("GET", "/tasks/{task}/comments/{comment}", 302),
    ("GET", "/tasks/{task}/comments/{comment}/edit", 200),
    ("POST", "/tasks/{task}/comments/{comment}", 303),
    ("POST", "/tasks/{task}/comments/{comment}/delete", 303),
]
# An admin may do all the owner may, except edit someone else's comment (visible: 403).
ADMIN_FORBIDDEN = {("GET", "/tasks/{task}/comments/{comment}/edit"),
                   ("POST", "/tasks/{task}/comments/{comment}")}


def visitor_client(client, make_user, owner, visitor: str):
    if visitor != "anonymous":
        person = {"owner": lambda: owner, "other": lambda: make_user("stranger"),
                  "admin": lambda: make_user("boss", role="admin")}[visitor]()
        assert login(client, person).status_code == 303
        client.logged_in = True
    return client


def send(client, method: str, url: str, headers=None):
    if method == "GET":
        return fetch(client, url, headers=headers or {})
    data = {"body": "Changed by the visitor"}
    if url.endswith("/attachments"):
        data = {"file": [(io.BytesIO(b"new file\n"), "new.txt", "text/plain")]}
    return client.form_post(url, data, headers=headers or {})


def state(app) -> tuple:
    with app.app_context():
        comments = db.session.execute(sa.select(Comment.id, Comment.body)).all()
        db.session.remove()
    return [row.id for row in attachment_rows(app)], comments


@pytest.mark.parametrize("method,path,owner_status", ATTACHMENT_ROUTES + COMMENT_ROUTES)
@pytest.mark.parametrize("visitor", ["anonymous", "owner", "other", "admin"])
def test_route_access(app, client, make_user, scene, visitor, method, path, owner_status):
    owner, ids = scene
    browser = visitor_client(client, make_user, owner, visitor)
    url = path.format(**ids)
    before = state(app)

    resp = send(browser, method, url)

    if visitor == "anonymous":
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    elif visitor == "other":
        assert resp.status_code == 404
    elif visitor == "admin" and (method, path) in ADMIN_FORBIDDEN:
        assert resp.status_code == 403
    else:
        assert resp.status_code == owner_status
    if visitor in {"anonymous", "other"} or (
            visitor == "admin" and (method, path) in ADMIN_FORBIDDEN):
        assert state(app) == before


@pytest.mark.parametrize("method,path,owner_status", ATTACHMENT_ROUTES + COMMENT_ROUTES)
def test_anonymous_htmx_request_is_told_to_log_in(client, scene, method, path, owner_status):
    _, ids = scene

    resp = send(client, method, path.format(**ids), headers=HTMX)

    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"].startswith("/auth/login?next=")


def test_other_users_file_is_not_found_even_through_a_task_they_own(app, client, make_user,
                                                                    make_task, scene):
    _, ids = scene
    stranger = make_user("stranger")
    own_task = make_task(stranger, "Mine")
    login(client, stranger)
    client.logged_in = True

    assert fetch(client, f"/tasks/{own_task}/attachments/{ids['file']}").status_code == 404
    assert client.form_post(
        f"/tasks/{own_task}/attachments/{ids['file']}/delete").status_code == 404
    assert client.form_post(f"/tasks/{own_task}/comments/{ids['comment']}",
                            {"body": "mine now"}).status_code == 404
    assert len(attachment_rows(app)) == 1


def test_deactivated_owner_loses_access(app, client, make_user, scene):
    owner, ids = scene
    login(client, owner)
    with app.app_context():
        db.session.get(User, owner.id).is_active = False
        db.session.commit()
        db.session.remove()

    resp = fetch(client, f"/tasks/{ids['task']}/attachments/{ids['file']}")

    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
