"""The task write API (#16): create, change, complete/reopen, delete; ETags and If-Match;
scopes; bad input; Idempotency-Key; audit. Every answer is checked against the document."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import bearer
from tests.openapi_check import checked
from webapp.extensions import db
from webapp.models import AuditEvent, IdempotentRequest, Label, Task, utcnow


@pytest.fixture
def writer(make_token, user):
    return bearer(make_token(user, write=True))


@pytest.fixture
def reader(make_token, user):
    return bearer(make_token(user))


@pytest.fixture
def api(client):
    """Send a request and check the answer against the OpenAPI document."""
    def _send(method: str, path: str, headers: dict, **kwargs):
        resp = getattr(client, method)(path, headers=headers, **kwargs)
        return checked(resp, method)
    return _send


def stored(app, task_id: int) -> Task | None:
    with app.app_context():
        task = db.session.get(Task, task_id)
        if task is not None:
            db.session.expunge(task)
        db.session.remove()
        return task


def count_tasks(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Task))


# --- Create -------------------------------------------------------------------------------

def test_create_answers_201_with_location_etag_and_the_get_shape(api, writer, reader, user):
    resp = api("post", "/api/tasks", writer, json={
        "title": "  Write the report ", "description": "By **Friday**", "status": "in_progress",
        "priority": "high", "dueDate": "2026-12-24", "labels": ["work", "Urgent"]})
    assert resp.status_code == 201
    body = resp.json
    assert resp.headers["Location"] == f"/api/tasks/{body['id']}"
    assert resp.headers["ETag"] == f'"{body["version"]}"'
    assert body["title"] == "Write the report" and body["status"] == "in-progress"
    assert body["priority"] == "high" and body["dueDate"] == "2026-12-24"
    assert body["labels"] == ["Urgent", "work"] and body["attachments"] == 0
    assert body["userId"] == user.id
    again = api("get", resp.headers["Location"], reader)
    assert again.json == body


@pytest.mark.parametrize(("sent", "stored_status"), [
    ("pending", "pending"), ("in-progress", "in-progress"), ("completed", "completed"),
    ("in_progress", "in-progress"), ("todo", "pending"), ("done", "completed"),
])
def test_create_accepts_older_status_spellings(api, writer, sent, stored_status):
    resp = api("post", "/api/tasks", writer, json={"title": "t", "status": sent})
    assert resp.status_code == 201 and resp.json["status"] == stored_status
    assert (resp.json["completedAt"] is not None) == (stored_status == "completed")


def test_create_creates_missing_labels_for_the_owner(app, api, writer, user):
    api("post", "/api/tasks", writer, json={"title": "a", "labels": ["home"]})
    api("post", "/api/tasks", writer, json={"title": "b", "labels": ["HOME", "garden"]})
    with app.app_context():
        names = set(db.session.scalars(sa.select(Label.name).where(Label.owner_id == user.id)))
    assert names == {"home", "garden"}


def test_labels_stay_with_their_owner_through_the_api(app, api, writer, user, other_user,
                                                     make_task):
    """Another user's label of the same name is never used, shown or matched: the writer gets
    a label of their own, and filtering by the name finds only the writer's tasks."""
    theirs = make_task(other_user, "Oscar's secret", labels=["secret"])
    created = api("post", "/api/tasks", writer, json={"title": "Mine", "labels": ["Secret"]})
    assert created.status_code == 201 and created.json["labels"] == ["Secret"]
    listed = api("get", "/api/tasks", writer, query_string={"label": "secret"}).json["tasks"]
    assert [t["title"] for t in listed] == ["Mine"]
    assert api("get", f"/api/tasks/{theirs}", writer).status_code == 404
    with app.app_context():
        owners = dict(db.session.execute(sa.select(Label.owner_id, Label.name).where(
            sa.func.lower(Label.name) == "secret")).all())
    assert owners == {other_user.id: "secret", user.id: "Secret"}


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"title": ""}, "title", "Title is required."),
    ({"title": "x" * 101}, "title", "Title must be at most 100 characters."),
    ({"title": "t", "priority": "urgent"}, "priority",
     "Priority must be one of low, medium, high."),
    ({"title": "t", "status": "later"}, "status",
     "Status must be one of pending, in-progress, completed."),
    ({"title": "t", "dueDate": "31/12/2026"}, "dueDate", "Use a date in the form YYYY-MM-DD."),
    ({"title": "t", "repo": "not a repo"}, "repo", None),
    ({"title": "t", "labels": ["no spaces"]}, "labels", None),
    ({}, "title", "Title is required."),
    ({"title": None}, "title", "Title cannot be null."),
    ({"title": 5}, "title", None),
    ({"title": "t", "due_date": "2026-01-01"}, "due_date", "Unknown field."),
])
def test_bad_body_is_422_naming_the_field_and_creates_nothing(app, api, writer, body, field,
                                                              message):
    resp = api("post", "/api/tasks", writer, json=body)
    assert resp.status_code == 422
    assert resp.json["code"] == "invalid"
    assert field in resp.json["fields"]
    if message:
        assert resp.json["fields"][field] == [message]
    assert count_tasks(app) == 0


