"""Structured logging: one JSON line per request and per audit event, to stdout and a file.

Every line written while a request is handled carries its request id, taken from a sane
`X-Request-ID` header or generated, and echoed in the response.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from logging.handlers import RotatingFileHandler

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import NoInspectionAvailable

from .services.audit import bind_source_ip

# Letters, digits and - _ . : only, so a header cannot forge log fields or lines.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
request_log = logging.getLogger("webapp.request")


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def configure_logging(app: Flask) -> None:
    """JSON logs for the app, and the hooks that write one line per request."""
    configure_handlers(app)
    app.before_request(start_request)
    app.after_request(log_request)
    app.teardown_request(lambda _error: bind_source_ip(None))


CONSOLE_HANDLER = "taskdeck-console"


def send_console_logs_to_stderr() -> None:
    """Leave stdout to a command's own output (`tokens create` prints a token for scripts)."""
    for handler in logging.getLogger("webapp").handlers:
        if handler.name == CONSOLE_HANDLER and isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


# Libraries whose warnings belong in the app's log: Flask-Limiter says there when its storage
# (Redis) is unreachable and limits fall back to process memory.
LIBRARY_LOGGERS = ("flask-limiter",)


def configure_handlers(app: Flask) -> None:
    """Send the app's logs ("webapp" and its children, and the warnings of LIBRARY_LOGGERS)
    as JSON to stdout and LOG_FILE."""
    logger = logging.getLogger(app.import_name)
    logger.removeHandler(default_handler)
    library_loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    # create_app may run more than once in a process (tests): replace our handlers.
    for owner in (logger, *library_loggers):
        for handler in [h for h in owner.handlers if getattr(h, "taskdeck", False)]:
            owner.removeHandler(handler)
            handler.close()
    formatter = JsonFormatter(
        LOG_FORMAT, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if app.config.get("LOG_FILE"):
        handlers.append(RotatingFileHandler(
            app.config["LOG_FILE"], maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
        ))
    handlers[0].name = CONSOLE_HANDLER
    for handler in handlers:
        handler.taskdeck = True
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
        for library_logger in library_loggers:
            library_logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    for library_logger in library_loggers:
        library_logger.setLevel(logging.WARNING)


def start_request() -> None:
    """Note the request id and start time; tell the audit trail where the request came from."""
    g.request_started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID_RE.match(given) else uuid.uuid4().hex
    bind_source_ip(request.remote_addr)


def loaded_user_id(user) -> int | None:
    """The id of the request's user, read from the session's identity map without a query.

    After a commit the user object is expired: reading `user.id` or `is_authenticated`
    would load it again, an extra query per write, and on a connection that died meanwhile
    an error that turned a finished response into a 500.
    """
    if user is None:
        return None
    try:
        state = sa.inspect(user)
    except NoInspectionAvailable:
        return None  # the anonymous user is not a database row
    return state.identity[0] if state.identity else None


def log_request(response):
    """Echo the request id and write the request's log line."""
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started else None
    # The user as the request already knew it: a bearer token's (g.api_caller) or the one
    # Flask-Login loaded (g._login_user). Reading current_user here would query the database
    # for requests that never needed the user, such as static files.
    caller = g.get("api_caller")
    user = caller.user if caller is not None and caller.user is not None else g.get("_login_user")
    user_id = loaded_user_id(user)
    request_log.info("request", extra={
        "request_id": request_id,
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": duration,
        "user_id": user_id,
        "client_ip": request.remote_addr,
    })
    return response
