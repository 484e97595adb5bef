"""Failed-login, registration and current-password limits (services/logins.py, throttle.py):
counted before the password is checked, so concurrent attempts cannot overrun them; device
cookies so a stranger cannot lock the owner out; in memory and shared through Redis."""

from __future__ import annotations

import json
import secrets
import threading

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import CSRF_META, Client, login
from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db, limiter
from webapp.models import AuditEvent

from .servers import Gunicorn

DEVICE_COOKIE = "taskdeck_device"


def fail_login(client, username: str, ip: str = "127.0.0.1"):
    return client.form_post("/auth/login", {"username": username, "password": "wrong-password"},
                            environ_base={"REMOTE_ADDR": ip})


def audit_count(app, action: str) -> int:
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action))
        db.session.remove()
    return count


def all_at_once(count: int, attempt) -> list:
    """Run attempt(n) in `count` threads released together by a barrier; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        results[n] = attempt(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def prepared_clients(app, count: int) -> list[tuple[Client, str]]:
    """Browsers that have each loaded the login page (session and CSRF token ready)."""
    app.test_client_class = Client
    clients = []
    for _ in range(count):
        client = app.test_client()
        clients.append((client, client.csrf_token("/auth/login")))
    return clients


def post_login(client: Client, token: str, username: str, password: str, ip: str):
    return client.post("/auth/login", data={"csrf_token": token, "username": username,
                                            "password": password},
                       environ_base={"REMOTE_ADDR": ip})


# --- Sequential behaviour -------------------------------------------------------------------

def test_sixth_failed_login_in_a_minute_is_429_with_retry_after(client, user):
    for _ in range(5):
        assert fail_login(client, user.username).status_code == 422
    resp = fail_login(client, user.username)
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert "Too many failed logins" in resp.get_data(as_text=True)


def test_correct_password_is_refused_while_throttled(client, user):
    for _ in range(5):
        fail_login(client, "someone-else")
    assert login(client, user).status_code == 429
    assert client.get("/tasks").status_code == 302


def test_successful_logins_do_not_use_up_the_limit(client, user):
    for _ in range(6):
        assert login(client, user).status_code == 303
        assert client.form_post("/auth/logout").status_code == 303


def test_logins_work_and_are_still_limited_with_the_rate_limiter_switched_off(
        app, database_url, user):
    """RATELIMIT_ENABLED=False (the benchmarks serve the app so) leaves the rate limiter of a
    fresh process without storage: the login budgets count in process memory instead of every
    login failing with 500. A gunicorn of its own, since this test process's limiter was
    initialised by earlier apps."""
    if database_url.startswith("sqlite:///:memory:"):
        pytest.skip("needs a database file or server the worker can share")
    server = Gunicorn("webapp:create_app(RATELIMIT_ENABLED=False)", {
        "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(32),
        "GUNICORN_WORKER_CLASS": "sync"}, workers=1)
    try:
        server.wait_ready()

        def attempt(browser: requests.Session, password: str) -> int:
            page = browser.get(server.url + "/auth/login", timeout=10)
            token = CSRF_META.search(page.text).group(1)
            return browser.post(server.url + "/auth/login", allow_redirects=False, timeout=10,
                                data={"csrf_token": token, "username": user.username,
                                      "password": password}).status_code

        owner = requests.Session()
        assert attempt(owner, user.password) == 303
        assert owner.get(server.url + "/tasks", allow_redirects=False, timeout=10).status_code \
            == 200
        stranger = requests.Session()
        assert [attempt(stranger, "wrong-password") for _ in range(6)] == [422] * 5 + [429]
    finally:
        server.stop()



def test_username_limit_holds_across_ips(app, client, user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_USERNAME_LIMIT", "3 per hour")
    for i in range(3):
        assert fail_login(client, user.username, ip=f"10.0.0.{i}").status_code == 422
    assert fail_login(client, user.username, ip="10.0.0.99").status_code == 429
    assert fail_login(client, "another-name", ip="10.0.0.99").status_code == 422


def test_registration_is_limited_per_ip(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_LIMIT", "2 per hour")
    for i in range(2):
        browser = app.test_client()  # each registration logs its browser in
        resp = browser.form_post("/auth/register", {
            "username": f"newbie{i}", "email": f"newbie{i}@example.com",
            "password": "a-long-secret-9", "confirm": "a-long-secret-9"})
        assert resp.status_code == 303
    resp = client.form_post("/auth/register", {
        "username": "newbie9", "email": "newbie9@example.com",
        "password": "a-long-secret-9", "confirm": "a-long-secret-9"})
    assert resp.status_code == 429
    assert "Retry-After" in resp.headers


# --- Races: the limit holds for attempts sent all at once ------------------------------------

def test_forty_simultaneous_failed_logins_from_one_address_check_at_most_five(app, user):
    clients = prepared_clients(app, 40)

    answers = all_at_once(40, lambda n: post_login(*clients[n], user.username,
                                                   "wrong-password", "192.0.2.7"))

    statuses = [resp.status_code for resp in answers]
    assert statuses.count(422) <= 5 and statuses.count(422) + statuses.count(429) == 40
    assert audit_count(app, "auth.login_failed") <= 5  # passwords actually checked
    assert post_login(*clients[0], user.username, user.password, "192.0.2.7").status_code == 429


def test_forty_simultaneous_failures_on_one_username_check_at_most_its_limit(app, user,
                                                                              monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_USERNAME_LIMIT", "8 per hour")  # fewer hashes
    clients = prepared_clients(app, 40)

    answers = all_at_once(40, lambda n: post_login(*clients[n], user.username,
                                                   "wrong-password", f"198.51.100.{n}"))

    statuses = [resp.status_code for resp in answers]
    assert statuses.count(422) <= 8 and statuses.count(422) + statuses.count(429) == 40
    assert audit_count(app, "auth.login_failed") <= 8


def test_forty_simultaneous_wrong_current_passwords_check_at_most_five(app, user_client, user):
    token = user_client.csrf_token("/auth/password")
    form = {"csrf_token": token, "current_password": "not-my-password",
            "new_password": "n3w-secret-pass", "confirm": "n3w-secret-pass"}

    answers = all_at_once(40, lambda n: user_client.post("/auth/password", data=form))

    statuses = [resp.status_code for resp in answers]
    assert statuses.count(422) <= 5, statuses  # each 422 is a password that was checked
    # The others were refused (429), or came after the refusal had ended the session (302).
    assert statuses.count(429) >= 1 and statuses.count(422) + statuses.count(429) + \
        statuses.count(302) == 40
    assert all("Retry-After" in resp.headers for resp in answers if resp.status_code == 429)


def test_simultaneous_registrations_from_one_address_stop_at_the_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_LIMIT", "5 per hour")
    clients = prepared_clients(app, 20)

    def register(n: int):
        client, token = clients[n]
        return client.post("/auth/register", data={
            "csrf_token": token, "username": f"racer{n}", "email": f"racer{n}@example.com",
            "password": "a-long-secret-9", "confirm": "a-long-secret-9"},
            environ_base={"REMOTE_ADDR": "203.0.113.5"})

    statuses = [resp.status_code for resp in all_at_once(20, register)]

    assert statuses.count(429) == 15 and statuses.count(303) == 5


# --- Current password on /auth/password ------------------------------------------------------

def test_guessing_the_current_password_is_stopped_and_ends_the_sessions(app, user_client, user):
    form = {"new_password": "n3w-secret-pass", "confirm": "n3w-secret-pass"}
    for _ in range(5):
        resp = user_client.form_post("/auth/password", {**form, "current_password": "guess"})
        assert resp.status_code == 422

    resp = user_client.form_post("/auth/password", {**form, "current_password": user.password})

    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert user_client.get("/tasks").status_code == 302  # the (stolen) session has ended
    assert audit_count(app, "auth.password_check_throttled") == 1
    owner = app.test_client()
    assert login(owner, user).status_code == 303  # the password was not changed


def test_right_current_password_does_not_use_up_the_budget(app, user_client, user):
    password = user.password
    for n in range(6):
        new = f"n3w-secret-pass-{n}"
        resp = user_client.form_post("/auth/password", {
            "current_password": password, "new_password": new, "confirm": new})
        assert resp.status_code == 303
        password = new


# --- Device cookies: the owner is not locked out ---------------------------------------------

@pytest.fixture
def small_username_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_USERNAME_LIMIT", "3 per hour")


def exhaust_username(client, username: str, count: int = 4) -> None:
    """A stranger's failures from as many addresses as needed to use up the username."""
    for n in range(count):
        fail_login(client, username, ip=f"203.0.113.{n + 10}")


