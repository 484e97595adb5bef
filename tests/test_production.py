"""Production settings: gunicorn.conf.py, the connection pool, proxies, trusted hosts and
secret key rotation."""

from __future__ import annotations

import runpy

import pytest
from flask import request

from webapp.config import redis_url_with_timeouts

from .conftest import Client, login
from .servers import ROOT


def gunicorn_settings(monkeypatch, **env) -> dict:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_WORKER_CLASS", "HOST", "PORT",
                 "LIVE_STREAMS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_config_reads_workers_threads_and_bind_from_environment(monkeypatch):
    settings = gunicorn_settings(monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="8",
                                 GUNICORN_WORKER_CLASS="gthread",
                                 HOST="0.0.0.0", PORT="9000")  # noqa: S104

    assert (settings["workers"], settings["threads"]) == (3, 8)
    assert settings["worker_class"] == "gthread"
    assert settings["bind"] == "0.0.0.0:9000"
    assert settings["raw_env"] == []


def test_gunicorn_config_defaults_to_one_gevent_worker_per_core(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 3)

    settings = gunicorn_settings(monkeypatch)

    assert settings["worker_class"] == "gevent"
    assert (settings["workers"], settings["threads"]) == (3, 1)
    assert settings["worker_connections"] == 1000
    assert settings["preload_app"] is False


def test_gunicorn_sync_workers_switch_live_streams_off(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)

    settings = gunicorn_settings(monkeypatch, GUNICORN_WORKER_CLASS="sync")

    assert (settings["worker_class"], settings["workers"], settings["threads"]) == ("sync", 2, 1)
    assert settings["raw_env"] == ["LIVE_STREAMS=false"]


def test_gunicorn_config_refuses_an_unknown_worker_class(monkeypatch):
    with pytest.raises(RuntimeError, match="GUNICORN_WORKER_CLASS"):
        gunicorn_settings(monkeypatch, GUNICORN_WORKER_CLASS="eventlet")


def test_postgres_engine_gets_pool_settings_and_connect_timeout(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://u@127.0.0.1:1/x",
                   DB_POOL_SIZE=7, DB_POOL_RECYCLE=600)

    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]

    assert options["pool_pre_ping"] is True
    assert (options["pool_size"], options["pool_recycle"]) == (7, 600)
    assert options["connect_args"]["connect_timeout"] == 5


def test_redis_url_gets_socket_timeouts_unless_it_sets_its_own():
    assert redis_url_with_timeouts("redis://r:6379/2", 0.5) == (
        "redis://r:6379/2?socket_timeout=0.5&socket_connect_timeout=0.5"
    )
    assert "socket_timeout=3" in redis_url_with_timeouts("redis://r/0?socket_timeout=3", 0.5)


def add_client_view(app):
    @app.get("/whoami")
    def whoami():
        return f"{request.remote_addr} {request.scheme}"


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_are_ignored_without_trusted_proxies(make_app):
    app = make_app()
    add_client_view(app)

    resp = app.test_client().get("/whoami", headers=FORWARDED)

    assert resp.get_data(as_text=True) == "127.0.0.1 http"


def test_forwarded_headers_are_honoured_behind_one_trusted_proxy(make_app):
    app = make_app(TRUSTED_PROXY_COUNT=1)
    add_client_view(app)

    resp = app.test_client().get("/whoami", headers=FORWARDED)

    assert resp.get_data(as_text=True) == "203.0.113.9 https"


@pytest.mark.parametrize(("host", "status"), [("taskdeck.example", 200), ("evil.example", 400)])
def test_only_trusted_hosts_are_answered(make_app, host, status):
    app = make_app(TRUSTED_HOSTS=["taskdeck.example"])

    resp = app.test_client().get("/auth/login", headers={"Host": host})

    assert resp.status_code == status


@pytest.mark.parametrize(("fallbacks", "status"), [(["old-secret-key-123456"], 200), ([], 302)])
def test_session_signed_with_a_former_key_needs_it_in_the_fallbacks(
    make_app, user, database_url, fallbacks, status
):
    before = make_app(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="old-secret-key-123456",
                      WTF_CSRF_ENABLED=True)
    before.test_client_class = Client
    old_client = before.test_client()
    assert login(old_client, user).status_code == 303
    cookie = old_client.get_cookie("session").value
    after = make_app(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="new-secret-key-654321",
                     SECRET_KEY_FALLBACKS=fallbacks)
    new_client = after.test_client()
    new_client.set_cookie("session", cookie)

    resp = new_client.get("/tasks")

    assert resp.status_code == status
