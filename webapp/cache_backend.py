"""A Redis cache for Flask-Caching that a Redis outage cannot turn into failed pages.

A cache is an optimisation: when Redis is down or silently dropping packets, every call
answers "not cached" at once and the page is computed from the database. After an error the
cache leaves Redis alone for `RETRY_AFTER` seconds, so a blackholed Redis costs one socket
timeout every few seconds per process rather than one per cache call.
"""

from __future__ import annotations

import logging
import time
from functools import wraps

from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0
# What each operation answers while Redis is unavailable: a miss, or "not done".
FALLBACKS = {
    "get": None, "get_many": None, "get_dict": None, "set": False, "set_many": [],
    "add": False, "delete": False, "delete_many": [], "has": False, "clear": False,
    "inc": None, "dec": None, "unlink": None,
}


def _guarded(name: str):
    method = getattr(RedisCache, name)
    fallback = FALLBACKS[name]

    @wraps(method)
    def guarded(self, *args, **kwargs):
        if time.monotonic() < self._skip_until:
            return _fallback_for(name, fallback, args)
        try:
            return method(self, *args, **kwargs)
        except RedisError as error:
            self._skip_until = time.monotonic() + RETRY_AFTER
            log.warning("Redis cache unavailable (%s); skipping it for %.0f s", error, RETRY_AFTER)
            return _fallback_for(name, fallback, args)

    return guarded


def _fallback_for(name: str, fallback, args):
    if name == "get_many":
        return [None] * len(args)
    if name == "get_dict":
        return dict.fromkeys(args)
    return fallback


class SafeRedisCache(RedisCache):
    """RedisCache whose operations turn Redis errors into cache misses."""

    _skip_until = 0.0


for _name in FALLBACKS:
    setattr(SafeRedisCache, _name, _guarded(_name))
