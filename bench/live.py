"""`make bench`, live part: what open streams cost and how fast a change travels.

- Idle streams: one instance (gunicorn.conf.py's default server) is measured with wrk on
  /api/tasks, then again while it holds LIVE_STREAMS (1,000) idle /api/events streams; the
  p95 with streams must stay within 1.2 times the p95 without.
- Fan-out: two instances share PostgreSQL and Redis; a change committed on the first (a
  page's complete/reopen form) is timed until its event arrives on a page stream of the
  second (the event carries its commit time; both run on this machine, one clock), p50/p95.

Redis: BENCH_REDIS_URL, or a redis-server of its own on a free port (started and stopped here).
"""

from __future__ import annotations

import collections
import os
import re
import secrets
import selectors
import shutil
import socket
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
import requests

from tests.live.sse import SSEClient
from tests.servers import Gunicorn, free_port

STREAMS = int(os.environ.get("BENCH_LIVE_STREAMS", 1000))
FANOUT_CHANGES = int(os.environ.get("BENCH_FANOUT_CHANGES", 200))
STREAM_USERS = 10  # bulk000001..bulk000010 open the streams (100 each: the limit is raised)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class IdleResult:
    streams: int
    p95_without: float
    p95_with: float
    rps_without: float
    rps_with: float
    still_open: int
    errors: int

    @property
    def ratio(self) -> float:
        return self.p95_with / self.p95_without


@dataclass
class FanoutResult:
    changes: int
    received: int
    p50: float
    p95: float
    worst: float


