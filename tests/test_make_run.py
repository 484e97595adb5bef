"""`make run`: installs only what running needs, prints the demo logins last, and logs one
line per request (not werkzeug's access line as well)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.servers import ROOT, free_port

FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def make_dry_run(target: str) -> str:
    """The commands `make` would run for the target (every rule, as if nothing were built)."""
    return subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def test_make_run_installs_only_what_running_needs():
    commands = make_dry_run("run")
    assert "-r requirements.txt" in commands and "requirements-dev.txt" not in commands
    assert "npm ci --omit=dev" in commands


def test_make_test_installs_the_test_tools():
    commands = make_dry_run("test")
    assert "-r requirements-dev.txt" in commands
    assert "npm ci --no-audit" in commands  # devDependencies too (axe-core)


def test_demo_serve_prints_the_logins_last_and_one_line_per_request(tmp_path: Path):
    env = {**os.environ, "APP_ENV": "development", "LOG_FILE": "",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}"}
    subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    port = free_port()
    server = subprocess.Popen([*FLASK, "demo", "serve", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("bob" in line for line in lines):
            lines.append(server.stdout.readline())
        assert any(f"http://127.0.0.1:{port}/" in line for line in lines)
        assert "Demo logins" in "".join(lines)
        assert lines[-1].split()[0] == "bob"  # the last account is the last line
        for path in ("/health", "/auth/login"):
            assert requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200
    finally:
        server.terminate()
        out, err = server.communicate(timeout=10)
    assert out.strip() == ""  # nothing printed after the logins
    request_lines = [json.loads(line) for line in err.splitlines()
                     if line.startswith("{") and '"webapp.request"' in line]
    assert [line["path"] for line in request_lines] == ["/health", "/auth/login"]
    assert '"GET /health HTTP/1.1"' not in err  # no second, werkzeug-style access line
