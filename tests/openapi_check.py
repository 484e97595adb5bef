"""Check real API answers against the OpenAPI document the app serves."""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from webapp import create_app
from webapp.api.spec import openapi_document
from webapp.config import TestConfig


def served_document() -> dict:
    """The document the app serves (built from the app's routes and declarations)."""
    with create_app(TestConfig).app_context():
        return openapi_document()


DOCUMENT = served_document()
URI = "urn:taskdeck:openapi"
REGISTRY = Registry().with_resource(URI, Resource(contents=DOCUMENT, specification=DRAFT202012))


def pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def path_template(path: str) -> str:
    """The document's path for a concrete path: /api/tasks/7 -> /api/tasks/{task_id}."""
    for template in DOCUMENT["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", r"\\d+", template), path):
            return template
    return path


def checked(resp, method: str = "get"):
    """Assert the answer's status, content type and JSON body are those the document
    describes for the request's path and method; return the answer."""
    template = path_template(resp.request.path)
    assert template in DOCUMENT["paths"], f"{template} is not in the OpenAPI document"
    responses = DOCUMENT["paths"][template][method]["responses"]
    status = str(resp.status_code)
    assert status in responses, f"{method.upper()} {template} answered undocumented {status}"
    location = "#" + "/" + pointer("paths", template, method, "responses", status)
    response = responses[status]
    if "$ref" in response:
        location = response["$ref"]
        response = DOCUMENT["components"]["responses"][location.rsplit("/", 1)[1]]
    for name, header in response.get("headers", {}).items():
        if header.get("required"):
            assert name in resp.headers, f"{status} answer lacks the {name} header"
    if "application/json" not in response.get("content", {}):
        return resp
    assert resp.mimetype == "application/json"
    schema_ref = URI + location + "/" + pointer("content", "application/json", "schema")
    validator = Draft202012Validator(
        {"$ref": schema_ref}, registry=REGISTRY, format_checker=FormatChecker()
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(resp.json)]
    assert not errors, f"{method.upper()} {resp.request.path} -> {status}: {errors}"
    return resp
