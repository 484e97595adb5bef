"""Live updates across two gunicorn instances (gunicorn.conf.py, gevent workers) sharing
PostgreSQL and Redis: a change made on one reaches streams on the other, the stream limit
is one count for both (tested as a race), a killed instance gives its places back, and the
end of a session on one instance ends its streams on the other."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
import requests
import websocket

from .conftest import CLUSTER_HEARTBEAT as HEARTBEAT
from .conftest import browser_session, form_post
from .sse import SSEClient


def api_token(app, user) -> str:
    from webapp.extensions import db
    from webapp.models import User
    from webapp.services import tokens as token_service

    with app.app_context():
        _, secret = token_service.create_token(db.session.get(User, user.id), "live")
        db.session.remove()
    return secret


def test_a_change_on_one_instance_reaches_a_script_on_the_other(cluster, app, user):
    _, first, second = cluster
    token = api_token(app, user)
    stream = SSEClient(second.url + "/api/events",
                       headers={"Authorization": f"Bearer {token}"})
    session = browser_session(first.url, user)
    try:
        assert stream.status_code == 200
        stream.next()  # retry: the stream is open and subscribed
        started = time.monotonic()
        created = form_post(session, first.url, "/tasks", {"title": "Made on A"}, htmx=True)
        message = stream.events(1, timeout=2)[0]
        delay = time.monotonic() - started
    finally:
        stream.close()

    assert created.status_code == 201
    assert message.event == "task.created"
    assert message.json()["task"]["title"] == "Made on A"
    assert delay < 2


def test_stream_limit_is_one_count_across_instances(cluster, user):
    _, first, second = cluster
    sessions = [browser_session(first.url, user), browser_session(second.url, user)]
    attempts = 16
    barrier = threading.Barrier(attempts)
    opened: list[SSEClient] = []
    lock = threading.Lock()

    def opener(n: int):
        instance = (first, second)[n % 2]
        barrier.wait()
        stream = SSEClient(instance.url + "/live/events", session=sessions[n % 2])
        with lock:
            opened.append(stream)

    threads = [threading.Thread(target=opener, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    try:
        statuses = sorted(s.status_code for s in opened)
    finally:
        for stream in opened:
            stream.close()

    assert statuses == [200] * 10 + [429] * 6


def test_places_held_by_a_killed_instance_expire(cluster, other_user):
    instances, first, _ = cluster
    doomed = instances.start(LIVE_HEARTBEAT_SECONDS=0.5)  # leases of 1.5 s
    session = browser_session(doomed.url, other_user)
    streams = [SSEClient(doomed.url + "/live/events", session=session) for _ in range(10)]
    assert [s.status_code for s in streams] == [200] * 10
    os.killpg(doomed.process.pid, signal.SIGKILL)  # no clean-up runs
    doomed.process.wait(10)
    for stream in streams:
        stream.close()
    survivor = browser_session(first.url, other_user)

    refused = survivor.get(first.url + "/live/events", stream=True, timeout=5)
    refused.close()
    time.sleep(1.6)
    accepted = SSEClient(first.url + "/live/events", session=survivor)
    accepted.close()

    assert refused.status_code == 429  # the dead instance's leases still count...
    assert accepted.status_code == 200  # ...until they expire


def test_logout_on_one_instance_ends_the_stream_on_the_other(cluster, make_user):
    _, first, second = cluster
    person = make_user("leaver")
    on_second = browser_session(second.url, person)
    stream = SSEClient(second.url + "/live/events", session=on_second)
    assert stream.status_code == 200
    stream.next()
    stream.next()
    started = time.monotonic()

    # The same session, logged out through the other instance.
    assert form_post(on_second, first.url, "/auth/logout").status_code == 303

    assert stream.wait_closed(HEARTBEAT + 1)
    assert time.monotonic() - started < HEARTBEAT + 1
    assert requests.get(second.url + "/live/events", cookies=on_second.cookies,
                        timeout=5).status_code == 401


def test_websocket_on_one_instance_follows_changes_made_on_the_other(cluster, app, user):
    """/api/ws under gunicorn's gevent worker (flask-sock takes over gunicorn's socket)."""
    _, first, second = cluster
    token = api_token(app, user)
    ws = websocket.create_connection(second.url.replace("http://", "ws://") + "/api/ws",
                                     header=[f"Authorization: Bearer {token}"], timeout=5)
    session = browser_session(first.url, user)
    try:
        created = form_post(session, first.url, "/tasks", {"title": "Socket on B"}, htmx=True)
        message = json.loads(ws.recv())
    finally:
        ws.close()
    assert created.status_code == 201
    assert (message["type"], message["task"]["title"]) == ("task.created", "Socket on B")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(second.url.replace("http://", "ws://") + "/api/ws",
                                    timeout=5)
    assert refused.value.status_code == 401
