"""The rate limiter's Redis storage, one round trip per counted request.

With limits' own RedisStorage an API request cost three Redis round trips: the counting script
(INCRBY and EXPIRE), then GET and TTL for the X-RateLimit-Remaining and -Reset headers that
Flask-Limiter adds (its `get_window_stats`), both asking what the script had just learnt. Here
the script also returns the key's TTL, and the count and expiry it returned are remembered
for the rest of the request (in `flask.g`), so the headers are answered from them: one round
trip. A read of a key this request did not count goes to Redis as before.

The remembered values are those right after this request's own increment, which is what the
headers describe; another request's increment in between would only be visible to it.

Used through the URL scheme `taskdeck+redis://` (or `taskdeck+rediss://`), which
webapp/config.py gives the rate limiter when REDIS_URL is set; importing this module
registers the scheme with limits.
"""

from __future__ import annotations

import time

from flask import g, has_app_context
from limits.storage import RedisStorage

SCHEME_PREFIX = "taskdeck+"

# INCRBY, EXPIRE on a new window (as limits' incr_expire.lua), and the TTL, in one call.
_INCR_EXPIRE_TTL = """
local current = redis.call("incrby", KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("ttl", KEYS[1])}
"""


def _seen() -> dict[str, tuple[int, float]] | None:
    """This request's counted keys: key -> (count, expiry as a Unix time)."""
    if not has_app_context():
        return None
    if "_rate_limit_counts" not in g:
        g._rate_limit_counts = {}
    return g._rate_limit_counts


class OneTripRedisStorage(RedisStorage):
    """RedisStorage whose `incr` also learns the expiry, so the headers need no round trip."""

    STORAGE_SCHEME = [SCHEME_PREFIX + "redis", SCHEME_PREFIX + "rediss"]

    def __init__(self, uri: str, **options):
        super().__init__(uri.removeprefix(SCHEME_PREFIX), **options)

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_incr_expire_ttl = self.get_connection().register_script(_INCR_EXPIRE_TTL)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count, ttl = self.lua_incr_expire_ttl([self.prefixed_key(key)], [expiry, amount])
        seen = _seen()
        if seen is not None:
            seen[key] = (int(count), max(int(ttl), 0) + time.time())
        return int(count)

    def get(self, key: str) -> int:
        known = (_seen() or {}).get(key)
        return known[0] if known else super().get(key)

    def get_expiry(self, key: str) -> float:
        known = (_seen() or {}).get(key)
        return known[1] if known else super().get_expiry(key)

    def clear(self, key: str) -> None:
        (_seen() or {}).pop(key, None)
        super().clear(key)
