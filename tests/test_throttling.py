"""Login and registration rate limits (Flask-Limiter), in memory and shared through Redis."""

from __future__ import annotations

import pytest

from tests.conftest import login
from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import limiter


def fail_login(client, username: str, ip: str = "127.0.0.1"):
    return client.form_post("/auth/login", {"username": username, "password": "wrong-password"},
                            environ_base={"REMOTE_ADDR": ip})


def test_sixth_failed_login_in_a_minute_is_429_with_retry_after(client, user):
    for _ in range(5):
        assert fail_login(client, user.username).status_code == 422
    resp = fail_login(client, user.username)
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert "Too many attempts" in resp.get_data(as_text=True)


def test_correct_password_is_refused_while_throttled(client, user):
    for _ in range(5):
        fail_login(client, "someone-else")
    assert login(client, user).status_code == 429
    assert client.get("/tasks").status_code == 302


def test_successful_logins_do_not_use_up_the_limit(client, user):
    for _ in range(6):
        assert login(client, user).status_code == 303
        assert client.form_post("/auth/logout").status_code == 303


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


@pytest.fixture
def redis_app(app, database_url, redis_url):
    """A second instance of the app whose limits live in Redis (like production)."""
    saved = limiter._storage, limiter._limiter
    other = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                       RATELIMIT_STORAGE_URI=redis_url)
    yield other
    with other.app_context():
        from webapp.extensions import db

        db.engine.dispose()
    limiter._storage, limiter._limiter = saved


def test_login_limit_is_counted_in_redis(redis_app, redis_url, user):
    import redis

    from tests.conftest import Client

    redis_app.test_client_class = Client
    first, second = redis_app.test_client(), redis_app.test_client()
    for _ in range(5):
        assert fail_login(first, user.username).status_code == 422
    conn = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in conn.keys("*")]
    conn.close()
    assert any("login-ip" in k for k in keys), keys
    assert login(second, user).status_code == 429
