"""App-wide error handlers: one mapping from errors to pages, fragments and JSON."""

from __future__ import annotations

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, SecurityError

from .htmx import wants_fragment
from .services.errors import Conflict, Forbidden, Invalid, NotFound

API_PREFIX = "/api"


def is_api_request() -> bool:
    return request.blueprint == "api" or request.path == API_PREFIX or request.path.startswith(
        API_PREFIX + "/"
    )


def error_response(status: int, message: str, code: str, fields: dict | None = None):
    """Answer an error as JSON under /api, an htmx fragment, or a full error page."""
    if is_api_request():
        body = {"error": message, "code": code}
        if fields:
            body["fields"] = fields
        return jsonify(body), status
    template = "errors/_message.html" if wants_fragment() else "errors/error.html"
    return render_template(template, status=status, message=message), status


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

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        app.logger.warning(
            "CSRF refused: %s %s: %s", request.method, request.path, error.description
        )
        return error_response(
            400, "The form expired or was not sent from this site. Reload the page and try again.",
            "csrf_failed",
        )

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
        from .extensions import db, login_manager

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
        return error_response(error.code or 500, error.description or error.name, code)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Something went wrong on our side.", "server_error")
