"""The API's one declaration: every endpoint states its query, body and answer models once
(pydantic v2) with `@endpoint(...)`, and spectree derives the request validation and the
OpenAPI 3.1 document (served at /api/openapi.json) from them.

How to add an endpoint: see /work/team/api-howto.md (the short version: decorate the view
with `@bp.<method>(...)` then `@endpoint(...)`; read the caller with `api_caller()`).

Our additions to spectree:

- **Errors in our shape.** A refused body is 422 and a refused query parameter 400
  `invalid_parameter`, both `{"error", "code", "fields": {name: [messages]}}` like every other
  error of the app (webapp/errors.py), not spectree's list of pydantic errors.
- **Scopes.** `scope="write"` refuses a read-only token (403 `insufficient_scope`) and a bare
  browser session (401: API writes take a bearer token, so a page's cookie cannot be used to
  write through the API, and the API needs no CSRF token). The document states the scope.
- **Answers are checked where it is cheap to care.** With API_CHECK_ANSWERS (the tests) each
  JSON answer is validated against its declared model; in production the view's dict goes out
  as it is, so a read costs no pydantic model per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from copy import deepcopy
from functools import wraps
from typing import Any

from flask import Response as FlaskResponse
from flask import current_app, make_response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.utils import get_multidict_items
from werkzeug.exceptions import HTTPException

from ..errors import error_response
from .auth import api_caller

__all__ = [
    "ApiModel", "BodyModel", "ErrorBody", "Response", "endpoint", "openapi_document", "spec",
]

READ, WRITE = "read", "write"
SCOPES = {READ: "Read every object the token's owner may see.",
          WRITE: "Create, change and delete them too (implies read)."}
BEARER = "bearerToken"
SESSION = "sessionCookie"


def _drop_null_defaults(schema: dict) -> None:
    """`"default": null` says nothing (absent is absent) and is invalid for a property whose
    schema does not allow null (a PATCH field that is optional but never null)."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class ApiModel(BaseModel):
    """Base of every model in the document: answers may grow fields (scripts ignore them)."""

    model_config = ConfigDict(populate_by_name=True, json_schema_extra=_drop_null_defaults)


