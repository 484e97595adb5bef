"""Configuration classes, read from environment variables.

`APP_ENV` picks the class: `production`, `test` or anything else for development.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .ratelimit_storage import SCHEME_PREFIX as ONE_TRIP_SCHEME_PREFIX

DEV_SECRET_KEY = "dev-only-insecure-key"  # noqa: S105 (refused in production)
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def database_url_from_env(url: str | None, default: str) -> str:
    """Return an SQLAlchemy URL, mapping plain PostgreSQL URLs to the psycopg 3 driver."""
    url = (url or "").strip() or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def redis_url_with_timeouts(url: str | None, timeout: float) -> str | None:
    """Add socket timeouts to a Redis URL (unless it sets them), so a Redis that is down or
    silently drops packets costs a request at most `timeout` seconds instead of hanging it."""
    url = (url or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_timeout", str(timeout))
    query.setdefault("socket_connect_timeout", str(timeout))
    return urlunsplit(parts._replace(query=urlencode(query)))


def env_list(name: str) -> list[str]:
    """Read a comma-separated environment variable as a list (empty when unset)."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def finish_config(config) -> None:
    """Derive the settings that depend on others, after overrides are applied: engine
    options for the actual database, and everything that REDIS_URL switches to Redis."""
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(config)
    # /api/ws: pings keep an idle WebSocket open (and find dead clients) at the heartbeat's
    # pace; nothing a client sends is read, so messages stay small.
    config.setdefault("SOCK_SERVER_OPTIONS", {
        "ping_interval": config["LIVE_HEARTBEAT_SECONDS"], "max_message_size": 4096,
    })
    url = redis_url_with_timeouts(config.get("REDIS_URL"), config["REDIS_SOCKET_TIMEOUT"])
    if url:
        config["REDIS_URL"] = url
        # One Redis round trip per counted request (webapp/ratelimit_storage.py).
        config["RATELIMIT_STORAGE_URI"] = ONE_TRIP_SCHEME_PREFIX + url
        # Skips Redis for a few seconds after an error instead of failing the page.
        config["CACHE_TYPE"] = "webapp.cache_backend.SafeRedisCache"
        config["CACHE_REDIS_URL"] = url


