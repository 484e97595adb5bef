"""Faults: PostgreSQL down or restarted, Redis down or silently dropping packets.

The database outage is real but local to the test (an app pointed at a closed port, or its
own connections terminated with pg_terminate_backend); the machine's PostgreSQL is never
stopped. Redis is a closed port or a local server that accepts and never answers.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from webapp.extensions import cache, db, limiter
from webapp.models import Task

from .conftest import login
from .servers import Gunicorn, SilentServer, free_port


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def add_limited_view(app, limit: str = "3 per minute"):
    """A view with a Flask-Limiter limit, the kind login throttling and the API use."""

    @app.get("/limited")
    @limiter.limit(limit)
    def limited():
        return "ok"


def timed_get(client, url: str):
    start = time.monotonic()
    resp = client.get(url)
    return resp, time.monotonic() - start


# --- PostgreSQL ----------------------------------------------------------------------------

def test_page_with_database_down_answers_503_without_traceback(make_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"  # a logged-in session: loading the user needs the database

    resp = client.get("/tasks")

    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    body = resp.get_data(as_text=True)
    assert "briefly unavailable" in body
    assert "Traceback" not in body and "psycopg" not in body


def test_htmx_request_with_database_down_gets_a_503_fragment(make_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    client = make_app(SQLALCHEMY_DATABASE_URI=url).test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"

    resp = client.get("/tasks", headers={"HX-Request": "true"})

    assert resp.status_code == 503
    assert "briefly unavailable" in resp.get_data(as_text=True)
    assert "<html" not in resp.get_data(as_text=True)


def test_api_request_with_database_down_gets_a_json_503_with_retry_after(make_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    client = make_app(SQLALCHEMY_DATABASE_URI=url).test_client()

    resp = client.get("/api/tasks", headers={"Authorization": "Bearer td_" + "x" * 40})

    assert resp.status_code == 503
    assert resp.get_json()["code"] == "service_unavailable"
    assert int(resp.headers["Retry-After"]) > 0


def test_health_with_database_down_answers_503_json(make_app):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    resp = make_app(SQLALCHEMY_DATABASE_URI=url).test_client().get("/health")

    assert resp.status_code == 503
    assert resp.get_json()["database"] == "down"
    assert resp.headers["Retry-After"] == "5"


@pytest.mark.postgres_only
def test_user_pages_recover_after_database_connections_are_killed(database_url, user_client):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    assert user_client.get("/tasks").status_code == 200  # the pool now holds a connection

    # What a PostgreSQL restart does to the pool: every server-side connection ends.
    killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with killer.connect() as conn:
        killed = conn.scalar(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))
    killer.dispose()
    assert killed >= 1

    assert user_client.get("/tasks").status_code == 200


# --- Redis ---------------------------------------------------------------------------------

def test_pages_work_quickly_with_redis_port_closed(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    add_limited_view(app, "100 per minute")
    client = app.test_client()

    resp, seconds = timed_get(client, "/limited")

    assert resp.status_code == 200
    assert seconds < 1.5


def test_rate_limit_falls_back_to_process_memory_with_redis_silent(make_app, silent_server):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{silent_server.port}/0")
    add_limited_view(app, "3 per minute")
    client = app.test_client()

    answers = [timed_get(client, "/limited") for _ in range(4)]

    assert [resp.status_code for resp, _ in answers] == [200, 200, 200, 429]
    assert max(seconds for _, seconds in answers) < 2
    assert silent_server.accepted, "the limiter never tried Redis"


def test_cache_misses_at_once_after_redis_goes_silent(make_app, silent_server):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{silent_server.port}/0")
    with app.app_context():
        start = time.monotonic()
        first = cache.get("stats")  # waits one socket timeout, then gives up
        first_seconds = time.monotonic() - start
        start = time.monotonic()
        cache.set("stats", {"n": 1})
        second = cache.get("stats")
        later_seconds = time.monotonic() - start

    assert (first, second) == (None, None)
    assert first_seconds < 1.5
    assert later_seconds < 0.1


def test_app_factory_opens_no_database_or_redis_connection(make_app, silent_server):
    redis_server, db_server = silent_server, SilentServer()
    try:
        app = make_app(
            SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://u@127.0.0.1:{db_server.port}/x",
            REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
        )
        time.sleep(0.2)
        opened_at_start = len(redis_server.accepted) + len(db_server.accepted)
        with app.app_context():
            cache.get("probe")  # the first use connects: the probe can see connections
        time.sleep(0.2)
    finally:
        db_server.close()

    assert opened_at_start == 0
    assert len(redis_server.accepted) == 1


def test_login_works_with_redis_down(make_app, user, database_url):
    other = make_app(SQLALCHEMY_DATABASE_URI=database_url,
                     REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", WTF_CSRF_ENABLED=True)
    from .conftest import Client

    other.test_client_class = Client
    client = other.test_client()

    assert login(client, user).status_code == 303
    assert client.get("/tasks").status_code == 200


@pytest.mark.postgres_only
def test_answer_survives_a_connection_that_died_before_the_clean_up(make_app, database_url,
                                                                     caplog):
    """The view answers, then its connection dies before the end-of-request ROLLBACK: the
    client gets the view's answer and the log one line, not a 500."""
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    other = make_app(SQLALCHEMY_DATABASE_URI=database_url)

    @other.get("/dies-after-answering")
    def dies_after_answering():
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))  # a transaction is open
        killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
        with killer.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        return "made by the view", 201

    resp = other.test_client().get("/dies-after-answering")

    assert (resp.status_code, resp.get_data(as_text=True)) == (201, "made by the view")
    assert [r for r in caplog.records if getattr(r, "event", None) == "session_discarded"]
    assert other.test_client().get("/health").status_code == 200  # the pool recovered


