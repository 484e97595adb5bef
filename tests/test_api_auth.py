"""Who may call the API: tokens, sessions, and the JSON errors for everyone else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import bearer
from tests.openapi_check import checked
from webapp.extensions import db
from webapp.models import ApiToken, User, utcnow
from webapp.services import tokens as token_service

PROTECTED = ["/api/users", "/api/users/1", "/api/tasks", "/api/tasks/1", "/api/stats",
             "/api/analytics"]


@pytest.mark.parametrize("path", PROTECTED)
def test_anonymous_gets_json_401(client, path):
    resp = checked(client.get(path))
    assert resp.status_code == 401
    assert resp.json["code"] == "unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_bearer_token_reads_the_api_without_a_session(client, user, make_token):
    resp = client.get("/api/users", headers=bearer(make_token(user)))
    assert resp.status_code == 200
    assert resp.json["users"][0]["username"] == "alice"
    assert "Set-Cookie" not in resp.headers


def test_logged_in_browser_session_reads_the_api(user_client):
    resp = user_client.get("/api/users")
    assert resp.status_code == 200
    assert resp.json["users"][0]["username"] == "alice"


@pytest.mark.parametrize("header", [
    "Bearer td_not-a-real-token", "Bearer", "Basic YWxpY2U6c2VjcmV0", "td_no-scheme",
])
def test_bad_authorization_header_gets_401(client, user, header):
    resp = checked(client.get("/api/tasks", headers={"Authorization": header}))
    assert resp.status_code == 401
    assert resp.json["code"] == "unauthorized"


def test_bad_token_is_refused_even_with_a_session(user_client):
    resp = user_client.get("/api/tasks", headers=bearer("td_wrong"))
    assert resp.status_code == 401


def test_revoked_token_gets_401(app, client, user, make_token):
    token = make_token(user)
    with app.app_context():
        token_id = token_service.authenticate_token(token).id
        token_service.revoke_token(db.session.get(User, user.id), token_id)
    resp = client.get("/api/tasks", headers=bearer(token))
    assert resp.status_code == 401
    assert "revoked" in resp.json["error"]


def test_expired_token_gets_401(app, client, user, make_token):
    token = make_token(user, expires_on=utcnow().date())
    with app.app_context():
        row = db.session.scalar(db.select(ApiToken))
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get("/api/tasks", headers=bearer(token)).status_code == 401


def test_token_of_deactivated_user_gets_401(app, client, user, make_token):
    token = make_token(user)
    assert client.get("/api/tasks", headers=bearer(token)).status_code == 200
    with app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()
    assert client.get("/api/tasks", headers=bearer(token)).status_code == 401


def test_bearer_token_does_not_open_pages(client, user, make_token):
    resp = client.get("/tasks", headers=bearer(make_token(user)))
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_api_use_is_recorded_on_the_token(app, client, user, make_token):
    client.get("/api/stats", headers=bearer(make_token(user)))
    with app.app_context():
        assert db.session.scalar(db.select(ApiToken)).last_used_at is not None


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/docs"])
def test_anonymous_reads_the_api_description(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api", "/api/tasks/1/extra"])
def test_unknown_api_path_is_json_404(client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert resp.is_json and resp.json["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_write_methods_get_json_405(client, user, make_token, method):
    # /api/stats is read-only (the task endpoints take writes: tests/test_api_write.py).
    resp = getattr(client, method)("/api/stats", headers=bearer(make_token(user)),
                                   json={"title": "x"})
    checked(resp, "get")
    assert resp.status_code == 405
    assert resp.json["code"] == "method_not_allowed"
    assert "GET" in resp.headers["Allow"]