def test_owner_with_device_cookie_logs_in_while_a_stranger_exhausts_the_username(
        app, small_username_limit, user):
    owner = app.test_client()
    assert login(owner, user).status_code == 303
    assert DEVICE_COOKIE in {cookie.key for cookie in owner._cookies.values()}
    owner.form_post("/auth/logout")
    owner.logged_in = False

    stranger = app.test_client()
    exhaust_username(stranger, user.username)
    new_browser = app.test_client()
    refused = login(new_browser, user)

    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "A browser you have logged in with before" in refused.get_data(as_text=True)
    assert login(owner, user).status_code == 303
    assert owner.get("/tasks").status_code == 200


def test_owner_keeps_logging_in_while_a_stranger_races_the_username(app, small_username_limit,
                                                                   user):
    owner = app.test_client()
    assert login(owner, user).status_code == 303
    owner.form_post("/auth/logout")
    clients = prepared_clients(app, 30)
    owner_token = owner.csrf_token("/auth/login")

    def attempt(n: int):
        if n == 0:  # the owner, from their usual browser, among the stranger's requests
            return post_login(owner, owner_token, user.username, user.password, "192.0.2.1")
        return post_login(*clients[n], user.username, "wrong-password", f"198.51.100.{n}")

    answers = all_at_once(30, attempt)

    assert answers[0].status_code == 303
    assert [r.status_code for r in answers[1:]].count(422) <= 3


