"""Redis going away mid-stream (a Redis of the test's own, paused or restarted): streams
end, nothing answers 500, pages and writes keep working, and clients that reconnect with
their Last-Event-ID catch up: exactly the missed events when Redis kept its data, a reset
when it came back empty."""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import browser_session, form_post
from .instances import Instances
from .redis_server import RedisServer
from .sse import SSEClient

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def outage(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    redis_server = RedisServer()
    instances = Instances(database_url, redis_server.url, LIVE_HEARTBEAT_SECONDS=1.0,
                          LIVE_STREAM_MAX_SECONDS=120.0)
    try:
        yield redis_server, instances.start()
    finally:
        instances.stop()
        redis_server.close()


def token_for(app, user) -> str:
    from webapp.extensions import db
    from webapp.models import User
    from webapp.services import tokens as token_service

    with app.app_context():
        _, secret = token_service.create_token(db.session.get(User, user.id), "outage")
        db.session.remove()
    return secret


def reopen(url: str, headers: dict, last_event_id: str, timeout: float = 15) -> SSEClient:
    """Reconnect as a client does (every half second) until the stream is back."""
    deadline = time.monotonic() + timeout
    while True:
        stream = SSEClient(url, headers=headers, last_event_id=last_event_id)
        if stream.status_code == 200 or time.monotonic() > deadline:
            return stream
        assert stream.status_code == 503, stream.status_code
        stream.close()
        time.sleep(0.5)


def test_streams_end_and_catch_up_exactly_when_redis_comes_back(outage, app, user):
    redis_server, instance = outage
    headers = {"Authorization": f"Bearer {token_for(app, user)}"}
    session = browser_session(instance.url, user)
    stream = SSEClient(instance.url + "/api/events", headers=headers)
    form_post(session, instance.url, "/tasks", {"title": "Before"}, htmx=True)
    last = stream.events(1)[0]

    redis_server.pause()  # a Redis that hangs: connections open, no answers
    try:
        assert stream.wait_closed(8), "the stream outlived Redis"
        page = session.get(instance.url + "/tasks", timeout=10)
        during = form_post(session, instance.url, "/tasks", {"title": "During"}, htmx=True)
        refused = requests.get(instance.url + "/api/events", headers=headers, timeout=10)
        poll = session.get(instance.url + "/live/poll?after=" + last.id, timeout=10)
    finally:
        redis_server.resume()

    assert page.status_code == 200 and "Before" in page.text
    assert during.status_code == 201
    assert refused.status_code == 503 and refused.json()["code"] == "live_unavailable"
    assert "Retry-After" in refused.headers
    assert poll.status_code == 503
    again = reopen(instance.url + "/api/events", headers, last.id)
    try:
        caught_up = again.events(1, timeout=10)
        extra = again.quiet_for(1.0)
    finally:
        again.close()
    assert [(m.event, m.json()["task"]["title"]) for m in caught_up] == [
        ("task.created", "During")]
    assert extra == []


def test_a_redis_that_returns_empty_tells_clients_to_reset(outage, app, user):
    redis_server, instance = outage
    headers = {"Authorization": f"Bearer {token_for(app, user)}"}
    session = browser_session(instance.url, user)
    stream = SSEClient(instance.url + "/api/events", headers=headers)
    form_post(session, instance.url, "/tasks", {"title": "Before"}, htmx=True)
    last = stream.events(1)[0]

    redis_server.stop()
    assert stream.wait_closed(8)
    assert session.get(instance.url + "/tasks", timeout=10).status_code == 200
    assert form_post(session, instance.url, "/tasks", {"title": "While down"},
                     htmx=True).status_code == 201
    redis_server.start()  # empty: the history is gone

    again = reopen(instance.url + "/api/events", headers, last.id)
    try:
        first = again.events(1, timeout=10)[0]
        form_post(session, instance.url, "/tasks", {"title": "After"}, htmx=True)
        titles = []
        while "After" not in titles:
            titles.append(again.events(1, timeout=10)[0].json()["task"]["title"])
    finally:
        again.close()
    assert first.event == "reset"
    # "While down" waited in the instance's backlog and was published when Redis answered
    # again: before this stream opened (the reset covers it) or after (it arrives itself).
    assert titles in (["After"], ["While down", "After"])
