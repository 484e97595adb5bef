"""GET /health: public, and honest about the database."""

from __future__ import annotations

from tests.openapi_check import checked
from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db

UNREACHABLE_DB = "postgresql+psycopg://nobody@127.0.0.1:9/nothing?connect_timeout=2"


def test_anonymous_sees_health_ok_with_the_database(client):
    resp = checked(client.get("/health"))
    assert resp.status_code == 200
    assert resp.json["status"] == "ok" and resp.json["database"] == "ok"
    assert resp.json["message"]


def test_health_is_503_when_the_database_is_unreachable(app):
    down = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=UNREACHABLE_DB)
    try:
        resp = checked(down.test_client().get("/health"))
    finally:
        with down.app_context():
            db.engine.dispose()
    assert resp.status_code == 503
    assert resp.json["status"] == "error" and resp.json["database"] == "down"