def test_account_under_attack_is_reported_once_in_the_audit_trail(app, small_username_limit,
                                                                  user, admin):
    stranger = app.test_client()
    exhaust_username(stranger, user.username, count=8)

    assert audit_count(app, "auth.login_throttled") == 1
    admin_browser = app.test_client()
    assert login(admin_browser, admin).status_code == 303
    html = admin_browser.get("/admin/audit?action=auth.login_throttled").get_data(as_text=True)
    assert "auth.login_throttled" in html and user.username in html
    assert "login-username" in html


def test_device_over_its_own_budget_counts_like_an_unknown_browser(app, monkeypatch, user):
    monkeypatch.setitem(app.config, "LOGIN_DEVICE_LIMIT", "2 per hour")
    monkeypatch.setitem(app.config, "LOGIN_USERNAME_LIMIT", "2 per hour")
    device = app.test_client()
    assert login(device, user).status_code == 303
    device.form_post("/auth/logout")
    device.logged_in = False
    statuses = [fail_login(device, user.username, ip=f"192.0.2.{n}").status_code
                for n in range(5)]
    assert statuses == [422, 422, 422, 422, 429]  # its own 2, then the username's 2


@pytest.mark.parametrize("cookie", ["garbage", "", "a" * 4000, "W1siYWxpY2UiLCJ4Il1d.x.y"])
def test_forged_device_cookie_is_an_unknown_browser(app, small_username_limit, user, cookie):
    stranger = app.test_client()
    exhaust_username(stranger, user.username)
    forger = app.test_client()
    forger.set_cookie(DEVICE_COOKIE, cookie)
    assert login(forger, user).status_code == 429


def test_device_cookie_of_another_account_does_not_help(app, small_username_limit, user,
                                                       other_user):
    browser = app.test_client()
    assert login(browser, other_user).status_code == 303
    browser.form_post("/auth/logout")
    browser.logged_in = False
    exhaust_username(app.test_client(), user.username)
    assert login(browser, user).status_code == 429
    assert login(browser, other_user).status_code == 303


def test_device_cookie_is_httponly_and_lax(app, user):
    owner = app.test_client()
    resp = login(owner, user)
    header = next(v for v in resp.headers.getlist("Set-Cookie") if v.startswith(DEVICE_COOKIE))
    assert "HttpOnly" in header and "SameSite=Lax" in header


# --- Redis: one count for every process --------------------------------------------------------

@pytest.fixture
def redis_app(app, database_url, redis_url):
    """A second instance of the app whose limits live in Redis (like production)."""
    saved = limiter._storage, limiter._limiter
    other = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                       RATELIMIT_STORAGE_URI=redis_url)
    yield other
    with other.app_context():
        db.engine.dispose()
    limiter._storage, limiter._limiter = saved


def test_login_limit_is_counted_in_redis(redis_app, redis_url, user):
    import redis

    redis_app.test_client_class = Client
    first, second = redis_app.test_client(), redis_app.test_client()
    for _ in range(5):
        assert fail_login(first, user.username).status_code == 422
    conn = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in conn.keys("*")]
    conn.close()
    assert any("login-ip" in k for k in keys), keys
    assert login(second, user).status_code == 429


