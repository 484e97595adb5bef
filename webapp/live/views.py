"""Live updates for pages: the logged-in user's event stream and its polling fallback.

Page events carry a type, a task id and a version, never task content: the page re-fetches
its own fragments through the normal routes (static/js/live.js, templates/_live.html).
"""

from __future__ import annotations

import json
import math

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from ..errors import error_response
from ..extensions import db
from ..services.users import load_session_user
from .bus import BusUnavailable, now_ms, position_at
from .events import format_event_id
from .streams import (
    HEARTBEAT,
    RESET,
    SSE_HEADERS,
    Stream,
    TooManyStreams,
    Viewer,
    event_type_for,
    parse_last_event_id,
    sse,
)

bp = Blueprint("live", __name__, url_prefix="/live")


def live():
    return current_app.extensions["taskdeck_live"]


@bp.before_request
def require_login():
    """A stream or a poll is the logged-in user's own; without a session, a plain 401 (an
    EventSource cannot follow a redirect to a login page anyway)."""
    if not current_user.is_authenticated:
        return jsonify({"error": "Authentication required.", "code": "unauthorized"}), 401
    return None


def stream_refused(error: Exception):
    """429 over the stream limit, 503 while the bus is unavailable: never a 500."""
    if isinstance(error, TooManyStreams):
        limit = current_app.config["LIVE_MAX_STREAMS_PER_USER"]
        resp = make_response(error_response(
            429, f"Too many open live streams: at most {limit} per user. Close one and retry.",
            "too_many_streams"))
        # A closed stream's place is free again by its next heartbeat at the latest.
        resp.headers["Retry-After"] = str(max(1, math.ceil(
            current_app.config["LIVE_HEARTBEAT_SECONDS"])))
        return resp
    resp = make_response(error_response(
        503, "Live updates are unavailable right now; reconnect in a moment.",
        "live_unavailable"))
    resp.headers["Retry-After"] = "5"
    return resp


def open_stream(viewer: Viewer, still_authorised) -> Stream | Response:
    """Open the viewer's stream from Last-Event-ID (or `after`), or the answer refusing it."""
    try:
        last_id = parse_last_event_id(request.headers.get("Last-Event-ID"),
                                      request.args.get("after"))
    except ValueError:
        return make_response(error_response(
            400, "Last-Event-ID (or after) is not an event id.", "invalid_parameter",
            {"Last-Event-ID": ["Expected an id such as 1767225600000-0."]}))
    try:
        return Stream(viewer, last_id, still_authorised).open()
    except (TooManyStreams, BusUnavailable) as error:
        return stream_refused(error)


def sse_response(messages) -> Response:
    """A text/event-stream answer that proxies pass through unbuffered."""
    resp = Response(stream_with_context(messages), mimetype="text/event-stream")
    resp.headers.update(SSE_HEADERS)
    return resp


def session_still_good(viewer: Viewer) -> bool:
    """The browser session that opened the stream: still logged in, same role."""
    user = load_session_user(f"{viewer.id}:{viewer.session_version}")
    return user is not None and user.role == viewer.role


@bp.get("/events")
def events():
    """The logged-in user's stream: `ready` once connected, then `task` events
    ({"type", "taskId", "version", "time"}) for tasks they may see, `reset` when the gap since
    Last-Event-ID cannot be filled, and a heartbeat comment every LIVE_HEARTBEAT_SECONDS."""
    viewer = Viewer.of(current_user)
    stream = open_stream(viewer, lambda: session_still_good(viewer))
    if not isinstance(stream, Stream):
        return stream
    db.session.remove()  # nothing of this request's session is needed while streaming
    retry = current_app.config["LIVE_RETRY_MS"]

    def messages():
        try:
            yield f"retry: {retry}\n\n"
            db.session.remove()  # whatever the after-request hooks may have opened
            # The stream works: a proxy that buffers would hold this back (live.js then polls).
            yield sse("ready", "{}")
            for item, seen in stream.messages():
                if item == HEARTBEAT:
                    yield ": heartbeat\n\n"
                elif item == RESET:
                    yield sse("reset", "{}", seen)
                else:
                    yield sse("task", json.dumps({
                        "type": seen, "taskId": item.task_id, "version": item.version,
                        "time": item.time,
                    }), item.id)
        finally:
            stream.close()

    return sse_response(messages())


@bp.get("/poll")
def poll():
    """The cheap fallback: 204 when nothing the user may see changed after `after`; otherwise
    the changes (as the stream sends them), or a reset when the gap cannot be filled. The
    position to ask from next time is in `lastEventId` (or, for a 204, X-Live-Position)."""
    try:
        after = parse_last_event_id(None, request.args.get("after"))
    except ValueError:
        return error_response(400, "`after` is not an event id.", "invalid_parameter",
                              {"after": ["Expected an id such as 1767225600000-0."]})
    try:
        history = live().bus.history(after)
    except BusUnavailable as error:
        return stream_refused(error)
    viewer = Viewer.of(current_user)
    if history.reset:
        return jsonify({"reset": True, "events": [], "lastEventId": history.position})
    changes = [
        {"id": event.id, "type": seen, "taskId": event.task_id, "version": event.version}
        for event in history.events if (seen := event_type_for(viewer, event)) is not None
    ]
    if after is not None and not changes:
        resp = make_response("", 204)
        resp.headers["X-Live-Position"] = history.position
        resp.headers["Cache-Control"] = "no-store"
        return resp
    resp = jsonify({"reset": False, "events": changes, "lastEventId": history.position})
    resp.headers["Cache-Control"] = "no-store"
    return resp


# How far back a page's stream starts before the page was rendered: the bus's ids come from
# Redis's clock, and a page must not skip an event because this server's clock runs ahead.
PAGE_POSITION_MARGIN_MS = 2000


def page_position() -> str:
    """Where a page rendered now starts its stream, from this server's clock (no Redis round
    trip per page): a little in the past, so at worst it refreshes once for nothing."""
    return format_event_id(position_at(now_ms() - PAGE_POSITION_MARGIN_MS))


def live_settings() -> dict:
    """What a live page needs to connect (templates/_live.html)."""
    config = current_app.config
    return {
        "streams": config["LIVE_STREAMS"],
        "position": page_position(),
        "stream_url": url_for("live.events"),
        "poll_url": url_for("live.poll"),
        "poll_ms": int(config["LIVE_POLL_SECONDS"] * 1000),
        "connect_ms": int(config["LIVE_CONNECT_TIMEOUT_SECONDS"] * 1000),
    }


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["live_settings"] = live_settings
