"""App-wide error handlers: one mapping from errors to pages, fragments and JSON."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Something went wrong on our side.", "server_error")
