"""Changing tasks through the API (a token with the write scope).

Every change goes through services.tasks (create_task, update_task, set_completed,
delete_task), so the rules, their messages, the history and the audit are the form's. This
module adds what HTTP adds: ETag / If-Match / If-None-Match on the task's version,
Idempotency-Key on create, and the status spellings of older scripts.
"""

from __future__ import annotations

import time

from flask import current_app, jsonify, make_response, request, url_for
from pydantic import Field

from ..errors import error_response
from ..models import Task
from ..services import enrichment
from ..services import idempotency as idempotency_service
from ..services import tasks as task_service
from ..services.errors import Conflict, Invalid, Throttled
from ..services.text import parse_date
from . import schemas
from .auth import api_caller
from .serializers import task_json
from .spec import WRITE, ApiModel, ErrorBody, Response, add_links, endpoint
from .views import COMMON, bp

# Older scripts' spellings of a status (the list filter keeps its own: STATUS_ALIASES).
STATUS_SPELLINGS = {"in_progress": "in-progress", "todo": "pending", "done": "completed"}
# The API's field names for the service's (TaskData's and its Invalid's).
FIELD_NAMES = {"due_date": "dueDate", "owner_id": "userId"}
# How long a request waits for another with the same Idempotency-Key to finish.
IN_PROGRESS_WAIT_SECONDS = 5.0


class PreconditionFailed(ApiModel):
    """If-Match named a version the task no longer has: nothing was changed; here it is now."""

    error: str
    code: str
    task: schemas.Task


WRITE_ERRORS = {"HTTP_400": ErrorBody, "HTTP_403": ErrorBody, "HTTP_413": ErrorBody,
                "HTTP_415": ErrorBody, **COMMON}
CHANGE_ERRORS = {**WRITE_ERRORS, "HTTP_404": ErrorBody, "HTTP_409": ErrorBody,
                 "HTTP_412": PreconditionFailed}


def etag(task: Task) -> str:
    return f'"{task.version}"'


def task_answer(task: Task, status: int = 200, conditional: bool = False, body=None):
    """The task as JSON with its ETag; 304 when `conditional` and If-None-Match names it."""
    if conditional and request.if_none_match.contains_weak(str(task.version)):
        resp = make_response("", 304)
    else:
        resp = make_response(jsonify(body if body is not None else task_json(task)), status)
    resp.headers["ETag"] = etag(task)
    return resp


def precondition_failed(task: Task):
    resp = make_response(jsonify({
        "error": "The task changed since the version named in If-Match; nothing was changed.",
        "code": "precondition_failed", "task": task_json(task)}), 412)
    resp.headers["ETag"] = etag(task)
    return resp


def expected_version(task: Task) -> int | None:
    """The version If-Match names (None without If-Match or with `*`); a version the task no
    longer has raises Conflict."""
    if not request.if_match or request.if_match.star_tag:
        return None
    if not request.if_match.contains(str(task.version)):
        raise Conflict(task)
    return task.version


def api_field_errors(error: Invalid) -> dict[str, list[str]]:
    return {FIELD_NAMES.get(name, name): messages for name, messages in
            error.field_errors.items()}


def invalid(error: Invalid):
    return make_response(error_response(422, "Some values are not valid.", "invalid",
                                        api_field_errors(error)))


def to_data(values: dict, base: task_service.TaskData) -> task_service.TaskData:
    """TaskData from the body's fields (API names) over `base`; a bad date is the service's
    kind of refusal (Invalid), with the other fields' messages gathered by the service."""
    changes: dict = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if name == "status":
            changes["status"] = STATUS_SPELLINGS.get(value.strip().lower(), value.strip().lower())
        elif name == "dueDate":
            changes["due_date"] = None
            if value not in (None, ""):
                try:
                    changes["due_date"] = parse_date(value.strip())
                except ValueError:
                    errors["dueDate"] = ["Use a date in the form YYYY-MM-DD."]
        elif name == "labels":
            changes["labels"] = value if value is not None else []  # null: no labels
        elif name == "userId":
            changes["owner_id"] = value
        else:
            changes[name] = value
    if errors:
        raise Invalid(errors)
    return task_service.TaskData(**{**base.__dict__, **changes})