def test_every_bad_value_is_named_at_once(api, writer):
    resp = api("post", "/api/tasks", writer, json={"title": " ", "priority": "x", "status": "y"})
    assert resp.status_code == 422
    assert set(resp.json["fields"]) == {"title", "priority", "status"}


def test_form_and_api_refuse_with_the_same_words(app, api, writer, user_client):
    from html import escape

    api_answer = api("post", "/api/tasks", writer, json={"title": "t", "repo": "no such/"})
    page = user_client.form_post("/tasks", {"title": "t", "status": "pending",
                                            "priority": "medium", "repo": "no such/"})
    assert page.status_code == 422
    message = api_answer.json["fields"]["repo"][0]
    assert escape(message) in page.get_data(as_text=True)


def test_user_naming_another_owner_is_403(app, api, writer, other_user):
    resp = api("post", "/api/tasks", writer, json={"title": "t", "userId": other_user.id})
    assert resp.status_code == 403
    assert count_tasks(app) == 0


def test_admin_creates_for_another_user(api, make_token, admin, user):
    resp = api("post", "/api/tasks", bearer(make_token(admin, write=True)),
               json={"title": "For Alice", "userId": user.id})
    assert resp.status_code == 201 and resp.json["userId"] == user.id


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    ("{not json", "application/json", 400, "invalid_json"),
    ("title=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("title: x", "text/plain", 415, "unsupported_media_type"),
])
def test_body_that_is_not_json_is_refused(app, api, writer, data, content_type, status, code):
    resp = api("post", "/api/tasks", writer, data=data, content_type=content_type)
    assert resp.status_code == status and resp.json["code"] == code
    assert count_tasks(app) == 0


@pytest.mark.parametrize("body", ["0", "[]", "[{\"title\": \"x\"}]", "\"\"", "null", "5"])
def test_json_that_is_not_an_object_is_refused_and_changes_nothing(app, api, writer, user,
                                                                   make_task, body):
    task_id = make_task(user, "Kept")
    version = stored(app, task_id).version
    for method, path in (("post", "/api/tasks"), ("patch", f"/api/tasks/{task_id}")):
        resp = api(method, path, writer, data=body, content_type="application/json")
        assert resp.status_code == 422 and resp.json["code"] == "invalid", (method, resp.json)
    assert count_tasks(app) == 1 and stored(app, task_id).version == version


def test_body_over_one_megabyte_is_413(app, client, writer):
    resp = client.post("/api/tasks", headers=writer,
                       json={"title": "t", "description": "x" * (1024 * 1024 + 1)})
    assert resp.status_code == 413 and resp.json["code"] == "request_too_large"
    assert count_tasks(app) == 0


# --- Scopes and sessions -------------------------------------------------------------------

WRITES = [("post", "/api/tasks", {"title": "t"}), ("patch", "/api/tasks/{id}", {"title": "u"}),
          ("put", "/api/tasks/{id}", {"title": "u"}), ("delete", "/api/tasks/{id}", None),
          ("post", "/api/tasks/{id}/complete", None), ("post", "/api/tasks/{id}/reopen", None),
          ("patch", "/api/tasks/{id}/complete", None)]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_read_only_token_gets_403_insufficient_scope(app, api, reader, user, make_task, method,
                                                     path, body):
    task_id = make_task(user, "Mine")
    resp = api(method, path.format(id=task_id), reader, json=body)
    assert resp.status_code == 403 and resp.json["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    assert stored(app, task_id).version == 1 and count_tasks(app) == 1


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_browser_session_alone_cannot_write(app, user_client, user, make_task, method, path,
                                            body):
    task_id = make_task(user, "Mine")
    resp = getattr(user_client, method)(path.format(id=task_id), json=body)
    checked(resp, method)
    assert resp.status_code == 401 and resp.json["code"] == "unauthorized"
    assert stored(app, task_id).version == 1 and count_tasks(app) == 1
    assert user_client.get(f"/api/tasks/{task_id}").status_code == 200  # reads still work


def test_scope_is_checked_before_the_body(api, reader):
    resp = api("post", "/api/tasks", reader, json={"bogus": 1})
    assert resp.status_code == 403


# --- ETag, If-None-Match, If-Match ---------------------------------------------------------

def test_get_sends_etag_and_answers_304_to_if_none_match(api, reader, user, make_task):
    task_id = make_task(user, "Mine")
    first = api("get", f"/api/tasks/{task_id}", reader)
    assert first.headers["ETag"] == '"1"'
    same = api("get", f"/api/tasks/{task_id}", {**reader, "If-None-Match": '"1"'})
    assert same.status_code == 304 and same.data == b"" and same.headers["ETag"] == '"1"'
    other = api("get", f"/api/tasks/{task_id}", {**reader, "If-None-Match": '"7"'})
    assert other.status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITES[1:])
def test_stale_if_match_is_412_with_the_current_task_and_changes_nothing(
        app, api, writer, user, make_task, method, path, body):
    task_id = make_task(user, "Mine")
    api("patch", f"/api/tasks/{task_id}", writer, json={"description": "now v2"})
    resp = api(method, path.format(id=task_id), {**writer, "If-Match": '"1"'}, json=body)
    assert resp.status_code == 412 and resp.json["code"] == "precondition_failed"
    assert resp.json["task"]["version"] == 2 and resp.json["task"]["description"] == "now v2"
    assert resp.headers["ETag"] == '"2"'
    task = stored(app, task_id)
    assert task.version == 2 and task.deleted_at is None and task.status == "pending"


def test_matching_if_match_applies(api, writer, user, make_task):
    task_id = make_task(user, "Mine")
    resp = api("patch", f"/api/tasks/{task_id}", {**writer, "If-Match": '"1"'},
               json={"title": "Renamed"})
    assert resp.status_code == 200 and resp.json["title"] == "Renamed"
    assert resp.headers["ETag"] == '"2"'


# --- PATCH / PUT ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["patch", "put"])
def test_patch_changes_only_the_given_fields(api, writer, user, make_task, method):
    task_id = make_task(user, "Mine", description="keep me", priority="high")
    resp = api(method, f"/api/tasks/{task_id}", writer, json={"status": "done"})
    assert resp.status_code == 200
    assert resp.json["status"] == "completed" and resp.json["description"] == "keep me"
    assert resp.json["priority"] == "high" and resp.json["title"] == "Mine"


def test_null_clears_optional_fields(api, writer, user, make_task):
    from datetime import date

    task_id = make_task(user, "Mine", description="d", due_date=date(2026, 5, 1), city="Paris",
                        repo="pallets/flask", labels=["x"])
    resp = api("patch", f"/api/tasks/{task_id}", writer, json={
        "description": None, "dueDate": None, "city": None, "repo": None, "labels": None})
    assert resp.status_code == 200
    body = resp.json
    assert body["description"] is None and body["dueDate"] is None
    assert body["city"] is None and body["weather"] is None and body["repo"] is None
    assert body["labels"] == []


@pytest.mark.parametrize("field", ["title", "status", "priority"])
def test_null_is_refused_for_required_fields(app, api, writer, user, make_task, field):
    task_id = make_task(user, "Mine")
    resp = api("patch", f"/api/tasks/{task_id}", writer, json={field: None})
    assert resp.status_code == 422
    assert resp.json["fields"] == {field: [f"{field.capitalize()} cannot be null."]}
    assert stored(app, task_id).version == 1


def test_bad_patch_changes_nothing(app, api, writer, user, make_task):
    task_id = make_task(user, "Mine")
    resp = api("patch", f"/api/tasks/{task_id}", writer,
               json={"title": "New", "priority": "urgent"})
    assert resp.status_code == 422 and list(resp.json["fields"]) == ["priority"]
    task = stored(app, task_id)
    assert task.title == "Mine" and task.version == 1


def test_empty_patch_changes_nothing(app, api, writer, user, make_task):
    task_id = make_task(user, "Mine")
    resp = api("patch", f"/api/tasks/{task_id}", writer, json={})
    assert resp.status_code == 200 and resp.json["version"] == 1


# --- Complete, reopen, delete --------------------------------------------------------------

@pytest.mark.parametrize("method", ["post", "patch"])
def test_complete_is_idempotent_and_keeps_the_first_completion(app, api, writer, user,
                                                              make_task, method):
    task_id = make_task(user, "Mine")
    first = api(method, f"/api/tasks/{task_id}/complete", writer)
    assert first.status_code == 200 and first.json["status"] == "completed"
    again = api(method, f"/api/tasks/{task_id}/complete", writer)
    assert again.status_code == 200 and again.json["completedAt"] == first.json["completedAt"]
    assert again.json["version"] == first.json["version"]


def test_reopen_is_idempotent_and_clears_completed_at(api, writer, user, make_task):
    task_id = make_task(user, "Mine", status="completed")
    for _ in range(2):
        resp = api("post", f"/api/tasks/{task_id}/reopen", writer)
        assert resp.status_code == 200
        assert resp.json["status"] == "pending" and resp.json["completedAt"] is None


