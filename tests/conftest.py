"""Shared fixtures: the app on a real database (SQLite file or PostgreSQL), clients with
CSRF switched on, users, and a live server with Chromium for browser tests."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import threading
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from webapp import create_app
from webapp.config import TestConfig, database_url_from_env
from webapp.extensions import cache, db, limiter
from webapp.services import users as user_service

PASSWORD = "correct-horse-battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
HTMX = {"HX-Request": "true"}


def test_database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return database_url_from_env(url, "")
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'taskdeck-test.sqlite3'}"


def reset_database(url: str) -> None:
    """Start from an empty database so the migrations build the whole schema."""
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()


def _is_local(host) -> bool:
    """Loopback addresses and localhost: the only places a test may connect to."""
    if host.lower() in {"", "localhost", "localhost.localdomain"}:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
        return address.is_loopback or address.is_unspecified
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Fail any test that tries to reach a non-local address (DNS look-ups included).

    The attempt is refused like a dead network and also recorded, so code that catches
    connection errors (as enrichment must) cannot hide it: the test fails afterwards.
    """
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address) -> None:
        # Only (host, port, ...) tuples leave the machine; AF_UNIX paths are strings.
        if isinstance(address, tuple) and not _is_local(str(address[0])):
            attempts.append(repr(address))
            raise OSError(f"tests must not reach the internet: {address!r}")

    def connect(sock, address):
        check(address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None:
            check((host.decode() if isinstance(host, bytes) else host,))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    if attempts:
        pytest.fail(f"a test tried to reach the internet: {', '.join(attempts)}")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return test_database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application, its schema built by the Alembic migrations. Attachments go to a
    folder of the test run (tests/attachments/ give each test a storage of its own)."""
    reset_database(database_url)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                     ATTACHMENTS_DIR=str(tmp_path_factory.mktemp("attachments")))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_tables(request):
    """Empty every table after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        limiter.reset()
        cache.clear()
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(sa.text(f"DELETE FROM {name}"))


@pytest.fixture
def make_app(tmp_path_factory):
    """Build extra apps with their own settings; the shared Flask-Limiter, which each app
    re-initialises, is put back as it was afterwards."""
    saved = dict(vars(limiter))
    apps = []

    def _make_app(**overrides):
        overrides.setdefault("ATTACHMENTS_DIR", str(tmp_path_factory.mktemp("attachments")))
        apps.append(create_app(TestConfig, **{"WTF_CSRF_ENABLED": False, **overrides}))
        return apps[-1]

    yield _make_app
    for made in apps:
        with made.app_context():
            db.engine.dispose()
    vars(limiter).clear()
    vars(limiter).update(saved)


@pytest.fixture
def ctx(app):
    """An application context, for tests that call services directly."""
    with app.app_context():
        yield
        db.session.remove()


class Client(FlaskClient):
    """A test client that sends the CSRF token the way a browser form or htmx would."""

    def csrf_token(self, path: str = "/auth/login") -> str:
        resp = self.get(path, follow_redirects=True)
        match = CSRF_META.search(resp.get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def form_post(self, url: str, data: dict | None = None, htmx: bool = False, **kwargs):
        """POST a form with a valid CSRF token (in the body, or the header for htmx)."""
        token = self.csrf_token("/tasks" if self.logged_in else "/auth/login")
        data = dict(data or {})
        headers = dict(kwargs.pop("headers", {}))
        if htmx:
            headers.update(HTMX)
            headers["X-CSRFToken"] = token
        else:
            data.setdefault("csrf_token", token)
        return self.post(url, data=data, headers=headers, **kwargs)

    def hx_get(self, url: str, **kwargs):
        return self.get(url, headers={**HTMX, **kwargs.pop("headers", {})}, **kwargs)

    logged_in = False


@pytest.fixture
def client(app) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create an account; returns a plain record (id, username, password, role)."""
    counter = iter(range(1, 10_000))

    def _make_user(username: str | None = None, role: str = "user", password: str = PASSWORD,
                   active: bool = True, display_name: str | None = None):
        username = username or f"user{next(counter)}"
        with app.app_context():
            user = user_service.create_user(
                username, f"{username}@example.com", password, display_name, role=role
            )
            if not active:
                user.is_active = False
                db.session.commit()
            record = SimpleNamespace(id=user.id, username=user.username, password=password,
                                     role=role, display_name=user.display_name)
            db.session.remove()
        return record

    return _make_user


def login(client: Client, user, password: str | None = None):
    """Log the client in through the real login form."""
    resp = client.form_post(
        "/auth/login", {"username": user.username, "password": password or user.password}
    )
    client.logged_in = resp.status_code == 303
    return resp


@pytest.fixture
def user(make_user):
    return make_user("alice", display_name="Alice Example")


@pytest.fixture
def other_user(make_user):
    return make_user("oscar", display_name="Oscar Other")


@pytest.fixture
def admin(make_user):
    return make_user("root", role="admin", display_name="Ada Admin")


@pytest.fixture
def user_client(client, user):
    assert login(client, user).status_code == 303
    return client


@pytest.fixture
def admin_client(client, admin):
    assert login(client, admin).status_code == 303
    return client


@pytest.fixture
def make_task(app):
    """Create a task through the service layer; returns its id."""
    from webapp.models import User
    from webapp.services import tasks as task_service

    def _make_task(owner, title: str = "A task", **values) -> int:
        with app.app_context():
            actor = db.session.get(User, owner.id)
            task = task_service.create_task(actor, task_service.TaskData(title=title, **values))
            task_id = task.id
            db.session.remove()
        return task_id

    return _make_task


@pytest.fixture
def make_token(app):
    """Create a personal API token through the service layer; returns the secret."""
    from webapp.models import User
    from webapp.services import tokens as token_service

    def _make_token(owner, name: str = "script", expires_on=None, write: bool = False) -> str:
        with app.app_context():
            actor = db.session.get(User, owner.id)
            _, secret = token_service.create_token(
                actor, name, expires_on,
                scope=token_service.SCOPE_READ_WRITE if write else token_service.SCOPE_READ)
            db.session.remove()
        return secret

    return _make_token


def bearer(token: str) -> dict:
    """Headers that authenticate an API request with a personal token."""
    return {"Authorization": f"Bearer {token}"}


# --- Browser tests -------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def live_server(app):
    """The app served on a free localhost port in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; skipped when absent, except under CI."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: browser tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true requires it)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(5000)
    page = context.new_page()
    yield page
    context.close()


def browser_log_in(page, user) -> None:
    """Log in through the real form in Chromium and wait to land on the task list."""
    from playwright.sync_api import expect

    page.goto("/auth/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))


@pytest.fixture
def redis_url():
    """TEST_REDIS_URL (a Redis database of the suite's own), emptied around the test."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: this test needs a Redis server")
    import redis

    conn = redis.Redis.from_url(url)
    conn.flushdb()
    yield url
    conn.flushdb()
    conn.close()