def fetch_snapshots(task: Task) -> Task:
    """The weather and repository snapshots for a new city or repository, within the
    services' short timeouts and cache. A failing or slow service leaves `unavailable` (the
    fetch stores it); nothing an outside service does turns this answer into an error."""
    actor = api_caller().user
    for kind, source in (("weather", task.city), ("repo", task.repo_full_name)):
        if not source:
            continue
        try:
            task = enrichment.load(actor, task.id, kind)
        except Throttled:
            pass  # the caller's lookup budget is used up: the snapshot stays pending
        except Exception:  # noqa: BLE001 (outside data must never fail the write)
            current_app.logger.exception("enrichment %s after an API write failed", kind)
            task = task_service.get_task_for(actor, task.id)
    return task


def current_data(task: Task) -> task_service.TaskData:
    return task_service.TaskData(
        title=task.title, description=task.description, status=task.status,
        priority=task.priority, due_date=task.due_date, owner_id=task.owner_id,
        city=task.city, repo=task.repo_full_name, labels=None,
    )


# --- Create -------------------------------------------------------------------------------------

class IdempotencyHeaders(ApiModel):
    idempotency_key: str | None = Field(
        None, alias="Idempotency-Key", max_length=idempotency_service.KEY_MAX,
        description="Send the same key when retrying: within 24 hours the first answer comes "
        "back (same task, 201) and nothing more is created. Another body with a used key: "
        "422 idempotency_key_reused; a retry racing the first request: the same 201 or 409 "
        "idempotency_key_in_progress.")


@bp.post("/tasks")
@endpoint(json=schemas.TaskCreate, headers=IdempotencyHeaders, scope=WRITE, tags=["tasks"],
          operation_id="create_task",
          resp=Response(HTTP_201=schemas.Task, HTTP_409=ErrorBody, HTTP_422=ErrorBody,
                        **WRITE_ERRORS))
def create_task():
    """Create task

    Only `title` is required. `Location` names the new task, `ETag` its version. With a city
    or repository the answer already carries the snapshot (`unavailable` when the outside
    service failed). `userId` (another owner) is for admins.
    """
    body = request.context.json
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return _create(body)
    actor = api_caller().user
    fingerprint = idempotency_service.fingerprint("POST", request.path,
                                                  request.get_json(silent=True))
    claim = idempotency_service.claim(actor.id, key, fingerprint)
    if not claim.mine:
        return _replay(claim.row, fingerprint)
    try:
        resp = _create(body)
    except BaseException:
        idempotency_service.release(claim.row)
        raise
    if resp.status_code != 201:
        idempotency_service.release(claim.row)
        return resp
    idempotency_service.complete(claim.row, 201, resp.get_json(), resp.get_json()["id"])
    return resp


def _create(body: schemas.TaskCreate):
    actor = api_caller().user
    values = body.model_dump(exclude_unset=True)
    try:
        data = to_data(values, task_service.TaskData(title=body.title))
        task = task_service.create_task(actor, data)
    except Invalid as error:
        return invalid(error)
    task = fetch_snapshots(task)
    resp = task_answer(task, 201)
    resp.headers["Location"] = url_for("api.task", task_id=task.id)
    return resp


def _replay(row, fingerprint: str):
    """The answer for a key another request holds: its answer, once it has one."""
    deadline = time.monotonic() + IN_PROGRESS_WAIT_SECONDS
    while True:
        if row.fingerprint != fingerprint:
            return error_response(
                422, "This Idempotency-Key was used with another body: use a new key for a "
                "new request.", "idempotency_key_reused")
        if row.status is not None:
            resp = make_response(jsonify(row.body), row.status)
            resp.headers["ETag"] = f'"{row.body["version"]}"'
            resp.headers["Location"] = url_for("api.task", task_id=row.body["id"])
            resp.headers["Idempotent-Replayed"] = "true"
            return resp
        if time.monotonic() >= deadline:
            resp = make_response(error_response(
                409, "A request with this Idempotency-Key is still being handled: retry "
                "shortly.", "idempotency_key_in_progress"))
            resp.headers["Retry-After"] = "1"
            return resp
        time.sleep(0.05)
        row = idempotency_service.reload(row)
        if row is None:  # the first request failed and let the key go: try it ourselves
            return error_response(
                409, "A request with this Idempotency-Key failed meanwhile: retry.",
                "idempotency_key_in_progress")


