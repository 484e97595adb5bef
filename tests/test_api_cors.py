"""CORS on /api for the origins in CORS_ORIGINS, and for no one by default."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db

ALLOWED = "https://scripts.example"


@pytest.fixture
def cors_client(app, database_url):
    """A second app on the same database, configured with two allowed origins."""
    cors_app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                          CORS_ORIGINS=f"{ALLOWED}, https://dashboards.example")
    yield cors_app.test_client()
    with cors_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_api_allows_no_origin_by_default(client, user, make_token):
    resp = client.get("/api/tasks", headers={**bearer(make_token(user)), "Origin": ALLOWED})
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_listed_origin_may_read_the_api(cors_client, user, make_token):
    resp = cors_client.get("/api/tasks",
                           headers={**bearer(make_token(user)), "Origin": ALLOWED})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-RateLimit-Remaining" in resp.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in resp.headers


def test_unlisted_origin_gets_no_cors_headers(cors_client, user, make_token):
    resp = cors_client.get("/api/tasks", headers={**bearer(make_token(user)),
                                                  "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_preflight_for_a_token_request_succeeds(cors_client):
    resp = cors_client.options("/api/tasks", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    })
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "authorization" in resp.headers["Access-Control-Allow-Headers"].lower()


def test_pages_get_no_cors_headers(cors_client):
    resp = cors_client.get("/auth/login", headers={"Origin": ALLOWED})
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers
