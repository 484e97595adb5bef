"""`make bench-peer`: Taskdeck's `GET /api/tasks` side by side with the in-memory FastAPI
reference server (bench/reference_server.py), on the same 1,000 tasks (bench/reference_data.py).

Both answer `status=pending&userId=1` with the same 100 rows (Taskdeck with `perPage=100` and
a bearer token; the reference has no authentication, as the seed API had none). wrk with 2
threads and 50 connections measures, in each round and in this order: the reference under
uvicorn with one worker, Taskdeck under gunicorn with one sync worker, and Taskdeck with
gunicorn.conf.py's default server. It prints our/peer throughput per round and their median,
and rewrites the "peer" block of docs/BENCHMARKS.md.

Settings (environment): BENCH_DATABASE_URL (emptied; default the local `td_bench`),
BENCH_DURATION (seconds per measurement, default 10), BENCH_PEER_ROUNDS (3),
BENCH_CONNECTIONS (50). The reference server runs from bench/.venv (bench/requirements.txt),
which `make bench-peer` creates; the app's own environment never holds FastAPI.

Separate from `make bench` (bench/run.py): this one empties the database and loads the
reference's own 1,000 tasks, which the scale series has no use for.
"""

from __future__ import annotations

import os
import re
import runpy
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import reference_data  # noqa: E402
from bench.run import (  # noqa: E402
    code_version,
    ensure_wrk,
    reference_ms,
    reset_database,
    sh,
    vacuum_analyze,
)
from tests.servers import Gunicorn, free_port  # noqa: E402
from webapp.config import database_url_from_env  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/td_bench"
)
DURATION = int(os.environ.get("BENCH_DURATION", 10))
ROUNDS = int(os.environ.get("BENCH_PEER_ROUNDS", 3))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 50))
PEER_PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"
QUERY = f"status=pending&userId={reference_data.MEASURED_USER_ID}"
DOC = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- bench:peer:start -->", "<!-- bench:peer:end -->"


@dataclass
class Measured:
    rps: float
    p50: float
    p95: float
    errors: int


def load_reference_tasks() -> str:
    """Empty the database, migrate it, and insert the reference's users and tasks (same ids,
    same values); returns a bearer token of the measured user."""
    env = {"DATABASE_URL": DATABASE_URL, "APP_ENV": "development"}
    reset_database(DATABASE_URL)
    sh([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], env=env)
    from webapp import create_app
    from webapp.config import DevConfig
    from webapp.extensions import db
    from webapp.models import StatusChange, Task, User
    from webapp.services import tokens
    from webapp.services.passwords import hash_password

    app = create_app(DevConfig, SQLALCHEMY_DATABASE_URI=database_url_from_env(DATABASE_URL, ""),
                     LOG_FILE="")
    with app.app_context():
        password = hash_password(secrets.token_urlsafe(16))
        now = datetime(2026, 1, 1)
        db.session.execute(sa.insert(User.__table__), [{
            "id": user["id"], "username": user["username"], "display_name": user["name"],
            "email": f"{user['username']}@example.com", "password_hash": password,
            "role": "user", "is_active": True, "session_version": 1, "created_at": now,
            "updated_at": now} for user in reference_data.USERS])
        rows = reference_data.tasks()

        def stamp(value):
            return datetime.fromisoformat(value.rstrip("Z")) if value else None

        db.session.execute(sa.insert(Task.__table__), [{
            "id": t["id"], "title": t["title"], "description": t["description"],
            "status": t["status"], "priority": t["priority"], "owner_id": t["userId"],
            "due_date": datetime.fromisoformat(t["dueDate"]).date() if t["dueDate"] else None,
            "created_at": stamp(t["createdAt"]), "updated_at": stamp(t["updatedAt"]),
            "completed_at": stamp(t["completedAt"]), "version": t["version"]} for t in rows])
        db.session.execute(sa.insert(StatusChange.__table__), [{
            "task_id": t["id"], "old_status": None, "new_status": t["status"],
            "changed_by_id": t["userId"], "changed_at": stamp(t["createdAt"])} for t in rows])
        for table in ("users", "tasks", "status_changes"):  # ids were given: move sequences on
            db.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"))
        db.session.commit()
        user = db.session.get(User, reference_data.MEASURED_USER_ID)
        _, token = tokens.create_token(user, "peer bench", None)
        db.engine.dispose()
    vacuum_analyze(DATABASE_URL)
    return token