# --- Change, complete, reopen, delete -----------------------------------------------------------

def _change(task_id: int):
    actor = api_caller().user
    task = task_service.get_task_for(actor, task_id, "update")
    body = request.context.json
    values = body.model_dump(exclude_unset=True) if body is not None else {}
    try:
        version = expected_version(task)
        data = to_data(values, current_data(task))
        task = task_service.update_task(actor, task.id, data, version)
    except Conflict as error:
        return precondition_failed(error.current)
    except Invalid as error:
        return invalid(error)
    if {"city", "repo"} & set(values):
        task = fetch_snapshots(task)
    return task_answer(task)


CHANGE = dict(json=schemas.TaskChange, scope=WRITE, tags=["tasks"],
              resp=Response(HTTP_200=schemas.Task, HTTP_422=ErrorBody, **CHANGE_ERRORS))


@bp.patch("/tasks/<int:task_id>")
@endpoint(operation_id="change_task", **CHANGE)
def change_task(task_id: int):
    """Change task

    Changes the given fields and keeps the rest; `null` clears description, dueDate, city
    and repo. With `If-Match: "<version>"` a task changed meanwhile is 412 (with the task as
    it is now) and nothing changes.
    """
    return _change(task_id)


@bp.put("/tasks/<int:task_id>")
@endpoint(operation_id="change_task_put", **CHANGE)
def change_task_put(task_id: int):
    """Change task (PUT)

    The same as PATCH (older APIs used PUT for partial changes).
    """
    return _change(task_id)


def _set_completed(task_id: int, completed: bool):
    actor = api_caller().user
    task = task_service.get_task_for(actor, task_id, "update")
    try:
        expected_version(task)
        task = task_service.set_completed(actor, task.id, completed)
    except Conflict as error:
        return precondition_failed(error.current)
    return task_answer(task)


STATE = dict(scope=WRITE, tags=["tasks"],
             resp=Response(HTTP_200=schemas.Task, **CHANGE_ERRORS))


@bp.route("/tasks/<int:task_id>/complete", methods=["POST", "PATCH"])
@endpoint(**STATE)  # one operation id per method: spectree's own
def complete_task(task_id: int):
    """Complete task

    Idempotent: completing a completed task keeps its first `completedAt`.
    """
    return _set_completed(task_id, True)


@bp.route("/tasks/<int:task_id>/reopen", methods=["POST", "PATCH"])
@endpoint(**STATE)
def reopen_task(task_id: int):
    """Reopen task

    Idempotent: the status becomes `pending` and `completedAt` is cleared (an open task
    stays as it is).
    """
    return _set_completed(task_id, False)


@bp.delete("/tasks/<int:task_id>")
@endpoint(operation_id="delete_task", scope=WRITE, tags=["tasks"],
          resp=Response(HTTP_204=None, **CHANGE_ERRORS))
def delete_task(task_id: int):
    """Delete task

    Moves the task to the bin, as the pages do (404 afterwards).
    """
    actor = api_caller().user
    task = task_service.get_task_for(actor, task_id, "delete")
    try:
        expected_version(task)
        # The delete names the version checked above (version_id_col): a change landing in
        # between makes it a Conflict too, never a delete of what the caller did not see.
        task_service.delete_task(actor, task.id)
    except Conflict as error:
        return precondition_failed(error.current)
    return "", 204


# A created task leads to the operations on it.
add_links("/api/tasks", "post", 201, {
    name: {"operationId": operation_id, "parameters": {"task_id": "$response.body#/id"}}
    for name, operation_id in (
        ("GetTask", "get_task"), ("ChangeTask", "change_task"),
        ("ChangeTaskPut", "change_task_put"), ("DeleteTask", "delete_task"),
        ("CompleteTask", "post__api_tasks_{task_id}_complete"),
        ("ReopenTask", "post__api_tasks_{task_id}_reopen"))
})

__all__ = ["task_answer"]
