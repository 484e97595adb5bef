"""Faults: PostgreSQL down or restarted, Redis down or silently dropping packets.

The database outage is real but local to the test (an app pointed at a closed port, or its
own connections terminated with pg_terminate_backend); the machine's PostgreSQL is never
stopped. Redis is a closed port or a local server that accepts and never answers.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from webapp.extensions import cache, limiter

from .conftest import login
from .servers import SilentServer, free_port


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def add_limited_view(app, limit: str = "3 per minute"):
    """A view with a Flask-Limiter limit, the kind login throttling and the API use."""

    @app.get("/limited")
    @limiter.limit(limit)
    def limited():
        return "ok"


def timed_get(client, url: str):
    start = time.monotonic()
    resp = client.get(url)
    return resp, time.monotonic() - start


# --- PostgreSQL ----------------------------------------------------------------------------

def test_page_with_database_down_answers_503_without_traceback(make_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"  # a logged-in session: loading the user needs the database

    resp = client.get("/tasks")

    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    body = resp.get_data(as_text=True)
    assert "briefly unavailable" in body
    assert "Traceback" not in body and "psycopg" not in body


def test_htmx_request_with_database_down_gets_a_503_fragment(make_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    client = make_app(SQLALCHEMY_DATABASE_URI=url).test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"

    resp = client.get("/tasks", headers={"HX-Request": "true"})

    assert resp.status_code == 503
    assert "briefly unavailable" in resp.get_data(as_text=True)
    assert "<html" not in resp.get_data(as_text=True)


def test_health_with_database_down_answers_503_json(make_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    resp = make_app(SQLALCHEMY_DATABASE_URI=url).test_client().get("/health")

    assert resp.status_code == 503
    assert resp.get_json()["database"] == "down"


@pytest.mark.postgres_only
def test_user_pages_recover_after_database_connections_are_killed(database_url, user_client):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    assert user_client.get("/tasks").status_code == 200  # the pool now holds a connection

    # What a PostgreSQL restart does to the pool: every server-side connection ends.
    killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with killer.connect() as conn:
        killed = conn.scalar(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))
    killer.dispose()
    assert killed >= 1

    assert user_client.get("/tasks").status_code == 200


# --- Redis ---------------------------------------------------------------------------------

def test_pages_work_quickly_with_redis_port_closed(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    add_limited_view(app, "100 per minute")
    client = app.test_client()

    resp, seconds = timed_get(client, "/limited")

    assert resp.status_code == 200
    assert seconds < 1.5


def test_rate_limit_falls_back_to_process_memory_with_redis_silent(make_app, silent_server):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{silent_server.port}/0")
    add_limited_view(app, "3 per minute")
    client = app.test_client()

    answers = [timed_get(client, "/limited") for _ in range(4)]

    assert [resp.status_code for resp, _ in answers] == [200, 200, 200, 429]
    assert max(seconds for _, seconds in answers) < 2
    assert silent_server.accepted, "the limiter never tried Redis"


def test_cache_misses_at_once_after_redis_goes_silent(make_app, silent_server):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{silent_server.port}/0")
    with app.app_context():
        start = time.monotonic()
        first = cache.get("stats")  # waits one socket timeout, then gives up
        first_seconds = time.monotonic() - start
        start = time.monotonic()
        cache.set("stats", {"n": 1})
        second = cache.get("stats")
        later_seconds = time.monotonic() - start

    assert (first, second) == (None, None)
    assert first_seconds < 1.5
    assert later_seconds < 0.1


def test_app_factory_opens_no_database_or_redis_connection(make_app, silent_server):
    redis_server, db_server = silent_server, SilentServer()
    try:
        app = make_app(
            SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://u@127.0.0.1:{db_server.port}/x",
            REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
        )
        time.sleep(0.2)
        opened_at_start = len(redis_server.accepted) + len(db_server.accepted)
        with app.app_context():
            cache.get("probe")  # the first use connects: the probe can see connections
        time.sleep(0.2)
    finally:
        db_server.close()

    assert opened_at_start == 0
    assert len(redis_server.accepted) == 1


def test_login_works_with_redis_down(make_app, user, database_url):
    other = make_app(SQLALCHEMY_DATABASE_URI=database_url,
                     REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", WTF_CSRF_ENABLED=True)
    from .conftest import Client

    other.test_client_class = Client
    client = other.test_client()

    assert login(client, user).status_code == 303
    assert client.get("/tasks").status_code == 200
