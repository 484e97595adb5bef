"""App-wide error handlers: one mapping from errors to pages, fragments and JSON."""

from __future__ import annotations

import json

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, SecurityError

from .extensions import db, login_manager
from .htmx import wants_fragment
from .logging import current_request_id
from .services.errors import (
    AlreadySubmitted,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    StorageUnavailable,
    TooLarge,
)

API_PREFIX = "/api"


def is_api_request() -> bool:
    return request.blueprint == "api" or request.path == API_PREFIX or request.path.startswith(
        API_PREFIX + "/"
    )


def error_response(status: int, message: str, code: str, fields: dict | None = None,
                   request_id: str | None = None):
    """Answer an error as JSON under /api, an htmx fragment, or a full error page."""
    if is_api_request():
        body = {"error": message, "code": code}
        if fields:
            body["fields"] = fields
        if request_id:
            body["requestId"] = request_id
        return jsonify(body), status
    template = "errors/_message.html" if wants_fragment() else "errors/error.html"
    html = render_template(template, status=status, message=message, request_id=request_id)
    return html, status


def register_error_handlers(app: Flask) -> None:
    """Map domain errors and HTTP errors to answers once for the whole app."""

    @app.errorhandler(NotFound)
    def not_found(error: NotFound):
        return error_response(404, f"{error.kind.capitalize()} not found.", "not_found")

    @app.errorhandler(Forbidden)
    def forbidden(error: Forbidden):
        return error_response(403, error.message, "forbidden")

    @app.errorhandler(Invalid)
    def invalid(error: Invalid):
        return error_response(422, "Some values are not valid.", "invalid", error.field_errors)

    @app.errorhandler(Conflict)
    def conflict(error: Conflict):
        return error_response(409, error.message, "conflict")

    @app.errorhandler(AlreadySubmitted)
    def already_submitted(error: AlreadySubmitted):
        return error_response(409, error.message, "already_submitted")

    @app.errorhandler(TooLarge)
    def too_large(error: TooLarge):
        return error_response(413, error.message, "too_large")

    @app.errorhandler(QuotaExceeded)
    def quota_exceeded(error: QuotaExceeded):
        return error_response(413, error.message, "quota_exceeded")

    @app.errorhandler(StorageUnavailable)
    def storage_unavailable(error: StorageUnavailable):
        resp, status = error_response(503, error.message, "storage_unavailable")
        return resp, status, {"Retry-After": "5"}

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        app.logger.warning(
            "CSRF refused: %s %s: %s", request.method, request.path, error.description,
            extra={"event": "csrf_failed", "client_ip": request.remote_addr},
        )
        message = "The form expired or was not sent from this site. Reload the page and try again."
        resp = make_response(error_response(400, message, "csrf_failed"))
        if request.headers.get("HX-Request") == "true":
            # htmx does not swap a 400, so the page says it through an event (static/js/app.js
            # shows the message and puts the fresh token in place for the next try).
            message = "This page's security token had expired and has been renewed. Try again."
            resp.headers["HX-Trigger"] = json.dumps(
                {"taskdeck:csrf-refused": {"message": message, "token": generate_csrf()}}
            )
        return resp

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        # A limit declared with its own error_message (the API's) keeps it; others get the
        # generic sentence rather than Flask-Limiter's "5 per 1 minute".
        custom = error.limit.error_message if error.limit else None
        message = custom or "Too many attempts. Wait a minute, then try again."
        return error_response(429, message, "too_many_requests")

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeoutError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(error: Exception):
        """The database is down or restarting: 503, and the next request tries again."""
        if isinstance(error, DBAPIError) and not (
            isinstance(error, OperationalError) or error.connection_invalidated
        ):
            return unexpected(error)
        app.logger.warning("Database unavailable on %s %s: %s", request.method, request.path,
                           str(error).splitlines()[0])
        try:
            db.session.rollback()
        except Exception:  # noqa: S110 (the connection is gone; the pool drops it)
            pass
        # Render without loading the user again: that would need the database.
        g._login_user = login_manager.anonymous_user()
        resp, status = error_response(
            503, "Taskdeck is briefly unavailable. Please try again in a moment.",
            "service_unavailable",
        )
        return resp, status, {"Retry-After": "5"}

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):
        """A Host outside TRUSTED_HOSTS: no URL can be built for it, so no page either."""
        return "Bad request: unknown host.", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        resp = make_response(error_response(error.code or 500, error.description or error.name,
                                            code))
        # Keep the headers the error carries, such as Allow on a 405.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                resp.headers[name] = value
        return resp

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # The traceback goes to the log with the request id; the user sees only the id.
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(
            500, "Something went wrong on our side. Quote the request id if you report it.",
            "server_error", request_id=current_request_id(),
        )
