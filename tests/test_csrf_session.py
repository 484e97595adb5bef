"""CSRF on long-lived pages: the token is bound to the session without a clock; an htmx
request with a refused token is told why and given a fresh one; failures are logged."""

from __future__ import annotations

import json
import logging
import time

from itsdangerous import URLSafeTimedSerializer

from tests.conftest import HTMX
from webapp.extensions import db
from webapp.models import Task


def task_count(app) -> int:
    with app.app_context():
        return db.session.query(Task).count()


def test_htmx_post_without_token_gets_a_message_and_a_fresh_token(app, user_client):
    resp = user_client.post("/tasks", data={"title": "No token"}, headers=HTMX)
    assert resp.status_code == 400
    event = json.loads(resp.headers["HX-Trigger"])["taskdeck:csrf-refused"]
    assert "Try again" in event["message"]
    retry = user_client.post("/tasks", data={"title": "With the fresh token"},
                             headers={**HTMX, "X-CSRFToken": event["token"]})
    assert retry.status_code == 201
    assert task_count(app) == 1


def test_token_from_a_page_left_open_for_days_still_works(app, user_client):
    user_client.csrf_token("/tasks")  # puts the CSRF secret in the session
    with user_client.session_transaction() as sess:
        secret = sess["csrf_token"]

    class ThreeDaysAgo(URLSafeTimedSerializer):
        def get_timestamp(self):
            return int(time.time()) - 3 * 24 * 3600

    old_token = ThreeDaysAgo(app.secret_key, salt="wtf-csrf-token").dumps(secret)
    resp = user_client.post("/tasks", data={"title": "Old page", "csrf_token": old_token})
    assert resp.status_code == 303
    assert task_count(app) == 1


def test_token_of_another_session_is_refused(app, user_client):
    other = app.test_client()
    foreign = other.csrf_token("/auth/login")
    resp = user_client.post("/tasks", data={"title": "Foreign", "csrf_token": foreign})
    assert resp.status_code == 400


def test_csrf_failure_is_logged(user_client, caplog):
    with caplog.at_level(logging.WARNING, logger="webapp"):
        user_client.post("/tasks", data={"title": "No token"})
    assert any("CSRF refused" in r.getMessage() and r.request_id for r in caplog.records)