class OwnRedis:
    """A redis-server on a free port, without persistence, for the live measurements."""

    def __init__(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: set BENCH_REDIS_URL")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class IdleStreams:
    """Many open SSE connections, read (and dropped) by one selector thread.

    They are opened in batches, as clients reconnecting after a deploy would, and a stream
    refused with 503 (the worker's database pool or Redis timing out under the burst) is tried
    again, as an EventSource would."""

    BATCH = 100

    def __init__(self, base: str, path: str, tokens: list[str], count: int):
        self.parts = urlsplit(base)
        self.path = path
        self.tokens = tokens
        self.selector = selectors.DefaultSelector()
        self.opened: dict[socket.socket, bytes] = {}
        self.closed = 0
        self.retried = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()
        for start in range(0, count, self.BATCH):
            batch = [self._open(n) for n in range(start, min(start + self.BATCH, count))]
            for _ in range(5):
                self._wait_answered(batch, 60)
                refused = [sock for sock in batch if not self._accepted(sock)]
                if not refused:
                    break
                self.retried += len(refused)
                time.sleep(1)
                batch = [sock for sock in batch if sock not in refused]
                for sock in refused:
                    self._forget(sock)
                batch += [self._open(start) for _ in refused]

    def _open(self, n: int) -> socket.socket:
        sock = socket.create_connection((self.parts.hostname, self.parts.port), timeout=10)
        sock.sendall((f"GET {self.path} HTTP/1.1\r\nHost: {self.parts.netloc}\r\n"
                      f"Authorization: Bearer {self.tokens[n % len(self.tokens)]}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        sock.setblocking(False)
        with self._lock:
            self.opened[sock] = b""
            self.selector.register(sock, selectors.EVENT_READ)
        return sock

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            if self.opened.pop(sock, None) is not None:
                try:
                    self.selector.unregister(sock)
                except (KeyError, ValueError):
                    pass
        sock.close()

    def _drain(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                ready = self.selector.select(0) if self.opened else []
            if not ready:
                time.sleep(0.05)
                continue
            for key, _ in ready:
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                with self._lock:
                    if sock not in self.opened:
                        continue
                    if not data:
                        self.selector.unregister(sock)
                        self.closed += 1
                    elif len(self.opened[sock]) < 64:  # the status line is all we keep
                        self.opened[sock] += data

    def _accepted(self, sock: socket.socket) -> bool:
        return self.opened.get(sock, b"").startswith(b"HTTP/1.1 200")

    def _wait_answered(self, batch: list[socket.socket], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(len(self.opened.get(sock, b"")) >= 12 for sock in batch):
                    return
            time.sleep(0.1)

    def accepted(self) -> int:
        with self._lock:
            return sum(1 for head in self.opened.values() if head.startswith(b"HTTP/1.1 200"))

    def still_open(self) -> int:
        with self._lock:
            return len(self.opened) - self.closed

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in list(self.opened):
            sock.close()
        self.selector.close()


def stream_tokens(database_url: str, usernames: list[str]) -> list[str]:
    """Personal tokens for the stream users, made in-process (the app's own service)."""
    from webapp import create_app
    from webapp.config import database_url_from_env
    from webapp.extensions import db
    from webapp.models import User
    from webapp.services import tokens as token_service

    app = create_app(SQLALCHEMY_DATABASE_URI=database_url_from_env(database_url, ""),
                     LOG_FILE="", LOG_LEVEL="WARNING")
    secrets_made = []
    with app.app_context():
        for name in usernames:
            user = db.session.query(User).filter_by(username=name).one()
            secrets_made.append(token_service.create_token(user, "bench-stream")[1])
        db.session.remove()
        db.engine.dispose()
    return secrets_made


def measure_idle_streams(measure_p95, database_url: str, redis_url: str, api_path: str,
                         api_token: str, env: dict) -> IdleResult:
    """wrk on /api/tasks without, then with, STREAMS idle streams open on the same server.

    `measure_p95(base, path, headers)` runs wrk and returns (rps, p95 ms, errors)."""
    prefix = f"bench-{secrets.token_hex(4)}"
    spec = ("webapp:create_app(RATELIMIT_ENABLED=False, "
            f"LIVE_KEY_PREFIX={prefix!r}, LIVE_MAX_STREAMS_PER_USER={STREAMS})")
    server = Gunicorn(spec, {**env, "REDIS_URL": redis_url})
    streams = None
    try:
        server.wait_ready(60)
        headers = {"Authorization": f"Bearer {api_token}"}
        rps_without, p95_without, errors_without = measure_p95(server.url, api_path, headers)
        tokens = stream_tokens(database_url, [f"bulk{n:06d}" for n in
                                              range(1, STREAM_USERS + 1)])
        streams = IdleStreams(server.url, "/api/events", tokens, STREAMS)
        accepted = streams.accepted()
        if accepted < STREAMS:
            statuses = collections.Counter(head[:12] for head in streams.opened.values())
            raise RuntimeError(f"only {accepted} of {STREAMS} streams were accepted: "
                               f"{dict(statuses)}")
        if streams.retried:
            print(f"  ({streams.retried} stream opens answered 503 and were tried again)")
        rps_with, p95_with, errors_with = measure_p95(server.url, api_path, headers)
        print(f"  without streams p95={p95_without:.1f} ms, with {accepted} streams "
              f"p95={p95_with:.1f} ms")
        return IdleResult(STREAMS, p95_without, p95_with, rps_without, rps_with,
                          streams.still_open(), errors_without + errors_with)
    finally:
        if streams is not None:
            streams.close()
        server.stop()


def log_in(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    token = CSRF_META.search(session.get(base + "/auth/login", timeout=10).text).group(1)
    resp = session.post(base + "/auth/login", allow_redirects=False, timeout=10, data={
        "csrf_token": token, "username": username, "password": password})
    assert resp.status_code == 303, f"login failed: {resp.status_code}"
    return session


def measure_fanout(redis_url: str, env: dict, username: str, password: str) -> FanoutResult:
    """FANOUT_CHANGES completes/reopens on instance A, timed to their events on instance B."""
    prefix = f"bench-{secrets.token_hex(4)}"
    spec = f"webapp:create_app(RATELIMIT_ENABLED=False, LIVE_KEY_PREFIX={prefix!r})"
    writer = Gunicorn(spec, {**env, "REDIS_URL": redis_url})
    reader = Gunicorn(spec, {**env, "REDIS_URL": redis_url})
    try:
        writer.wait_ready(60)
        reader.wait_ready(60)
        on_writer = log_in(writer.url, username, password)
        on_reader = log_in(reader.url, username, password)
        page = on_writer.get(writer.url + "/tasks", timeout=10).text
        csrf = CSRF_META.search(page).group(1)
        task_id = int(re.search(r'id="task-(\d+)"', page).group(1))
        stream = SSEClient(reader.url + "/live/events", session=on_reader)
        delays: list[float] = []

        def listen():
            while len(delays) < FANOUT_CHANGES:
                try:
                    message = stream.next(10)
                except TimeoutError:
                    return
                if message is None:
                    return
                if message.event == "task":
                    delays.append((time.time() - message.json()["time"]) * 1000)

        stream.next(10)  # "retry:": the stream is open and subscribed
        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        for change in range(FANOUT_CHANGES):
            # Alternate: completing a completed task changes (and announces) nothing.
            action = "reopen" if change % 2 else "complete"
            on_writer.post(f"{writer.url}/tasks/{task_id}/{action}", allow_redirects=False,
                           timeout=10, data={"csrf_token": csrf})
            time.sleep(0.02)
        listener.join(15)
        stream.close()
        ordered = sorted(delays)
        return FanoutResult(
            FANOUT_CHANGES, len(delays),
            statistics.median(ordered) if ordered else float("nan"),
            ordered[max(0, int(len(ordered) * 0.95) - 1)] if ordered else float("nan"),
            ordered[-1] if ordered else float("nan"),
        )
    finally:
        writer.stop()
        reader.stop()


def redis_for_bench(configured: str) -> tuple[str, OwnRedis | None]:
    if configured:
        return configured, None
    own = OwnRedis()
    return own.url, own


def describe(idle: IdleResult | None, fanout: FanoutResult | None) -> str:
    lines = []
    if idle is not None:
        verdict = "within" if idle.ratio <= 1.2 else "ABOVE"
        lines.append(
            f"- idle streams: `/api/tasks` p95 {idle.p95_without:.1f} ms without streams "
            f"({idle.rps_without:.0f} req/s), {idle.p95_with:.1f} ms with {idle.streams:,} idle "
            f"`/api/events` streams open ({idle.rps_with:.0f} req/s): x{idle.ratio:.2f} "
            f"({verdict} the 1.2 target); streams still open after the run: "
            f"{idle.still_open:,}/{idle.streams:,}; wrk errors: {idle.errors}")
    if fanout is not None:
        lines.append(
            f"- fan-out between instances: {fanout.changes} changes committed on instance A, "
            f"{fanout.received} events received on instance B: p50 {fanout.p50:.1f} ms, "
            f"p95 {fanout.p95:.1f} ms, worst {fanout.worst:.1f} ms (commit to arrival)")
    return "\n".join(lines)