def test_delete_is_204_then_404(app, api, writer, reader, user, make_task):
    task_id = make_task(user, "Mine")
    resp = api("delete", f"/api/tasks/{task_id}", writer)
    assert resp.status_code == 204 and resp.data == b""
    assert api("delete", f"/api/tasks/{task_id}", writer).status_code == 404
    assert api("get", f"/api/tasks/{task_id}", reader).status_code == 404
    assert stored(app, task_id).deleted_at is not None  # in the bin, as the pages do


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/api/tasks/{id}", None), *WRITES[1:]])
def test_another_users_task_is_404_for_every_verb(app, api, writer, other_user, make_task,
                                                 method, path, body):
    task_id = make_task(other_user, "Theirs")
    resp = api(method, path.format(id=task_id), writer, json=body)
    assert resp.status_code == 404 and resp.json["code"] == "not_found"
    assert stored(app, task_id).version == 1 and stored(app, task_id).deleted_at is None


# --- Audit ---------------------------------------------------------------------------------

def test_every_api_write_is_audited_with_the_token_prefix(app, client, make_token, user):
    secret = make_token(user, write=True)
    headers = bearer(secret)
    task_id = client.post("/api/tasks", headers=headers, json={"title": "t"}).json["id"]
    client.patch(f"/api/tasks/{task_id}", headers=headers, json={"title": "u"})
    client.post(f"/api/tasks/{task_id}/complete", headers=headers)
    client.post(f"/api/tasks/{task_id}/reopen", headers=headers)
    client.delete(f"/api/tasks/{task_id}", headers=headers)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.target_type == "task").order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["task.create", "task.update", "task.complete",
                                              "task.reopen", "task.delete"]
        for event in events:
            assert event.actor_id == user.id and event.source_ip == "127.0.0.1"
            assert event.changes["via"] == "api" and event.changes["token"] == secret[:10]
        assert secret not in str([e.changes for e in events])


def test_page_writes_are_not_marked_as_api(app, user_client, user):
    user_client.form_post("/tasks", {"title": "From the page", "status": "pending",
                                     "priority": "medium"})
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "task.create"))
        assert "via" not in event.changes


# --- Idempotency-Key -----------------------------------------------------------------------

def test_same_key_and_body_answers_the_first_result_and_creates_nothing(app, api, writer):
    headers = {**writer, "Idempotency-Key": "k-1"}
    first = api("post", "/api/tasks", headers, json={"title": "Once", "priority": "low"})
    again = api("post", "/api/tasks", headers, json={"priority": "low", "title": "Once"})
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert count_tasks(app) == 1


def test_same_key_with_another_body_is_422(app, api, writer):
    headers = {**writer, "Idempotency-Key": "k-1"}
    api("post", "/api/tasks", headers, json={"title": "Once"})
    resp = api("post", "/api/tasks", headers, json={"title": "Twice"})
    assert resp.status_code == 422 and resp.json["code"] == "idempotency_key_reused"
    assert count_tasks(app) == 1


def test_keys_are_per_user(app, api, writer, make_token, other_user):
    other = bearer(make_token(other_user, write=True))
    a = api("post", "/api/tasks", {**writer, "Idempotency-Key": "same"}, json={"title": "t"})
    b = api("post", "/api/tasks", {**other, "Idempotency-Key": "same"}, json={"title": "t"})
    assert a.status_code == b.status_code == 201 and a.json["id"] != b.json["id"]
    assert count_tasks(app) == 2


def test_a_refused_body_does_not_use_up_the_key(app, api, writer):
    headers = {**writer, "Idempotency-Key": "k-2"}
    assert api("post", "/api/tasks", headers, json={"title": ""}).status_code == 422
    assert api("post", "/api/tasks", headers, json={"title": "Fixed"}).status_code == 201


def test_key_is_forgotten_after_24_hours(app, api, writer):
    from datetime import timedelta

    headers = {**writer, "Idempotency-Key": "k-3"}
    api("post", "/api/tasks", headers, json={"title": "Day one"})
    with app.app_context():
        db.session.execute(sa.update(IdempotentRequest).values(
            created_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
    resp = api("post", "/api/tasks", headers, json={"title": "Day two"})
    assert resp.status_code == 201 and resp.json["title"] == "Day two"
    assert count_tasks(app) == 2


def test_bad_key_is_refused(app, api, writer):
    resp = api("post", "/api/tasks", {**writer, "Idempotency-Key": "x" * 256},
               json={"title": "t"})
    assert resp.status_code in (400, 422) and count_tasks(app) == 0


def test_admin_naming_an_owner_id_beyond_any_column_is_422(app, api, make_token, admin):
    resp = api("post", "/api/tasks", bearer(make_token(admin, write=True)),
               json={"title": "t", "userId": 2**31})
    assert resp.status_code == 422 and resp.json["fields"] == {"userId": ["Choose an active user."]}
    assert count_tasks(app) == 0
