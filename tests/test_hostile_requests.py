"""A corpus of hostile requests: every method on every route for anonymous, user and admin,
multipart edge cases, broken chunked bodies, oversized bodies and wrong content types.
Nothing a client sends may answer 5xx (runs on SQLite and on PostgreSQL).

The routes come from `app.url_map`, so a route added later is covered without editing this
file; its URL arguments are filled by converter (an existing id for <int:...>, the first
choice of <any(...)>, a word for strings and paths).
"""

from __future__ import annotations

import gc
import logging
import re
import secrets
import socket
import threading
import uuid
import warnings

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import CSRF_META, Client, login
from webapp.extensions import db, limiter
from webapp.models import Task, User
from webapp.request_guard import BodyRules
from webapp.services import tokens as token_service

from .servers import Gunicorn

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ARGUMENT_RE = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
# Every form field of the app with a value no rule accepts, and one plausible set.
JUNK_FORM = {
    "title": "\u202e\u200b", "description": "x" * 20_000, "status": "bogus",
    "priority": "urgent", "due_date": "2026-02-30", "owner_id": "99999999999999999999",
    "version": "-1", "submission_key": "<script>", "role": "root", "active": "maybe",
    "is_active": "2", "name": "", "expires_on": "0000-00-00", "current_password": "",
    "new_password": "short", "confirm": "other", "username": "A" * 200, "password": "",
    "email": "not-an-email", "display_name": "\x7f", "next": "//evil.example/",
    "city": "c" * 300, "repo": "../../etc/passwd", "remember": "yes", "compact": "2",
}
PLAUSIBLE_FORM = {
    "title": "Plausible", "status": "completed", "priority": "high", "due_date": "2030-01-01",
    "version": "1", "name": "a token", "next": "/tasks", "role": "user", "active": "1",
}
URLENCODED = "application/x-www-form-urlencoded"


def fill_rule(rule: str, ids: dict[str, int]) -> str:
    """A URL for the rule: ids by argument name, else a value its converter accepts."""

    def value(match: re.Match) -> str:
        converter, args, name = match.group("converter"), match.group("args"), match["name"]
        if converter == "int":
            return str(ids.get(name, ids["default"]))
        if converter == "any":
            return args.split(",")[0].strip().strip("'\"")
        if converter == "float":
            return "1.5"
        if converter == "uuid":
            return str(uuid.uuid4())
        if converter == "path":
            return "css/app.css"
        return "x"

    return ARGUMENT_RE.sub(value, rule)


def every_route(app, ids: dict[str, int]) -> list[str]:
    """One URL per rule of the app's URL map."""
    return sorted({fill_rule(rule.rule, ids) for rule in app.url_map.iter_rules()})


@pytest.fixture
def corpus(app, user, admin, make_task, make_token):
    """Browsers for each role, the objects URLs point at, and a way to put the accounts back
    as they were after a request that logged them out, demoted or deactivated them."""
    app.test_client_class = Client
    task_id = make_task(user, "Target", city="Paris", repo="pallets/flask")
    make_token(user)
    with app.app_context():
        token_id = token_service.tokens_of(db.session.get(User, user.id))[0].id
        db.session.remove()
    browsers = {"anonymous": app.test_client()}
    for role, account in (("user", user), ("admin", admin)):
        browser = app.test_client()
        assert login(browser, account).status_code == 303
        browser.logged_in = True
        browsers[role] = browser
    for browser in browsers.values():
        csrf_token(browser)  # the session now holds its CSRF secret
    cookies = {role: browser.get_cookie("session") for role, browser in browsers.items()}
    state = {"task": task_id}

    expected = {user.id: ("user", 1, True), admin.id: ("admin", 1, True)}

    def restore() -> dict[str, int]:
        """Accounts back to active, original role and session (a logout, a password guess
        or a deactivation ended them), browsers back to their first session cookie, and the
        task back if it was deleted. Writes only what changed."""
        for role, browser in browsers.items():
            if cookies[role] is not None:
                browser.set_cookie("session", cookies[role].value)
        with app.app_context():
            rows = db.session.execute(sa.select(
                User.id, User.role, User.session_version, User.is_active)).all()
            for user_id, *now in rows:
                if user_id in expected and tuple(now) != expected[user_id]:
                    role, version, active = expected[user_id]
                    db.session.execute(sa.update(User).where(User.id == user_id).values(
                        role=role, session_version=version, is_active=active))
            if db.session.get(Task, state["task"]) is None:
                task = Task(title="Target again", owner_id=user.id)
                db.session.add(task)
                db.session.flush()
                state["task"] = task.id
            db.session.commit()
            db.session.remove()
        return {"default": state["task"], "task_id": state["task"], "user_id": user.id,
                "token_id": token_id}

    return browsers, restore


def csrf_token(browser) -> str:
    return browser.csrf_token("/tasks" if browser.logged_in else "/auth/login")


def server_errors(answers) -> list:
    return [answer for answer in answers if answer[-1] >= 500]


# --- Every method on every route, for every role ----------------------------------------------

@pytest.mark.parametrize("role", ["anonymous", "user", "admin"])
def test_every_method_on_every_route_is_never_a_server_error(app, corpus, role):
    browsers, restore = corpus
    browser = browsers[role]
    token = csrf_token(browser)
    urls = every_route(app, restore())
    assert len(urls) == len({rule.rule for rule in app.url_map.iter_rules()})  # one per rule
    answers, dirty = [], False
    for url in urls:
        for method in METHODS:
            has_body = method not in ("GET", "HEAD", "OPTIONS")
            # A plain form of junk, an htmx form of plausible values, an htmx post of nothing.
            variants = [("plain", JUNK_FORM), ("htmx", PLAUSIBLE_FORM)] + (
                [("htmx", {})] if has_body else [])
            for variant, form in variants:
                if dirty:  # the last request may have logged out, deleted or deactivated
                    url = fill_rule_again(url, restore())
                    limiter.reset()  # the budgets are tested elsewhere; here every route runs
                headers = {"X-CSRFToken": token}
                if variant == "htmx":
                    headers["HX-Request"] = "true"
                data = {**form, "csrf_token": token} if has_body and form else None
                resp = browser.open(url, method=method, data=data, headers=headers)
                answers.append((method, url, variant, resp.status_code))
                resp.close()  # static files are streamed
                dirty = changes_state(method, resp.status_code)
    assert server_errors(answers) == []


def changes_state(method: str, status: int) -> bool:
    """Whether a request may have changed what the next one relies on (refusals do not,
    except a throttled password check, which ends the sessions)."""
    return method not in ("GET", "HEAD", "OPTIONS") and status not in (400, 405, 413, 415)


def fill_rule_again(url: str, ids: dict[str, int]) -> str:
    """The URL with the target task's id brought up to date (a DELETE may have replaced it)."""
    return re.sub(r"^/(tasks|api/tasks)/\d+", lambda m: f"/{m.group(1)}/{ids['task_id']}", url)


# --- Multipart edge cases -------------------------------------------------------------------

BOUNDARY = "taskdeckBoundary7MA4YWxk"


def part(name: str | None, value: str, filename: str | None = None,
         content_type: str | None = None) -> str:
    disposition = "form-data" + (f'; name="{name}"' if name is not None else "")
    if filename is not None:
        disposition += f'; filename="{filename}"'
    headers = f"Content-Disposition: {disposition}\r\n"
    if content_type:
        headers += f"Content-Type: {content_type}\r\n"
    return f"--{BOUNDARY}\r\n{headers}\r\n{value}\r\n"


def multipart(*parts: str, end: bool = True) -> bytes:
    return ("".join(parts) + (f"--{BOUNDARY}--\r\n" if end else "")).encode()


def multipart_cases(token: str) -> dict[str, tuple[bytes, str, tuple[int, ...]]]:
    """name: (body, content type, the statuses it may get)."""
    csrf = part("csrf_token", token)
    mp = f"multipart/form-data; boundary={BOUNDARY}"
    return {
        "part without a name": (multipart(csrf, part(None, "value")), mp, (400,)),
        "only a nameless part": (multipart(part(None, "v")), mp, (400,)),
        "file in a text field": (multipart(csrf, part("title", "x", "a.txt", "text/plain")),
                                 mp, (400,)),
        "file named like the csrf field": (multipart(part("csrf_token", token, "t.txt")), mp,
                                           (400,)),
        "path in a file name": (multipart(csrf, part("title", "x", "../../etc/passwd")), mp,
                                (400,)),
        "no boundary parameter": (multipart(csrf), "multipart/form-data", (400,)),
        "other boundary than the body's": (multipart(csrf),
                                           "multipart/form-data; boundary=nothere", (400,)),
        "no closing boundary": (multipart(csrf, part("title", "x"), end=False), mp, (400,)),
        "cut inside a part": (multipart(csrf)[:-10] + b"--" + BOUNDARY.encode()[:5], mp,
                              (400,)),
        "part without headers": (f"--{BOUNDARY}\r\n\r\nvalue\r\n--{BOUNDARY}--\r\n".encode(), mp,
                                 (400,)),
        "header line without colon": (f"--{BOUNDARY}\r\nnonsense\r\n\r\nv\r\n--{BOUNDARY}--\r\n"
                                      .encode(), mp, (400,)),
        "empty body": (b"", mp, None),
        "non-UTF-8 field name": (multipart(csrf).replace(b'name="csrf_token"', b'name="\xff\xfe"'),
                                 mp, (400,)),
        "boundary of 200 characters": (multipart(csrf).replace(BOUNDARY.encode(), b"b" * 200),
                                       "multipart/form-data; boundary=" + "b" * 200, None),
        "nested multipart/mixed": (multipart(csrf, part("title", "--inner\r\n\r\nx\r\n--inner--",
                                                        content_type="multipart/mixed; "
                                                        "boundary=inner")), mp, None),
    }


