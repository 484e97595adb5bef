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
from pydantic import Field

from ..errors import error_response
from ..extensions import db
from ..live.streams import HEARTBEAT, RESET, Stream, Viewer
from ..live.views import open_stream, sse_response
from ..services import tasks as task_service
from ..services.errors import NotFound
from ..services.tokens import live_token
from .auth import api_caller
from .schemas import LiveMessage
from .serializers import task_json
from .spec import ApiModel, ErrorBody, Response, add_to_document, endpoint, schema_ref
from .views import bp

sock = Sock()
WS_ENDPOINT = "api.websocket"
# An event id; empty counts as absent (as an EventSource sends before its first event).
EVENT_ID = r"^(\d{1,15}-\d{1,15}|\s*)$"


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


class ResumeQuery(ApiModel):
    after: str | None = Field(None, pattern=EVENT_ID, description="Resume after this event "
                              "id (the Last-Event-ID header wins when both are sent).")


class ResumeHeaders(ApiModel):
    last_event_id: str | None = Field(
        None, alias="Last-Event-ID", pattern=EVENT_ID,
        description="The id of the last event received: the stream starts with exactly the "
        "events after it, or with one `reset` when it is older than the kept history.")


UNAVAILABLE = (ErrorBody, "Live updates are unavailable (Redis down, or streams off on this "
               "server); retry after Retry-After seconds.")


@bp.get("/events")
@endpoint(query=ResumeQuery, headers=ResumeHeaders, sessions=False,
          tags=["live"], operation_id="follow_task_changes",
          resp=Response(HTTP_200=(None, "The stream (text/event-stream, open until the client "
                                  "leaves)."),
                        HTTP_400=ErrorBody, HTTP_401=ErrorBody, HTTP_429=ErrorBody,
                        HTTP_503=UNAVAILABLE))
def events():
    """Follow task changes

    Server-sent events for the tasks the token's owner may see (an admin: all): `id:`,
    `event:` (the type) and `data:` (a LiveMessage) per change, in order, once each;
    `: heartbeat` comments every LIVE_HEARTBEAT_SECONDS. Needs a bearer token (a browser
    session is refused). At most LIVE_MAX_STREAMS_PER_USER open streams per user (429
    beyond). See the README for a client that resumes with Last-Event-ID.
    """
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


# spectree leaves WebSocket routes out of the document: described here, next to the view.
add_to_document("/api/ws", "get", {
    "summary": "Follow task changes over a WebSocket",
    "operationId": "follow_task_changes_websocket",
    "tags": ["live"],
    "description": "The same messages as /api/events, one JSON text message each (a "
    "LiveMessage with its `id`). Send the token in the handshake's Authorization header; "
    "refusals (401, 429, 503) come before the handshake. A request that is not a WebSocket "
    "handshake is 400.",
    "security": [{"bearerToken": ["read"]}],
    "parameters": [{"name": "Last-Event-ID", "in": "header", "required": False,
                    "schema": {"type": "string", "pattern": EVENT_ID},
                    "description": "Resume after this event id."}],
    "responses": {
        "101": {"description": "Switching to the WebSocket protocol; each message is a "
                "LiveMessage.",
                "content": {"application/json": {"schema": schema_ref(LiveMessage)}}},
        **{str(status): {"description": description, "content": {
            "application/json": {"schema": schema_ref(ErrorBody)}}}
           for status, description in (
               (400, "Not a WebSocket handshake, or a bad Last-Event-ID."),
               (401, "No token, or one that is invalid, expired or revoked."),
               (429, "Too many open streams or requests."),
               (503, UNAVAILABLE[1]))},
    },
})
