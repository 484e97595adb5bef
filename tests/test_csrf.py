"""CSRF protection stays ON in the suite: state changes need the token."""

import sqlalchemy as sa

from tests.conftest import HTMX
from webapp.extensions import db
from webapp.models import Task


def test_form_post_without_token_is_refused(user_client, app):
    resp = user_client.post("/tasks", data={"title": "No token"})
    assert resp.status_code == 400
    assert "form expired" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


def test_htmx_post_with_header_token_succeeds(user_client):
    token = user_client.csrf_token("/tasks")
    resp = user_client.post("/tasks", data={"title": "Header token"},
                            headers={**HTMX, "X-CSRFToken": token})
    assert resp.status_code == 201


def test_htmx_post_without_token_gets_fragment_error(user_client):
    resp = user_client.post("/tasks", data={"title": "x"}, headers=HTMX)
    assert resp.status_code == 400
    assert "<html" not in resp.get_data(as_text=True)


def test_login_without_token_is_refused(client, user):
    resp = client.post("/auth/login", data={"username": user.username, "password": user.password})
    assert resp.status_code == 400


def test_logout_without_token_keeps_session(user_client):
    assert user_client.post("/auth/logout").status_code == 400
    assert user_client.get("/tasks").status_code == 200


def test_pages_carry_the_token_for_htmx_in_body_headers(user_client):
    html = user_client.get("/tasks").get_data(as_text=True)
    assert '<body hx-headers=\'{"X-CSRFToken": "' in html
