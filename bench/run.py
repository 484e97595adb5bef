"""`make bench`: load 1,000 and then 100,000 tasks into a PostgreSQL database, serve the app
with gunicorn as in production, and measure the main pages with wrk at 32 connections, under
each worker class (gevent, the default; gthread; sync); then the live part (bench/live.py):
1,000 idle streams against wrk on /api/tasks, and the fan-out delay between two instances.
Then the scale series of issue 15 on the default server (1,000 -> 100,000 -> 1,000,000 tasks in
total, then one user with 1,000 -> 100,000 tasks; single-client and saturated), the open-loop
load at 100,000 tasks (bench/openloop.py) and the chart (bench/chart.py). Data is grown in
place with generate_series (bench/scale.py).

Settings (environment): BENCH_DATABASE_URL (default the local `td_bench` database, which is
emptied), BENCH_REDIS_URL (optional; the live part starts a redis-server of its own without
it), BENCH_DURATION (seconds per endpoint, default 15), BENCH_CONNECTIONS (32), BENCH_SIZES
("1000,100000"), BENCH_ONLY (comma-separated endpoint names), BENCH_SERVERS
("gevent,gthread,sync"), BENCH_LIVE ("idle,fanout"; "" skips the live part), BENCH_LIVE_STREAMS
(1000), BENCH_FANOUT_CHANGES (200), BENCH_SCALE_TOTALS ("1000,100000,1000000"),
BENCH_SCALE_USER ("1000,10000,100000"), BENCH_SCALE_DURATION (5), BENCH_OPEN_LOOP_USERS (100),
BENCH_OPEN_LOOP_RATES ("100,300"), BENCH_OPEN_LOOP_SECONDS (30), BENCH_OPEN_LOOP_AT (100000).
Prints tables and rewrites the results parts of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import platform
import re
import runpy
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import live, openloop, scale  # noqa: E402
from tests.servers import Gunicorn  # noqa: E402 (the same launcher as the two-instance test)
from webapp.config import database_url_from_env  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/td_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
DURATION = int(os.environ.get("BENCH_DURATION", 15))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 32))
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "1000,100000").split(",")]
ONLY = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
SERVER_NAMES = [n for n in os.environ.get("BENCH_SERVERS", "gevent,gthread,sync").split(",")
                if n]
LIVE_PARTS = {n for n in os.environ.get("BENCH_LIVE", "idle,fanout").split(",") if n}
# The scale series (issue 15): the total grows with the measured user keeping 100 tasks, then
# one user's own tasks grow on top of the largest total; each step measured single-client and
# saturated on the default server (bench/scale.py, chart by bench/chart.py).
SCALE_TOTALS = [int(n) for n in os.environ.get("BENCH_SCALE_TOTALS",
                                               "1000,100000,1000000").split(",") if n]
SCALE_USER = [int(n) for n in os.environ.get("BENCH_SCALE_USER",
                                             "1000,10000,100000").split(",") if n]
SCALE_DURATION = int(os.environ.get("BENCH_SCALE_DURATION", 5))
# Open loop (bench/openloop.py): OPEN_LOOP_USERS users with a token each, at these total rates,
# on the data of OPEN_LOOP_AT tasks.
OPEN_LOOP_USERS = int(os.environ.get("BENCH_OPEN_LOOP_USERS", 100))
OPEN_LOOP_RATES = [float(n) for n in os.environ.get("BENCH_OPEN_LOOP_RATES",
                                                    "100,300").split(",") if n]
OPEN_LOOP_SECONDS = int(os.environ.get("BENCH_OPEN_LOOP_SECONDS", 30))
OPEN_LOOP_AT = int(os.environ.get("BENCH_OPEN_LOOP_AT", 100_000))
OPEN_LOOP_PATH = "/api/tasks?status=pending&perPage=50"
TASKS_PER_USER = 100  # the measured user has 100 tasks at every size: only the total grows
BENCH_USER = "bulk000001"
BULK_PASSWORD = "taskdeck-bulk-demo"  # noqa: S105 (see webapp/cli.py)
BENCH_ADMIN, ADMIN_PASSWORD = "benchadmin", "taskdeck-bench-admin"  # noqa: S105
HEAVY_USER = "bulkheavy"  # the user series' user (bulk password)
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
DOC = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Endpoint:
    name: str
    path: str
    auth: str  # "session" (the bulk user), "admin" (an admin's session) or "token"
    target_ms: float


def endpoints() -> list[Endpoint]:
    today = date.today()
    listed = [
        Endpoint("list", "/tasks", "session", 50),
        # Not one of the targets: an admin's list spans every task, so it shows
        # whether the all-tasks sort and count scale (indexes on created_at).
        Endpoint("list-admin", "/tasks", "admin", 50),
        Endpoint("api-tasks", "/api/tasks?status=pending&perPage=50", "token", 50),
        Endpoint("dashboard", "/dashboard", "session", 100),
        Endpoint("analytics", f"/api/analytics?start_date={today - timedelta(days=90)}"
                              f"&end_date={today}", "token", 100),
    ]
    return [e for e in listed if not ONLY or e.name in ONLY]


@dataclass(frozen=True)
class Server:
    """How gunicorn runs the app for a measurement: gunicorn.conf.py with this worker class."""

    name: str
    worker_class: str
    workers: int
    threads: int
    is_default: bool

    @property
    def label(self) -> str:
        text = f"{self.name}: {self.workers} {self.worker_class} workers" + (
            f" × {self.threads} threads" if self.worker_class == "gthread" else "")
        return text + (" (default)" if self.is_default else "")

    def env(self) -> dict[str, str]:
        return {"GUNICORN_WORKER_CLASS": self.worker_class,
                "WEB_CONCURRENCY": str(self.workers), "GUNICORN_THREADS": str(self.threads)}


def conf_for(worker_class: str | None) -> dict:
    """gunicorn.conf.py's settings for a worker class (WEB_CONCURRENCY and GUNICORN_THREADS
    apply, as in production); None: its own default class."""
    saved = os.environ.get("GUNICORN_WORKER_CLASS")
    try:
        if worker_class is None:
            os.environ.pop("GUNICORN_WORKER_CLASS", None)
        else:
            os.environ["GUNICORN_WORKER_CLASS"] = worker_class
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        if saved is None:
            os.environ.pop("GUNICORN_WORKER_CLASS", None)
        else:
            os.environ["GUNICORN_WORKER_CLASS"] = saved


def servers(names: list[str] | None = None) -> list[Server]:
    """Each worker class as gunicorn.conf.py sizes it on this machine: gevent (one worker per
    core, the default), gthread (two per core × 4 threads), sync (one per core)."""
    default_class = conf_for(None)["worker_class"]
    known = {}
    for name in ("gevent", "gthread", "sync"):
        conf = conf_for(name)
        known[name] = Server(name, name, conf["workers"], conf["threads"],
                             name == default_class)
    return [known[name] for name in (names or SERVER_NAMES)]


def default_server() -> Server:
    """gunicorn.conf.py's own worker class, sized as it sizes it."""
    return next(s for s in servers(["gevent", "gthread", "sync"]) if s.is_default)


