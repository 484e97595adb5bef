"""Session and remember-me cookies, session renewal, logout that sticks, password change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import login
from webapp import create_app
from webapp.config import DEV_SECRET_KEY, ProductionConfig
from webapp.extensions import db
from webapp.models import User


def set_cookie_header(resp, name: str) -> str:
    headers = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert headers, f"no {name} cookie set"
    return headers[-1]


def replay(app, name: str, value: str):
    """A fresh client (another browser) that only holds a copied cookie."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def test_user_login_sets_httponly_samesite_session_cookie(client, user):
    resp = login(client, user)
    assert resp.status_code == 303
    cookie = set_cookie_header(resp, "session")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_configured(app, client, user, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    resp = login(client, user)
    assert "Secure" in set_cookie_header(resp, "session")


def test_remember_me_cookie_has_flags_and_bounded_lifetime(app, client, user):
    resp = client.form_post("/auth/login", {"username": user.username, "password": user.password,
                                            "remember": "y"})
    assert resp.status_code == 303
    cookie = set_cookie_header(resp, "remember_token")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = next(p.split("=", 1)[1] for p in cookie.split("; ") if p.startswith("Expires="))
    expiry = datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    lifetime = expiry - datetime.now(UTC)
    assert timedelta(days=13) < lifetime <= app.config["REMEMBER_COOKIE_DURATION"]


def test_production_config_makes_cookies_secure_and_sends_hsts():
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True
    assert ProductionConfig.HSTS_SECONDS >= 180 * 24 * 3600


def test_session_older_than_its_lifetime_is_refused(app, user_client, monkeypatch):
    assert user_client.get("/tasks").status_code == 200
    # Any signed cookie is now older than the lifetime (the check is max_age in seconds).
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", timedelta(seconds=-1))
    assert user_client.get("/tasks").status_code == 302


def test_login_renews_the_session(client, user):
    with client.session_transaction() as sess:
        sess["planted"] = "before login"
    assert login(client, user).status_code == 303
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_replayed_session_cookie_after_logout_is_refused(app, user_client):
    copied = user_client.get_cookie("session").value
    assert replay(app, "session", copied).get("/tasks").status_code == 200
    assert user_client.form_post("/auth/logout").status_code == 303
    resp = replay(app, "session", copied).get("/tasks")
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_replayed_remember_cookie_after_logout_is_refused(app, client, user):
    client.form_post("/auth/login", {"username": user.username, "password": user.password,
                                     "remember": "y"})
    client.logged_in = True
    copied = client.get_cookie("remember_token").value
    assert replay(app, "remember_token", copied).get("/tasks").status_code == 200
    client.form_post("/auth/logout")
    assert replay(app, "remember_token", copied).get("/tasks").status_code == 302


def test_deactivated_user_is_logged_out_at_once(app, user_client, user):
    with app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()
    assert user_client.get("/tasks").status_code == 302


def test_user_changes_password_with_current_one_and_other_sessions_end(app, user_client, user):
    other_device = app.test_client()
    assert login(other_device, user).status_code == 303
    resp = user_client.form_post("/auth/password", {
        "current_password": user.password, "new_password": "a-brand-new-secret",
        "confirm": "a-brand-new-secret",
    })
    assert resp.status_code == 303
    assert user_client.get("/tasks").status_code == 200
    assert other_device.get("/tasks").status_code == 302
    user_client.form_post("/auth/logout")
    assert login(app.test_client(), user, "a-brand-new-secret").status_code == 303


def test_user_password_change_with_wrong_current_password_is_refused(app, user_client, user):
    resp = user_client.form_post("/auth/password", {
        "current_password": "not-my-password", "new_password": "a-brand-new-secret",
        "confirm": "a-brand-new-secret",
    })
    assert resp.status_code == 422
    assert "not your current password" in resp.get_data(as_text=True)
    assert login(app.test_client(), user).status_code == 303


def test_user_password_change_to_common_password_is_refused(user_client, user):
    resp = user_client.form_post("/auth/password", {
        "current_password": user.password, "new_password": "Password123",
        "confirm": "Password123",
    })
    assert resp.status_code == 422
    assert "too common" in resp.get_data(as_text=True)


def test_anonymous_cannot_open_password_page(client):
    assert client.get("/auth/password").status_code == 302


@pytest.mark.parametrize("key", [None, "", DEV_SECRET_KEY, "short"])
def test_production_refuses_to_start_without_a_secret_key(key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig, SECRET_KEY=key)
