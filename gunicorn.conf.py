"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (`make serve`).

Every value comes from an environment variable with a default sized for the machine.
"""

import os
import shutil
import tempfile

_cores = os.cpu_count() or 1

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# gevent by default: one process per core, each serving many connections as greenlets, so an
# open live stream, a request waiting on GitHub or the weather service, or a slow client costs
# a greenlet rather than a thread or a worker (docs/BENCHMARKS.md has the numbers that chose
# it). The worker monkey-patches the standard library (sockets, ssl, select, threading, time,
# queue...) when it starts, before it imports the app: see the README, "Serving".
# GUNICORN_WORKER_CLASS=gthread (threads) or sync keep the older models selectable.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
if worker_class not in {"gevent", "gthread", "sync"}:
    raise RuntimeError(
        f"GUNICORN_WORKER_CLASS must be gevent, gthread or sync, not {worker_class!r}")
# Pages are CPU work in Python: gevent and sync run one process per core; gthread two per core
# with a few threads each, so that waits on PostgreSQL and Redis overlap.
workers = int(os.environ.get("WEB_CONCURRENCY", (2 if worker_class == "gthread" else 1) * _cores))
threads = int(os.environ.get("GUNICORN_THREADS", 4)) if worker_class == "gthread" else 1
# gevent: connections (open streams included) one worker holds at once.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 1000))
# A sync worker serves one request at a time: an open stream would hold it (and be killed at
# the timeout). There pages poll /live/poll instead, and /api/events and /api/ws answer 503.
raw_env = ["LIVE_STREAMS=false"] if worker_class == "sync" and "LIVE_STREAMS" not in os.environ \
    else []
# Each worker imports the app itself after the fork: no database or Redis connection is
# ever shared between processes (create_app opens none, but this keeps it that way), and the
# gevent worker patches the standard library before the app and its libraries are imported.
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
# Above the load balancer's idle timeout, so it never reuses a connection we just closed.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 75))
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 10_000))
max_requests_jitter = max_requests // 10
# X-Forwarded-* headers are the app's business (ProxyFix, TRUSTED_PROXY_COUNT): gunicorn
# itself trusts none, so the two can never disagree about the scheme.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
# The app logs one line per request itself; gunicorn's own log goes to stderr.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# gunicorn's control socket (for `gunicornc`) lives in $HOME/.gunicorn, which the image's user
# does not have and which instances on one host would share: not used.
control_socket_disable = True


def post_worker_init(worker):
    """On SIGTERM (a deploy, a scale-down) end the worker's open streams at once, instead of
    waiting the graceful timeout for streams that never end by themselves; their clients
    reconnect elsewhere and catch up."""
    import signal

    stop = worker.handle_exit

    def stop_and_end_streams(sig, frame):
        stop(sig, frame)
        from webapp.live import end_all_streams

        end_all_streams()

    signal.signal(signal.SIGTERM, stop_and_end_streams)


def when_ready(server):
    """Say once at start-up what live updates can reach in this set-up."""
    if workers > 1 and not os.environ.get("REDIS_URL"):
        server.log.warning(
            "Without REDIS_URL each of the %d workers has its own live-update bus: a change "
            "reaches only the streams of the worker that made it. Set REDIS_URL (or run one "
            "worker).", workers)


# --- Prometheus metrics in every worker (webapp/metrics.py) -----------------------------------
# With METRICS_ENABLED each worker keeps its metrics in files under PROMETHEUS_MULTIPROC_DIR and
# /metrics adds every worker's up. The master sets that directory before it starts a worker (a
# fresh temporary one, or the one given, emptied of an earlier run's files), drops a dead
# worker's gauges, and removes the directory it made when it stops. prometheus_client is
# imported only inside the hooks, once the variable is set: it reads it when first imported.
_metrics_enabled = os.environ.get("METRICS_ENABLED", "").strip().lower() in {"1", "true", "yes",
                                                                              "on"}
_metrics_dir_made: str | None = None


def on_starting(server):
    global _metrics_dir_made
    if not _metrics_enabled:
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))
    else:
        _metrics_dir_made = tempfile.mkdtemp(prefix="taskdeck-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir_made


def child_exit(server, worker):
    if _metrics_enabled:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # its gauges no longer count


def on_exit(server):
    if _metrics_dir_made:
        shutil.rmtree(_metrics_dir_made, ignore_errors=True)
