"""Concurrent POST /api/tasks with one Idempotency-Key against a real server: threads
released together by a Barrier, each with its own connection; the database's unique
(user_id, key) decides, so exactly one task is made."""

from __future__ import annotations

import threading

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import bearer
from webapp.extensions import db
from webapp.models import IdempotentRequest, Task

RACERS = 4
ROUNDS = 3


def race(url: str, headers: dict, body: dict) -> list[requests.Response]:
    barrier = threading.Barrier(RACERS)
    answers: list[requests.Response | BaseException] = [None] * RACERS  # type: ignore[list-item]

    def post(slot: int) -> None:
        with requests.Session() as session:  # a connection of its own
            barrier.wait()
            try:
                answers[slot] = session.post(url, json=body, headers=headers, timeout=30)
            except BaseException as error:  # noqa: BLE001 (reported below)
                answers[slot] = error

    threads = [threading.Thread(target=post, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(a, requests.Response) for a in answers), answers
    return answers  # type: ignore[return-value]


def test_racing_requests_with_one_key_make_one_task(app, live_server, make_token, user):
    headers = bearer(make_token(user, write=True))
    for round_number in range(ROUNDS):
        key = f"race-{round_number}"
        body = {"title": f"Raced {round_number}", "priority": "high"}
        answers = race(f"{live_server}/api/tasks", {**headers, "Idempotency-Key": key}, body)
        statuses = sorted(a.status_code for a in answers)
        assert set(statuses) <= {201, 409}, [(a.status_code, a.text) for a in answers]
        created = [a.json() for a in answers if a.status_code == 201]
        assert created and all(c == created[0] for c in created)  # one id, one body
        for refused in (a for a in answers if a.status_code == 409):
            assert refused.json()["code"] == "idempotency_key_in_progress"
        with app.app_context():
            tasks = db.session.scalars(sa.select(Task).where(
                Task.title == body["title"])).all()
            assert [t.id for t in tasks] == [created[0]["id"]]
            claim = db.session.scalar(sa.select(IdempotentRequest).where(
                IdempotentRequest.key == key))
            assert claim.status == 201 and claim.task_id == created[0]["id"]
            db.session.remove()


def test_racing_requests_without_a_key_each_create(app, live_server, make_token, user):
    """The control: without Idempotency-Key every request is its own."""
    headers = bearer(make_token(user, write=True))
    answers = race(f"{live_server}/api/tasks", headers, {"title": "Unkeyed"})
    assert [a.status_code for a in answers] == [201] * RACERS
    assert len({a.json()["id"] for a in answers}) == RACERS


def test_racing_requests_on_two_instances_make_one_task(app, database_url, make_token, user):
    """Two gunicorn instances (production config, separate processes) share PostgreSQL: the
    racing requests alternate between them and still make one task."""
    import os
    import secrets

    from tests.servers import Gunicorn

    redis_url = os.environ.get("TEST_REDIS_URL")
    if not database_url.startswith("postgresql") or not redis_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL)")
    prefix = f"taskdeck-test-{secrets.token_hex(4)}"
    spec = f'webapp:create_app(RATELIMIT_KEY_PREFIX="{prefix}", CACHE_KEY_PREFIX="{prefix}:")'
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SECRET_KEY": secrets.token_urlsafe(32)}
    pair = [Gunicorn(spec, env), Gunicorn(spec, env)]
    try:
        for instance in pair:
            instance.wait_ready()
        headers = {**bearer(make_token(user, write=True)), "Idempotency-Key": "two-instances"}
        barrier = threading.Barrier(RACERS)
        answers: list = [None] * RACERS

        def post(slot: int) -> None:
            with requests.Session() as session:
                barrier.wait()
                answers[slot] = session.post(f"{pair[slot % 2].url}/api/tasks",
                                             json={"title": "Across"}, headers=headers,
                                             timeout=30)

        threads = [threading.Thread(target=post, args=(n,)) for n in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for instance in pair:
            instance.stop()
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    with app.app_context():
        titles = db.session.scalars(sa.select(Task.id).where(Task.title == "Across")).all()
        assert titles == list(created)
