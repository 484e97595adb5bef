"""The page stream (/live/events) and its polling fallback (/live/poll), served by the
development server as `make run` serves them: heartbeats, headers, the stream limit (as a
race), the end of a stream when its session ends, catch-up, and no leaks."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import User
from webapp.services import users as user_service

from .conftest import browser_session, form_post
from .sse import SSEClient


def open_stream(live_server, session, **kwargs) -> SSEClient:
    return SSEClient(live_server + "/live/events", session=session, **kwargs)


def test_stream_sends_ready_then_heartbeats_with_streaming_headers(live_server, user,
                                                                    live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=0.2, LIVE_STREAM_MAX_SECONDS=10)
    stream = open_stream(live_server, browser_session(live_server, user))
    try:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.headers["Cache-Control"] == "no-cache"
        assert stream.headers["X-Accel-Buffering"] == "no"
        assert stream.next().retry == 2000
        assert stream.next().event == "ready"
        started = time.monotonic()
        beats = [stream.next(2).comment for _ in range(3)]
        elapsed = time.monotonic() - started
    finally:
        stream.close()

    assert beats == ["heartbeat"] * 3
    assert 0.45 <= elapsed < 1.5  # three beats at 0.2 s, not a flood and not late


def test_anonymous_stream_and_poll_are_401(live_server):
    assert requests.get(live_server + "/live/events", timeout=5).status_code == 401
    assert requests.get(live_server + "/live/poll", timeout=5).status_code == 401


def test_eleventh_concurrent_stream_of_a_user_is_429(live_server, user, live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=0.2, LIVE_STREAM_MAX_SECONDS=20)
    session = browser_session(live_server, user)
    attempts = 14
    barrier = threading.Barrier(attempts)
    streams: list[SSEClient] = []
    lock = threading.Lock()

    def opener():
        barrier.wait()
        opened = open_stream(live_server, session)
        with lock:
            streams.append(opened)

    threads = [threading.Thread(target=opener) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    try:
        statuses = sorted(s.status_code for s in streams)
        refused = next(s for s in streams if s.status_code == 429)
        assert statuses == [200] * 10 + [429] * 4
        assert int(refused.headers["Retry-After"]) > 0
    finally:
        for stream in streams:
            stream.close()
    # Closed streams give their places back (noticed at their next heartbeat).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        again = open_stream(live_server, session)
        again.close()
        if again.status_code == 200:
            break
        time.sleep(0.2)
    assert again.status_code == 200


def test_logout_ends_the_stream_at_once(live_server, user, live_config):
    # A long heartbeat: the end comes from the access event the logout publishes.
    live_config(LIVE_HEARTBEAT_SECONDS=30, LIVE_STREAM_MAX_SECONDS=60)
    session = browser_session(live_server, user)
    stream = open_stream(live_server, session)
    stream.next()
    stream.next()
    started = time.monotonic()

    assert form_post(session, live_server, "/auth/logout").status_code == 303

    assert stream.wait_closed(3), "the stream outlived its session"
    assert time.monotonic() - started < 3


def test_deactivation_ends_the_stream_within_one_heartbeat(app, live_server, user,
                                                           live_config):
    """Even a change no hook sees (SQL written by hand) ends the stream at the next beat."""
    live_config(LIVE_HEARTBEAT_SECONDS=0.3, LIVE_STREAM_MAX_SECONDS=60)
    stream = open_stream(live_server, browser_session(live_server, user))
    stream.next()
    stream.next()
    with app.app_context():
        db.session.execute(sa.text("UPDATE users SET is_active = :no WHERE id = :id"),
                           {"no": False, "id": user.id})
        db.session.commit()

    assert stream.wait_closed(1.5)


def test_deactivation_by_an_admin_ends_the_stream_at_once(app, live_server, user, admin,
                                                          live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=30, LIVE_STREAM_MAX_SECONDS=60)
    stream = open_stream(live_server, browser_session(live_server, user))
    stream.next()
    stream.next()
    with app.app_context():
        user_service.set_active(db.session.get(User, admin.id), user.id, False)

    assert stream.wait_closed(3)


def test_stream_carries_own_changes_and_nothing_of_others(live_server, user, other_user,
                                                          admin, live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=0.5, LIVE_STREAM_MAX_SECONDS=30)
    mine = browser_session(live_server, user)
    theirs = browser_session(live_server, other_user)
    mine_stream = open_stream(live_server, mine)
    their_stream = open_stream(live_server, theirs)
    admin_stream = open_stream(live_server, browser_session(live_server, admin))
    try:
        assert form_post(theirs, live_server, "/tasks", {
            "title": "Secret plan of oscar", "status": "pending", "priority": "high"},
            htmx=True).status_code == 201
        created = their_stream.events(1)[0]
        assert admin_stream.events(1)[0].json()["taskId"] == created.json()["taskId"]
        task_id = created.json()["taskId"]
        form_post(theirs, live_server, f"/tasks/{task_id}/complete", htmx=True)
        form_post(theirs, live_server, f"/tasks/{task_id}/delete", htmx=True)
        assert [m.json()["type"] for m in their_stream.events(2)] == [
            "task.completed", "task.deleted"]

        leaked = mine_stream.quiet_for(1.2)
    finally:
        for stream in (mine_stream, their_stream, admin_stream):
            stream.close()

    assert leaked == []
    wire = bytes(mine_stream.wire).decode()
    assert "Secret plan" not in wire and str(task_id) not in wire and "id:" not in wire
    assert set(filter(None, wire.split("\n\n"))) <= {
        "retry: 2000", "event: ready\ndata: {}", ": heartbeat"}
    assert created.json() == {"type": "task.created", "taskId": task_id, "version": 1,
                              "time": pytest.approx(time.time(), abs=30)}


def test_reconnecting_with_last_event_id_gets_exactly_what_was_missed(live_server, user,
                                                                      live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=5, LIVE_STREAM_MAX_SECONDS=30)
    session = browser_session(live_server, user)
    first = open_stream(live_server, session)
    form_post(session, live_server, "/tasks", {"title": "one"}, htmx=True)
    seen = first.events(1)[0]
    first.close()
    for title in ("two", "three"):
        form_post(session, live_server, "/tasks", {"title": title}, htmx=True)

    again = open_stream(live_server, session, last_event_id=seen.id)
    try:
        missed = again.events(2)
        form_post(session, live_server, "/tasks", {"title": "four"}, htmx=True)
        live = again.events(1)
        extra = again.quiet_for(0.5)
    finally:
        again.close()

    ids = [m.id for m in missed + live]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))) and len(set(ids)) == 3
    assert [m.json()["taskId"] for m in missed + live] == [
        seen.json()["taskId"] + n for n in (1, 2, 3)]
    assert extra == []


def test_malformed_last_event_id_is_400(live_server, user):
    session = browser_session(live_server, user)
    resp = session.get(live_server + "/live/events", headers={"Last-Event-ID": "yesterday"},
                       timeout=5)
    assert resp.status_code == 400
    assert session.get(live_server + "/live/poll?after=%00", timeout=5).status_code == 400


def test_poll_answers_204_until_something_of_the_users_changes(live_server, user, other_user):
    mine = browser_session(live_server, user)
    theirs = browser_session(live_server, other_user)
    start = mine.get(live_server + "/live/poll", timeout=5)
    assert start.status_code == 200 and start.json()["events"] == []
    position = start.json()["lastEventId"]

    form_post(theirs, live_server, "/tasks", {"title": "Not yours"}, htmx=True)
    quiet = mine.get(live_server + f"/live/poll?after={position}", timeout=5)
    form_post(mine, live_server, "/tasks", {"title": "Yours"}, htmx=True)
    changed = mine.get(live_server + f"/live/poll?after={position}", timeout=5)

    assert quiet.status_code == 204 and quiet.content == b""
    assert changed.status_code == 200
    body = changed.json()
    assert [(e["type"], e["version"]) for e in body["events"]] == [("task.created", 1)]
    assert "Not yours" not in changed.text and "Yours" not in changed.text
    after_change = mine.get(live_server + f"/live/poll?after={body['lastEventId']}", timeout=5)
    assert after_change.status_code == 204


def test_poll_from_a_forgotten_position_asks_for_a_reset(live_server, user):
    session = browser_session(live_server, user)
    resp = session.get(live_server + "/live/poll?after=1000-0", timeout=5)
    assert resp.status_code == 200 and resp.json()["reset"] is True
