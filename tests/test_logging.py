"""Structured request logs, request ids and the server error page."""

from __future__ import annotations

import json

import pytest
from flask import g

from webapp.logging import configure_handlers


@pytest.fixture
def log_file(app, tmp_path):
    """Point the app's JSON log at a temporary file for one test."""
    path = tmp_path / "taskdeck.log"
    app.config["LOG_FILE"] = str(path)
    configure_handlers(app)
    yield path
    app.config["LOG_FILE"] = ""
    configure_handlers(app)


def log_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_request_writes_one_json_line_with_its_fields(user_client, user, log_file):
    resp = user_client.get("/tasks?status=pending", headers={"X-Request-ID": "trace-abc-123"})
    assert resp.status_code == 200
    lines = [line for line in log_lines(log_file) if line.get("logger") == "webapp.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "trace-abc-123"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/tasks", 200)
    assert line["user_id"] == user.id
    assert line["client_ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)
    assert line["time"]


def test_api_request_with_a_token_is_logged_with_its_user(client, user, make_token, log_file):
    resp = client.get("/api/stats", headers={"Authorization": f"Bearer {make_token(user)}"})
    assert resp.status_code == 200
    [line] = [x for x in log_lines(log_file) if x.get("logger") == "webapp.request"]
    assert line["path"] == "/api/stats" and line["user_id"] == user.id


def test_sane_request_id_is_echoed(client):
    resp = client.get("/health", headers={"X-Request-ID": "lb-7f3a9c21"})
    assert resp.headers["X-Request-ID"] == "lb-7f3a9c21"


@pytest.mark.parametrize("given", ["short", "x" * 200, "bad id with spaces", "a\r\nforged: 1"])
def test_insane_request_id_is_replaced_by_a_generated_one(client, given):
    resp = client.get("/health", headers={"X-Request-ID": given.replace("\r\n", "")})
    echoed = resp.headers["X-Request-ID"]
    assert echoed != given.replace("\r\n", "")
    assert len(echoed) == 32


def test_server_error_shows_request_id_and_no_internals(user_client, user, make_task,
                                                        monkeypatch, log_file):
    from webapp.tasks import views

    task_id = make_task(user)

    def broken(task):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(views.task_service, "task_history", broken)
    resp = user_client.get(f"/tasks/{task_id}")
    assert resp.status_code == 500
    body = resp.get_data(as_text=True)
    request_id = resp.headers["X-Request-ID"]
    assert request_id in body
    assert "secret internals" not in body and "Traceback" not in body
    errors = [line for line in log_lines(log_file) if line["level"] == "ERROR"]
    assert errors[0]["request_id"] == request_id
    assert "secret internals" in errors[0]["exc_info"]


def test_server_error_under_api_is_json_with_request_id(app):
    with app.test_request_context("/api/tasks"):
        g.request_id = "req-0123456789"
        resp = app.make_response(app.handle_user_exception(RuntimeError("db password leaked")))
    assert resp.status_code == 500
    assert resp.json == {"error": resp.json["error"], "code": "server_error",
                         "requestId": "req-0123456789"}
    assert "leaked" not in resp.get_data(as_text=True)


def test_static_file_for_a_logged_in_browser_runs_no_query(app, user_client, log_file):
    import sqlalchemy as sa

    from webapp.extensions import db

    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_args):
        statements.append(1)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        resp = user_client.get("/static/css/app.css")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    resp.close()  # a file response holds the file open until closed
    assert resp.status_code == 200
    assert statements == []
    [line] = [x for x in log_lines(log_file) if x.get("path") == "/static/css/app.css"]
    assert line["status"] == 200
