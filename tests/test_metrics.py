"""Prometheus metrics at /metrics: off by default, only with the bearer token, request counts
and latency histograms per route rule, rate-limit refusals, the database pool; and under
gunicorn every worker's requests counted whichever worker answers the scrape."""

from __future__ import annotations

import glob
import os
import secrets
import signal
import threading
import time

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Client, bearer, login
from tests.servers import Gunicorn

TOKEN = "metrics-" + "x" * 24


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(text: str, name: str, **labels) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when none)."""
    return sum(s.value for s in samples(text)
               if s.name == name and labels.items() <= s.labels.items())


def scrape(client) -> str:
    resp = client.get("/metrics", headers=bearer(TOKEN))
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    return resp.get_data(as_text=True)


@pytest.fixture
def metrics_app(app, make_app, database_url):
    made = make_app(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN,
                    SQLALCHEMY_DATABASE_URI=database_url, API_RATE_LIMIT="2/minute")
    made.test_client_class = Client
    return made


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 404


def test_metrics_need_a_token_of_16_characters(make_app):
    with pytest.raises(RuntimeError, match="METRICS_TOKEN"):
        make_app(METRICS_ENABLED=True, METRICS_TOKEN="short")


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": TOKEN},
    {"Authorization": f"Basic {TOKEN}"},
])
def test_metrics_refuse_requests_without_the_token(metrics_app, headers):
    resp = metrics_app.test_client().get("/metrics", headers=headers)
    assert resp.status_code == 401 and "taskdeck_" not in resp.get_data(as_text=True)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_requests_are_counted_and_timed_per_route_rule(metrics_app, user, make_task):
    client = metrics_app.test_client()
    task_id = make_task(user, "Count me")
    before = scrape(client)
    login(client, user)
    assert client.get(f"/tasks/{task_id}").status_code == 200
    assert client.get(f"/tasks/{task_id + 1000}").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    after = scrape(client)
    rule = "/tasks/<int:task_id>"

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("taskdeck_http_requests_total", endpoint=rule, status="200") == 1
    assert delta("taskdeck_http_requests_total", endpoint=rule, status="404") == 1
    assert delta("taskdeck_http_requests_total", endpoint="unmatched", status="404") == 1
    assert delta("taskdeck_http_request_duration_seconds_count", endpoint=rule,
                 method="GET") == 2
    assert delta("taskdeck_http_request_duration_seconds_bucket", endpoint=rule,
                 le="+Inf") == 2
    assert delta("taskdeck_http_request_duration_seconds_sum", endpoint=rule) > 0
    # Raw paths never become labels; scrapes are not counted.
    labels = {s.labels.get("endpoint") for s in samples(after)}
    assert f"/tasks/{task_id}" not in labels and "/metrics" not in labels


def test_failed_login_refusals_are_counted_as_rate_limited(metrics_app, user):
    client = metrics_app.test_client()
    before = scrape(client)
    statuses = [client.post("/auth/login", data={"username": user.username,
                                                 "password": "wrong-password"}).status_code
                for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    after = scrape(client)
    assert (value(after, "taskdeck_rate_limited_total", endpoint="/auth/login")
            - value(before, "taskdeck_rate_limited_total", endpoint="/auth/login")) == 1


def test_rate_limit_refusals_and_the_pool_are_reported(metrics_app, user, make_token):
    client = metrics_app.test_client()
    token = make_token(user)
    before = scrape(client)
    statuses = [client.get("/api/tasks", headers=bearer(token)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    after = scrape(client)
    refused = (value(after, "taskdeck_rate_limited_total", endpoint="/api/tasks")
               - value(before, "taskdeck_rate_limited_total", endpoint="/api/tasks"))
    assert refused == 1
    assert value(after, "taskdeck_db_pool_connections_open") >= 1
    assert value(after, "taskdeck_db_pool_capacity") >= 1
    names = {s.name for s in samples(after)}
    assert "taskdeck_db_pool_connections_in_use" in names


# --- Under gunicorn, two workers -----------------------------------------------------------

def worker_request_counts(directory: str, endpoint: str) -> dict[int, float]:
    """Requests to `endpoint` per worker process, read from each worker's own counter file."""
    counts = {}
    for path in glob.glob(os.path.join(directory, "counter_*.db")):
        pid = int(path.rsplit("_", 1)[1].split(".")[0])
        metrics = MultiProcessCollector.merge([path], accumulate=False)
        counts[pid] = sum(s.value for m in metrics for s in m.samples
                          if s.name == "taskdeck_http_requests_total"
                          and s.labels.get("endpoint") == endpoint)
    return counts


def test_gunicorn_workers_share_one_count(app, database_url, tmp_path):
    directory = str(tmp_path / "prometheus")
    env = {"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(32),
           "METRICS_ENABLED": "1", "METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": directory,
           "GUNICORN_WORKER_CLASS": "sync", "DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "2"}
    server = Gunicorn("wsgi:app", env, workers=2)
    try:
        server.wait_ready()

        def health_total() -> float:
            resp = requests.get(server.url + "/metrics", headers=bearer(TOKEN), timeout=5)
            assert resp.status_code == 200
            return value(resp.text, "taskdeck_http_requests_total", endpoint="/health")

        before = health_total()
        per_thread, threads = 25, 4
        barrier = threading.Barrier(threads)

        def send() -> None:
            barrier.wait()
            for _ in range(per_thread):  # a new connection each time: any worker may take it
                assert requests.get(server.url + "/health", timeout=5).status_code == 200

        pool = [threading.Thread(target=send) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(30)
        sent = per_thread * threads
        assert health_total() - before == sent  # whichever worker answered the scrape
        counts = worker_request_counts(directory, "/health")
        assert len(counts) == 2 and all(n > 0 for n in counts.values()), counts
        assert sum(counts.values()) == before + sent

        # A worker that exits leaves its counts but not its gauges; its successor counts on.
        gone = min(counts)
        os.kill(gone, signal.SIGTERM)
        gauge_file = os.path.join(directory, f"gauge_livesum_{gone}.db")
        deadline = time.monotonic() + 15
        while os.path.exists(gauge_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(gauge_file)
        assert health_total() >= before + sent
    finally:
        server.stop()
