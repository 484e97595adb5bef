"""Event streams for scripts: GET /api/events (SSE) and GET /api/ws (WebSocket), with a
bearer token; own tasks only, in order, each once, resumable with Last-Event-ID."""

from __future__ import annotations

import json

import pytest
import requests
import websocket

from webapp.extensions import db
from webapp.models import User
from webapp.services import tasks as task_service
from webapp.services import tokens as token_service

from .conftest import browser_session
from .sse import SSEClient


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def changes(app):
    """Make task changes through the services, as any writer would."""

    class Changes:
        def create(self, owner, title, **values) -> int:
            with app.app_context():
                task = task_service.create_task(db.session.get(User, owner.id),
                                                task_service.TaskData(title=title, **values))
                task_id = task.id
                db.session.remove()
            return task_id

        def complete(self, owner, task_id):
            with app.app_context():
                task_service.set_completed(db.session.get(User, owner.id), task_id, True)
                db.session.remove()

        def rename(self, owner, task_id, title, version):
            with app.app_context():
                task_service.update_task(db.session.get(User, owner.id), task_id,
                                         task_service.TaskData(title=title), version)
                db.session.remove()

        def delete(self, owner, task_id):
            with app.app_context():
                task_service.delete_task(db.session.get(User, owner.id), task_id)
                db.session.remove()

    return Changes()


def api_stream(live_server, token, **kwargs) -> SSEClient:
    return SSEClient(live_server + "/api/events", headers=bearer(token), **kwargs)


def ws_url(live_server: str) -> str:
    return live_server.replace("http://", "ws://") + "/api/ws"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer td_wrong"},
                                     {"Authorization": "Basic abc"}])
def test_events_without_a_valid_token_is_401_json(live_server, headers):
    resp = requests.get(live_server + "/api/events", headers=headers, timeout=5)
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthorized"


def test_events_with_a_browser_session_only_is_401(live_server, user):
    resp = browser_session(live_server, user).get(live_server + "/api/events", timeout=5)
    assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"


def test_websocket_handshake_without_a_token_is_401(live_server, user):
    for header in ([], ["Authorization: Bearer td_nope"]):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(ws_url(live_server), header=header, timeout=5)
        assert refused.value.status_code == 401


def test_events_stream_own_tasks_in_order_with_the_api_task_object(
        live_server, user, other_user, make_token, changes, live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=1, LIVE_STREAM_MAX_SECONDS=30)
    token = make_token(user)
    stream = api_stream(live_server, token)
    try:
        assert stream.status_code == 200
        assert stream.headers["Cache-Control"] == "no-cache"
        assert stream.headers["X-Accel-Buffering"] == "no"
        changes.create(other_user, "Not for alice")
        task_id = changes.create(user, "Alice's", priority="high")
        changes.rename(user, task_id, "Alice's renamed", 1)
        changes.complete(user, task_id)
        changes.delete(user, task_id)
        messages = stream.events(4)
        extra = stream.quiet_for(0.5)
    finally:
        stream.close()

    assert extra == []
    assert [m.event for m in messages] == [
        "task.created", "task.updated", "task.completed", "task.deleted"]
    bodies = [m.json() for m in messages]
    assert [b["type"] for b in bodies] == [m.event for m in messages]
    assert all(set(b) == {"type", "taskId", "task"} and b["taskId"] == task_id for b in bodies)
    ids = [tuple(map(int, m.id.split("-"))) for m in messages]
    assert ids == sorted(ids) and len(set(ids)) == 4
    # The task as the API shows it, read when the message was sent.
    api_task = bodies[0]["task"]
    assert api_task["id"] == task_id and api_task["userId"] == user.id
    assert {"title", "status", "priority", "dueDate", "createdAt", "weather", "repo"} <= set(
        api_task)
    assert bodies[3]["task"] is None
    assert "Not for alice" not in bytes(stream.wire).decode()


def test_admin_token_streams_every_users_tasks(live_server, user, admin, make_token, changes,
                                               live_config):
    live_config(LIVE_STREAM_MAX_SECONDS=30)
    stream = api_stream(live_server, make_token(admin))
    try:
        task_id = changes.create(user, "Anyone's")
        message = stream.events(1)[0]
    finally:
        stream.close()
    assert message.json()["task"]["id"] == task_id


