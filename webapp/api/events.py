"""Event streams for scripts: `GET /api/events` (server-sent events) and `GET /api/ws` (the
same over a WebSocket), for the tasks the token's owner may see (an admin: every task).

Each message is `{"type", "taskId", "task"}`: `task` is the task as `GET /api/tasks/<id>`
shows it, read when the message is sent, through the same access rule; `null` for a deletion
(and for a task that left the caller's view, announced to them as `task.deleted`). A reset
(`{"type": "reset", "taskId": null, "task": null}`) means the gap since Last-Event-ID is
older than the kept history: re-read the tasks. Both need a bearer token (a browser session
is not enough: pages have their own stream, /live/events).
"""

from __future__ import annotations

import json

from flask import current_app, g, make_response, request
from flask_sock import Sock

from ..errors import error_response
from ..extensions import db
from ..live.streams import HEARTBEAT, RESET, Stream, Viewer
from ..live.views import open_stream, sse_response
from ..services import tasks as task_service
from ..services.errors import NotFound
from ..services.tokens import live_token
from .auth import api_caller
from .serializers import task_json
from .views import bp

sock = Sock()
WS_ENDPOINT = "api.websocket"


def token_viewer() -> Viewer | None:
    """The stream's viewer: the bearer token's owner (None without a token)."""
    caller = api_caller()
    if caller.token is None:
        return None
    return Viewer.of(caller.user, caller.token)


def token_still_good(viewer: Viewer) -> bool:
    """The token is still live (not revoked or expired, owner active) with the same role."""
    token = live_token(viewer.token_id)
    return token is not None and token.user.role == viewer.role


def token_required():
    resp = make_response(error_response(
        401, "Event streams need a token: send Authorization: Bearer <token>.", "unauthorized"))
    resp.headers["WWW-Authenticate"] = 'Bearer realm="taskdeck"'
    return resp


def message_for(viewer: Viewer, item, seen: str) -> dict:
    """The JSON object a script receives for one event (or a reset)."""
    if item == RESET:
        return {"type": "reset", "taskId": None, "task": None}
    task = None
    if seen != "task.deleted":
        try:
            task = task_json(task_service.get_task_for(viewer, item.task_id))
        except NotFound:
            task = None  # deleted (or given away) since: its task.deleted follows
        finally:
            db.session.remove()
    return {"type": seen, "taskId": item.task_id, "task": task}


def open_token_stream() -> Stream | object:
    viewer = token_viewer()
    if viewer is None:
        return token_required()
    return open_stream(viewer, lambda: token_still_good(viewer))


@bp.get("/events")
def events():
    """Server-sent events: `id:` (resume with Last-Event-ID), `event:` (the type), `data:`
    the message; a heartbeat comment every LIVE_HEARTBEAT_SECONDS."""
    stream = open_token_stream()
    if not isinstance(stream, Stream):
        return stream
    viewer = stream.viewer
    db.session.remove()
    retry = current_app.config["LIVE_RETRY_MS"]

    def messages():
        try:
            yield f"retry: {retry}\n\n"
            db.session.remove()
            for item, seen in stream.messages():
                if item == HEARTBEAT:
                    yield ": heartbeat\n\n"
                    continue
                body = message_for(viewer, item, seen)
                event_id = seen if item == RESET else item.id
                yield f"id: {event_id}\nevent: {body['type']}\ndata: " \
                      f"{json.dumps(body, separators=(',', ':'))}\n\n"
        finally:
            stream.close()

    return sse_response(messages())


@bp.before_request
def websocket_handshake():
    """/api/ws is authorised and counted BEFORE the handshake, so a refusal is a plain HTTP
    answer (401, 429, 503) rather than a WebSocket that opens and closes. A plain GET without
    the upgrade headers is refused by routing already (400)."""
    if request.endpoint != WS_ENDPOINT:
        return None
    if not any(key in request.environ for key in ("werkzeug.socket", "gunicorn.socket")):
        return error_response(400, "This server cannot take over the connection.",
                              "websocket_unsupported")
    stream = open_token_stream()
    if not isinstance(stream, Stream):
        return stream
    g.live_stream = stream
    return None


@bp.teardown_request
def close_websocket_stream(_error):
    """A handshake that failed after the stream was opened gives its place back."""
    stream = g.pop("live_stream", None)
    if stream is not None:
        stream.close()


