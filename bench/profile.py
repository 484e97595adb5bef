"""Where the time of one request goes: CPU per request of the benchmarked endpoints, measured
in-process (Flask's test client, production config, no HTTP server, no load tool), on the
data `make bench` left in BENCH_DATABASE_URL (run it first).

    .venv/bin/python bench/profile.py                  # CPU ms per request, every endpoint
    .venv/bin/python bench/profile.py list --profile   # and pyinstrument's call tree

Settings: BENCH_DATABASE_URL, PROFILE_REQUESTS (200 per endpoint). See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Before anything imports webapp.config, which reads them.
os.environ.update(APP_ENV="production", LOG_FILE="", SECRET_KEY=secrets.token_urlsafe(32),
                  SESSION_COOKIE_SECURE="0")

from bench.run import BENCH_USER, BULK_PASSWORD, CSRF_META, DATABASE_URL, endpoints  # noqa: E402


def make_app():
    from webapp import create_app
    from webapp.config import database_url_from_env

    app = create_app(RATELIMIT_ENABLED=False,
                     SQLALCHEMY_DATABASE_URI=database_url_from_env(DATABASE_URL, ""))
    # One JSON log line per request stays (it is part of the cost), written nowhere.
    for handler in logging.getLogger("webapp").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives with the process)
    return app


def clients(app):
    """A logged-in browser client and a client with the bench user's bearer token."""
    import sqlalchemy as sa

    from webapp.extensions import db
    from webapp.models import User
    from webapp.services.tokens import create_token

    browser = app.test_client()
    token = CSRF_META.search(browser.get("/auth/login").text).group(1)
    resp = browser.post("/auth/login", data={
        "csrf_token": token, "username": BENCH_USER, "password": BULK_PASSWORD,
    })
    assert resp.status_code == 303, f"login failed: {resp.status_code}"
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == BENCH_USER))
        _, secret = create_token(user, "bench/profile.py")
    return browser, app.test_client(), {"Authorization": f"Bearer {secret}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", help="endpoints (default: all)")
    parser.add_argument("--profile", action="store_true", help="print pyinstrument's tree")
    args = parser.parse_args()
    requests = int(os.environ.get("PROFILE_REQUESTS", 200))
    app = make_app()
    browser, api, auth = clients(app)
    for endpoint in endpoints():
        if args.names and endpoint.name not in args.names:
            continue
        if endpoint.auth == "admin":
            continue  # the admin's list needs the admin's password: measure it with wrk
        client, headers = (api, auth) if endpoint.auth == "token" else (browser, {})
        for _ in range(20):  # warm-up: pools, prepared statements, compiled templates
            resp = client.get(endpoint.path, headers=headers)
            assert resp.status_code == 200, (endpoint.name, resp.status_code)
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            with profiler:
                for _ in range(requests):
                    client.get(endpoint.path, headers=headers)
            print(profiler.output_text(color=False, show_all=False))
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(requests):
            client.get(endpoint.path, headers=headers)
        cpu = (time.process_time() - cpu) / requests * 1000
        wall = (time.perf_counter() - wall) / requests * 1000
        print(f"{endpoint.name:<10} CPU {cpu:5.2f} ms per request (wall {wall:5.2f} ms, "
              f"{len(resp.data):,} bytes)")


if __name__ == "__main__":
    main()
