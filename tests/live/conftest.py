"""Helpers for the live-update tests: logged-in HTTP sessions and live settings."""

from __future__ import annotations

import re

import pytest
import redis
import requests

from .instances import Instances, require_postgres_and_redis

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def browser_session(base: str, user) -> requests.Session:
    """A requests session logged in through the real login form."""
    session = requests.Session()
    page = session.get(base + "/auth/login", timeout=5)
    token = CSRF_META.search(page.text).group(1)
    resp = session.post(base + "/auth/login", allow_redirects=False, timeout=5, data={
        "csrf_token": token, "username": user.username, "password": user.password})
    assert resp.status_code == 303, resp.status_code
    return session


def csrf_token(session: requests.Session, url: str) -> str:
    return CSRF_META.search(session.get(url, timeout=5).text).group(1)


def form_post(session: requests.Session, base: str, path: str, data: dict | None = None,
              htmx: bool = False) -> requests.Response:
    """POST a form as the page would (CSRF token from the task list)."""
    token = csrf_token(session, base + "/tasks")
    headers = {"HX-Request": "true", "X-CSRFToken": token} if htmx else {}
    body = dict(data or {})
    if not htmx:
        body["csrf_token"] = token
    return session.post(base + path, data=body, headers=headers, allow_redirects=False,
                        timeout=10)


@pytest.fixture
def live_config(app, monkeypatch):
    """Change live settings of the shared app (and of the streams opened afterwards)."""

    def _set(**values):
        for name, value in values.items():
            monkeypatch.setitem(app.config, name, value)

    return _set


@pytest.fixture(autouse=True)
def fresh_stream_counts(request):
    """The suite empties the database after each test and user ids start again at 1: the
    streams a test leaves closing must not count against the next test's user 1."""
    yield
    if "app" not in request.fixturenames:
        return
    live = request.getfixturevalue("app").extensions["taskdeck_live"]
    if hasattr(live.counter, "_leases"):
        with live.counter._lock:
            live.counter._leases.clear()
    with live.checks._lock:  # answers about user 1 or token 1 were about someone else
        live.checks._answers.clear()


# The cross-instance tests share one pair of gunicorn instances (each takes seconds to start).
CLUSTER_HEARTBEAT = 2.0


@pytest.fixture(scope="session")
def live_cluster(app, database_url):
    """Two gunicorn instances (gunicorn.conf.py: gevent) sharing PostgreSQL and Redis, under
    a key and channel prefix of this run's own: (instances, first, second)."""
    redis_url = require_postgres_and_redis(database_url)
    instances = Instances(database_url, redis_url, LIVE_HEARTBEAT_SECONDS=CLUSTER_HEARTBEAT,
                          LIVE_STREAM_MAX_SECONDS=300.0)
    try:
        first, second = instances.start_many(2)
        yield instances, first, second
    finally:
        instances.stop()


@pytest.fixture
def cluster(live_cluster):
    """The shared instances; the stream places of the test's users are forgotten after it (the
    suite empties the database and user ids start again at 1)."""
    yield live_cluster
    instances = live_cluster[0]
    client = redis.Redis.from_url(instances.env["REDIS_URL"])
    for key in client.scan_iter(f"{instances.prefix}:live:streams:*"):
        client.delete(key)
    client.close()
