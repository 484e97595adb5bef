"""Rate limits on /api: per token (or user), X-RateLimit-* headers, JSON 429 with Retry-After,
and one shared budget across app instances through Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import bearer
from tests.openapi_check import checked

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3/minute")


def test_api_answers_carry_rate_limit_headers(client, user, make_token):
    resp = client.get("/api/stats", headers=bearer(make_token(user)))
    assert resp.status_code == 200
    assert resp.headers["X-RateLimit-Limit"] == "100"
    assert resp.headers["X-RateLimit-Remaining"] == "99"
    assert int(resp.headers["X-RateLimit-Reset"]) > time.time()


def test_token_over_the_limit_gets_json_429_with_retry_after(small_limit, client, user,
                                                            make_token):
    headers = bearer(make_token(user))
    for _ in range(3):
        assert client.get("/api/tasks", headers=headers).status_code == 200
    resp = checked(client.get("/api/tasks", headers=headers))
    assert resp.status_code == 429
    assert resp.json["code"] == "too_many_requests"
    assert "Retry-After" in resp.json["error"]
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["X-RateLimit-Remaining"] == "0"


def test_a_users_tokens_share_one_budget(small_limit, client, user, make_token):
    first, second = bearer(make_token(user, "first")), bearer(make_token(user, "second"))
    for headers in (first, second, first):
        assert client.get("/api/stats", headers=headers).status_code == 200
    assert client.get("/api/stats", headers=second).status_code == 429
    assert client.get("/api/stats", headers=bearer(make_token(user, "third"))).status_code == 429


def test_each_user_has_a_budget_of_their_own(small_limit, client, user, other_user, make_token):
    mine = bearer(make_token(user))
    for _ in range(3):
        client.get("/api/stats", headers=mine)
    assert client.get("/api/stats", headers=mine).status_code == 429
    assert client.get("/api/stats", headers=bearer(make_token(other_user))).status_code == 200


def test_browser_session_and_tokens_share_the_users_budget(small_limit, user_client, user,
                                                          make_token):
    for _ in range(3):
        assert user_client.get("/api/stats").status_code == 200
    assert user_client.get("/api/stats").status_code == 429
    assert user_client.get("/api/stats", headers=bearer(make_token(user))).status_code == 429


def test_simultaneous_requests_with_many_tokens_get_one_budget(small_limit, app, user,
                                                              make_token):
    tokens = [bearer(make_token(user, f"token {n}")) for n in range(10)]
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def call(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.get("/api/stats", headers=tokens[n % 10]).status_code)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200] * 3 + [429] * 17


def test_pages_are_not_counted_against_the_api_budget(small_limit, user_client):
    for _ in range(4):
        assert user_client.get("/tasks").status_code == 200
    assert user_client.get("/api/stats").status_code == 200


# --- Redis: several instances share one budget ----------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_instance(database_url: str, redis_url: str, log: Path) -> tuple[subprocess.Popen, str]:
    """Serve the app in its own process, as a second machine would."""
    port = free_port()
    env = {
        **os.environ, "APP_ENV": "development", "DATABASE_URL": database_url,
        "REDIS_URL": redis_url, "API_RATE_LIMIT": "4/minute", "FLASK_DEBUG": "0",
    }
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/health", timeout=1).status_code == 200:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.terminate()
    raise AssertionError(f"the instance did not start:\n{log.read_text()}")


def test_two_instances_share_the_api_budget_through_redis(database_url, redis_url, user,
                                                         make_token, tmp_path):
    headers = bearer(make_token(user))
    instances = [start_instance(database_url, redis_url, tmp_path / f"app{n}.log")
                 for n in (1, 2)]
    try:
        (_, first), (_, second) = instances
        answers = [requests.get(base + "/api/stats", headers=headers, timeout=5)
                   for base in (first, second, first, second, second)]
    finally:
        for process, _ in instances:
            process.terminate()
            process.wait(10)
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:4]] == ["3", "2", "1", "0"]
    assert answers[4].json()["code"] == "too_many_requests"
    assert "Retry-After" in answers[4].headers


def test_a_counted_api_request_costs_one_redis_round_trip(make_app, database_url, redis_url,
                                                          user, make_token, monkeypatch):
    """Counting and the X-RateLimit-* headers come from one script call
    (webapp/ratelimit_storage.py); limits' own storage sent GET and TTL after it."""
    import redis

    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_url,
                   API_RATE_LIMIT="3/minute")
    client = app.test_client()
    headers = bearer(make_token(user))
    client.get("/health")  # the app's first request (its own Redis work) is not counted
    commands: list[str] = []
    real_execute = redis.Redis.execute_command

    def counting_execute(self, *args, **options):
        commands.append(str(args[0]).upper())
        return real_execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting_execute)
    answers = [client.get("/api/tasks", headers=headers) for _ in range(4)]
    monkeypatch.undo()

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    # The end of the one window, in whole seconds (a TTL in seconds plus the clock: ±1).
    resets = [int(r.headers["X-RateLimit-Reset"]) for r in answers]
    assert max(resets) - min(resets) <= 1 and 0 < min(resets) - time.time() <= 61
    assert 0 < int(answers[3].headers["Retry-After"]) <= 60
    assert [c for c in commands if c not in ("EVALSHA", "EVAL")] == [], commands
    assert len(commands) == 4