def wrk(url: str, headers: dict[str, str]) -> Measured:
    args = [ensure_wrk(), "-t2", f"-c{CONNECTIONS}", "--timeout", "10s",
            "-s", str(ROOT / "bench" / "percentiles.lua")]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    sh([*args, "-d3s", url])  # warm-up
    out = sh([*args, f"-d{DURATION}s", url]).stdout
    micros = {int(p): int(v) for p, v in re.findall(r"^p(\d+)=(\d+)$", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    return Measured(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                    micros[50] / 1000, micros[95] / 1000, errors)


def check_same_answer(ours: dict, peer: dict) -> None:
    """Both servers answer with the same rows (our order is newest first, the seed's by id)."""
    ids = sorted(t["id"] for t in ours["tasks"])
    assert ids == sorted(t["id"] for t in peer["tasks"]), "the two servers disagree"
    assert ours["count"] == peer["count"] == reference_data.PENDING_PER_USER


class Reference:
    """The FastAPI reference under uvicorn with one worker."""

    def __init__(self):
        if not PEER_PYTHON.exists():
            raise SystemExit("bench/.venv is missing: run `make bench-peer`.")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(  # noqa: S603
            [str(PEER_PYTHON), "-m", "uvicorn", "bench.reference_server:app", "--workers", "1",
             "--host", "127.0.0.1", "--port", self.url.rsplit(":", 1)[1],
             "--log-level", "warning", "--no-access-log"], cwd=ROOT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/health", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the reference server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def serve_ours(workers: int | None) -> Gunicorn:
    """Taskdeck under gunicorn with gunicorn.conf.py: `workers` sync workers, or the file's
    default server (WEB_CONCURRENCY and GUNICORN_THREADS apply, as in bench/run.py)."""
    if workers:
        worker_class, threads = "sync", 1
    else:
        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
        worker_class, workers, threads = conf["worker_class"], conf["workers"], conf["threads"]
    env = {"DATABASE_URL": DATABASE_URL, "SECRET_KEY": secrets.token_urlsafe(32),
           "GUNICORN_WORKER_CLASS": worker_class, "GUNICORN_THREADS": str(threads),
           "GUNICORN_MAX_REQUESTS": "0", "DB_POOL_SIZE": "5", "DB_MAX_OVERFLOW": "5"}
    server = Gunicorn("webapp:create_app(RATELIMIT_ENABLED=False)", env, workers=workers)
    server.wait_ready(30)
    return server


def write_doc(lines: list[str]) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join([
        START,
        f"Measured {stamp} by `make bench-peer` at commit {code_version()}: wrk 2 threads × "
        f"{CONNECTIONS} connections, {DURATION} s per measurement after a 3 s warm-up, "
        f"`GET /api/tasks?{QUERY}` answering 100 of the same 1,000 tasks on both sides.",
        "",
        *lines,
        END,
    ])
    text = DOC.read_text()
    if START in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Side by side with the in-memory reference\n\n" + \
            block + "\n"
    DOC.write_text(text)


def main() -> None:
    token = load_reference_tasks()
    auth = {"Authorization": f"Bearer {token}"}
    rows = ["| round | reference ms | peer req/s (p95 ms) | ours, 1 sync worker | ours, default "
            "server | ratio 1 worker | ratio default |", "|---|---|---|---|---|---|---|"]
    ratios: dict[str, list[float]] = {"one": [], "default": []}
    for round_number in range(1, ROUNDS + 1):
        reference = Reference()
        try:
            peer_url = f"{reference.url}/api/tasks?{QUERY}"
            peer_answer = requests.get(peer_url, timeout=10).json()
            machine = reference_ms()
            peer = wrk(peer_url, {})
        finally:
            reference.stop()
        measured = {}
        for name, workers in (("one", 1), ("default", None)):
            server = serve_ours(workers)
            try:
                url = f"{server.url}/api/tasks?{QUERY}&perPage=100"
                check_same_answer(requests.get(url, headers=auth, timeout=10).json(),
                                  peer_answer)
                measured[name] = wrk(url, auth)
            finally:
                server.stop()
            ratios[name].append(measured[name].rps / peer.rps)
        rows.append(
            f"| {round_number} | {machine:.1f} | {peer.rps:.0f} ({peer.p95:.1f}) | "
            f"{measured['one'].rps:.0f} ({measured['one'].p95:.1f}) | "
            f"{measured['default'].rps:.0f} ({measured['default'].p95:.1f}) | "
            f"{ratios['one'][-1]:.2f} | {ratios['default'][-1]:.2f} |")
        print(rows[-1], flush=True)
    summary = (f"- our/peer throughput, median of {ROUNDS}: one worker "
               f"{statistics.median(ratios['one']):.2f} (target ≥ 1.0), default server "
               f"{statistics.median(ratios['default']):.2f} (target ≥ 1.5)")
    print(summary)
    write_doc([*rows, "", summary])
    print(f"Wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
