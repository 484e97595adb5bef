"""The JSON API at /api, for scripts (bearer token) and logged-in browsers (reads only).

Queries, visibility and rules come from the same services as the pages; each view is declared
with `@endpoint` (spec.py: models, scope, document) and only shapes the answers
(serializers.py). The writes on tasks are in tasks.py, the event streams in events.py.
"""

from __future__ import annotations

from math import ceil
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, make_response, render_template, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from ..errors import error_response
from ..extensions import limiter
from ..request_guard import route_accepts_files
from ..services import audit
from ..services import tasks as task_service
from ..services.stats import Period, owner_counts, status_counts, visible_user_count
from ..services.task_queries import paginate_tasks
from ..services.users import get_user_for, users_visible_to
from . import schemas
from .auth import api_caller, rate_limit_key
from .serializers import task_json, user_json
from .spec import (
    PUBLIC_ENDPOINTS,
    ErrorBody,
    Response,
    add_to_document,
    endpoint,
    openapi_document,
    schema_ref,
)

bp = Blueprint("api", __name__, url_prefix="/api")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# One budget per user (all their tokens and their browser session together) for the whole
# blueprint; the limit is read from the configuration on each request.
limiter.limit(
    lambda: current_app.config["API_RATE_LIMIT"],
    key_func=rate_limit_key,
    error_message="Too many requests: wait for the number of seconds in Retry-After.",
)(bp)

# The errors every authenticated operation can answer, for the document.
COMMON = {"HTTP_401": ErrorBody, "HTTP_405": ErrorBody, "HTTP_429": ErrorBody}


def caller_user():
    """The authenticated user of this request (set by require_credentials)."""
    return api_caller().user


@bp.before_request
def require_credentials():
    """Everything but the API description needs a valid token or a logged-in session."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return None  # CORS preflights carry no credentials
    caller = api_caller()
    if caller.user is None:
        message = caller.problem or "Authentication required: send Authorization: Bearer <token>."
        resp = make_response(error_response(401, message, "unauthorized"))
        resp.headers["WWW-Authenticate"] = 'Bearer realm="taskdeck"'
        return resp
    if caller.token is not None:
        audit.bind_api_token(caller.token.prefix)
    return None


@bp.teardown_request
def forget_api_token(_error):
    audit.bind_api_token(None)


@bp.before_request
def require_json_body():
    """A body sent to the API is JSON: another type is 415, malformed JSON 400 invalid_json
    (rather than the empty object spectree would validate). An empty body is left to the
    endpoint: a POST to /complete needs none, a POST to /tasks then lacks its title. Upload
    routes (`@body_limit(files=True)`) take multipart/form-data instead."""
    if request.method not in BODY_METHODS or not _has_body():
        return None
    if route_accepts_files():
        return None  # an upload (multipart): the request guard has already checked its form
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON (Content-Type: application/json).")
    try:
        body = request.get_json()
    except BadRequest:
        return error_response(400, "The body is not valid JSON.", "invalid_json")
    if not isinstance(body, dict):
        # spectree would take a falsy body (0, [], "") for no body at all: a PATCH sending
        # one would answer 200 having changed nothing.
        return error_response(422, "The body must be a JSON object.", "invalid")
    return None


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", "").lower()


def page_links(page: int, last: int | None, has_next: bool) -> str:
    """RFC 8288 Link header for a paged list: first, prev, next and last (when known), each
    the request's own URL with another `page`."""
    args = request.args.to_dict(flat=False)

    def url(number: int) -> str:
        return request.base_url + "?" + urlencode({**args, "page": [str(number)]}, doseq=True)

    links = [(url(1), "first")]
    if page > 1:
        links.append((url(min(page - 1, last) if last else page - 1), "prev"))
    if has_next:
        links.append((url(page + 1), "next"))
    if last is not None:
        links.append((url(max(last, 1)), "last"))
    return ", ".join(f'<{target}>; rel="{rel}"' for target, rel in links)


@bp.get("/users")
@endpoint(resp=Response(HTTP_200=schemas.UserList, **COMMON), tags=["users"],
          operation_id="list_users")
def users():
    """List users

    Every account for an admin; only the caller for anyone else (one page: Link first=last).
    """
    visible = users_visible_to(caller_user())
    resp = jsonify({"users": [user_json(u) for u in visible], "count": len(visible)})
    resp.headers["Link"] = page_links(1, 1, False)
    return resp


@bp.get("/users/<int:user_id>")
@endpoint(resp=Response(HTTP_200=schemas.User, HTTP_404=ErrorBody, **COMMON), tags=["users"],
          operation_id="get_user")
