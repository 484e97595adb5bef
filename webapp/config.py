"""Configuration classes, read from environment variables.

`APP_ENV` picks the class: `production`, `test` or anything else for development.
"""

import os
from datetime import timedelta
from pathlib import Path

DEV_SECRET_KEY = "dev-only-insecure-key"  # noqa: S105 (refused in production)
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def database_url_from_env(url: str | None, default: str) -> str:
    """Return an SQLAlchemy URL, mapping plain PostgreSQL URLs to the psycopg 3 driver."""
    url = (url or "").strip() or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def env_flag(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = database_url_from_env(
        os.environ.get("DATABASE_URL"), f"sqlite:///{INSTANCE_DIR / 'taskdeck.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None

    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
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
    # Failed logins per client IP, attempts per username, registrations per client IP.
    LOGIN_IP_LIMIT = os.environ.get("LOGIN_IP_LIMIT", "5 per minute")
    LOGIN_USERNAME_LIMIT = os.environ.get("LOGIN_USERNAME_LIMIT", "20 per hour")
    REGISTER_LIMIT = os.environ.get("REGISTER_LIMIT", "10 per hour")
    # Strict-Transport-Security max-age in seconds; None sends no HSTS header (plain HTTP dev).
    HSTS_SECONDS: int | None = None
    # JSON log lines go to stdout and to this rotating file ("" for stdout only).
    LOG_FILE = os.environ.get("LOG_FILE", str(INSTANCE_DIR / "taskdeck.log"))
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    TASKS_PER_PAGE = 25


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


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = env_flag("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", 365 * 24 * 3600))


def config_from_env() -> type[Config]:
    """Pick the configuration class named by APP_ENV."""
    name = os.environ.get("APP_ENV", "development").strip().lower()
    return {"production": ProductionConfig, "test": TestConfig}.get(name, DevConfig)