def test_last_event_id_replays_exactly_the_missed_events_once(live_server, user, make_token,
                                                              changes, live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=5, LIVE_STREAM_MAX_SECONDS=30)
    token = make_token(user)
    first = api_stream(live_server, token)
    first_task = changes.create(user, "Before the gap")
    last_seen = first.events(1)[0]
    first.close()
    missed_task = changes.create(user, "During the gap")
    changes.complete(user, missed_task)
    changes.rename(user, first_task, "Renamed in the gap", 1)

    again = api_stream(live_server, token, last_event_id=last_seen.id)
    try:
        replayed = again.events(3)
        live_task = changes.create(user, "After the gap")
        live = again.events(1)
        extra = again.quiet_for(0.5)
    finally:
        again.close()

    assert [(m.event, m.json()["taskId"]) for m in replayed + live] == [
        ("task.created", missed_task), ("task.completed", missed_task),
        ("task.updated", first_task), ("task.created", live_task)]
    assert extra == []
    assert last_seen.id not in [m.id for m in replayed]


def test_last_event_id_older_than_the_history_gets_a_reset(live_server, user, make_token,
                                                           live_config):
    live_config(LIVE_STREAM_MAX_SECONDS=2)
    stream = api_stream(live_server, make_token(user), last_event_id="1000-0")
    try:
        message = stream.events(1)[0]
    finally:
        stream.close()
    assert message.event == "reset"
    assert message.json() == {"type": "reset", "taskId": None, "task": None}
    assert message.id  # where to resume from


def test_revoking_the_token_ends_its_stream(app, live_server, user, make_token, live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=30, LIVE_STREAM_MAX_SECONDS=60)
    token = make_token(user)
    stream = api_stream(live_server, token)
    stream.next()
    with app.app_context():
        row = token_service.tokens_of(db.session.get(User, user.id))[0]
        token_service.revoke_token(db.session.get(User, user.id), row.id)

    assert stream.wait_closed(3)
    assert requests.get(live_server + "/api/events", headers=bearer(token),
                        timeout=5).status_code == 401


def test_websocket_streams_the_same_messages_and_resumes(live_server, user, other_user,
                                                         make_token, changes, live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=1, LIVE_STREAM_MAX_SECONDS=30)
    token = make_token(user)
    ws = websocket.create_connection(ws_url(live_server), header=[
        f"Authorization: Bearer {token}"], timeout=5)
    try:
        changes.create(other_user, "Not for alice")
        task_id = changes.create(user, "Over the socket")
        changes.complete(user, task_id)
        received = [json.loads(ws.recv()) for _ in range(2)]
    finally:
        ws.close()
    assert [(m["type"], m["taskId"]) for m in received] == [
        ("task.created", task_id), ("task.completed", task_id)]
    assert received[0]["task"]["title"] == "Over the socket"
    assert set(received[0]) == {"type", "taskId", "task", "id"}

    later = changes.create(user, "While away")
    ws = websocket.create_connection(ws_url(live_server), header=[
        f"Authorization: Bearer {token}", f"Last-Event-ID: {received[1]['id']}"], timeout=5)
    try:
        resumed = json.loads(ws.recv())
        ws.settimeout(0.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv()
    finally:
        ws.close()
    assert (resumed["type"], resumed["taskId"]) == ("task.created", later)


def test_stream_limit_counts_sse_and_websocket_together(live_server, user, make_token,
                                                        live_config):
    live_config(LIVE_HEARTBEAT_SECONDS=0.3, LIVE_STREAM_MAX_SECONDS=20)
    token = make_token(user)
    streams = [api_stream(live_server, token) for _ in range(9)]
    ws = websocket.create_connection(ws_url(live_server), header=[
        f"Authorization: Bearer {token}"], timeout=5)
    try:
        assert [s.status_code for s in streams] == [200] * 9
        over = requests.get(live_server + "/api/events", headers=bearer(token), timeout=5)
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(ws_url(live_server), header=[
                f"Authorization: Bearer {token}"], timeout=5)
    finally:
        ws.close()
        for stream in streams:
            stream.close()
    assert over.status_code == 429 and over.json()["code"] == "too_many_streams"
    assert refused.value.status_code == 429
