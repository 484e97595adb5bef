"""Accounts through the API (#16 points 2 and 4): token login and logout for scripts,
registration, and admins creating and changing accounts, under the pages' rules and limits."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import PASSWORD, bearer, login
from tests.openapi_check import checked
from webapp.extensions import db
from webapp.models import ApiToken, AuditEvent, User

JSON = {"Content-Type": "application/json"}


def token_login(client, username: str, password: str, ip: str = "127.0.0.1", **extra):
    return client.post("/api/auth/token", json={"username": username, "password": password,
                                                **extra},
                       environ_base={"REMOTE_ADDR": ip})


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def account(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


# --- POST /api/auth/token -------------------------------------------------------------------

def test_token_login_gives_a_read_write_token_for_24_hours(client, user):
    resp = token_login(client, user.username, PASSWORD)
    checked(resp, "post")
    assert resp.status_code == 201
    body = resp.get_json()
    assert (body["tokenType"], body["scope"]) == ("Bearer", "read write")
    assert body["token"].startswith("td_")
    assert resp.headers["Cache-Control"] == "no-store"
    expires = datetime.fromisoformat(body["expiresAt"].removesuffix("Z"))
    assert abs(expires - (datetime.utcnow() + timedelta(hours=24))) < timedelta(minutes=1)
    headers = bearer(body["token"])
    assert client.get("/api/tasks", headers=headers).status_code == 200
    created = client.post("/api/tasks", json={"title": "From a script"}, headers=headers)
    assert created.status_code == 201


@pytest.mark.parametrize(("hours", "status"), [(1, 201), (720, 201), (721, 422), (0, 422),
                                                (-5, 422)])
def test_token_lifetime_is_at_most_30_days(client, user, hours, status):
    resp = token_login(client, user.username, PASSWORD, expiresInHours=hours, name="cron")
    assert resp.status_code == status
    if status == 422:
        assert "expiresInHours" in resp.get_json()["fields"]
    else:
        expires = datetime.fromisoformat(resp.get_json()["expiresAt"].removesuffix("Z"))
        assert abs(expires - (datetime.utcnow() + timedelta(hours=hours))) < timedelta(minutes=1)


def test_refused_lifetime_uses_no_login_attempt(app, client, user):
    for _ in range(6):
        assert token_login(client, user.username, "wrong", expiresInHours=9999).status_code == 422
    assert token_login(client, user.username, PASSWORD).status_code == 201
    assert events(app, "auth.login_failed") == []


def test_wrong_password_unknown_user_and_deactivated_account_get_the_same_401(app, client,
                                                                             user, make_user):
    gone = make_user("gone")
    with app.app_context():
        db.session.get(User, gone.id).is_active = False
        db.session.commit()
    answers = [token_login(client, user.username, "not-the-password", ip="10.1.0.1"),
               token_login(client, "nobody-here", PASSWORD, ip="10.1.0.2"),
               token_login(client, gone.username, PASSWORD, ip="10.1.0.3")]
    assert [resp.status_code for resp in answers] == [401, 401, 401]
    assert len({resp.get_data() for resp in answers}) == 1
    assert answers[0].get_json() == {"error": "Invalid username or password.",
                                     "code": "invalid_credentials"}
    checked(answers[0], "post")


def test_unknown_field_or_missing_password_is_422_without_a_login_attempt(app, client, user):
    resp = client.post("/api/auth/token", json={"username": user.username, "pasword": "x"})
    assert resp.status_code == 422
    assert set(resp.get_json()["fields"]) == {"pasword", "password"}
    assert events(app, "auth.login_failed") == []


def test_sixth_failed_token_login_is_429_and_then_even_the_right_password(client, user):
    for _ in range(5):
        assert token_login(client, user.username, "wrong", ip="10.2.0.1").status_code == 401
    resp = token_login(client, user.username, "wrong", ip="10.2.0.1")
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert resp.get_json()["code"] == "too_many_requests"
    right = token_login(client, user.username, PASSWORD, ip="10.2.0.1")
    assert right.status_code == 429 and "token" not in right.get_json()


def test_login_page_and_token_login_share_the_address_limit(client, user):
    for _ in range(3):
        resp = client.form_post("/auth/login", {"username": user.username, "password": "no"})
        assert resp.status_code == 422
    for _ in range(2):
        assert token_login(client, user.username, "no").status_code == 401
    assert token_login(client, user.username, PASSWORD).status_code == 429
    assert login(client, user).status_code == 429


def test_token_login_counts_against_the_username_limit_across_addresses(app, client, user,
                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_USERNAME_LIMIT", "3 per hour")
    for n in range(3):
        assert token_login(client, user.username, "no", ip=f"10.3.0.{n}").status_code == 401
    assert token_login(client, user.username, PASSWORD, ip="10.3.0.99").status_code == 429


def test_token_login_is_audited_as_a_login_through_the_api(app, client, user):
    token_login(client, user.username, "wrong")
    token_login(client, user.username, PASSWORD, name="nightly")
    [failed] = events(app, "auth.login_failed")
    [logged_in] = events(app, "auth.login")
    [created] = events(app, "token.create")
    assert failed.changes["via"] == "api"
    assert logged_in.actor_id == user.id and logged_in.changes == {"via": "api"}
    assert created.changes["via"] == "api" and created.changes["name"] == "nightly"
    assert created.changes["scope"] == "read write"


# --- POST /api/auth/logout ------------------------------------------------------------------

def test_logout_revokes_the_calling_token_and_no_other(app, client, user, make_token):
    first = token_login(client, user.username, PASSWORD).get_json()["token"]
    second = token_login(client, user.username, PASSWORD).get_json()["token"]
    read_only = make_token(user, "reader")
    resp = client.post("/api/auth/logout", headers=bearer(first))
    assert resp.status_code == 204 and resp.get_data() == b""
    assert client.get("/api/tasks", headers=bearer(first)).status_code == 401
    assert client.post("/api/auth/logout", headers=bearer(first)).status_code == 401
    assert client.get("/api/tasks", headers=bearer(second)).status_code == 200
    # Any scope may end itself.
    assert client.post("/api/auth/logout", headers=bearer(read_only)).status_code == 204
    assert client.get("/api/tasks", headers=bearer(read_only)).status_code == 401
    assert client.get("/api/tasks", headers=bearer(second)).status_code == 200
    [logout, _] = events(app, "auth.logout")
    assert logout.changes["via"] == "api" and logout.changes["token"] == first[:10]


def test_logout_with_a_browser_session_alone_is_401(user_client):
    resp = user_client.post("/api/auth/logout")
    assert resp.status_code == 401
    assert user_client.get("/tasks").status_code == 200  # the session is untouched


# --- POST /api/auth/register ----------------------------------------------------------------

def test_register_creates_an_account_that_can_log_in(app, client):
    resp = client.post("/api/auth/register", json={
        "username": "Newbie", "email": "newbie@example.com", "password": "a-long-secret-9",
        "name": "New Bie"})
    checked(resp, "post")
    assert resp.status_code == 201
    body = resp.get_json()
    assert (body["username"], body["name"], body["role"], body["isActive"]) == (
        "newbie", "New Bie", "user", True)
    assert token_login(client, "newbie", "a-long-secret-9").status_code == 201
    created = events(app, "user.create")[-1]
    assert created.actor_id == body["id"] and created.changes["via"] == "api"


BAD_ACCOUNTS = [
    ({"username": "x"}, "username", "Username must be 3 to 32 characters"),
    ({"username": "alice"}, "username", "That username is taken."),
    ({"email": "not-an-email"}, "email", "Enter a valid email address."),
    ({"email": "alice@example.com"}, "email", "An account with that email already exists."),
    ({"password": "short"}, "password", "Password must be at least 8 characters."),
    ({"password": "password123"}, "password", "That password is too common"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_ACCOUNTS)
def test_register_refuses_with_the_register_pages_messages(app, client, user, change, field,
                                                           message):
    values = {"username": "fresh", "email": "fresh@example.com", "password": "a-long-secret-9",
              **change}
    with app.app_context():
        existing = db.session.get(User, user.id)
        values = {k: v.replace("alice", existing.username) for k, v in values.items()}
    resp = client.post("/api/auth/register", json=values)
    assert resp.status_code == 422
    [api_message] = resp.get_json()["fields"][field]
    assert api_message.startswith(message)
    page = app.test_client().form_post("/auth/register", {**values,
                                                          "confirm": values["password"]})
    assert page.status_code == 422
    assert api_message.replace("'", "&#39;") in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_register_shares_the_pages_limit_per_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_LIMIT", "2 per hour")
    page = app.test_client().form_post("/auth/register", {
        "username": "bypage", "email": "bypage@example.com", "password": "a-long-secret-9",
        "confirm": "a-long-secret-9"})
    assert page.status_code == 303
    first = client.post("/api/auth/register", json={
        "username": "byapi", "email": "byapi@example.com", "password": "a-long-secret-9"})
    assert first.status_code == 201
    resp = client.post("/api/auth/register", json={
        "username": "third", "email": "third@example.com", "password": "a-long-secret-9"})
    assert resp.status_code == 429 and "Retry-After" in resp.headers


# --- POST /api/users and PATCH /api/users/<id> -----------------------------------------------

def test_admin_creates_an_account_with_a_role(app, client, admin, make_token):
    token = make_token(admin, write=True)
    resp = client.post("/api/users", headers=bearer(token), json={
        "username": "helper", "email": "helper@example.com", "password": "a-long-secret-9",
        "role": "admin"})
    checked(resp, "post")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["role"] == "admin" and resp.headers["Location"] == f"/api/users/{body['id']}"
    created = events(app, "user.create")[-1]
    assert created.target_id == str(body["id"])
    assert created.actor_id == admin.id and created.changes["via"] == "api"


def test_admin_creating_a_bad_account_gets_every_field_named(client, admin, make_token):
    resp = client.post("/api/users", headers=bearer(make_token(admin, write=True)), json={
        "username": "Bad Name!", "email": "nope", "password": "short", "name": "x" * 101})
    assert resp.status_code == 422
    assert set(resp.get_json()["fields"]) == {"username", "email", "password", "name"}
    assert resp.get_json()["fields"]["name"] == ["Display name must be at most 100 characters."]


@pytest.mark.parametrize("method,path", [("post", "/api/users"), ("patch", "/api/users/{id}")])
def test_user_cannot_manage_accounts(client, user, other_user, make_token, method, path):
    body = ({"username": "sneaky", "email": "s@example.com", "password": "a-long-secret-9"}
            if method == "post" else {"role": "admin"})
    resp = getattr(client, method)(path.format(id=other_user.id), json=body,
                                   headers=bearer(make_token(user, write=True)))
    assert resp.status_code == 403
    assert resp.get_json()["code"] == "forbidden"


def test_admins_read_only_token_cannot_manage_accounts(client, admin, other_user, make_token):
    resp = client.patch(f"/api/users/{other_user.id}", json={"role": "admin"},
                        headers=bearer(make_token(admin)))
    assert resp.status_code == 403 and resp.get_json()["code"] == "insufficient_scope"


def test_admin_changes_role_and_active(app, client, admin, other_user, make_token):
    headers = bearer(make_token(admin, write=True))
    resp = client.patch(f"/api/users/{other_user.id}", json={"role": "admin"}, headers=headers)
    checked(resp, "patch")
    assert resp.status_code == 200 and resp.get_json()["role"] == "admin"
    resp = client.patch(f"/api/users/{other_user.id}", json={"isActive": False,
                                                             "role": "user"}, headers=headers)
    assert resp.status_code == 200
    assert (resp.get_json()["role"], resp.get_json()["isActive"]) == ("user", False)
    changed = [e.action for e in events(app, "user.role_change") + events(app, "user.deactivate")]
    assert changed == ["user.role_change", "user.role_change", "user.deactivate"]
    assert all(e.changes["via"] == "api" for e in events(app, "user.role_change"))


def test_last_active_admin_cannot_be_demoted(app, client, admin, make_token):
    resp = client.patch(f"/api/users/{admin.id}", json={"role": "user"},
                        headers=bearer(make_token(admin, write=True)))
    checked(resp, "patch")
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["code"] == "last_admin"
    assert body["fields"] == {"role": ["The last active admin cannot be demoted."]}
    assert account(app, admin.id).role == "admin"


def test_a_refused_change_changes_nothing_of_the_other_field(app, client, admin, make_user,
                                                            make_token):
    make_user("second", role="admin")
    resp = client.patch(f"/api/users/{admin.id}", json={"role": "user", "isActive": False},
                        headers=bearer(make_token(admin, write=True)))
    assert resp.status_code == 422
    assert resp.get_json()["fields"] == {"isActive": ["You cannot deactivate your own account."]}
    assert account(app, admin.id).role == "admin"  # the demotion went with the refusal


def test_bad_role_or_unknown_user(client, admin, other_user, make_token):
    headers = bearer(make_token(admin, write=True))
    resp = client.patch(f"/api/users/{other_user.id}", json={"role": "owner"}, headers=headers)
    assert resp.status_code == 422 and "role" in resp.get_json()["fields"]
    assert client.patch("/api/users/999999", json={"role": "user"},
                        headers=headers).status_code == 404


def test_deactivation_ends_sessions_and_tokens_at_once(app, client, admin, user, make_token):
    user_browser = app.test_client()
    login(user_browser, user)
    user_token = token_login(client, user.username, PASSWORD).get_json()["token"]
    assert user_browser.get("/tasks").status_code == 200
    headers = bearer(make_token(admin, write=True))
    resp = client.patch(f"/api/users/{user.id}", json={"isActive": False}, headers=headers)
    assert resp.status_code == 200
    assert client.get("/api/tasks", headers=bearer(user_token)).status_code == 401
    assert user_browser.get("/tasks").status_code == 302
    # Back on: the old token and session stay dead; a new login works.
    client.patch(f"/api/users/{user.id}", json={"isActive": True}, headers=headers)
    assert client.get("/api/tasks", headers=bearer(user_token)).status_code == 401
    assert user_browser.get("/tasks").status_code == 302
    assert token_login(client, user.username, PASSWORD).status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(ApiToken.revoked_at).where(
            ApiToken.prefix == user_token[:10])) is not None


# --- The document ---------------------------------------------------------------------------

def test_document_describes_the_account_endpoints(client):
    document = client.get("/api/openapi.json").get_json()
    paths = document["paths"]
    for path, method in [("/api/auth/token", "post"), ("/api/auth/logout", "post"),
                         ("/api/auth/register", "post"), ("/api/users", "post"),
                         ("/api/users/{user_id}", "patch")]:
        assert method in paths[path], path
    assert paths["/api/auth/token"]["post"]["security"] == [{}]
    assert paths["/api/users"]["post"]["security"] == [{"bearerToken": ["write"]}]


# --- Against a real server: a script, and a race on the login limit ----------------------------

def test_script_logs_in_uses_the_token_logs_out_and_the_token_is_dead(live_server, user):
    with requests.Session() as script:
        resp = script.post(f"{live_server}/api/auth/token", timeout=10, json={
            "username": user.username, "password": PASSWORD, "name": "backup script"})
        assert resp.status_code == 201
        script.headers["Authorization"] = f"Bearer {resp.json()['token']}"
        created = script.post(f"{live_server}/api/tasks", json={"title": "Nightly"}, timeout=10)
        assert created.status_code == 201
        listed = script.get(f"{live_server}/api/tasks", timeout=10)
        assert [t["title"] for t in listed.json()["tasks"]] == ["Nightly"]
        assert script.post(f"{live_server}/api/auth/logout", timeout=10).status_code == 204
        dead = script.get(f"{live_server}/api/tasks", timeout=10)
        assert dead.status_code == 401
        assert "WWW-Authenticate" in dead.headers


def test_simultaneous_wrong_token_logins_check_at_most_five_passwords(app, live_server, user):
    count = 12
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def attempt() -> None:
        with requests.Session() as session:
            barrier.wait()
            resp = session.post(f"{live_server}/api/auth/token", timeout=30, json={
                "username": user.username, "password": "wrong-password"})
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == count
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == count
    assert len(events(app, "auth.login_failed")) <= 5  # passwords actually checked
    right = requests.post(f"{live_server}/api/auth/token", timeout=10, json={
        "username": user.username, "password": PASSWORD})
    assert right.status_code == 429 and "Retry-After" in right.headers