def test_forty_simultaneous_failed_logins_counted_in_redis_check_at_most_five(redis_app, user):
    clients = prepared_clients(redis_app, 40)

    answers = all_at_once(40, lambda n: post_login(*clients[n], user.username,
                                                   "wrong-password", "192.0.2.8"))

    statuses = [resp.status_code for resp in answers]
    assert statuses.count(422) <= 5 and statuses.count(422) + statuses.count(429) == 40
    assert audit_count(redis_app, "auth.login_failed") <= 5


def test_forty_simultaneous_failed_logins_across_gunicorn_workers_check_at_most_five(
        app, database_url, redis_url, user):
    """Two gunicorn worker processes, the production config file, one Redis: the per-address
    limit holds for attempts sent at once to both."""
    if database_url.startswith("sqlite:///:memory:"):
        pytest.skip("needs a database file or server the workers can share")
    prefix = f"taskdeck-test-{secrets.token_hex(4)}"
    server = Gunicorn(f'webapp:create_app(RATELIMIT_KEY_PREFIX="{prefix}")', {
        "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(32), "DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2",
        "GUNICORN_THREADS": "8",
    }, workers=2)
    try:
        server.wait_ready()
        browsers = []
        for _ in range(40):
            browser = requests.Session()
            page = browser.get(server.url + "/auth/login", timeout=10)
            browsers.append((browser, CSRF_META.search(page.text).group(1)))

        def attempt(n: int):
            browser, token = browsers[n]
            return browser.post(server.url + "/auth/login", timeout=30, allow_redirects=False,
                                data={"csrf_token": token, "username": user.username,
                                      "password": "wrong-password"})

        statuses = [resp.status_code for resp in all_at_once(40, attempt)]
    finally:
        server.stop()

    assert statuses.count(422) <= 5 and statuses.count(422) + statuses.count(429) == 40, statuses
    assert audit_count(app, "auth.login_failed") <= 5


def test_limits_fall_back_to_memory_and_the_log_says_so_when_redis_is_down(
        make_app, user, database_url, tmp_path):
    """Both the login limits and Flask-Limiter's API limit keep counting, per process, and
    each fallback is one warning in the app's own log (it was silent)."""
    from .servers import free_port

    log_file = tmp_path / "app.log"
    other = make_app(SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True,
                     REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", LOG_FILE=str(log_file),
                     API_RATE_LIMIT="2/minute")
    other.test_client_class = Client
    client = other.test_client()

    login_statuses = [fail_login(client, user.username).status_code for _ in range(6)]
    api_statuses = [client.get("/api/stats").status_code for _ in range(3)]

    assert login_statuses == [422] * 5 + [429]  # still limited
    assert api_statuses == [401, 401, 429]
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    warnings = [line["message"] for line in lines if line["level"] == "WARNING"]
    assert sum("counting in this process's memory" in m for m in warnings) == 1, warnings
    assert any("falling back to in-memory storage" in m for m in warnings), warnings


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the test's own on a free port, which the test may stop and start."""
    import shutil
    import subprocess
    import time

    from .servers import free_port

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()

    class OwnRedis:
        url = f"redis://127.0.0.1:{port}/0"
        process = None

        def start(self):
            self.process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(tmp_path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            import redis

            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    redis.Redis(port=port, socket_timeout=0.2).ping()
                    return
                except redis.RedisError:
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not start")

        def stop(self):
            self.process.terminate()
            self.process.wait(10)

    server = OwnRedis()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def test_login_limits_count_through_a_redis_outage_and_go_back_to_redis(
        make_app, user, database_url, own_redis, tmp_path, monkeypatch):
    import time

    from webapp.services import throttle

    monkeypatch.setattr(throttle, "RETRY_REDIS_AFTER", 0.2)
    log_file = tmp_path / "app.log"
    other = make_app(SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True,
                     REDIS_URL=own_redis.url, LOG_FILE=str(log_file))
    other.test_client_class = Client
    client = other.test_client()

    assert fail_login(client, user.username, ip="192.0.2.50").status_code == 422  # in Redis
    own_redis.stop()
    during = [fail_login(client, user.username, ip="192.0.2.51").status_code for _ in range(6)]
    own_redis.start()  # empty: Redis forgot the first count
    time.sleep(0.3)
    after = [fail_login(client, user.username, ip="192.0.2.50").status_code for _ in range(6)]

    assert during == [422] * 5 + [429]  # counted in this process's memory meanwhile
    assert after == [422] * 5 + [429]  # counted in Redis again, from zero
    events = [json.loads(line).get("event") for line in log_file.read_text().splitlines()]
    assert events.count("throttle_storage_fallback") == 1
    assert events.count("throttle_storage_recovered") == 1
