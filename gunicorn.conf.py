"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (`make serve`).

Every value comes from an environment variable with a default sized for the machine.
"""

import os

_cores = os.cpu_count() or 1

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Rendering pages is CPU work in Python: about two processes per core, each with a few
# threads so that time spent waiting on PostgreSQL and Redis overlaps.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * _cores))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread" if threads > 1 else "sync"
# Each worker imports the app itself after the fork: no database or Redis connection is
# ever shared between processes (create_app opens none, but this keeps it that way).
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