@dataclass
class Result:
    server: Server
    endpoint: Endpoint
    size: int
    status: str
    rps: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    errors: int = 0
    reference: float | None = None  # reference_ms() just before the measurement


def sh(args: list[str], env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        args, cwd=ROOT, env={**os.environ, **(env or {})}, check=True, text=True,
        capture_output=True, **kwargs,
    )


def ensure_wrk() -> str:
    """wrk from Debian, installed with apt-get the first time (as .ci/run does for chromium)."""
    if not shutil.which("wrk"):
        print("Installing Debian's wrk")
        apt_env = {"DEBIAN_FRONTEND": "noninteractive"}
        sh(["apt-get", "update", "-qq"], env=apt_env)
        sh(["apt-get", "install", "-y", "-qq", "wrk"], env=apt_env)
    return shutil.which("wrk") or "wrk"


def reset_database(url: str) -> None:
    """Create the database if needed, then empty it (its public schema is dropped)."""
    url = database_url_from_env(url, "")
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        if "does not exist" not in str(error):
            raise
        admin = sa.create_engine(sa.make_url(url).set(database="postgres"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{sa.make_url(url).database}"'))
        admin.dispose()
        engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


class Data:
    """The bench database, grown in place (bench/scale.py): `flask demo bulk`'s users of 100
    tasks each, an admin, and for the user series one user with many tasks."""

    def __init__(self, url: str):
        self.engine = sa.create_engine(database_url_from_env(url, ""))
        self.now = datetime.now(UTC).replace(tzinfo=None)
        self._app = None
        from webapp.services.passwords import hash_password
        self.bulk_hash = hash_password(BULK_PASSWORD)
        self.admin_hash = hash_password(ADMIN_PASSWORD)

    def reset(self) -> None:
        env = {"DATABASE_URL": DATABASE_URL, "APP_ENV": "development"}
        reset_database(DATABASE_URL)
        sh([*FLASK, "db", "upgrade"], env=env)
        with self.engine.begin() as conn:
            scale.add_users(conn, [BENCH_ADMIN], self.admin_hash, self.now, role="admin")

    def bulk_users(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(sa.text(
                "SELECT count(*) FROM users WHERE username LIKE 'bulk0%'"))

    def total_tasks(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM tasks"))

    def grow_total(self, total: int) -> None:
        """Add bulk users of TASKS_PER_USER tasks until there are `total` tasks in all."""
        have = self.bulk_users()
        want = max(1, total // TASKS_PER_USER)
        if want <= have:
            return
        started = time.monotonic()
        with self.engine.begin() as conn:
            ids = scale.add_users(conn, scale.bulk_names(have + 1, want - have), self.bulk_hash,
                                  self.now)
            added = scale.add_tasks(conn, min(ids), max(ids), TASKS_PER_USER, self.now)
        vacuum_analyze(DATABASE_URL)
        print(f"  added {want - have:,} users and {added:,} tasks in "
              f"{time.monotonic() - started:.1f} s (with VACUUM ANALYZE)")

    def grow_user(self, count: int) -> None:
        """Give HEAVY_USER `count` tasks in all (created the first time)."""
        started = time.monotonic()
        with self.engine.begin() as conn:
            heavy = conn.scalar(sa.text("SELECT id FROM users WHERE username = :name"),
                                {"name": HEAVY_USER})
            if heavy is None:
                heavy = scale.add_users(conn, [HEAVY_USER], self.bulk_hash, self.now)[0]
            have = conn.scalar(sa.text("SELECT count(*) FROM tasks WHERE owner_id = :id"),
                               {"id": heavy})
            added = scale.add_tasks(conn, heavy, heavy, count - have, self.now) \
                if count > have else 0
        vacuum_analyze(DATABASE_URL)
        print(f"  {HEAVY_USER} got {added:,} more tasks in {time.monotonic() - started:.1f} s")

    def tokens(self, usernames: list[str]) -> list[str]:
        """A new personal token for each user (services.tokens, as `flask tokens create`)."""
        from webapp.extensions import db
        from webapp.models import User
        from webapp.services.tokens import create_token

        if self._app is None:
            from webapp import create_app
            from webapp.config import DevConfig
            self._app = create_app(DevConfig, LOG_FILE="",
                                   SQLALCHEMY_DATABASE_URI=database_url_from_env(DATABASE_URL,
                                                                                 ""))
        with self._app.app_context():
            users = {u.username: u for u in db.session.scalars(
                sa.select(User).where(User.username.in_(usernames)))}
            secrets_ = [create_token(users[name], "bench")[1] for name in usernames]
            db.session.remove()
            db.engine.dispose()
        return secrets_


def vacuum_analyze(url: str) -> None:
    """What autovacuum does soon after a bulk load (planner statistics, visibility map),
    done now: measuring before it has run, or while it runs, measures the load instead
    (and this machine's test server runs with autovacuum off)."""
    engine = sa.create_engine(database_url_from_env(url, ""), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


# Flask-Login's session protection ties a session to the browser that logged in: wrk sends the
# same User-Agent, or every response would rewrite the session cookie (no browser causes that).
BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) taskdeck-bench"


def session_cookie(base: str, username: str, password: str) -> str:
    browser = requests.Session()
    browser.headers["User-Agent"] = BROWSER_AGENT
    token = CSRF_META.search(browser.get(base + "/auth/login", timeout=10).text).group(1)
    resp = browser.post(base + "/auth/login", allow_redirects=False, timeout=10, data={
        "csrf_token": token, "username": username, "password": password,
    })
    assert resp.status_code == 303, f"bench login failed: {resp.status_code}"
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


def reference_ms() -> float:
    """CPU ms of a fixed pure-Python loop, the best of three: how fast this machine runs Python
    right now. On a shared virtual machine it changes from minute to minute (0.7 to 1.25 s for
    the same 10 million additions, seen here), so each row records it next to its latencies."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        total = 0
        for n in range(1_000_000):
            total += n
        best = min(best, (time.process_time() - start) * 1000)
    return best


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def measure(wrk: list[str], base: str, server: Server, endpoint: Endpoint, headers: dict,
            size: int) -> Result:
    probe = requests.get(base + endpoint.path, headers=headers, allow_redirects=False, timeout=30)
    if probe.status_code != 200:
        label = "not available (404)" if probe.status_code == 404 else f"HTTP {probe.status_code}"
        return Result(server, endpoint, size, label)
    args = [*wrk, f"-c{CONNECTIONS}"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    sh([*args, "-d3s", base + endpoint.path])  # warm-up: pools, caches, compiled templates
    reference = reference_ms()
    out = sh([*args, f"-d{DURATION}s", base + endpoint.path]).stdout
    if int(re.search(r"(\d+) requests in", out).group(1)) == 0:
        return Result(server, endpoint, size, f"no answer within {DURATION} s",
                      reference=reference)
    micros = {int(p): int(v) for p, v in re.findall(r"^p(\d+)=(\d+)$", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Socket errors:.*?timeout (\d+)", out))
    return Result(
        server, endpoint, size, "ok",
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50=micros[50] / 1000, p95=micros[95] / 1000, p99=micros[99] / 1000, errors=errors,
        reference=reference,
    )


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor() or "unknown CPU")
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    engine = sa.create_engine(database_url_from_env(DATABASE_URL, ""))
    with engine.connect() as conn:
        pg = conn.scalar(sa.text("SHOW server_version"))
    engine.dispose()
    return (f"{cpu}, {os.cpu_count()} cores, {mem_kb // 1024 // 1024} GiB RAM; "
            f"PostgreSQL {pg}; Python {platform.python_version()}; "
            f"Redis: {'yes' if REDIS_URL else 'no (per-process cache)'}")


def code_version() -> str:
    """The commit measured, marked when the working tree had uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True,  # noqa: S603, S607
                              text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    # This document is the run's output, so editing its text meanwhile changes nothing measured.
    changed = git("status", "--porcelain", "--", ".", f":!{DOC.relative_to(ROOT)}")
    return commit + (" (with uncommitted changes)" if changed else "")


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def table(results: list[Result]) -> str:
    lines = ["| server | endpoint | tasks | req/s | p50 ms | p95 ms | p99 ms | target p95 "
             "| errors | reference ms |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        head = f"| {r.server.label} | {r.endpoint.name} `{r.endpoint.path}` | {r.size:,} |"
        if r.status != "ok":
            lines.append(f"{head} {r.status} | | | | < {r.endpoint.target_ms:.0f} | |")
            continue
        met = "met" if r.p95 < r.endpoint.target_ms else "missed"
        lines.append(
            f"{head} {r.rps:.0f} | {fmt(r.p50)} | {fmt(r.p95)} | {fmt(r.p99)} | "
            f"< {r.endpoint.target_ms:.0f} ({met}) | {r.errors} | {fmt(r.reference)} |")
    return "\n".join(lines)


def by_worker_class(results: list[Result]) -> str:
    """p95 (and requests per second) of each endpoint and size side by side per worker class,
    and which class had the lowest p95 how often."""
    names = [server.name for server in servers()]
    by = {(r.server.name, r.endpoint.name, r.size): r for r in results if r.status == "ok"}
    lines = ["| endpoint | tasks | " + " | ".join(f"{n} p95 ms (req/s)" for n in names)
             + " | lowest p95 |", "|---|---|" + "---|" * (len(names) + 1)]
    wins = dict.fromkeys(names, 0)
    for size in SIZES:
        for e in endpoints():
            cells = {n: by.get((n, e.name, size)) for n in names}
            measured = {n: r for n, r in cells.items() if r is not None}
            if not measured:
                continue
            best = min(measured, key=lambda n: measured[n].p95)
            wins[best] += 1
            lines.append(f"| {e.name} | {size:,} | " + " | ".join(
                f"{fmt(r.p95)} ({r.rps:.0f})" if r else "–" for r in cells.values())
                + f" | {best} |")
    lines += ["", "Lowest p95 per class: " + ", ".join(f"{n} {w}" for n, w in wins.items())]
    return "\n".join(lines)


def ratios(results: list[Result]) -> str:
    by = {(r.server, r.endpoint.name, r.size): r for r in results if r.status == "ok" and r.p95}
    small, large = min(SIZES), max(SIZES)
    lines = []
    for server in servers():
        for e in endpoints():
            a, b = by.get((server, e.name, small)), by.get((server, e.name, large))
            if a and b:
                ratio = b.p95 / a.p95
                verdict = "within" if ratio <= 1.3 else "ABOVE"
                lines.append(f"- {server.name}, {e.name}: p95 {a.p95:.1f} ms at {small:,} "
                             f"tasks, {b.p95:.1f} ms at {large:,}: x{ratio:.2f} ({verdict} the "
                             "1.3 target)")
    return "\n".join(lines)


def write_doc(results: list[Result], command: str, live_text: str = "") -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join([
        START,
        f"Measured {stamp} by `{command}` at commit {code_version()} on: {machine()}.",
        "gunicorn with `gunicorn.conf.py` (servers: "
        f"{'; '.join(server.label for server in servers())}), APP_ENV=production, "
        "rate limits and worker recycling off for the run; wrk with 2 threads and "
        f"{CONNECTIONS} connections for {DURATION} s per endpoint after a 3 s warm-up, on the "
        "same machine as the app and PostgreSQL; percentiles from wrk's latency record "
        "(bench/percentiles.lua). "
        "`reference ms`: CPU time of a fixed pure-Python loop measured just before the row "
        "(bench/run.py `reference_ms`); the lower, the faster the machine ran at that moment.",
        "",
        table(results),
        "",
        "p95 by worker class (the same rows side by side):",
        "",
        by_worker_class(results),
        "",
        ratios(results),
        *(["", f"Live updates ({SIZES[0]:,} tasks; the default server; Redis: "
                f"{'BENCH_REDIS_URL' if REDIS_URL else 'a redis-server of the run its own'}; "
                "bench/live.py):", "", live_text] if live_text else []),
        END,
    ])
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n" + START + "\n" + END + "\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(head + block + tail)


def server_env(extra: dict | None = None) -> dict[str, str]:
    """What every measured gunicorn gets: the bench database, production pool sizes, no
    worker recycling."""
    env = {"DATABASE_URL": DATABASE_URL, "SECRET_KEY": secrets.token_urlsafe(32),
           "DB_POOL_SIZE": "5", "DB_MAX_OVERFLOW": "5",
           # Worker recycling (a leak guard, every 10,000 requests) off: at saturation it
           # restarts a worker every half minute, a 1-2 s gap inside the measured window that
           # a team-sized production load meets once in hours (docs/BENCHMARKS.md).
           "GUNICORN_MAX_REQUESTS": "0", **(extra or {})}
    return env


def measure_server(wrk: list[str], server: Server, size: int, token: str | None) -> list[Result]:
    """Serve the loaded data with gunicorn as `server` says and measure every endpoint."""
    env = server_env(server.env())
    if REDIS_URL:
        env["REDIS_URL"] = REDIS_URL
    gunicorn = Gunicorn("webapp:create_app(RATELIMIT_ENABLED=False)", env,
                        workers=server.workers)
    results = []
    try:
        gunicorn.wait_ready(30)
        cookies = {"session": session_cookie(gunicorn.url, BENCH_USER, BULK_PASSWORD),
                   "admin": session_cookie(gunicorn.url, BENCH_ADMIN, ADMIN_PASSWORD)}
        for endpoint in endpoints():
            if endpoint.auth == "token" and token is not None:
                headers = {"Authorization": f"Bearer {token}"}
            else:  # without tokens the API is not there: the probe answers 404 either way
                headers = {"Cookie": cookies.get(endpoint.auth, cookies["session"]),
                           "User-Agent": BROWSER_AGENT}
            result = measure(wrk, gunicorn.url, server, endpoint, headers, size)
            results.append(result)
            print(f"  {server.name:<8} {endpoint.name:<10} {result.status:<10} "
                  f"rps={fmt(result.rps)} p50={fmt(result.p50)} p95={fmt(result.p95)} "
                  f"p99={fmt(result.p99)} errors={result.errors}")
    finally:
        gunicorn.stop()
    return results


def measure_live(wrk: list[str], token: str | None) -> str:
    """The live part on the data loaded last (see bench/live.py); its lines for the doc."""
    if not LIVE_PARTS or token is None:
        return ""
    default = next(s for s in servers(["gevent", "gthread", "sync"]) if s.is_default)
    redis_url, own_redis = live.redis_for_bench(REDIS_URL)
    api_path = "/api/tasks?status=pending&perPage=50"

    def measure_p95(base: str, path: str, headers: dict) -> tuple[float, float, int]:
        endpoint = Endpoint("api-tasks", path, "token", 50)
        result = measure(wrk, base, default, endpoint, headers, 0)
        if result.status != "ok":
            raise RuntimeError(f"{path}: {result.status}")
        return result.rps, result.p95, result.errors

    idle = fanout = None
    try:
        env = server_env(default.env())
        if "idle" in LIVE_PARTS:
            print(f"  live: {live.STREAMS:,} idle streams against wrk on {api_path}")
            idle = live.measure_idle_streams(measure_p95, DATABASE_URL, redis_url, api_path,
                                             token, env)
        if "fanout" in LIVE_PARTS:
            print(f"  live: fan-out of {live.FANOUT_CHANGES} changes between two instances")
            fanout = live.measure_fanout(redis_url, env, BENCH_USER, BULK_PASSWORD)
    finally:
        if own_redis is not None:
            own_redis.stop()
    text = live.describe(idle, fanout)
    print(text)
    return text


def series_endpoints(series: str) -> list[Endpoint]:
    """What the scale series measures. `user` and `user-token` are the measured user (100
    tasks in the total series, HEAVY_USER in the user series); the admin's list and search
    span every task, so they show whether the whole table's size leaks into a page."""
    listed = [
        Endpoint("list", "/tasks", "session", 50),
        Endpoint("list-search", "/tasks?q=report", "session", 50),
        Endpoint("api-tasks", "/api/tasks?perPage=50", "token", 50),
        Endpoint("api-filtered", "/api/tasks?status=pending&priority=high&perPage=50", "token",
                 50),
        Endpoint("api-search", "/api/tasks?q=report&perPage=50", "token", 50),
        Endpoint("dashboard", "/dashboard", "session", 100),
    ]
    if series == "total":
        listed += [Endpoint("list-admin", "/tasks", "admin", 50),
                   Endpoint("admin-search", "/tasks?q=report", "admin", 50),
                   Endpoint("api-admin-search", "/api/tasks?q=report&perPage=50",
                            "admin-token", 50)]
    return [e for e in listed if not ONLY or e.name in ONLY]


@dataclass
class SeriesResult:
    series: str  # "total" or "user"
    size: int  # tasks in total, or the user's own tasks
    endpoint: str
    path: str
    status: str
    p50: float | None = None  # one client
    p95: float | None = None
    rps: float | None = None  # saturated (CONNECTIONS)
    saturated_p95: float | None = None
    errors: int = 0
    reference: float | None = None


def wrk_run(wrk: list[str], url: str, headers: dict, connections: int, seconds: int,
            threads: int = 2) -> tuple[float, dict[int, float | None], int]:
    """Requests per second, latency percentiles in ms (None when no answer came back within
    the run: wrk then reports zeros) and errors."""
    args = [*wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = sh([*args, url]).stdout
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    micros = {int(p): int(v) / 1000 if answered else None
              for p, v in re.findall(r"^p(\d+)=(\d+)$", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Socket errors:.*?timeout (\d+)", out))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), micros, errors


def measure_series(wrk: list[str], data: Data, series: str, size: int) -> list[SeriesResult]:
    """One step of a series on the default server: each endpoint single-client (after a
    single-client warm-up), then saturated."""
    default = default_server()
    user = BENCH_USER if series == "total" else HEAVY_USER
    user_token, admin_token = data.tokens([user, BENCH_ADMIN])
    gunicorn = Gunicorn("webapp:create_app(RATELIMIT_ENABLED=False)",
                        server_env(default.env()), workers=default.workers)
    results = []
    try:
        gunicorn.wait_ready(30)
        browser = {"User-Agent": BROWSER_AGENT}
        headers = {
            "session": {"Cookie": session_cookie(gunicorn.url, user, BULK_PASSWORD), **browser},
            "admin": {"Cookie": session_cookie(gunicorn.url, BENCH_ADMIN, ADMIN_PASSWORD),
                      **browser},
            "token": {"Authorization": f"Bearer {user_token}"},
            "admin-token": {"Authorization": f"Bearer {admin_token}"},
        }
        for endpoint in series_endpoints(series):
            url = gunicorn.url + endpoint.path
            probe = requests.get(url, headers=headers[endpoint.auth], allow_redirects=False,
                                 timeout=120)
            if probe.status_code != 200:
                results.append(SeriesResult(series, size, endpoint.name, endpoint.path,
                                            f"HTTP {probe.status_code}"))
                continue
            # The probe above waited behind what the previous saturated run left queued in
            # the server (up to CONNECTIONS requests): the one client starts on an idle server.
            wrk_run(wrk, url, headers[endpoint.auth], 1, 2, threads=1)  # warm-up
            reference = reference_ms()
            _, single, errors = wrk_run(wrk, url, headers[endpoint.auth], 1, SCALE_DURATION,
                                        threads=1)
            rps, saturated, more_errors = wrk_run(wrk, url, headers[endpoint.auth],
                                                  CONNECTIONS, SCALE_DURATION)
            result = SeriesResult(series, size, endpoint.name, endpoint.path, "ok", single[50],
                                  single[95], rps, saturated[95], errors + more_errors,
                                  reference)
            results.append(result)
            print(f"  {series} {size:>9,} {endpoint.name:<16} one client p50={fmt(result.p50)}"
                  f" p95={fmt(result.p95)}; {CONNECTIONS} connections rps={fmt(result.rps)} "
                  f"p95={fmt(result.saturated_p95)} errors={result.errors}", flush=True)
    finally:
        gunicorn.stop()
    return results


def measure_open_loop(data: Data) -> list[openloop.OpenLoopResult]:
    """OPEN_LOOP_USERS bulk users, a token each, on the default server at each rate."""
    default = default_server()
    tokens = data.tokens(scale.bulk_names(1, OPEN_LOOP_USERS))
    gunicorn = Gunicorn("webapp:create_app(RATELIMIT_ENABLED=False)",
                        server_env(default.env()), workers=default.workers)
    results = []
    try:
        gunicorn.wait_ready(30)
        openloop.run(gunicorn.url, OPEN_LOOP_PATH, tokens, OPEN_LOOP_RATES[0], 3)  # warm-up
        for rate in OPEN_LOOP_RATES:
            result = openloop.run(gunicorn.url, OPEN_LOOP_PATH, tokens, rate, OPEN_LOOP_SECONDS)
            results.append(result)
            print(f"  open loop {result.users} users at {rate:.0f}/s: sent {result.sent} "
                  f"({result.achieved:.0f}/s) p50={result.p50:.1f} p95={result.p95:.1f} "
                  f"p99={result.p99:.1f} worst={result.worst:.1f} errors={result.errors} "
                  f"unsent={result.unsent}",
                  flush=True)
    finally:
        gunicorn.stop()
    return results


OPEN_LOOP_TARGETS = {100: 100.0, 300: 200.0}  # requests/s -> p95 ms (issue 15)
RATIO_TARGET = 1.5
RATIO_ENDPOINTS = {"total": ("list-admin", "admin-search", "api-admin-search", "list-search",
                             "api-search"),
                   "user": ("list", "list-search", "api-tasks", "api-search")}


def series_table(results: list[SeriesResult]) -> str:
    lines = [f"| series | tasks | endpoint | one client p50 ms | one client p95 ms | req/s at "
             f"{CONNECTIONS} connections | p95 ms there | errors | reference ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        what = "in total" if r.series == "total" else f"of `{HEAVY_USER}`"
        head = f"| {r.series} | {r.size:,} {what} | {r.endpoint} `{r.path}` |"
        if r.status != "ok":
            lines.append(f"{head} {r.status} | | | | | |")
            continue
        lines.append(f"{head} {fmt(r.p50)} | {fmt(r.p95)} | {r.rps:.0f} | "
                     f"{fmt(r.saturated_p95)} | {r.errors} | {fmt(r.reference)} |")
    return "\n".join(lines)


def series_ratios(results: list[SeriesResult]) -> str:
    lines = []
    for series, names in RATIO_ENDPOINTS.items():
        rows = [r for r in results if r.series == series and r.status == "ok"]
        if not rows:
            continue
        small, large = min(r.size for r in rows), max(r.size for r in rows)
        by = {(r.endpoint, r.size): r for r in rows}
        for name in names:
            a, b = by.get((name, small)), by.get((name, large))
            if a and b and a.p95 and b.p95 and small != large:
                ratio = b.p95 / a.p95
                lines.append(f"- {series}, {name}: one-client p95 {a.p95:.1f} ms at {small:,} "
                             f"tasks, {b.p95:.1f} ms at {large:,}: x{ratio:.2f} "
                             f"({'within' if ratio <= RATIO_TARGET else 'ABOVE'} the "
                             f"{RATIO_TARGET} target)")
    return "\n".join(lines)


def open_loop_lines(results: list[openloop.OpenLoopResult]) -> str:
    lines = []
    for r in results:
        target = OPEN_LOOP_TARGETS.get(round(r.rate))
        verdict = "" if target is None else (
            f" (target < {target:.0f}: "
            f"{'met' if r.p95 < target and not r.unsent else 'MISSED'})")
        lines.append(f"- {r.users} users, {r.rate:.0f} requests/s on a fixed schedule for "
                     f"{r.seconds:.0f} s at {OPEN_LOOP_AT:,} tasks (`GET {OPEN_LOOP_PATH}`, a "
                     f"token each): sent {r.sent} ({r.achieved:.0f}/s), latency from the "
                     f"scheduled time p50 {r.p50:.1f} ms, p95 {r.p95:.1f} ms{verdict}, "
                     f"p99 {r.p99:.1f}, worst {r.worst:.1f}; errors {r.errors}"
                     + (f"; {r.unsent} never sent, due more than "
                        f"{openloop.GRACE_SECONDS:.0f} s after the schedule's end" if r.unsent
                        else ""))
    return "\n".join(lines)


SCALE_START, SCALE_END = "<!-- bench:scale:start -->", "<!-- bench:scale:end -->"
SCALE_JSON = ROOT / "docs" / "bench-scale.json"
CHART_PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"


def load_average() -> str:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return f"{one}, {five}, {fifteen}"


def write_scale_doc(results: list[SeriesResult], loop: list[openloop.OpenLoopResult],
                    loads: list[str]) -> None:
    """The scale block of docs/BENCHMARKS.md, its data (docs/bench-scale.json) and the chart
    (docs/bench-scale.svg, drawn by bench/chart.py from bench/.venv)."""
    SCALE_JSON.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    chart = ""
    if CHART_PYTHON.exists() and results:
        subprocess.run([str(CHART_PYTHON), str(ROOT / "bench" / "chart.py")],  # noqa: S603
                       cwd=ROOT, check=True)
        chart = "![single-client p95 as the data grows](bench-scale.svg)"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join([
        SCALE_START,
        f"Measured {stamp} by `make bench` at commit {code_version()} on: {machine()}. "
        f"Load average (1, 5, 15 min) before each step: {'; '.join(loads)}.",
        f"The default server ({default_server().label}); "
        f"one client: wrk 1 connection for {SCALE_DURATION} s; saturated: wrk 2 threads × "
        f"{CONNECTIONS} connections for {SCALE_DURATION} s; each endpoint after a 2 s warm-up "
        "with one connection, on a server that has finished the previous endpoint's requests. "
        "Data grown in place by bench/scale.py.",
        "",
        series_table(results),
        "",
        series_ratios(results),
        "",
        open_loop_lines(loop),
        *(["", chart] if chart else []),
        SCALE_END,
    ])
    text = DOC.read_text()
    if SCALE_START in text:
        head, _, rest = text.partition(SCALE_START)
        _, _, tail = rest.partition(SCALE_END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Scale series (issue 15)\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    wrk = [ensure_wrk(), "--timeout", "10s", "-s", str(ROOT / "bench" / "percentiles.lua")]
    results: list[Result] = []
    series: list[SeriesResult] = []
    loop: list[openloop.OpenLoopResult] = []
    loads: list[str] = []
    live_text = ""
    data = Data(DATABASE_URL)
    data.reset()
    sizes = sorted(set(SIZES) | set(SCALE_TOTALS) | ({OPEN_LOOP_AT} if OPEN_LOOP_RATES else set()))
    for index, size in enumerate(sizes):
        print(f"== {size:,} tasks (load average {load_average()})", flush=True)
        data.grow_total(size)
        if size in SIZES and SERVER_NAMES:
            token = data.tokens([BENCH_USER])[0]
            for server in servers():
                results += measure_server([*wrk, "-t2"], server, size, token)
            if index == 0:  # the live part once, on the first data set (1,000 tasks by default)
                live_text = measure_live([*wrk, "-t2"], token)
        if size in SCALE_TOTALS:
            loads.append(f"{size:,} tasks: {load_average()}")
            series += measure_series(wrk, data, "total", size)
        if size == OPEN_LOOP_AT and OPEN_LOOP_RATES:
            loop = measure_open_loop(data)
    for count in SCALE_USER:
        print(f"== {HEAVY_USER} with {count:,} tasks (load average {load_average()})",
              flush=True)
        data.grow_user(count)
        loads.append(f"{HEAVY_USER} {count:,}: {load_average()}")
        series += measure_series(wrk, data, "user", count)
    print()
    if results:
        print(table(results))
        print(ratios(results))
        settings = " ".join(f"{name}={os.environ[name]}" for name in (
            "BENCH_ONLY", "BENCH_SIZES", "BENCH_SERVERS", "BENCH_DURATION", "BENCH_CONNECTIONS",
            "BENCH_LIVE", "BENCH_LIVE_STREAMS", "WEB_CONCURRENCY", "GUNICORN_THREADS")
            if name in os.environ)
        write_doc(results, f"{settings} make bench".strip(), live_text)
    if series or loop:
        print(series_table(series))
        print(series_ratios(series))
        print(open_loop_lines(loop))
        write_scale_doc(series, loop, loads)
    print(f"\nWrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
