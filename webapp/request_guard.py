"""One gate for what a client sends: malformed requests become a 4xx before any view runs.

Everything here runs before CSRF, the rate limiter and the views read the body (the guard is
the first `before_request` hook after the request id), so a broken request is answered with
one log line, never a traceback or a 500:

- **Size**: a body over `MAX_CONTENT_LENGTH` (1 MB by default) is 413, whether it announces
  its length or arrives chunked. A route that needs more (uploads) says so with
  `@body_limit(max_bytes, files=True)`, which sets Flask's per-request `max_content_length`.
- **Readability**: a body the server cannot read (a broken chunked encoding, a client that
  stops half-way) is 400: `GuardedRequest.stream` turns the server's read errors (gunicorn's
  parser errors, Werkzeug's dechunker's OSError) into `UnreadableBody`.
- **Form encodings**: pages take `application/x-www-form-urlencoded` and
  `multipart/form-data`; another content type with a body is 415 (the JSON API under /api
  decides its own types).
- **Multipart**: a body the parser cannot read (no boundary, cut short) or a part without a
  name is 400; a file is 400 unless the route accepts files.
- **Text**: a NUL character in the path, the query or a form value is 400 (PostgreSQL cannot
  store or compare it, and no legitimate input contains it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from flask import Flask, Request, current_app, request
from htmx_flask.requests import HtmxAwareRequest
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.utils import cached_property

from .services.text import NUL_MESSAGE, has_nul

log = logging.getLogger("webapp.request_guard")

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api"


class UnreadableBody(BadRequest):
    description = "The request body could not be read (broken chunked encoding or upload)."


class UnnamedFormPart(BadRequest):
    description = "Every part of a multipart body needs a name."


class MalformedForm(BadRequest):
    description = "The form body is malformed (multipart without a boundary, or cut short)."


class _ReadErrorsAsBadRequest:
    """A request body stream whose read errors, other than HTTP errors such as 413, are a 400.

    What a broken body raises depends on the server (gunicorn: InvalidChunkSize, NoMoreData,
    ...; Werkzeug's server: OSError); each would otherwise escape the view as a 500.
    """

    def __init__(self, stream: IO[bytes]):
        self._stream = stream

    def _guarded(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except HTTPException:
            raise
        except Exception as error:
            raise UnreadableBody() from error

    def read(self, *args: Any) -> bytes:
        return self._guarded(self._stream.read, *args)

    def readline(self, *args: Any) -> bytes:
        return self._guarded(self._stream.readline, *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._guarded(self._stream.readlines, *args)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _AtMost:
    """A body without a Content-Length (chunked) that is refused with 413 once it is longer
    than `limit` bytes.

    Werkzeug's LimitedStream stops reading such a body at the limit and returns what it has
    to `read()`: an urlencoded form over the limit would be parsed from its first megabyte
    instead of being refused.
    """

    def __init__(self, stream: IO[bytes], limit: int):
        self._stream, self._limit, self._position = stream, limit, 0

    def _count(self, data: bytes) -> bytes:
        self._position += len(data)
        if self._position > self._limit:
            raise RequestEntityTooLarge()
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self._count(self._stream.read(min(size, self._limit + 1 - self._position)))
        parts = []
        while data := self._count(self._stream.read(64 * 1024)):
            parts.append(data)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        room = self._limit + 1 - self._position
        return self._count(self._stream.readline(room if size is None or size < 0 else
                                                 min(size, room)))


class GuardedRequest(HtmxAwareRequest):
    """htmx-flask's request (Flask's, plus `request.htmx`), with a body stream whose read
    errors are 400, a chunked body over the limit refused, and no unnamed multipart parts."""

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if (self.content_length is None and limit is not None and not self.shallow
                and self.environ.get("wsgi.input_terminated")):
            return _ReadErrorsAsBadRequest(_AtMost(self.environ["wsgi.input"], limit))
        return _ReadErrorsAsBadRequest(Request.stream.fget(self))  # type: ignore[return-value]

    def make_form_data_parser(self):
        parser = super().make_form_data_parser()
        # Werkzeug's parser turns a malformed body into an empty form by default, which
        # reaches the view as "every field missing": say what is wrong instead.
        parser.silent = False
        return parser

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except ValueError as error:
            self.__dict__["form"] = self.parameter_storage_class()
            self.__dict__["files"] = self.parameter_storage_class()
            raise MalformedForm() from error
        # Werkzeug keeps a part without a name under the key None, which code that iterates
        # form keys (Flask-WTF's CSRF check, for one) does not expect.
        if None in self.form or None in self.files:
            for _name, upload in self.files.items(multi=True):  # dropped here: closed here
                upload.close()
            self.__dict__["form"] = self.parameter_storage_class()
            self.__dict__["files"] = self.parameter_storage_class()
            raise UnnamedFormPart()


@dataclass(frozen=True)
class BodyRules:
    """What a route accepts in a request body beyond the app's defaults."""

    max_bytes: int | None = None  # None: MAX_CONTENT_LENGTH
    files: bool = False