class BodyModel(ApiModel):
    """Base of request bodies: an unknown field is refused (422 naming it), not ignored, so
    a misspelt field (`due_date` for `dueDate`) is not silently lost."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid",
                              json_schema_extra=_drop_null_defaults)


class ErrorBody(ApiModel):
    """Every error of the API, whatever the status."""

    error: str = Field(description="A message for people.")
    code: str = Field(description="A machine-readable code: invalid, invalid_parameter, "
                      "invalid_json, unauthorized, insufficient_scope, not_found, "
                      "precondition_failed, idempotency_key_reused, too_many_requests, ...")
    fields: dict[str, list[str]] | None = Field(
        None, description="Messages per bad field or query parameter, keyed by its name.")
    requestId: str | None = Field(None, description="Quote it when reporting a 500.")


class _Plugin(FlaskPlugin):
    """spectree's Flask plugin, leaving streams alone and checking answers only when
    API_CHECK_ANSWERS is on (see the module's docstring)."""

    def request_validation(self, request, query, json, form, headers, cookies):
        """spectree's, reading only the parts that have a model (a list read pays for its
        query parameters, not for copying every header and cookie)."""
        adapter = self.model_adapter
        has_body = request.method not in ("GET", "DELETE")
        request.context = Context(
            adapter.validate_obj(query, get_multidict_items(request.args, query))
            if query else None,
            adapter.validate_obj(json, request.get_json(silent=True) or {})
            if json and has_body else None,
            None,  # no form bodies in this API
            adapter.validate_obj(headers, dict(iter(request.headers))) if headers else None,
            None,  # no cookie models either
        )

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        check = current_app.config.get("API_CHECK_ANSWERS", False) and not skip_validation
        if isinstance(resp, FlaskResponse) and (resp.is_streamed or not check):
            # As it is: a stream's body must not be read (that would consume it), and an
            # unchecked answer needs no copy.
            return resp, None
        return super().validate_response(resp, resp_model, not check, force_resp_serialize)


def _field_name(location: Iterable[Any]) -> str:
    parts = [str(part) for part in location]
    return ".".join(parts) if parts else "body"


def _message(error: dict) -> str:
    """A person's sentence for one pydantic error."""
    kind = error["type"]
    name = str(error["loc"][0]) if error["loc"] else "body"
    if kind == "extra_forbidden":
        return "Unknown field."
    if kind == "missing":
        return f"{name[:1].upper()}{name[1:]} is required."
    if error.get("input", ...) is None:
        return f"{name[:1].upper()}{name[1:]} cannot be null."
    return error["msg"][:1].upper() + error["msg"][1:] + "."


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """{field: [messages]} from a pydantic error. A model may refuse several fields at once
    with the `fields` context (see QueryModel), keeping its own messages."""
    fields: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        given = (item.get("ctx") or {}).get("fields")
        if isinstance(given, dict):
            for name, messages in given.items():
                fields.setdefault(name, []).extend(messages)
            continue
        fields.setdefault(_field_name(item["loc"]), []).append(_message(item))
    return fields


def _refuse_invalid(req, _resp, error, _instance, _adapter) -> None:
    """spectree's `before` hook: a refused query or body answers in our error shape."""
    if error is None:
        return
    fields = field_errors(error)
    if error.title in _QUERY_MODELS:
        resp = make_response(error_response(
            400, f"Bad value for {', '.join(fields)}.", "invalid_parameter", fields))
    else:
        resp = make_response(error_response(422, "Some values are not valid.", "invalid",
                                            fields))
    raise HTTPException(response=resp)


# The names of the query models: their errors are 400, a body's 422 (spectree's hook is not
# told which part of the request failed; pydantic's error carries the model's name).
_QUERY_MODELS: set[str] = set()

spec = SpecTree(
    "flask",
    backend=_Plugin,
    title="Taskdeck API",
    version="2.0.0",
    mode="strict",  # only what @endpoint declares is in the document
    path="apidoc",  # spectree's own pages are not registered: /api/docs is ours
    before=_refuse_invalid,
    validation_error_model=ErrorBody,
    # Plain model names in the document (spectree's default adds a hash of the module);
    # model names are unique across webapp.api.
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[
        SecurityScheme(name=BEARER, data=SecuritySchemeData(
            type="http", scheme="bearer", bearer_format="td_...",
            description="A personal API token (starts with td_). Scopes: "
            + "; ".join(f"`{name}`: {text}" for name, text in SCOPES.items())
            + " Swagger UI: Authorize, paste the token without `Bearer`.",
        )),
        SecurityScheme(name=SESSION, data=SecuritySchemeData(
            type="apiKey", field_in="cookie", name="session",
            description="The session of a browser logged in to Taskdeck: reads only.",
        )),
    ],
)


def _security(scope: str, public: bool, sessions: bool) -> list[dict[str, list[str]]]:
    if public:
        return [{}]
    if scope == WRITE:
        return [{BEARER: [WRITE]}]
    return [{BEARER: [READ]}, {SESSION: []}] if sessions else [{BEARER: [READ]}]


def _insufficient_scope():
    resp = make_response(error_response(
        403, "This token may only read: create a token that allows changes.",
        "insufficient_scope"))
    resp.headers["WWW-Authenticate"] = (
        'Bearer realm="taskdeck", error="insufficient_scope", scope="read write"')
    return resp


def _token_required():
    resp = make_response(error_response(
        401, "API writes need a token: send Authorization: Bearer <token> (a browser session "
        "can only read).", "unauthorized"))
    resp.headers["WWW-Authenticate"] = 'Bearer realm="taskdeck"'
    return resp


def scope_refusal(scope: str):
    """The answer refusing this request for the scope, or None when the caller holds it.
    (Credentials themselves are checked for the whole blueprint first: views.py.)"""
    if scope != WRITE:
        return None
    caller = api_caller()
    if caller.token is None:
        return _token_required()
    if not caller.token.allows(WRITE):
        return _insufficient_scope()
    return None


# The API's endpoints that take no credentials, by endpoint name (filled by `endpoint`).
PUBLIC_ENDPOINTS: set[str] = set()


def endpoint(*, resp: Response, query: type[BaseModel] | None = None,
             json: type[BaseModel] | None = None, form: type[BaseModel] | None = None,
             headers: type[BaseModel] | None = None, scope: str = READ,
             public: bool = False, sessions: bool = True, tags: Iterable[str] = (),
             operation_id: str | None = None, validate: bool = True) -> Callable:
    """Declare an API view: its query model (400 on a bad value), its JSON body model (422),
    its answers (`Response(HTTP_200=Model, HTTP_404=ErrorBody, ...)`) and its scope. `form`
    declares a multipart/form-data body instead (uploads; the view must also be marked
    `@body_limit(files=True)`, which lets it past the blueprint's JSON-only check).

    The view reads the validated values from `request.context.query` / `.json` (pydantic
    model instances). `validate=False` declares without validating (streams, the
    WebSocket). `sessions=False` documents that a browser session is not accepted (the
    view refuses it). The summary (first line) and description in the document come from
    the docstring.
    """
    if query is not None:
        _QUERY_MODELS.add(query.__name__)
    if (json is not None or form is not None) and scope == READ and not public:
        raise ValueError("an endpoint taking a body changes something: scope='write'")
    validated = spec.validate(
        query=query, json=json, form=form, headers=headers, resp=resp, tags=list(tags),
        security=_security(scope, public, sessions),
        validation_error_status=422 if json is not None or form is not None else 400,
        skip_validation=not validate, operation_id=operation_id,
    )

    def decorate(view: Callable) -> Callable:
        inner = validated(view)
        if public:
            # No credentials at all (token login, registration, the document): the blueprint
            # lets it through without any (views.require_credentials) and there is no scope.
            PUBLIC_ENDPOINTS.add(f"api.{view.__name__}")
            return inner

        @wraps(inner)
        def checked_scope(*args, **kwargs):
            # Before validation: who may not write learns that first, not a field error.
            return scope_refusal(scope) or inner(*args, **kwargs)

        return checked_scope

    return decorate


# --- The document ------------------------------------------------------------------------

_EXTRA_PATHS: dict[str, dict] = {}
_DESCRIPTION = """\
JSON API of Taskdeck, for scripts: read and change tasks, read users and statistics, follow
changes as events.

**Authentication**: `Authorization: Bearer <token>` with a personal API token (the Account
page, or `flask --app wsgi tokens create USERNAME --name NAME [--write]`). A token's scope is
`read` or `read write`: writes need `write` (else 403 `insufficient_scope`). A logged-in
browser session may read, not write (401).

**Errors** are JSON: `{"error": "...", "code": "...", "fields": {name: [messages]}}`.
A bad query parameter is 400 `invalid_parameter`; a bad body 422 `invalid` naming every bad
field (an unknown field too); malformed JSON 400 `invalid_json`; a body that is not JSON 415;
a body over 1 MB 413.

**Pages**: list answers carry `total`, `pages` and RFC 8288 `Link` headers (`first`, `prev`,
`next`, `last`): follow `next` until there is none to read every item.

**Rate limit**: per user, all their tokens and their browser session together; answers carry
`X-RateLimit-*` headers, and 429 carries `Retry-After`.
"""


def add_to_document(path: str, method: str, operation: dict) -> None:
    """Describe an operation spectree cannot see (the WebSocket route) in the document."""
    _EXTRA_PATHS.setdefault(path, {})[method] = operation


_LINKS: list[tuple[str, str, str, dict]] = []


def add_links(path: str, method: str, status: int, links: dict) -> None:
    """OpenAPI links from an answer to the operations that take its id (for clients and
    schemathesis' stateful tests): {name: {"operationId", "parameters"}}."""
    _LINKS.append((path, method, str(status), links))


def schema_ref(model: type[BaseModel]) -> dict:
    """A $ref to a model's schema in the document (registering the model)."""
    key = spec._add_model(model, mode="serialization")  # noqa: SLF001 (spectree's own helper)
    return {"$ref": f"#/components/schemas/{key}"}


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of the API (a copy: callers may change it). Needs an app
    context: the routes are read from the app."""
    document = deepcopy(spec.spec)
    document["info"]["description"] = _DESCRIPTION
    document["servers"] = [{"url": "/"}]
    for path, operations in _EXTRA_PATHS.items():
        document["paths"].setdefault(path, {}).update(deepcopy(operations))
    for path, method, status, links in _LINKS:
        document["paths"][path][method]["responses"][status]["links"] = deepcopy(links)
    document["components"]["schemas"].update(deepcopy(spec.models))
    return document
