"""Manual fault check: restart PostgreSQL while gunicorn serves writes and reads.

Run after `make bench` (it needs the bench data):  .venv/bin/python bench/pg_restart_check.py
It restarts the machine's PostgreSQL cluster (every database on it goes down for the length of
the restart), so never run it where others depend on that server. It reports the answers seen
while the database was down, how soon the app answered normally again, and whether every task
whose creation was acknowledged (303) is in the database afterwards.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import BENCH_USER, BULK_PASSWORD, CSRF_META, DATABASE_URL  # noqa: E402
from tests.servers import Gunicorn  # noqa: E402
from webapp.config import database_url_from_env  # noqa: E402

RESTART = os.environ.get(
    "PG_RESTART_COMMAND",
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart -m fast",
)


def main() -> None:
    server = Gunicorn("wsgi:app", {"DATABASE_URL": DATABASE_URL,
                                   "SECRET_KEY": "restart-check-secret-key"}, workers=2)
    log, acknowledged, stop = [], [], threading.Event()
    try:
        server.wait_ready(30)
        browser = requests.Session()
        token = CSRF_META.search(browser.get(server.url + "/auth/login").text).group(1)
        browser.post(server.url + "/auth/login", allow_redirects=False, data={
            "csrf_token": token, "username": BENCH_USER, "password": BULK_PASSWORD})
        token = CSRF_META.search(browser.get(server.url + "/tasks").text).group(1)

        def load() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                title = f"restart-check {os.getpid()} {n}"
                started = time.time()
                try:
                    resp = browser.post(server.url + "/tasks", allow_redirects=False, timeout=10,
                                        data={"csrf_token": token, "title": title,
                                              "status": "pending", "priority": "medium"})
                    wrote, traceback = resp.status_code, "Traceback" in resp.text
                    if wrote == 303:
                        acknowledged.append(title)
                    read = browser.get(server.url + "/tasks", timeout=10).status_code
                except requests.RequestException as error:
                    wrote, read, traceback = type(error).__name__, "-", False
                log.append((started, wrote, read, traceback))
                time.sleep(0.05)

        worker = threading.Thread(target=load)
        worker.start()
        time.sleep(3)
        down = time.time()
        print("Restarting PostgreSQL:", RESTART, flush=True)
        subprocess.run(RESTART, shell=True, check=True)  # noqa: S602 (a fixed admin command)
        up = time.time()
        time.sleep(5)
        stop.set()
        worker.join()
    finally:
        stop.set()
        server.stop()

    print(f"Restart took {up - down:.1f} s")
    print("Answers (POST /tasks, GET /tasks):",
          dict(collections.Counter((w, r) for _, w, r, _ in log)))
    print("Answers with a traceback:", sum(1 for *_, tb in log if tb))
    recovered = [t for t, w, r, _ in log if t > up and w == 303 and r == 200]
    print(f"First normal answer {min(recovered) - up:+.2f} s after the restart ended"
          if recovered else "The app did not recover")
    engine = sa.create_engine(database_url_from_env(DATABASE_URL, ""))
    with engine.connect() as conn:
        stored = set(conn.scalars(sa.text(
            "SELECT title FROM tasks WHERE title LIKE 'restart-check %'")))
    engine.dispose()
    lost = set(acknowledged) - stored
    print(f"Acknowledged tasks: {len(acknowledged)}, lost: {len(lost)}")
    sys.exit(1 if lost or not recovered or any(tb for *_, tb in log) else 0)


if __name__ == "__main__":
    main()