DEFAULT_RULES = BodyRules()


def body_limit(max_bytes: int | None = None, *, files: bool = False):
    """Let a view take a larger body than MAX_CONTENT_LENGTH (and, with files=True, uploaded
    files), e.g. `@body_limit(20 * 1024 * 1024, files=True)` under the route decorator."""

    def decorator(view):
        view.body_rules = BodyRules(max_bytes, files)
        return view

    return decorator


def register_request_guard(app: Flask) -> None:
    """Install the guard; call before any extension adds its hooks (the request class is set
    in register_extensions, after htmx-flask sets its own)."""
    app.before_request(guard_request)


def _rules() -> BodyRules:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "body_rules", DEFAULT_RULES)


def route_accepts_files() -> bool:
    """Whether this request's route declared `@body_limit(files=True)` (an upload route)."""
    return _rules().files


def _has_body() -> bool:
    if request.content_length:
        return True
    # Chunked bodies announce no length.
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _is_api() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def guard_request():
    """Refuse a malformed request before anything reads it (see the module docstring)."""
    rules = _rules()
    if rules.max_bytes is not None:
        request.max_content_length = rules.max_bytes
    values = [request.path]
    if request.method in BODY_METHODS and _has_body():
        if not _is_api() and request.mimetype not in FORM_TYPES:
            return refuse(415, "Send the form as application/x-www-form-urlencoded or "
                               "multipart/form-data.", "unsupported_media_type",
                          f"content type {request.mimetype or 'none'!r}")
        try:
            form, files = request.form, request.files
        except RequestEntityTooLarge:
            limit = request.max_content_length
            return refuse(413, f"The request is too large (at most {_size(limit)} here).",
                          "request_too_large", f"body over {limit} bytes")
        except HTTPException as error:
            cause = f" ({type(error.__cause__).__name__})" if error.__cause__ else ""
            return refuse(error.code or 400, error.description or "Bad request.",
                          "bad_request", type(error).__name__ + cause)
        if files and not rules.files:
            return refuse(400, "This form does not take files.", "unexpected_file",
                          f"file fields {sorted(files)}")
        for key, items in form.lists():
            values.append(key)
            values.extend(items)
    for key, items in request.args.lists():
        values.append(key)
        values.extend(items)
    if any(has_nul(value) for value in values):
        return refuse(400, NUL_MESSAGE, "invalid_text", "NUL character")
    return None


def refuse(status: int, message: str, code: str, reason: str):
    """Answer the refusal (page, fragment or JSON) and log it in one line."""
    from .errors import error_response

    log.warning("refused %s %s: %d %s", request.method, request.path, status, reason, extra={
        "event": "request_refused", "status": status, "reason": reason,
        "client_ip": request.remote_addr,
    })
    return error_response(status, message, code)


def _size(limit: int | None) -> str:
    """1048576 -> "1 MB", 1000000 -> "977 KB": a size for people."""
    if limit is None:
        return "no limit"
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= size:
            value = limit / size
            text = f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"
            return f"{text} {unit}"
    return f"{limit} bytes"
