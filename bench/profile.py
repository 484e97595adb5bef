"""Where the time of one request goes: CPU per request of the benchmarked endpoints, measured
in-process (Flask's test client, production config, no HTTP server, no load tool), on the
data `make bench` left in BENCH_DATABASE_URL (run it first).

    .venv/bin/python bench/profile.py                  # CPU ms per request, every endpoint
    .venv/bin/python bench/profile.py list --profile   # and pyinstrument's call tree

Settings: BENCH_DATABASE_URL, PROFILE_REQUESTS (500 per endpoint, in batches of 25: the
best batch and the median are printed). See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
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
    requests = int(os.environ.get("PROFILE_REQUESTS", 500))
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
        cpu = cpu_per_request(functools.partial(client.get, endpoint.path, headers=headers),
                              requests)
        print(f"{endpoint.name:<10} CPU {cpu.best:5.2f} ms per request at best, median "
              f"{cpu.median:5.2f} ms ({len(resp.data):,} bytes)")


@dataclass
class CpuTime:
    best: float
    median: float


def cpu_per_request(send, requests: int, batch: int = 25) -> CpuTime:
    """CPU ms per request over batches of requests: the best batch and the median one.

    On a small shared machine another process slows a batch down (caches, frequency) but
    never speeds one up, so the best batch is the steadier figure for comparing code."""
    per_batch = []
    for _ in range(max(1, requests // batch)):
        start = time.process_time()
        for _ in range(batch):
            send()
        per_batch.append((time.process_time() - start) / batch * 1000)
    return CpuTime(min(per_batch), statistics.median(per_batch))

if __name__ == "__main__":
    main()