# --- PostgreSQL connections killed while clients write, under gunicorn ---------------------

CSRF_META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def kill_connections(engine, application_name: str) -> int:
    """Terminate the app's own connections (named by application_name) on this database."""
    with engine.connect() as conn:
        return conn.scalar(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :name"
        ), {"name": application_name})


class Browser:
    """A browser that logs in and (run) creates tasks one after another, sending each create form
    again (same submission key) after a 503 until the app acknowledges it with a 303."""

    def __init__(self, base: str, user, tag: str):
        self.base, self.user, self.tag = base, user, tag
        self.http = requests.Session()
        self.statuses: list[tuple[int, str | None]] = []
        self.acknowledged: list[str] = []
        self.unacknowledged: list[str] = []

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        resp = self.http.request(method, self.base + path, timeout=15, allow_redirects=False,
                                 **kwargs)
        self.statuses.append((resp.status_code, resp.headers.get("Retry-After")))
        return resp

    def until_not_503(self, method: str, path: str, stop: threading.Event, **kwargs):
        while True:
            resp = self.call(method, path, **kwargs)
            if resp.status_code != 503 or stop.is_set():
                return resp
            time.sleep(0.02)

    def csrf_token(self, path: str, stop: threading.Event) -> str | None:
        resp = self.until_not_503("GET", path, stop)
        match = CSRF_META_RE.search(resp.text)
        return match.group(1) if match else None

    def log_in(self) -> None:
        token = self.csrf_token("/auth/login", threading.Event())
        login = self.call("POST", "/auth/login", data={
            "csrf_token": token, "username": self.user.username, "password": self.user.password})
        assert login.status_code == 303, login.status_code
        self.token = self.csrf_token("/tasks", threading.Event())

    def run(self, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            title = f"{self.tag}-{n}"
            form = {"csrf_token": self.token, "title": title,
                    "submission_key": f"{title}-submission-key"}
            resp = self.until_not_503("POST", "/tasks", stop, data=form)
            if resp.status_code == 303:
                self.acknowledged.append(title)
            else:
                self.unacknowledged.append(title)


@pytest.mark.postgres_only
def test_killed_connections_under_write_load_give_no_500_and_lose_or_double_nothing(
        app, database_url, make_user, make_token):
    """pg_terminate_backend on the app's connections every 0.25 s while four browsers create
    tasks and a fifth reads a page, its htmx fragment, the API and /health, all through
    gunicorn (the production config file, two workers): every answer
    is the app's own (503 with Retry-After at worst, never a bare 500), and every create the
    app acknowledged is stored exactly once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    application_name = f"td-fault-{secrets.token_hex(4)}"
    separator = "&" if "?" in database_url else "?"
    users = [make_user(f"writer{n}") for n in range(4)]
    api_token = make_token(users[0])
    server = Gunicorn("wsgi:app", {
        "DATABASE_URL": f"{database_url}{separator}application_name={application_name}",
        "SECRET_KEY": secrets.token_urlsafe(32), "DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2",
    }, workers=2)
    killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    stop = threading.Event()
    writers = [Browser(server.url, user, f"w{n}") for n, user in enumerate(users)]
    reader = Browser(server.url, make_user("reader"), "r")
    reads: list[tuple[str, int, str | None]] = []
    unavailable_bodies: dict[str, set[str]] = {"page": set(), "fragment": set(), "api": set()}

    def read_pages() -> None:
        """A page, its htmx fragment, the API and /health, round and round."""
        for kind, path, headers in itertools.cycle((
                ("page", "/tasks", {}), ("fragment", "/tasks", {"HX-Request": "true"}),
                ("api", "/api/tasks", {"Authorization": f"Bearer {api_token}"}),
                ("health", "/health", {}))):
            if stop.is_set():
                return
            resp = reader.http.get(server.url + path, headers=headers, timeout=15,
                                   allow_redirects=False)
            reads.append((path, resp.status_code, resp.headers.get("Retry-After")))
            if resp.status_code == 503 and kind in unavailable_bodies:
                shape = ("json" if resp.headers["Content-Type"].startswith("application/json")
                         else "page" if "<html" in resp.text else "fragment")
                unavailable_bodies[kind].add(shape)

    try:
        server.wait_ready()
        for client in [*writers, reader]:  # logged in before the faults start
            client.log_in()
        threads = [threading.Thread(target=w.run, args=(stop,)) for w in writers]
        threads.append(threading.Thread(target=read_pages))
        for thread in threads:
            thread.start()
        killed = 0
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            time.sleep(0.25)
            killed += kill_connections(killer, application_name)
        stop.set()
        for thread in threads:
            thread.join(30)
        output = server.output()
    finally:
        stop.set()
        server.stop()
        killer.dispose()

    statuses = [status for w in writers for status in w.statuses] + [
        (status, retry) for _, status, retry in reads]
    assert killed > 0, "no connection of the app was killed"
    assert all(status < 500 or status == 503 for status, _ in statuses), (
        sorted({s for s, _ in statuses}), output[-3000:])
    # 5 s from the app (the API's rate limiter may put its own window's reset instead).
    assert all(retry and int(retry) > 0 for status, retry in statuses if status == 503), [
        retry for status, retry in statuses if status == 503]
    assert "Error handling request" not in output, output[-3000:]
    # A 503 keeps the shape the client asked for.
    assert unavailable_bodies["page"] <= {"page"} and unavailable_bodies["api"] <= {"json"}
    assert unavailable_bodies["fragment"] <= {"fragment"}
    acknowledged = [title for w in writers for title in w.acknowledged]
    unacknowledged = [title for w in writers for title in w.unacknowledged]
    assert len(acknowledged) >= 20, (len(acknowledged), sorted({s for s, _ in statuses}))
    with app.app_context():
        counts = dict(db.session.execute(
            sa.select(Task.title, sa.func.count()).group_by(Task.title)).all())
        db.session.remove()
    assert [(t, counts.get(t, 0)) for t in acknowledged if counts.get(t, 0) != 1] == []
    assert all(counts.get(title, 0) <= 1 for title in unacknowledged)
