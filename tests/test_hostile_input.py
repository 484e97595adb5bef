"""Hostile input against every form, filter and URL: never a 500, nothing half-stored, and
stored text rendered escaped. Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL), which
refuses NUL bytes and integers beyond 64 bits that SQLite lets through."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa

from tests.conftest import login
from webapp.extensions import db, limiter
from webapp.models import Task

HTML = '<script>alert(1)</script><img src=x onerror="alert(2)">'
SQL = "x'); DROP TABLE tasks; -- \" OR '1'='1"
PAYLOADS = {
    "long": "A" * 20_000,
    "nul": "before\x00after",
    "sql": SQL,
    "html": HTML,
    "huge_number": "9" * 30,
    "int32_edge": str(2**31),
    "int64_edge": str(2**63),
    "negative": "-1",
}
BAD_UTF8 = "%FF%FE%C3%28%ED%A0%80"  # percent-encoded bytes that are not UTF-8

# Each form: URL (with {task} for an existing task's id), its valid values, who sends it.
FORMS = {
    "login": ("/auth/login", {"username": "alice", "password": "wrong-password"}, "anonymous"),
    "register": ("/auth/register", {"username": "mallory", "email": "m@example.com",
                                    "display_name": "Mallory", "password": "a-long-secret-9",
                                    "confirm": "a-long-secret-9"}, "anonymous"),
    "create": ("/tasks", {"title": "T", "description": "D", "status": "pending",
                          "priority": "medium", "due_date": "2030-01-01", "owner_id": "{owner}",
                          "submission_key": "k" * 32}, "admin"),
    "update": ("/tasks/{task}", {"title": "T", "description": "D", "status": "pending",
                                 "priority": "medium", "due_date": "", "owner_id": "{owner}",
                                 "version": "1"}, "admin"),
    "complete": ("/tasks/{task}/complete", {"next": "/tasks"}, "admin"),
    "reopen": ("/tasks/{task}/reopen", {"next": "/tasks"}, "admin"),
    "password": ("/auth/password", {"current_password": "correct-horse-battery",
                                    "new_password": "n3w-secret-pass",
                                    "confirm": "n3w-secret-pass"}, "admin"),
}
TASK_FILTERS = ["status", "priority", "owner_id", "q", "created_from", "created_to", "due",
                "sort", "order", "page", "per_page"]
AUDIT_FILTERS = ["user", "action", "date_from", "date_to", "page"]
TASK_URLS = ["/tasks/{id}", "/tasks/{id}/edit", "/tasks/{id}/row", "/tasks/{id}/delete"]
TASK_POSTS = ["/tasks/{id}", "/tasks/{id}/complete", "/tasks/{id}/reopen", "/tasks/{id}/delete"]
HUGE_IDS = [str(2**31), str(2**63 - 1), str(2**63), str(2**64 + 1), "9" * 40, "0", "-5", "1e3",
            "%00", "%FF"]


@pytest.fixture
def setup(app, client, admin, make_task):
    """An admin's browser, an anonymous one, and one task of the admin's."""
    browser = app.test_client()
    assert login(browser, admin).status_code == 303
    browser.logged_in = True
    return {"admin": browser, "anonymous": app.test_client(),
            "task": make_task(admin, "Existing"), "owner": admin.id}


def fill(values: dict, setup) -> dict:
    return {k: v.replace("{owner}", str(setup["owner"])) for k, v in values.items()}


def send(client, url: str, body: str):
    """POST an urlencoded body exactly as given, with the CSRF token in the header."""
    token = client.csrf_token("/tasks" if client.logged_in else "/auth/login")
    return client.post(url, data=body.encode("ascii"), headers={"X-CSRFToken": token},
                       content_type="application/x-www-form-urlencoded")


def urlencode(values: dict) -> str:
    return "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in values.items())


def assert_no_server_error(resp, what: str) -> None:
    assert resp.status_code < 500, f"{what}: {resp.status_code}"
    body = resp.get_data(as_text=True)
    # As tags: escaped text may still read `onerror="alert` (rendered Markdown keeps quotes).
    assert "<script>alert" not in body and "<img src=x" not in body, what


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_value_in_each_form_field_is_no_server_error(app, setup, form, payload):
    url, values, who = FORMS[form]
    url = url.replace("{task}", str(setup["task"]))
    client = setup[who]
    for field in fill(values, setup):
        limiter.reset()
        data = {**fill(values, setup), field: PAYLOADS[payload]}
        resp = send(client, url, urlencode(data))
        assert_no_server_error(resp, f"{form}.{field}={payload}")
        if payload == "nul":
            assert resp.status_code == 400, f"{form}.{field}"


@pytest.mark.parametrize("form", FORMS)
def test_malformed_utf8_in_each_form_field_is_no_server_error(app, setup, form):
    url, values, who = FORMS[form]
    url = url.replace("{task}", str(setup["task"]))
    for field in values:
        limiter.reset()
        data = fill(values, setup)
        body = "&".join(f"{k}={BAD_UTF8 if k == field else quote(v, safe='')}"
                        for k, v in data.items())
        resp = send(setup[who], url, body)
        assert_no_server_error(resp, f"{form}.{field}")


def test_nul_byte_stores_nothing(app, setup):
    body = urlencode({"title": "a\x00b", "submission_key": "n" * 20})
    resp = send(setup["admin"], "/tasks", body)
    assert resp.status_code == 400
    assert "NUL" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 1


@pytest.mark.parametrize("text", [HTML, SQL])
def test_stored_hostile_text_is_rendered_escaped(app, setup, text):
    resp = send(setup["admin"], "/tasks", urlencode({"title": text[:100], "description": text}))
    assert resp.status_code == 303
    with app.app_context():
        task = db.session.scalar(sa.select(Task).where(Task.title == text[:100]))
        assert task is not None and task.description == text
        task_id = task.id
    client = setup["admin"]
    for url in ("/tasks", f"/tasks/{task_id}", f"/tasks/{task_id}/edit", "/admin/audit",
                f"/tasks?q={quote(text[:50])}"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert_no_server_error(resp, url)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(
        f"/tasks/{task_id}").get_data(as_text=True) or text == SQL


@pytest.mark.parametrize("payload", [*PAYLOADS, "bad_utf8"])
def test_hostile_filter_values_are_reported_not_fatal(app, setup, payload):
    value = BAD_UTF8 if payload == "bad_utf8" else quote(PAYLOADS[payload], safe="")
    client = setup["admin"]
    for base, names in (("/tasks", TASK_FILTERS), ("/admin/audit", AUDIT_FILTERS)):
        for name in names:
            for headers in ({}, {"HX-Request": "true"}):
                resp = client.get(f"{base}?{name}={value}", headers=headers)
                assert_no_server_error(resp, f"{base}?{name}={payload}")
                assert resp.status_code == (400 if payload == "nul" else 200), name


@pytest.mark.parametrize("task_id", HUGE_IDS)
def test_out_of_range_ids_in_urls_are_not_found(setup, task_id):
    client = setup["admin"]
    for url in TASK_URLS:
        resp = client.get(url.format(id=task_id))
        assert resp.status_code in (400, 404), url.format(id=task_id)
    for url in TASK_POSTS:
        resp = client.form_post(url.format(id=task_id), {"title": "x", "version": "1"})
        # werkzeug answers 405 when an id beyond the converter's range hits a POST rule
        assert resp.status_code in (400, 404, 405), url.format(id=task_id)


def test_largest_page_number_is_an_empty_page(setup):
    resp = setup["admin"].get("/tasks?page=1000000&per_page=100")
    assert resp.status_code == 200
    assert 'id="task-list"' in resp.get_data(as_text=True)


def test_hostile_request_id_and_next_parameter_are_harmless(setup):
    client = setup["admin"]
    resp = client.form_post(f"/tasks/{setup['task']}/complete",
                            {"next": "https://evil.example/phish"},
                            headers={"X-Request-ID": "<script>" * 10})
    assert resp.status_code == 303
    assert resp.headers["Location"].startswith("/tasks")
    assert "<script>" not in resp.headers["X-Request-ID"]
