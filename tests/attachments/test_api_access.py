"""Every attachment and comment route of the JSON API for anonymous, the task's owner, another
user and an admin (all with write tokens), and for read-only tokens: the task's rule holds
(another user's file or comment is 404, never 403; anonymous is a JSON 401), a write needs the
write scope (403 insufficient_scope), and a refused request changes nothing."""

from __future__ import annotations

import io

import pytest

from tests.attachments.conftest import fetch, multipart_body
from tests.attachments.test_access import state
from tests.conftest import bearer
from tests.openapi_check import checked

# (method, path, what the owner gets); {task}, {file}, {comment} are filled in.
ROUTES = [
    ("GET", "/api/tasks/{task}/attachments", 200),
    ("POST", "/api/tasks/{task}/attachments", 201),
    ("GET", "/api/tasks/{task}/attachments/{file}", 200),
    ("DELETE", "/api/tasks/{task}/attachments/{file}", 204),
    ("GET", "/api/tasks/{task}/comments", 200),
    ("POST", "/api/tasks/{task}/comments", 201),
    ("GET", "/api/tasks/{task}/comments/{comment}", 200),
    ("PATCH", "/api/tasks/{task}/comments/{comment}", 200),
    ("DELETE", "/api/tasks/{task}/comments/{comment}", 204),
]
WRITES = [route for route in ROUTES if route[0] != "GET"]
READS = [route for route in ROUTES if route[0] == "GET"]
# An admin may do all the owner may, except edit someone else's comment (visible: 403).
ADMIN_FORBIDDEN = {("PATCH", "/api/tasks/{task}/comments/{comment}")}


def send(client, method: str, url: str, headers: dict):
    if method == "GET":
        resp = fetch(client, url, headers=headers)
    elif method == "POST" and url.endswith("/attachments"):
        resp = client.post(url, headers=headers, **multipart_body(
            {"file": [(io.BytesIO(b"new file\n"), "new.txt", "text/plain")]}))
    elif method in {"POST", "PATCH"}:
        resp = client.open(url, method=method, headers=headers,
                           json={"body": "Changed by the visitor"})
    else:
        resp = client.open(url, method=method, headers=headers)
    if resp.mimetype == "application/json" or resp.status_code >= 400:
        checked(resp, method.lower())
    return resp


def credentials(make_user, make_token, owner, visitor: str) -> dict:
    if visitor == "anonymous":
        return {}
    person = {"owner": lambda: owner, "other": lambda: make_user("stranger"),
              "admin": lambda: make_user("boss", role="admin")}[visitor]()
    return bearer(make_token(person, write=True))


@pytest.mark.parametrize("method,path,owner_status", ROUTES)
@pytest.mark.parametrize("visitor", ["anonymous", "owner", "other", "admin"])
def test_api_route_access(app, client, make_user, make_token, scene, visitor, method, path,
                          owner_status):
    owner, ids = scene
    headers = credentials(make_user, make_token, owner, visitor)
    before = state(app)

    resp = send(client, method, path.format(**ids), headers)

    if visitor == "anonymous":
        assert resp.status_code == 401 and resp.json["code"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    elif visitor == "other":
        assert resp.status_code == 404 and resp.json["code"] == "not_found"
    elif visitor == "admin" and (method, path) in ADMIN_FORBIDDEN:
        assert resp.status_code == 403 and resp.json["code"] == "forbidden"
    else:
        assert resp.status_code == owner_status
    if visitor in {"anonymous", "other"} or (
            visitor == "admin" and (method, path) in ADMIN_FORBIDDEN):
        assert state(app) == before


@pytest.mark.parametrize("method,path,owner_status", WRITES)
def test_read_only_token_cannot_write(app, client, scene, make_token, method, path,
                                      owner_status):
    owner, ids = scene
    before = state(app)

    resp = send(client, method, path.format(**ids), bearer(make_token(owner)))

    assert resp.status_code == 403
    assert resp.json["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    assert state(app) == before


@pytest.mark.parametrize("method,path,owner_status", READS)
def test_read_only_token_reads(client, scene, make_token, method, path, owner_status):
    owner, ids = scene

    resp = send(client, method, path.format(**ids), bearer(make_token(owner)))

    assert resp.status_code == owner_status


def test_another_users_file_or_comment_is_404_even_through_a_task_they_own(
        app, client, make_user, make_task, make_token, scene):
    _, ids = scene
    stranger = make_user("stranger")
    own_task = make_task(stranger, "Mine")
    headers = bearer(make_token(stranger, write=True))
    before = state(app)

    download = fetch(client, f"/api/tasks/{own_task}/attachments/{ids['file']}",
                     headers=headers)
    delete = client.delete(f"/api/tasks/{own_task}/attachments/{ids['file']}", headers=headers)
    edit = client.patch(f"/api/tasks/{own_task}/comments/{ids['comment']}", headers=headers,
                        json={"body": "mine now"})
    remove = client.delete(f"/api/tasks/{own_task}/comments/{ids['comment']}",
                           headers=headers)

    assert [download.status_code, delete.status_code, edit.status_code,
            remove.status_code] == [404, 404, 404, 404]
    assert state(app) == before


def test_missing_and_malformed_ids_are_404(client, scene, make_token):
    owner, ids = scene
    headers = bearer(make_token(owner, write=True))

    for url in (f"/api/tasks/{ids['task']}/attachments/999999",
                f"/api/tasks/{ids['task']}/comments/999999",
                "/api/tasks/999999/attachments", "/api/tasks/999999/comments",
                f"/api/tasks/{ids['task']}/attachments/99999999999999999999",
                f"/api/tasks/{ids['task']}/comments/-1"):
        resp = fetch(client, url, headers=headers)
        assert resp.status_code == 404, url
        assert resp.json["code"] == "not_found", url
