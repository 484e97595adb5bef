"""The account page: create (shown once), list and revoke personal API tokens,
with and without htmx."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.conftest import HTMX, bearer
from webapp.models import utcnow

TOKEN_IN_PAGE = re.compile(r'id="new-token"[^>]*value="(td_[^"]+)"')


def create_token(client, name="backup script", htmx=False, **data):
    return client.form_post("/account/tokens", {"name": name, **data}, htmx=htmx)


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/account")
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


def test_user_sees_account_page_with_token_form(user_client):
    resp = user_client.get("/account")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Token name" in html and "Expires on" in html
    assert "You have no API tokens." in html
    assert resp.headers["Cache-Control"] == "no-store"


def test_user_creates_token_and_sees_it_once(user_client):
    resp = create_token(user_client)
    assert resp.status_code == 201
    assert resp.headers["Cache-Control"] == "no-store"
    secret = TOKEN_IN_PAGE.search(resp.get_data(as_text=True)).group(1)
    assert user_client.get("/api/stats", headers=bearer(secret)).status_code == 200
    later = user_client.get("/account").get_data(as_text=True)
    assert secret not in later
    assert "backup script" in later and secret[:10] in later


def test_created_token_can_have_an_expiry(user_client):
    last_day = utcnow().date() + timedelta(days=30)
    resp = create_token(user_client, expires_on=last_day.isoformat())
    assert resp.status_code == 201
    # Valid through the last day: it stops at midnight UTC after it.
    assert f"{last_day + timedelta(days=1)} 00:00 UTC" in resp.get_data(as_text=True)


def test_htmx_create_answers_the_token_panel(user_client):
    resp = create_token(user_client, htmx=True)
    assert resp.status_code == 201
    html = resp.get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="api-tokens">')
    assert TOKEN_IN_PAGE.search(html)


def test_token_without_name_is_refused_with_422(user_client):
    resp = create_token(user_client, name="  ")
    assert resp.status_code == 422
    assert "Give the token a name." in resp.get_data(as_text=True)
    assert "You have no API tokens." in resp.get_data(as_text=True)


def test_token_with_past_expiry_is_refused_with_422(user_client):
    resp = create_token(user_client, expires_on="2001-01-01", htmx=True)
    assert resp.status_code == 422
    assert "today or later" in resp.get_data(as_text=True)


def test_user_revokes_token_without_javascript(user_client, user, make_token):
    secret = make_token(user, "old script")
    page = user_client.get("/account").get_data(as_text=True)
    token_id = re.search(r'id="token-(\d+)"', page).group(1)
    resp = user_client.form_post(f"/account/tokens/{token_id}/revoke")
    assert resp.status_code == 303
    follow = user_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Revoked the token “old script”." in follow
    assert f'id="token-{token_id}"' not in follow
    assert user_client.get("/api/stats", headers=bearer(secret)).status_code == 401


def test_htmx_revoke_removes_the_row_and_flashes(user_client, user, make_token):
    make_token(user, "old script")
    page = user_client.get("/account").get_data(as_text=True)
    token_id = re.search(r'id="token-(\d+)"', page).group(1)
    resp = user_client.form_post(f"/account/tokens/{token_id}/revoke", htmx=True)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in html and "Revoked" in html
    assert "<tr" not in html


def test_user_cannot_revoke_another_users_token(user_client, other_user, make_token):
    secret = make_token(other_user, "theirs")
    with user_client.application.app_context():
        from webapp.services.tokens import authenticate_token

        token_id = authenticate_token(secret).id
    resp = user_client.form_post(f"/account/tokens/{token_id}/revoke", headers=HTMX)
    assert resp.status_code == 404
    assert user_client.get("/api/stats", headers=bearer(secret)).status_code == 200


def test_user_sees_only_own_tokens(user_client, user, other_user, make_token):
    make_token(user, "mine")
    make_token(other_user, "theirs")
    html = user_client.get("/account").get_data(as_text=True)
    assert "mine" in html and "theirs" not in html


def test_account_page_has_no_inline_script(user_client, user, make_token):
    make_token(user)
    html = user_client.get("/account").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\son[a-z]+=", html)


# --- Scopes (#16) ------------------------------------------------------------------------------

def test_account_page_asks_whether_to_allow_changes(user_client):
    html = user_client.get("/account").get_data(as_text=True)
    assert 'name="allow_changes"' in html and "Allow changes" in html


def test_token_created_without_allow_changes_reads_only(user_client):
    resp = create_token(user_client)
    secret = TOKEN_IN_PAGE.search(resp.get_data(as_text=True)).group(1)
    assert "read only" in resp.get_data(as_text=True)
    refused = user_client.post("/api/tasks", json={"title": "x"}, headers=bearer(secret))
    assert refused.status_code == 403 and refused.json["code"] == "insufficient_scope"


def test_token_created_with_allow_changes_may_write(user_client):
    resp = create_token(user_client, allow_changes="y")
    secret = TOKEN_IN_PAGE.search(resp.get_data(as_text=True)).group(1)
    assert "read and write" in resp.get_data(as_text=True)
    created = user_client.post("/api/tasks", json={"title": "x"}, headers=bearer(secret))
    assert created.status_code == 201
