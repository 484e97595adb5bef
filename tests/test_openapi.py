"""The OpenAPI document: it covers every route, Swagger UI renders it from our own assets,
and schemathesis finds no 5xx and no answer that breaks it."""

from __future__ import annotations

import copy
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests.conftest import bearer
from tests.openapi_check import DOCUMENT

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_document_is_openapi_3_and_describes_every_api_route(app, client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    document = resp.json
    assert document["openapi"].startswith("3.")
    routes = {openapi_path(rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") or rule.rule == "/health"}
    assert routes == set(document["paths"])
    assert document == DOCUMENT


def test_document_is_valid_openapi():
    validate(DOCUMENT)  # raises with the first problem found


def test_document_describes_the_errors_of_every_api_operation():
    for path, item in DOCUMENT["paths"].items():
        if path in ("/health", "/api/ws", "/api/events", "/api/openapi.json", "/api/docs"):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            public = operation["security"] == [{}]  # the token login and registration
            assert {"405", "429"} <= set(responses), (method, path)
            if not public:
                assert "401" in responses, (method, path)
            if operation.get("parameters"):
                assert {"400", "404"} & set(responses), (method, path)
            if operation["operationId"] == "revoke_own_token":
                # Logging out is for every token: it takes no body and needs no write scope.
                assert operation["security"] == [{"bearerToken": ["read"]}]
            elif method != "get":
                assert {"400", "413", "415"} <= set(responses), (method, path)
                assert public or "403" in responses, (method, path)
                assert public or operation["security"] == [{"bearerToken": ["write"]}], (
                    method, path)


def test_docs_page_renders_swagger_ui_from_local_assets_without_inline_script(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'data-spec-url="/api/openapi.json"' in html
    assert not INLINE_SCRIPT.search(html)
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert not [link for link in links if "//" in link]  # no CDN
    assert 'href="/"' in html  # the way back to the app
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        with client.get(asset) as static:
            assert static.status_code == 200, asset


# --- schemathesis --------------------------------------------------------------------------

@pytest.fixture
def roomy_rate_limit(app, monkeypatch):
    # Enough room for every generated request: the limit itself is tested elsewhere.
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000/minute")


@pytest.fixture
def seeded_token(admin, user, make_task, make_token):
    """An admin's read-write token (the write endpoints are exercised too), with some tasks
    and users for the answers to contain."""
    make_task(user, "Pending", due_date=None)
    make_task(user, "Started", status="in-progress", priority="high")
    make_task(admin, "Finished", status="completed", description="with a description")
    return make_token(admin, write=True)


# The document as the code defines it (test_document_is_openapi_3... checks it is served).
# /api/ws only answers WebSocket handshakes, which schemathesis does not make (tests/live
# cover it).
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path="/api/ws")
# Unknown query parameters are ignored by design (as on every page), not refused: a request
# with one is not "invalid data" for this API.
schema.config.generation.update(allow_extra_parameters=False)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_never_fails_and_always_matches_its_document(case, app, seeded_token,
                                                         roomy_rate_limit):
    # The schema is built at import, before the app exists; its probes (such as the check
    # that a request without credentials is refused) must reach the same WSGI app.
    case.operation.schema.app = app
    # Every default check runs, except that a schema-valid request must succeed: the
    # document cannot express "createdTo not before createdFrom", refused with a documented 400.
    case.call_and_validate(app=app, headers=bearer(seeded_token),
                           excluded_checks=[positive_data_acceptance])


# --- Stateful: from a created task to the operations on it ---------------------------------

@pytest.fixture
def writer_token(user, make_token):
    return make_token(user, write=True)


def test_models_have_plain_names():
    assert {"Task", "TaskPage", "TaskCreate", "TaskChange", "ErrorBody", "User"} <= set(
        DOCUMENT["components"]["schemas"])


def test_created_task_links_to_the_operations_on_it():
    links = DOCUMENT["paths"]["/api/tasks"]["post"]["responses"]["201"]["links"]
    operation_ids = {op["operationId"] for item in DOCUMENT["paths"].values()
                     for op in item.values()}
    assert {"GetTask", "ChangeTask", "DeleteTask", "CompleteTask", "ReopenTask"} <= set(links)
    assert {link["operationId"] for link in links.values()} <= operation_ids


def test_write_workflows_never_fail_and_match_the_document(app, writer_token, roomy_rate_limit):
    """schemathesis chains POST /api/tasks to GET/PATCH/PUT/DELETE/complete/reopen of the
    created task (the document's links), with a write token: no 5xx, every answer as
    documented."""
    # Without the admin-only `userId` in the create body: schemathesis takes it for a link to
    # a user that no operation creates and would never start a chain with POST /api/tasks
    # (this token's user cannot give tasks away anyway: 403, test_api_write.py).
    document = copy.deepcopy(DOCUMENT)
    document["components"]["schemas"]["TaskCreate"]["properties"].pop("userId")
    workflows = schemathesis.openapi.from_dict(document).exclude(path="/api/ws")
    workflows.config.generation.update(allow_extra_parameters=False)
    workflows.app = app
    seen: set[tuple[str, str, int]] = set()

    class Workflow(workflows.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"app": app, "headers": bearer(writer_token)}

        def after_call(self, response, case):
            seen.add((case.method, case.operation.path, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # ignored_auth: the probe swaps in a bad session cookie while our bearer header
            # (set for every call here) stays valid, so 200 is right (401s: test_api_auth).
            case.validate_response(response,
                                   excluded_checks=[positive_data_acceptance, ignored_auth])

    Workflow.run(settings=settings(
        max_examples=15, stateful_step_count=6, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
    # The chains reached the created tasks (not only 404s for made-up ids).
    assert ("POST", "/api/tasks", 201) in seen
    assert {(m, p) for m, p, status in seen if "{task_id}" in p and status < 300}, seen


def test_scopes_are_in_the_document():
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["bearerToken"]["type"] == "http" and schemes["bearerToken"]["scheme"] == "bearer"
    paths = DOCUMENT["paths"]
    assert paths["/api/tasks"]["get"]["security"] == [{"bearerToken": ["read"]},
                                                      {"sessionCookie": []}]
    assert paths["/api/tasks"]["post"]["security"] == [{"bearerToken": ["write"]}]
    for stream in ("/api/events", "/api/ws"):
        assert paths[stream]["get"]["security"] == [{"bearerToken": ["read"]}], stream
