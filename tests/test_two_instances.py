"""Several instances behave as one: two gunicorn processes (the production config file and
APP_ENV=production) on different ports, sharing one PostgreSQL database and one Redis.

Runs in the PostgreSQL pass when TEST_REDIS_URL is set (as `.ci/run` does); skipped otherwise.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys

import pytest
import requests

from .servers import ROOT, Gunicorn

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
# A default limit on every route without its own, so a plain page shows the shared counter.
# The API limit (100/minute per token) is exercised by the API test below once it exists.
DEFAULT_LIMIT = 20


@pytest.fixture(scope="module")
def instances(app, database_url):
    """Two instances of the app on their own ports, started once for the module."""
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not database_url.startswith("postgresql") or not redis_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL)")
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SECRET_KEY": secrets.token_urlsafe(32)}
    prefix = f"taskdeck-test-{secrets.token_hex(4)}"  # counters of earlier runs don't count
    spec = (f'webapp:create_app(RATELIMIT_DEFAULT="{DEFAULT_LIMIT} per minute", '
            f'RATELIMIT_KEY_PREFIX="{prefix}", CACHE_KEY_PREFIX="{prefix}:")')
    pair = [Gunicorn(spec, env), Gunicorn(spec, env)]
    try:
        for instance in pair:
            instance.wait_ready()
        yield pair
    finally:
        for instance in pair:
            instance.stop()


def csrf_token(session: requests.Session, url: str) -> str:
    resp = session.get(url, timeout=5)
    match = CSRF_META.search(resp.text)
    assert match, f"no CSRF token on {url} ({resp.status_code})"
    return match.group(1)


def log_in(session: requests.Session, base: str, user) -> requests.Response:
    token = csrf_token(session, base + "/auth/login")
    return session.post(base + "/auth/login", timeout=5, allow_redirects=False, data={
        "csrf_token": token, "username": user.username, "password": user.password,
    })


def test_session_made_on_one_instance_works_on_the_other(instances, user):
    first, second = instances
    browser = requests.Session()  # cookies are per host, not per port: like one site
    assert log_in(browser, first.url, user).status_code == 303

    resp = browser.get(second.url + "/tasks", timeout=5, allow_redirects=False)

    assert resp.status_code == 200
    assert user.display_name in resp.text


def test_task_created_on_one_instance_is_listed_on_the_other(instances, user):
    first, second = instances
    browser = requests.Session()
    assert log_in(browser, first.url, user).status_code == 303
    token = csrf_token(browser, first.url + "/tasks")
    created = browser.post(first.url + "/tasks", timeout=5, allow_redirects=False, data={
        "csrf_token": token, "title": "Made on the first instance",
        "status": "pending", "priority": "medium",
    })
    assert created.status_code == 303

    resp = browser.get(second.url + "/tasks", timeout=5)

    assert "Made on the first instance" in resp.text


def test_rate_limit_is_counted_across_instances(instances):
    first, second = instances
    statuses, remaining = [], []
    for n in range(DEFAULT_LIMIT + 1):
        instance = first if n % 2 == 0 else second
        resp = requests.get(instance.url + "/", timeout=5, allow_redirects=False)
        statuses.append(resp.status_code)
        remaining.append(resp.headers.get("X-RateLimit-Remaining"))

    assert statuses[:DEFAULT_LIMIT] == [302] * DEFAULT_LIMIT
    assert statuses[DEFAULT_LIMIT] == 429  # neither instance alone has seen 20 requests
    assert remaining[:3] == [str(DEFAULT_LIMIT - 1), str(DEFAULT_LIMIT - 2),
                             str(DEFAULT_LIMIT - 3)]


def api_token_for(user, database_url: str) -> str:
    """A token from `flask tokens create`, or a skip while the API is not in this build."""
    flask = shutil.which("flask", path=os.path.dirname(sys.executable))
    result = subprocess.run(  # noqa: S603
        [flask or "flask", "--app", "wsgi", "tokens", "create", user.username, "--name", "ci"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
        env={**os.environ, "DATABASE_URL": database_url, "APP_ENV": "development"},
    )
    if result.returncode != 0:
        pytest.skip("no `flask tokens create` command in this build (the API is not merged)")
    return result.stdout.strip().splitlines()[-1]


def test_api_rate_limit_is_counted_across_instances(instances, user, database_url):
    first, second = instances
    if requests.get(first.url + "/api/tasks", timeout=5).status_code == 404:
        pytest.skip("no /api/tasks in this build (the API is not merged)")
    headers = {"Authorization": f"Bearer {api_token_for(user, database_url)}"}

    answers = [
        requests.get((first if n % 2 == 0 else second).url + "/api/tasks", headers=headers,
                     timeout=5)
        for n in range(101)
    ]

    assert [resp.status_code for resp in answers[:100]] == [200] * 100
    assert answers[100].status_code == 429
    assert "Retry-After" in answers[100].headers
