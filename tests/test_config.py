"""Configuration: database URLs, production refusals, the health check."""

import pytest
import sqlalchemy as sa

from webapp import create_app
from webapp.config import ProductionConfig, TestConfig, database_url_from_env


@pytest.mark.parametrize("given,expected", [
    ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
    ("", "sqlite:///default.db"),
])
def test_database_urls_map_to_psycopg3(given, expected):
    assert database_url_from_env(given, "sqlite:///default.db") == expected


@pytest.mark.parametrize("key", [None, "", "dev-only-insecure-key", "short"])
def test_production_refuses_to_start_without_a_real_secret_key(key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig, SECRET_KEY=key, SQLALCHEMY_DATABASE_URI="sqlite://")


def test_production_starts_with_a_secret_key_and_secure_cookies():
    app = create_app(ProductionConfig, SECRET_KEY="x" * 32, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_sqlite_connections_use_foreign_keys_wal_and_busy_timeout(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")
    from webapp.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 5000
        db.engine.dispose()


def test_health_reports_ok_with_database(client):
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "ok" and resp.get_json()["database"] == "ok"


def test_health_is_503_when_database_is_unreachable(tmp_path):
    # A PostgreSQL URL pointing at a closed local port: the database is "down".
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://u@127.0.0.1:1/x")
    resp = app.test_client().get("/health")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "error"


def test_production_logs_to_stdout_only_unless_a_log_file_is_named(tmp_path):
    """gunicorn's workers cannot share a rotating file: production writes no file by default."""
    import os
    import subprocess
    import sys

    script = (
        "import logging; from logging.handlers import RotatingFileHandler\n"
        "from webapp import create_app\n"
        "create_app(SQLALCHEMY_DATABASE_URI='sqlite://')\n"
        "print(sum(isinstance(h, RotatingFileHandler)"
        " for h in logging.getLogger('webapp').handlers))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LOG_FILE"}
    env.update(APP_ENV="production", SECRET_KEY="x" * 32)

    def file_handlers(extra: dict) -> str:
        return subprocess.run(  # noqa: S603
            [sys.executable, "-c", script], env={**env, **extra}, capture_output=True,
            text=True, check=True, cwd=os.path.dirname(os.path.dirname(__file__)),
        ).stdout.strip()

    assert file_handlers({}) == "0"
    assert file_handlers({"LOG_FILE": str(tmp_path / "app.log")}) == "1"
    assert file_handlers({"APP_ENV": "development"}) == "1"