def user(user_id: int):
    """Get user

    One account: the caller themself, or anyone for an admin (404 otherwise).
    """
    return jsonify(user_json(get_user_for(caller_user(), user_id)))


@bp.get("/tasks")
@endpoint(query=schemas.TaskListQuery,
          resp=Response(HTTP_200=schemas.TaskPage, HTTP_400=ErrorBody, **COMMON),
          tags=["tasks"], operation_id="list_tasks")
def tasks():
    """List tasks

    One page of the tasks the caller may see, filtered and sorted like the task list.
    `count` is the number of tasks in this answer, `total` the number of all matches (see
    totalIsEstimate). The `Link` header has first, prev, next and last pages.
    """
    filters = request.context.query.params.to_filters(current_app.config["TASKS_PER_PAGE"])
    bound = current_app.config["TASKS_TOTAL_BOUND"]
    page = paginate_tasks(caller_user(), filters, total_bound=bound, with_summaries=True)
    total = page.total_or_bound
    pages = page.pages if page.pages is not None else ceil(total / page.per_page)
    resp = jsonify({
        "tasks": [task_json(task, list(page.summaries[task.id].labels),
                            page.summaries[task.id].attachments) for task in page.items],
        "count": len(page.items),
        "total": total,
        "totalIsEstimate": page.total_is_estimate,
        "page": page.page,
        "perPage": page.per_page,
        "pages": pages,
    })
    resp.headers["Link"] = page_links(page.page, None if page.total_is_estimate else pages,
                                      page.has_next)
    return resp


@bp.get("/tasks/<int:task_id>")
@endpoint(resp=Response(HTTP_200=schemas.Task, HTTP_304=None, HTTP_404=ErrorBody, **COMMON),
          tags=["tasks"], operation_id="get_task")
def task(task_id: int):
    """Get task

    One task; another user's task is reported as absent (404). `ETag` is its version:
    send it back in If-None-Match for a 304 when nothing changed, or in If-Match on a write.
    """
    from .tasks import task_answer  # the write module shapes ETag answers

    return task_answer(task_service.get_task_for(caller_user(), task_id), conditional=True)


@bp.get("/stats")
@endpoint(resp=Response(HTTP_200=schemas.Stats, **COMMON), tags=["statistics"],
          operation_id="get_stats")
def stats():
    """Get stats

    Counts of the accounts and tasks the caller may see.
    """
    actor = caller_user()
    counts = status_counts(actor)
    return jsonify({
        "users": {"total": visible_user_count(actor)},
        "tasks": {
            "total": sum(counts.values()),
            "pending": counts["pending"],
            "inProgress": counts["in-progress"],
            "completed": counts["completed"],
        },
    })


@bp.get("/analytics")
@endpoint(query=schemas.AnalyticsQuery,
          resp=Response(HTTP_200=schemas.Analytics, HTTP_400=ErrorBody, **COMMON),
          tags=["statistics"], operation_id="get_analytics")
def analytics():
    """Get analytics

    Tasks created in the period (both days included), per status and per owner.
    """
    actor = caller_user()
    params = request.context.query.params
    period = Period(params.start, params.end)
    return jsonify({
        "by_status": status_counts(actor, period),
        "by_user": owner_counts(actor, period),
        "period": {
            "start_date": period.start.isoformat() if period.start else None,
            "end_date": period.end.isoformat() if period.end else None,
        },
    })


@bp.get("/openapi.json")
@endpoint(resp=Response(HTTP_200=(None, "This document.")), public=True, validate=False,
          tags=["documentation"], operation_id="get_openapi_document")
def openapi_json():
    """Get OpenAPI document

    The API described in OpenAPI 3.1 (public).
    """
    return jsonify(openapi_document())


@bp.get("/docs")
@endpoint(resp=Response(HTTP_200=(None, "An HTML page.")), public=True, validate=False,
          tags=["documentation"], operation_id="get_api_docs")
def docs():
    """Get API docs

    This document rendered by Swagger UI from the project's own assets (public); Authorize
    with a token to try the endpoints.
    """
    return render_template("api/docs.html")


add_to_document("/health", "get", {
    "summary": "Health", "operationId": "health", "tags": ["operations"], "security": [],
    "description": "Whether the application and its database answer (public, not rate "
                   "limited, outside /api).",
    "responses": {
        "200": {"description": "The application and its database answer.",
                "content": {"application/json": {"schema": schema_ref(schemas.Health)}}},
        "503": {"description": "The database does not answer.",
                "content": {"application/json": {"schema": schema_ref(schemas.Health)}}},
    },
})

__all__ = ["bp", "task_json"]
