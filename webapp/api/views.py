"""The read-only JSON API at /api, for scripts (bearer token) and logged-in browsers.

Queries and visibility come from the same services as the pages; this module only reads
parameters, refuses bad ones with 400, and shapes the answers (see serializers.py).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, render_template, request

from ..errors import error_response
from ..extensions import limiter
from ..services import tasks as task_service
from ..services.stats import Period, owner_counts, status_counts, visible_user_count
from ..services.task_queries import paginate_tasks, parse_task_filters
from ..services.users import get_user_for, users_visible_to
from .auth import api_caller, rate_limit_key
from .openapi import openapi_document
from .serializers import task_json, user_json

bp = Blueprint("api", __name__, url_prefix="/api")

PUBLIC_ENDPOINTS = frozenset({"api.openapi_json", "api.docs"})
# The API's names for the filters the task list page calls owner, created_from, ...
TASK_PARAM_NAMES = {
    "owner_id": "userId", "created_from": "createdFrom", "created_to": "createdTo",
    "per_page": "perPage",
}
PERIOD_PARAM_NAMES = {"created_from": "start_date", "created_to": "end_date"}

# One budget per user (all their tokens and their browser session together) for the whole
# blueprint; the limit is read from the configuration on each request.
limiter.limit(
    lambda: current_app.config["API_RATE_LIMIT"],
    key_func=rate_limit_key,
    error_message="Too many requests: wait for the number of seconds in Retry-After.",
)(bp)


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
    return None


def bad_parameters(errors: dict[str, str]):
    """400 naming every bad query parameter, with a message for each."""
    return error_response(
        400, f"Bad value for {', '.join(errors)}.", "invalid_parameter",
        {name: [message] for name, message in errors.items()},
    )


@bp.get("/users")
def users():
    """Every account for an admin; only the caller for anyone else."""
    visible = users_visible_to(caller_user())
    return jsonify({"users": [user_json(u) for u in visible], "count": len(visible)})


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    """One account the caller may see (404 otherwise)."""
    return jsonify(user_json(get_user_for(caller_user(), user_id)))


@bp.get("/tasks")
def tasks():
    """One page of the tasks the caller may see, filtered and sorted like the task list."""
    filters, errors = parse_task_filters(
        request.args, TASK_PARAM_NAMES, default_per_page=current_app.config["TASKS_PER_PAGE"]
    )
    if errors:
        return bad_parameters(errors)
    page = paginate_tasks(caller_user(), filters)
    return jsonify({
        "tasks": [task_json(task) for task in page.items],
        "count": len(page.items),
        "total": page.total,
        "page": page.page,
        "perPage": page.per_page,
        "pages": page.pages,
    })


@bp.get("/tasks/<int:task_id>")
def task(task_id: int):
    """One task the caller may see (404 otherwise, whether absent or someone else's)."""
    return jsonify(task_json(task_service.get_task_for(caller_user(), task_id)))


@bp.get("/stats")
def stats():
    """Counts of the accounts and tasks the caller may see."""
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
def analytics():
    """Tasks created in a period (both days included) per status and per owner."""
    # The period's dates follow the same rules as the task list's created_from/created_to.
    args = {name: request.args.get(name, "") for name in PERIOD_PARAM_NAMES.values()}
    filters, errors = parse_task_filters(args, PERIOD_PARAM_NAMES)
    if errors:
        return bad_parameters(errors)
    actor = caller_user()
    period = Period(filters.created_from, filters.created_to)
    return jsonify({
        "by_status": status_counts(actor, period),
        "by_user": owner_counts(actor, period),
        "period": {
            "start_date": period.start.isoformat() if period.start else None,
            "end_date": period.end.isoformat() if period.end else None,
        },
    })


@bp.get("/openapi.json")
def openapi_json():
    """The API described in OpenAPI 3.1 (public)."""
    return jsonify(openapi_document())


@bp.get("/docs")
def docs():
    """The API description rendered by Swagger UI from the project's own assets (public)."""
    return render_template("api/docs.html")