@sock.route("/ws", bp=bp, endpoint="websocket")
def websocket(ws):
    """The same messages as /api/events, one JSON text message each (with its `id`). Send the
    token in the handshake's Authorization header; resume with Last-Event-ID (or `after`)."""
    stream: Stream = g.live_stream
    viewer = stream.viewer
    db.session.remove()
    try:
        for item, seen in stream.messages():
            if not ws.connected:
                return
            while ws.receive(timeout=0) is not None:
                pass  # nothing a client sends is read; drop it
            if item == HEARTBEAT:
                continue  # the WebSocket pings (SOCK_SERVER_OPTIONS) keep the line alive
            body = message_for(viewer, item, seen)
            body["id"] = seen if item == RESET else item.id
            ws.send(json.dumps(body, separators=(",", ":")))
    finally:
        stream.close()


# --- The two streams in the OpenAPI document --------------------------------------------------
# Registered here, next to the views, so the hand-written document (openapi.py, which the
# declared-schema rewrite replaces) describes them without this module editing it.

def _describe_in_openapi() -> None:
    from .openapi import DOCUMENT, PATHS, SCHEMAS, operation, query, ref, response_ref

    SCHEMAS["LiveMessage"] = {
        "type": "object",
        "description": "One change. Over SSE it is the `data:` of a message whose `event:` is "
        "the type and whose `id:` resumes the stream; over the WebSocket it also has `id`.",
        "required": ["type", "taskId", "task"],
        "properties": {
            "type": {"type": "string", "enum": [
                "task.created", "task.updated", "task.completed", "task.reopened",
                "task.deleted", "reset"]},
            "taskId": {"type": ["integer", "null"]},
            "task": {"anyOf": [ref("Task"), {"type": "null"}],
                     "description": "The task as GET /api/tasks/{id} shows it, read when the "
                     "message is sent; null for task.deleted and reset."},
            "id": {"type": "string", "description": "WebSocket messages only."},
        },
    }
    resume = [
        query("after", {"type": "string", "pattern": r"^\d{1,15}-\d{1,15}$"},
              "Resume after this event id (the Last-Event-ID header wins when both are sent)."),
        {"name": "Last-Event-ID", "in": "header", "required": False,
         "schema": {"type": "string", "pattern": r"^\d{1,15}-\d{1,15}$"},
         "description": "The id of the last event received: the stream starts with exactly "
         "the events after it, or with one `reset` when it is older than the kept history."},
    ]
    unavailable = {"description": "Live updates are unavailable (Redis down, or streams off "
                   "on this server); retry after Retry-After seconds.",
                   "content": {"application/json": {"schema": ref("Error")}},
                   "headers": {"Retry-After": {"schema": {"type": "integer"}}}}
    events_op = operation(
        "Follow task changes",
        "Server-sent events for the tasks the token's owner may see (an admin: all): "
        "`id:`, `event:` (the type) and `data:` (a LiveMessage) per change, in order, once "
        "each; `: heartbeat` comments every LIVE_HEARTBEAT_SECONDS. Needs a bearer token (a "
        "browser session is refused). At most LIVE_MAX_STREAMS_PER_USER open streams per "
        "user (429 beyond). See the README for a client that resumes with Last-Event-ID.",
        {"description": "The stream (text/event-stream, open until the client leaves).",
         "content": {"text/event-stream": {"schema": {"type": "string"}}}},
        tag="live", parameters=resume, bad_parameters=True,
    )
    events_op["responses"]["503"] = unavailable
    events_op["security"] = [{"bearerToken": []}]
    ws_op = operation(
        "Follow task changes over a WebSocket",
        "The same messages as /api/events, one JSON text message each (a LiveMessage with "
        "its `id`). Send the token in the handshake's Authorization header; refusals (401, "
        "429, 503) come before the handshake. A request that is not a WebSocket handshake "
        "is 400.",
        {"description": "Not used: a handshake answers 101."}, tag="live",
        parameters=resume[1:], bad_parameters=True,
    )
    del ws_op["responses"]["200"]
    ws_op["responses"] = {"101": {"description": "Switching to the WebSocket protocol."},
                          **ws_op["responses"], "503": unavailable}
    ws_op["responses"]["400"] = response_ref("BadParameter")
    ws_op["security"] = [{"bearerToken": []}]
    PATHS["/api/events"] = {"get": events_op}
    PATHS["/api/ws"] = {"get": ws_op}
    DOCUMENT["tags"].append({"name": "live"})


_describe_in_openapi()
