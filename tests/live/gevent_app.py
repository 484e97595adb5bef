"""The app with a few probe routes that wait on each library we use, for
test_gevent.py: under gunicorn's gevent worker a waiting request must not hold the others."""

from __future__ import annotations

import os
import time

import redis
import requests
import sqlalchemy as sa
from flask import jsonify

from webapp import create_app
from webapp.extensions import db


def create(**overrides):
    app = create_app(**overrides)

    @app.get("/_probe/modules")
    def modules():
        import psycopg.waiting
        from gevent import monkey

        names = ("socket", "ssl", "select", "threading", "time", "queue", "subprocess")
        return jsonify({
            "patched": {name: monkey.is_module_patched(name) for name in names},
            "psycopg_wait": psycopg.waiting.wait.__name__,
        })

    @app.get("/_probe/sleep")
    def sleep():
        time.sleep(1)
        return "slept"

    @app.get("/_probe/postgres")
    def postgres():
        db.session.execute(sa.text("SELECT pg_sleep(1)"))
        db.session.rollback()
        return "waited"

    @app.get("/_probe/redis")
    def redis_wait():
        client = redis.Redis.from_url(os.environ["PROBE_REDIS_URL"], socket_timeout=5)
        client.blpop([f"probe-{time.time_ns()}"], timeout=1)  # waits 1 s on the server
        return "waited"

    @app.get("/_probe/http")
    def http_wait():
        return requests.get(os.environ["PROBE_SLOW_URL"], timeout=5).text

    return app
