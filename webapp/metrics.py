"""Prometheus metrics at `/metrics` (prometheus_client), when METRICS_ENABLED is set.

- `taskdeck_http_requests_total{method, endpoint, status}` and
  `taskdeck_http_request_duration_seconds{method, endpoint}` (a histogram): per route rule
  (`/tasks/<int:task_id>`, never the raw path, so the number of series stays bounded;
  requests no route matched are `endpoint="unmatched"`);
- `taskdeck_rate_limited_total{endpoint}`: requests Flask-Limiter refused (429);
- `taskdeck_db_pool_connections_in_use`, `taskdeck_db_pool_connections_open` and
  `taskdeck_db_pool_capacity`: the SQLAlchemy pool, summed over the live worker processes.

Under gunicorn each worker process counts on its own; with PROMETHEUS_MULTIPROC_DIR set (the
hooks in gunicorn.conf.py set and clean it) prometheus_client keeps the values in files there
and `/metrics` adds up every worker's, whichever worker answers the scrape.

`/metrics` answers only a request with `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise);
with metrics off the route does not exist (404). This module is imported only when metrics are
on: prometheus_client must see PROMETHEUS_MULTIPROC_DIR before it is first imported.
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event

from .extensions import db, limiter

# Any other method a client invents is counted as "other": labels must stay a bounded set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
METRICS_PATH = "/metrics"

REQUESTS = Counter(
    "taskdeck_http_requests", "HTTP requests answered, per route rule and status.",
    ["method", "endpoint", "status"])
LATENCY = Histogram(
    "taskdeck_http_request_duration_seconds",
    "Time from the start of a request to its response, per route rule.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
RATE_LIMITED = Counter(
    "taskdeck_rate_limited", "Requests refused by a rate limit (429), per route rule.",
    ["endpoint"])
POOL_IN_USE = Gauge(
    "taskdeck_db_pool_connections_in_use", "Database connections checked out of the pool.",
    multiprocess_mode="livesum")
POOL_OPEN = Gauge(
    "taskdeck_db_pool_connections_open", "Database connections the pool holds open.",
    multiprocess_mode="livesum")
POOL_CAPACITY = Gauge(
    "taskdeck_db_pool_capacity", "Most connections the pool may open (size + overflow).",
    multiprocess_mode="livesum")


def init_metrics(app: Flask) -> None:
    """Count every request, watch the database pool and serve /metrics."""
    app.after_request(record_request)
    app.add_url_rule(METRICS_PATH, "metrics", metrics_view, methods=["GET"])
    with app.app_context():
        watch_pool(db.engine)


def watch_pool(engine) -> None:
    """Keep the pool gauges in step with the pool's own events."""
    event.listen(engine, "checkout", lambda *args: POOL_IN_USE.inc())
    event.listen(engine, "checkin", lambda *args: POOL_IN_USE.dec())
    event.listen(engine, "connect", lambda *args: POOL_OPEN.inc())
    event.listen(engine, "close", lambda *args: POOL_OPEN.dec())
    event.listen(engine, "close_detached", lambda *args: POOL_OPEN.dec())
    pool = engine.pool
    if callable(getattr(pool, "size", None)):  # a QueuePool (PostgreSQL, an SQLite file)
        POOL_CAPACITY.set(pool.size() + max(getattr(pool, "_max_overflow", 0), 0))


def endpoint_label() -> str:
    return request.url_rule.rule if request.url_rule is not None else UNMATCHED


def record_request(response: Response) -> Response:
    """Count the request and its duration, from the start time the request log noted."""
    if request.path == METRICS_PATH:
        return response  # scrapes are not traffic
    method = request.method if request.method in METHODS else "other"
    endpoint = endpoint_label()
    REQUESTS.labels(method, endpoint, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        LATENCY.labels(method, endpoint).observe(time.perf_counter() - started)
    if response.status_code == 429 and any(lim.breached for lim in limiter.current_limits):
        RATE_LIMITED.labels(endpoint).inc()
    return response


def authorized(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def metrics_view():
    """The metrics in Prometheus' text format, every worker's added up."""
    if not authorized(current_app.config["METRICS_TOKEN"]):
        return Response("Send Authorization: Bearer <METRICS_TOKEN>.\n", 401, {
            "WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
            mimetype="text/plain")
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