def post_routes(app, ids: dict[str, int]) -> list[str]:
    return sorted({fill_rule(rule.rule, ids) for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods})


def takes_files(app, url: str) -> bool:
    """Whether the view a POST to the URL reaches accepts files (@body_limit(files=True));
    such a route sets its own body limit too (uploads are tested with their feature)."""
    endpoint, _ = app.url_map.bind("localhost").match(url, method="POST")
    return getattr(app.view_functions[endpoint], "body_rules", BodyRules()).files


@pytest.mark.parametrize("role", ["anonymous", "user", "admin"])
def test_multipart_edge_cases_on_every_post_route_are_client_errors(app, corpus, role,
                                                                    caplog):
    browsers, restore = corpus
    browser = browsers[role]
    token = csrf_token(browser)
    answers, dirty = [], False
    caplog.set_level(logging.WARNING)
    for url in post_routes(app, restore()):
        for name, (body, content_type, expected) in multipart_cases(token).items():
            if dirty:
                url = fill_rule_again(url, restore())
                limiter.reset()
            resp = browser.post(url, data=body, content_type=content_type,
                                headers={"X-CSRFToken": token})
            answers.append((name, url, resp.status_code))
            dirty = changes_state("POST", resp.status_code)
            if expected is not None and not (takes_files(app, url) and "file" in name):
                assert resp.status_code in expected, (name, url, resp.status_code)
    assert server_errors(answers) == []
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"


