"""gunicorn instances of the app for the live tests: production config (gevent workers),
one PostgreSQL database, one Redis, a key prefix of the test run's own."""

from __future__ import annotations

import os
import secrets

import pytest

from tests.servers import Gunicorn


def require_postgres_and_redis(database_url: str) -> str:
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not database_url.startswith("postgresql") or not redis_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL)")
    return redis_url


class Instances:
    """Start instances sharing one database, one Redis and one secret key."""

    def __init__(self, database_url: str, redis_url: str, **settings):
        self.env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                    "SECRET_KEY": secrets.token_urlsafe(32)}
        self.prefix = f"taskdeck-test-{secrets.token_hex(4)}"
        self.settings = {"LIVE_KEY_PREFIX": self.prefix, "RATELIMIT_KEY_PREFIX": self.prefix,
                         "CACHE_KEY_PREFIX": f"{self.prefix}:", **settings}
        self.started: list[Gunicorn] = []

    def start(self, workers: int = 1, **settings) -> Gunicorn:
        return self.start_many(1, workers, **settings)[0]

    def start_many(self, count: int, workers: int = 1, **settings) -> list[Gunicorn]:
        """Start `count` instances at once (each takes a few seconds to import the app)."""
        values = {**self.settings, **settings}
        spec = "webapp:create_app({})".format(
            ", ".join(f"{name}={value!r}" for name, value in values.items()))
        instances = [Gunicorn(spec, self.env, workers=workers) for _ in range(count)]
        self.started.extend(instances)
        for instance in instances:
            instance.wait_ready(30)
        return instances

    def stop(self) -> None:
        for instance in self.started:
            instance.stop()