def engine_options(config) -> dict:
    """SQLAlchemy engine options: connections checked before use everywhere, and for
    PostgreSQL a bounded pool, recycled connections and a connect timeout."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_pre_ping", True)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options.setdefault("pool_size", config["DB_POOL_SIZE"])
        options.setdefault("max_overflow", config["DB_MAX_OVERFLOW"])
        options.setdefault("pool_recycle", config["DB_POOL_RECYCLE"])
        options.setdefault("pool_timeout", config["DB_POOL_TIMEOUT"])
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", config["DB_CONNECT_TIMEOUT"])
        options["connect_args"] = connect_args
    return options


def env_flag(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
    # Former keys, still accepted for sessions signed before a rotation (newest first).
    SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
    # Host names the app answers to (Flask checks the Host header); empty means any.
    TRUSTED_HOSTS = env_list("TRUSTED_HOSTS") or None
    # Proxies (load balancers) in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", 0))
    SQLALCHEMY_DATABASE_URI = database_url_from_env(
        os.environ.get("DATABASE_URL"), f"sqlite:///{INSTANCE_DIR / 'taskdeck.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Per worker process; keep workers x (pool + overflow) x instances under max_connections.
    DB_POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", 5))
    DB_MAX_OVERFLOW = int(os.environ.get("DB_MAX_OVERFLOW", 5))
    DB_POOL_RECYCLE = int(os.environ.get("DB_POOL_RECYCLE", 1800))
    DB_POOL_TIMEOUT = int(os.environ.get("DB_POOL_TIMEOUT", 10))
    DB_CONNECT_TIMEOUT = int(os.environ.get("DB_CONNECT_TIMEOUT", 5))
    REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", 0.5))
    REDIS_URL = os.environ.get("REDIS_URL") or None

    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Redis unreachable: count limits per process in memory instead of failing the request.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    CACHE_TYPE = "RedisCache" if REDIS_URL else "SimpleCache"
    CACHE_REDIS_URL = REDIS_URL
    CACHE_DEFAULT_TIMEOUT = 300

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_flag("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # "Remember me" keeps a login for this many days; without it the login ends with the
    # browser session, and a signed session cookie older than SESSION_LIFETIME_HOURS is refused.
    REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("REMEMBER_DAYS", 14)))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_LIFETIME_HOURS", 12)))

    # Pages may stay open for days: the CSRF token is bound to the session (whose lifetime is
    # bounded above) rather than to a clock; set WTF_CSRF_TIME_LIMIT (seconds) to add one.
    WTF_CSRF_TIME_LIMIT = int(os.environ["WTF_CSRF_TIME_LIMIT"]) if os.environ.get(
        "WTF_CSRF_TIME_LIMIT") else None
    # Failed logins per client IP; per username from browsers that never logged in to the
    # account; per browser that did (device cookie); registrations per client IP; wrong
    # current passwords per account (services/logins.py, services/users.py). Several limits
    # can be joined with ";" ("5 per minute;50 per day").
    LOGIN_IP_LIMIT = os.environ.get("LOGIN_IP_LIMIT", "5 per minute")
    LOGIN_USERNAME_LIMIT = os.environ.get("LOGIN_USERNAME_LIMIT", "20 per hour")
    LOGIN_DEVICE_LIMIT = os.environ.get("LOGIN_DEVICE_LIMIT", "20 per hour")
    REGISTER_LIMIT = os.environ.get("REGISTER_LIMIT", "10 per hour")
    PASSWORD_CHECK_LIMIT = os.environ.get("PASSWORD_CHECK_LIMIT", "5 per 15 minutes")
    # How long a browser that logged in keeps its own failed-login budget for that account.
    DEVICE_COOKIE_NAME = "taskdeck_device"
    DEVICE_COOKIE_DAYS = int(os.environ.get("DEVICE_COOKIE_DAYS", 365))
    # Largest request body in bytes (413 above it); routes that take uploads raise their own
    # limit with request_guard.body_limit.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 1024 * 1024))
    # Strict-Transport-Security max-age in seconds; None sends no HSTS header (plain HTTP dev).
    HSTS_SECONDS: int | None = None
    # JSON log lines go to stdout and to this rotating file ("" for stdout only).
    LOG_FILE = os.environ.get("LOG_FILE", str(INSTANCE_DIR / "taskdeck.log"))
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    TASKS_PER_PAGE = 25
    # Lists count their matches up to this many and say "10,000+" beyond (a count never reads
    # more rows than this, however many tasks there are).
    TASKS_TOTAL_BOUND = int(os.environ.get("TASKS_TOTAL_BOUND", 10_000))

    # Enrichment from outside services (see webapp/services/enrichment/).
    ENRICHMENT_ENABLED = env_flag("ENRICHMENT_ENABLED", True)
    GITHUB_API_BASE = os.environ.get("GITHUB_API_BASE", "https://api.github.com")
    GITHUB_TOKEN = os.environ.get("GITHUB_TOKEN") or None
    OPENWEATHER_API_KEY = os.environ.get("OPENWEATHER_API_KEY") or None
    OPENWEATHER_API_BASE = os.environ.get(
        "OPENWEATHER_API_BASE", "https://api.openweathermap.org/data/2.5"
    )
    OPEN_METEO_GEOCODING_BASE = os.environ.get(
        "OPEN_METEO_GEOCODING_BASE", "https://geocoding-api.open-meteo.com/v1"
    )
    OPEN_METEO_FORECAST_BASE = os.environ.get(
        "OPEN_METEO_FORECAST_BASE", "https://api.open-meteo.com/v1"
    )
    ENRICHMENT_CONNECT_TIMEOUT = float(os.environ.get("ENRICHMENT_CONNECT_TIMEOUT", 2))
    ENRICHMENT_READ_TIMEOUT = float(os.environ.get("ENRICHMENT_READ_TIMEOUT", 3))
    ENRICHMENT_RETRIES = 2  # GETs answered 502/503/504 are tried again, with backoff
    ENRICHMENT_RETRY_BACKOFF = 0.5
    REPO_CACHE_SECONDS = 10 * 60
    WEATHER_CACHE_SECONDS = 60 * 60
    NOT_FOUND_CACHE_SECONDS = 5 * 60
    # Lookups at outside services per user (page loads and Refresh together; answers from
    # the cache are free), so one user cannot spend the shared GitHub or weather quota.
    ENRICHMENT_USER_LIMIT = os.environ.get("ENRICHMENT_USER_LIMIT", "30 per minute;300 per hour")

    # JSON API: requests a user may make (all their tokens and their session together), and the
    # browser origins allowed to call it cross-site (comma-separated; none by default).
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "100/minute")
    CORS_ORIGINS = os.environ.get("CORS_ORIGINS", "")

    # Live updates (webapp/live/): every task change is published after its commit, on Redis
    # pub/sub with REDIS_URL (every instance hears it), in process memory without.
    # Off: pages poll instead of holding a stream (gunicorn.conf.py turns streams off for
    # sync workers, where an open stream would hold the whole worker).
    LIVE_STREAMS = env_flag("LIVE_STREAMS", True)
    # Prefix of the live-update keys and the pub/sub channel. Channels are shared by every
    # database number of a Redis server, so deployments (and test runs) sharing one Redis need
    # their own prefix.
    LIVE_KEY_PREFIX = os.environ.get("LIVE_KEY_PREFIX", "taskdeck")
    LIVE_HEARTBEAT_SECONDS = float(os.environ.get("LIVE_HEARTBEAT_SECONDS", 15))
    LIVE_MAX_STREAMS_PER_USER = int(os.environ.get("LIVE_MAX_STREAMS_PER_USER", 10))
    # A stream ends after this long and the client reconnects (with Last-Event-ID, losing
    # nothing): connections spread again over instances after a deploy or a scale-up.
    LIVE_STREAM_MAX_SECONDS = float(os.environ.get("LIVE_STREAM_MAX_SECONDS", 3600))
    # Events kept for catching up: at least the last LIVE_HISTORY_SECONDS and at least the
    # last LIVE_HISTORY_MIN_EVENTS, never more than LIVE_HISTORY_MAX_EVENTS.
    LIVE_HISTORY_SECONDS = int(os.environ.get("LIVE_HISTORY_SECONDS", 600))
    LIVE_HISTORY_MIN_EVENTS = int(os.environ.get("LIVE_HISTORY_MIN_EVENTS", 1000))
    LIVE_HISTORY_MAX_EVENTS = int(os.environ.get("LIVE_HISTORY_MAX_EVENTS", 20_000))
    # Pages: how long to wait for the stream's first message before polling instead (a proxy
    # that buffers the stream delivers nothing), and how often to poll then.
    LIVE_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("LIVE_CONNECT_TIMEOUT_SECONDS", 5))
    LIVE_POLL_SECONDS = float(os.environ.get("LIVE_POLL_SECONDS", 3))
    # Sent as the SSE `retry:` field: how long a client waits before reconnecting.
    LIVE_RETRY_MS = int(os.environ.get("LIVE_RETRY_MS", 2000))

    # Attachments (webapp/services/attachments.py, webapp/services/storage.py): a folder under
    # instance/ unless ATTACHMENTS_S3_BUCKET names a bucket of any S3-compatible store.
    ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    ATTACHMENT_MAX_FILES = int(os.environ.get("ATTACHMENT_MAX_FILES", 20))
    ATTACHMENT_QUOTA_BYTES = int(os.environ.get("ATTACHMENT_QUOTA_BYTES", 200 * 1024 * 1024))
    ATTACHMENTS_DIR = os.environ.get("ATTACHMENTS_DIR") or str(INSTANCE_DIR / "attachments")
    ATTACHMENTS_S3_BUCKET = os.environ.get("ATTACHMENTS_S3_BUCKET") or None
    ATTACHMENTS_S3_PREFIX = os.environ.get("ATTACHMENTS_S3_PREFIX", "")
    ATTACHMENTS_S3_ENDPOINT_URL = os.environ.get("ATTACHMENTS_S3_ENDPOINT_URL") or None
    ATTACHMENTS_S3_REGION = os.environ.get("ATTACHMENTS_S3_REGION") or None
    # Unset: boto3's usual chain (AWS_* variables, shared files, an instance role).
    ATTACHMENTS_S3_ACCESS_KEY_ID = os.environ.get("ATTACHMENTS_S3_ACCESS_KEY_ID") or None
    ATTACHMENTS_S3_SECRET_ACCESS_KEY = os.environ.get("ATTACHMENTS_S3_SECRET_ACCESS_KEY") or None
    ATTACHMENTS_S3_ADDRESSING_STYLE = os.environ.get("ATTACHMENTS_S3_ADDRESSING_STYLE") or None
    ATTACHMENTS_S3_CONNECT_TIMEOUT = float(os.environ.get("ATTACHMENTS_S3_CONNECT_TIMEOUT", 3))
    ATTACHMENTS_S3_READ_TIMEOUT = float(os.environ.get("ATTACHMENTS_S3_READ_TIMEOUT", 30))
    ATTACHMENTS_S3_MAX_ATTEMPTS = int(os.environ.get("ATTACHMENTS_S3_MAX_ATTEMPTS", 3))
    # Prometheus metrics at /metrics (webapp/metrics.py): off unless switched on, and then
    # only for requests that send `Authorization: Bearer <METRICS_TOKEN>`.
    METRICS_ENABLED = env_flag("METRICS_ENABLED", False)
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None


class DevConfig(Config):
    pass


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    # Tests run on an SQLite file by default and on PostgreSQL when TEST_DATABASE_URL is set.
    SQLALCHEMY_DATABASE_URI = database_url_from_env(
        os.environ.get("TEST_DATABASE_URL"), "sqlite:///:memory:"
    )
    # Tests that exercise Redis pass REDIS_URL themselves (from TEST_REDIS_URL).
    REDIS_URL = None
    LOG_FILE = ""  # tests that check the file pass their own path
    RATELIMIT_STORAGE_URI = "memory://"
    CACHE_TYPE = "SimpleCache"
    # No outgoing calls unless a test switches enrichment on against its local fake servers.
    ENRICHMENT_ENABLED = False
    API_RATE_LIMIT = "100/minute"
    # Every API answer is validated against its declared model (webapp/api/spec.py).
    API_CHECK_ANSWERS = True
    CORS_ORIGINS = ""
    # A test client that reads a whole stream gets its end after this long (the live tests
    # that need longer streams set their own).
    LIVE_STREAM_MAX_SECONDS = 0.25
    LIVE_KEY_PREFIX = "taskdeck-test"
    # Tests give each test its own storage (tests/attachments/conftest.py).
    ATTACHMENTS_DIR = None
    ATTACHMENTS_S3_BUCKET = None
    METRICS_ENABLED = False  # tests that need /metrics switch it on with a token


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = env_flag("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", 365 * 24 * 3600))
    # Under gunicorn every worker process would write and rotate the same file, which
    # RotatingFileHandler cannot do safely: production logs go to stdout only unless LOG_FILE
    # names a file (one instance with one worker, say).
    LOG_FILE = os.environ.get("LOG_FILE", "")


def config_from_env() -> type[Config]:
    """Pick the configuration class named by APP_ENV."""
    name = os.environ.get("APP_ENV", "development").strip().lower()
    return {"production": ProductionConfig, "test": TestConfig}.get(name, DevConfig)
