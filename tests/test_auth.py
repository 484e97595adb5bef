"""Register, log in, log out; sessions and deactivated accounts."""

import sqlalchemy as sa

from tests.conftest import PASSWORD, login
from webapp.extensions import db
from webapp.models import User


def test_anonymous_sees_login_form_with_labels(client):
    resp = client.get("/auth/login")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<label for="username">Username</label>' in html
    assert '<label for="password">Password</label>' in html
    assert 'value="Log in"' in html


def test_visitor_registers_and_lands_on_tasks(client, app):
    resp = client.form_post("/auth/register", {
        "username": "NewPerson", "email": "new@example.com", "display_name": "New Person",
        "password": PASSWORD, "confirm": PASSWORD,
    })
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/tasks"
    assert client.get("/tasks").status_code == 200
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "newperson"))
        assert user is not None and user.role == "user"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_register_with_taken_username_shows_error_and_keeps_input(client, user):
    resp = client.form_post("/auth/register", {
        "username": user.username.upper(), "email": "other@example.com",
        "password": PASSWORD, "confirm": PASSWORD,
    })
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "That username is taken." in html
    assert 'value="other@example.com"' in html


def test_register_with_bad_username_and_email_is_refused(client, app):
    resp = client.form_post("/auth/register", {
        "username": "no spaces!", "email": "not-an-email",
        "password": PASSWORD, "confirm": PASSWORD,
    })
    assert resp.status_code == 422
    assert "Username must be" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_register_with_mismatched_passwords_is_refused(client):
    resp = client.form_post("/auth/register", {
        "username": "someone", "email": "s@example.com",
        "password": PASSWORD, "confirm": PASSWORD + "x",
    })
    assert resp.status_code == 422
    assert "Passwords differ." in resp.get_data(as_text=True)


def test_user_logs_in_and_last_login_is_recorded(client, user, app):
    resp = login(client, user)
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.get(User, user.id).last_login_at is not None


def test_login_is_case_insensitive_on_username(client, user):
    resp = client.form_post("/auth/login", {"username": "ALICE", "password": user.password})
    assert resp.status_code == 303


def test_wrong_password_and_unknown_user_get_the_same_message(client, user):
    wrong = client.form_post("/auth/login", {"username": user.username, "password": "nope-nope"})
    unknown = client.form_post("/auth/login", {"username": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 422
    assert "Invalid username or password." in wrong.get_data(as_text=True)
    assert "Invalid username or password." in unknown.get_data(as_text=True)


def test_deactivated_user_cannot_log_in(client, make_user):
    gone = make_user("gone", active=False)
    resp = login(client, gone)
    assert resp.status_code == 422
    assert "Invalid username or password." in resp.get_data(as_text=True)


def test_deactivated_users_open_session_stops_working(user_client, user, app):
    with app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()
    resp = user_client.get("/tasks")
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_login_renews_the_session(client, user):
    client.get("/auth/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, user)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(f"{user.id}:")


def test_login_redirects_to_safe_next_only(client, user):
    token = client.csrf_token()
    data = {"username": user.username, "password": user.password, "csrf_token": token}
    resp = client.post("/auth/login?next=https://evil.example/", data=data)
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/tasks"


def test_login_follows_local_next(client, user):
    token = client.csrf_token()
    data = {"username": user.username, "password": user.password, "csrf_token": token}
    resp = client.post("/auth/login?next=/tasks/new", data=data)
    assert resp.headers["Location"] == "/tasks/new"


def test_logout_needs_post(user_client):
    assert user_client.get("/auth/logout").status_code == 405


def test_user_logs_out(user_client):
    resp = user_client.form_post("/auth/logout")
    assert resp.status_code == 303
    assert user_client.get("/tasks").status_code == 302


def test_anonymous_is_redirected_to_login_with_next(client):
    resp = client.get("/tasks/new")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/auth/login?next=/tasks/new")


def test_anonymous_htmx_request_gets_401_with_hx_redirect(client):
    resp = client.hx_get("/tasks")
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"].startswith("/auth/login")


def test_logged_in_user_visiting_login_goes_to_tasks(user_client):
    resp = user_client.get("/auth/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/tasks"