def test_more_form_parts_than_allowed_is_413(client):
    token = client.csrf_token("/auth/login")
    body = multipart(part("csrf_token", token), *[part(f"f{n}", "v") for n in range(1100)])
    resp = client.post("/auth/login", data=body,
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert resp.status_code == 413


def test_nameless_part_is_refused_before_any_view_with_one_log_line(client, caplog):
    token = client.csrf_token("/auth/login")
    body, content_type, _ = multipart_cases(token)["part without a name"]
    caplog.set_level(logging.INFO)

    resp = client.post("/auth/login", data=body, content_type=content_type)

    assert resp.status_code == 400
    assert "Every part of a multipart body needs a name." in resp.get_data(as_text=True)
    refused = [r for r in caplog.records if getattr(r, "event", None) == "request_refused"]
    assert len(refused) == 1 and refused[0].levelname == "WARNING"
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_nameless_part_beside_a_large_file_leaves_no_temporary_file_open(client):
    """Werkzeug spools a file part over 500 KiB to a temporary file; refusing the body for its
    nameless part drops the parsed files, which must be closed then, not left to the GC."""
    token = client.csrf_token("/auth/login")
    body = multipart(part("csrf_token", token), part("upload", "x" * (600 * 1024), "big.txt"),
                     part(None, "value"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resp = client.post("/auth/login", data=body,
                           content_type=f"multipart/form-data; boundary={BOUNDARY}")
        gc.collect()

    assert resp.status_code == 400
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_file_sent_as_the_title_is_refused_and_stores_nothing(app, user_client):
    token = user_client.csrf_token("/tasks")
    body = multipart(part("csrf_token", token), part("title", "sneaky", "title.txt"))

    resp = user_client.post("/tasks", data=body,
                            content_type=f"multipart/form-data; boundary={BOUNDARY}")

    assert resp.status_code == 400
    assert "This form does not take files." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


def test_text_only_multipart_form_is_accepted(app, user_client):
    """multipart/form-data is a form encoding too: without files it works like urlencoded."""
    token = user_client.csrf_token("/tasks")
    body = multipart(part("csrf_token", token), part("title", "From multipart"),
                     part("submission_key", "m" * 24))

    resp = user_client.post("/tasks", data=body,
                            content_type=f"multipart/form-data; boundary={BOUNDARY}")

    assert resp.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Task).where(Task.title == "From multipart"))


# --- Sizes and content types --------------------------------------------------------------------

class CountingStream:
    """A request body of `size` bytes that counts how much of it the app reads (seekable, as
    the test client measures an input stream's length by seeking to its end)."""

    def __init__(self, size: int, chunk: bytes = b"a=" + b"b" * 8190):
        self.size, self.chunk, self.position, self.read_bytes = size, chunk, 0, 0

    def read(self, n: int | None = -1) -> bytes:
        left = self.size - self.position
        n = left if n is None or n < 0 else min(n, left)
        data = (self.chunk * (n // len(self.chunk) + 1))[:n]
        self.position += len(data)
        self.read_bytes += len(data)
        return data

    def readline(self, n: int | None = -1) -> bytes:
        return self.read(min(n, 8192) if n and n > 0 else 8192)

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position


def test_body_over_the_limit_is_413_on_every_post_route_without_being_read(app, corpus):
    browsers, restore = corpus
    limit = app.config["MAX_CONTENT_LENGTH"]
    ids = restore()
    for role, browser in browsers.items():
        for url in post_routes(app, ids):
            if takes_files(app, url) and role != "anonymous":
                continue  # a logged-in upload has its own, larger limit
            for content_type in (URLENCODED, f"multipart/form-data; boundary={BOUNDARY}"):
                stream = CountingStream(30 * 1024 * 1024)
                resp = browser.open(url, method="POST", input_stream=stream, headers={
                    "Content-Type": content_type, "Content-Length": str(stream.size)})
                assert resp.status_code == 413, (role, url, content_type, resp.status_code)
                assert stream.read_bytes <= limit, (role, url, stream.read_bytes)


def test_thirty_megabyte_anonymous_login_is_refused_unread(client):
    stream = CountingStream(30 * 1024 * 1024)
    resp = client.open("/auth/login", method="POST", input_stream=stream,
                       headers={"Content-Type": URLENCODED, "Content-Length": str(stream.size)})
    assert resp.status_code == 413
    assert "too large" in resp.get_data(as_text=True)
    assert stream.read_bytes == 0


WRONG_CONTENT_TYPES = [
    "application/json", "text/plain", "application/xml", "application/octet-stream",
    "text/html; charset=utf-8", "", "multipart/mixed; boundary=x", "form",
]


def test_wrong_content_type_for_a_form_is_415(user_client, user, make_task):
    token = user_client.csrf_token("/tasks")
    task_id = make_task(user)
    for content_type in WRONG_CONTENT_TYPES:
        for url in ("/tasks", f"/tasks/{task_id}", "/account/tokens", "/auth/logout"):
            resp = user_client.post(url, data=b'{"title": "json"}', headers={
                "Content-Type": content_type, "X-CSRFToken": token})
            assert resp.status_code == 415, (url, content_type, resp.status_code)
    assert user_client.get("/tasks").status_code == 200  # nothing logged the user out


def test_api_is_not_bound_to_form_encodings(client, make_token, user):
    """The JSON API decides its own content types: a JSON body is never a 415 from the guard
    (an empty object lacks the task's title: 422)."""
    resp = client.post("/api/tasks", data=b"{}", headers={
        "Content-Type": "application/json",
        "Authorization": f"Bearer {make_token(user, write=True)}"})
    assert resp.status_code == 422 and resp.json["fields"] == {"title": ["Title is required."]}


def test_route_can_accept_a_larger_body_and_files(make_app, tmp_path):
    """@body_limit raises the limit for one route (uploads) and lets it take files."""
    from webapp.request_guard import body_limit

    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.sqlite3'}")

    @other.post("/upload-test")
    @body_limit(3 * 1024 * 1024, files=True)
    def upload_test():
        from flask import request

        return {"bytes": len(request.files["file"].read())}

    client = other.test_client()
    two_megabytes = b"x" * (2 * 1024 * 1024)
    body = multipart(part("file", "FILE", "big.bin")).replace(b"FILE", two_megabytes)
    mp = f"multipart/form-data; boundary={BOUNDARY}"

    assert client.post("/upload-test", data=body, content_type=mp).get_json() == {
        "bytes": 2 * 1024 * 1024}
    too_big = body.replace(two_megabytes, two_megabytes * 2)
    assert client.post("/upload-test", data=too_big, content_type=mp).status_code == 413
    assert client.post("/tasks", data=body, content_type=mp).status_code == 413


# --- Broken chunked encoding, through real servers -------------------------------------------

CHUNKED_CASES = {
    "chunk size not hex": (b"zz\r\nabc\r\n0\r\n\r\n", 400),
    "chunk longer than its size": (b"3\r\nabcdef\r\n0\r\n\r\n", 400),
    "missing chunk terminator": (b"3\r\nabcXX0\r\n\r\n", 400),
    "negative size": (b"-5\r\nabcde\r\n0\r\n\r\n", 400),
    "size with garbage extension": (b"3;\x01\r\nabc\r\n0\r\n\r\n", 400),
    "huge size": (b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n", 400),
    "ends before the last chunk": (b"3\r\nabc\r\n", 400),
}


def raw_request(port: int, head: bytes, body: bytes, read_timeout: float = 5) -> bytes:
    """Send bytes over a socket (half-closing it) and return the status line.

    The answer is read while the body is still being sent: a server that refuses early
    (413) closes with the rest unread, and the reset that follows can discard an answer
    not read yet."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        received: list[bytes] = []

        def read_answer():
            try:
                while chunk := sock.recv(65536):
                    received.append(chunk)
            except OSError:
                pass  # a timeout, or the reset after the server's early answer

        reader = threading.Thread(target=read_answer, daemon=True)
        reader.start()
        try:
            sock.sendall(head + body)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered (413) and closed before the body was all sent
        reader.join(read_timeout + 1)
    return b"".join(received).split(b"\r\n", 1)[0]


def chunked_head(path: str, cookie: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {URLENCODED}\r\n"
            f"Transfer-Encoding: chunked\r\nConnection: close\r\n{cookie}\r\n").encode()


@pytest.fixture(scope="module")
def gunicorn_server(request):
    """The app under gunicorn with the production config file, on the suite's database."""
    database_url = request.getfixturevalue("database_url")
    request.getfixturevalue("app")  # the schema exists
    if database_url.startswith("sqlite:///:memory:"):
        pytest.skip("needs a database file or server gunicorn can share")
    server = Gunicorn("wsgi:app", {"DATABASE_URL": database_url,
                                   "SECRET_KEY": secrets.token_urlsafe(32),
                                   "DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2"})
    server.wait_ready()
    yield server
    server.stop()


def test_broken_chunked_bodies_are_400_under_gunicorn(gunicorn_server):
    port = gunicorn_server.port
    statuses = {name: raw_request(port, chunked_head("/auth/login"), body)
                for name, (body, _) in CHUNKED_CASES.items()}
    assert statuses == {name: b"HTTP/1.1 400 BAD REQUEST" for name in CHUNKED_CASES}, statuses
    output = gunicorn_server.output()
    assert "Traceback" not in output and "Error handling request" not in output
    assert output.count('"event": "request_refused"') >= len(CHUNKED_CASES) - 1


def test_broken_chunked_bodies_are_client_errors_under_the_development_server(live_server):
    port = int(live_server.rsplit(":", 1)[1])
    for name, (body, _) in CHUNKED_CASES.items():
        status = raw_request(port, chunked_head("/auth/login"), body)
        assert status.startswith(b"HTTP/1.1 4"), (name, status)


def test_chunked_body_over_the_limit_is_413_under_gunicorn(gunicorn_server):
    two_megabytes = b"a=" + b"b" * (2 * 1024 * 1024)
    body = f"{len(two_megabytes):x}\r\n".encode() + two_megabytes + b"\r\n0\r\n\r\n"
    assert raw_request(gunicorn_server.port, chunked_head("/auth/login"), body).startswith(
        b"HTTP/1.1 413")


def test_thirty_megabytes_to_the_login_are_refused_under_gunicorn(gunicorn_server):
    http = requests.Session()
    page = http.get(gunicorn_server.url + "/auth/login", timeout=5)
    token = CSRF_META.search(page.text).group(1)
    resp = http.post(gunicorn_server.url + "/auth/login", timeout=30,
                     data={"csrf_token": token, "username": "x" * (30 * 1024 * 1024)})
    assert resp.status_code == 413


def test_every_route_answers_hostile_methods_under_gunicorn_without_5xx(app, gunicorn_server,
                                                                       user, make_task):
    """The same walk as the test client's, anonymously, through gunicorn's own parser."""
    task_id = make_task(user)
    http = requests.Session()
    statuses = []
    for url in every_route(app, {"default": task_id}):
        for method in METHODS:
            resp = http.request(method, gunicorn_server.url + url, timeout=10,
                                allow_redirects=False, data=JUNK_FORM if method not in (
                                    "GET", "HEAD", "OPTIONS") else None)
            statuses.append((method, url, resp.status_code))
    assert server_errors(statuses) == []
