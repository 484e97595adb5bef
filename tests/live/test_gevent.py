"""gunicorn's gevent worker (the default, gunicorn.conf.py): the worker patches the standard
library before it imports the app, and each library we use then waits cooperatively: one
worker serves many requests that each wait a second on PostgreSQL, Redis, an outside HTTP
service or a plain sleep in about one second, not one after the other."""

from __future__ import annotations

import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.servers import Gunicorn

pytestmark = pytest.mark.postgres_only
CONCURRENT = 6


class SlowHandler(BaseHTTPRequestHandler):
    """A stand-in for GitHub or the weather service that takes a second to answer."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        time.sleep(1)
        body = b"slow answer"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gevent_server(app, database_url):
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not database_url.startswith("postgresql") or not redis_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL)")
    slow = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    prefix = f"taskdeck-test-{secrets.token_hex(4)}"
    server = Gunicorn(f'tests.live.gevent_app:create(LIVE_KEY_PREFIX="{prefix}")', {
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PROBE_REDIS_URL": redis_url,
        "PROBE_SLOW_URL": f"http://127.0.0.1:{slow.server_port}/",
        "SECRET_KEY": secrets.token_urlsafe(32), "DB_POOL_SIZE": str(CONCURRENT),
    }, workers=1)
    try:
        server.wait_ready(30)
        yield server
    finally:
        server.stop()
        slow.shutdown()
        slow.server_close()


def test_the_worker_patched_the_standard_library_before_the_app(gevent_server):
    body = requests.get(gevent_server.url + "/_probe/modules", timeout=5).json()

    assert all(body["patched"].values()), body["patched"]
    # psycopg picks its wait function when imported: the patched select means gevent's.
    assert body["psycopg_wait"] != "wait_c"


@pytest.mark.parametrize("probe", ["sleep", "postgres", "redis", "http"])
def test_one_worker_waits_on_many_requests_at_once(gevent_server, probe):
    url = f"{gevent_server.url}/_probe/{probe}"
    requests.get(url, timeout=10).raise_for_status()  # warm: connections, imports
    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(lambda _: requests.get(url, timeout=10), range(CONCURRENT)))
    elapsed = time.monotonic() - started

    assert [a.status_code for a in answers] == [200] * CONCURRENT
    # One after the other would take six seconds.
    assert elapsed < 2.5, f"{CONCURRENT} requests waiting 1 s each took {elapsed:.1f} s"
