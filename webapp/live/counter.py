"""How many streams each user has open: at most LIVE_MAX_STREAMS_PER_USER, across instances.

Each open stream holds a *lease* that its heartbeats renew. With Redis the leases of a user
are one sorted set (member: the lease, score: when it expires) and taking one is a Lua script,
so concurrent opens on any number of instances cannot exceed the limit; a worker that dies
with streams open leaves leases that simply expire. Without Redis the count is per process.
"""

from __future__ import annotations

import secrets
import threading
import time

from .bus import BusUnavailable

# KEYS: the user's set. ARGV: lease, limit, ttl ms. Returns 1 when the lease was taken.
ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

# KEYS: the user's set. ARGV: lease, ttl ms. Renews a lease that still exists.
RENEW_SCRIPT = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 1
"""


class Lease:
    """One open stream's place in its user's count."""

    def __init__(self, counter, user_id: int, lease_id: str):
        self.counter = counter
        self.user_id = user_id
        self.id = lease_id

    def renew(self) -> None:
        self.counter.renew(self)

    def release(self) -> None:
        self.counter.release(self)


class MemoryStreamCounter:
    """Leases in this process's memory (no Redis)."""

    def __init__(self, limit: int, ttl_seconds: float):
        self.limit = limit
        self.ttl = ttl_seconds
        self._lock = threading.Lock()
        self._leases: dict[int, dict[str, float]] = {}

    def acquire(self, user_id: int) -> Lease | None:
        now = time.monotonic()
        with self._lock:
            leases = self._leases.setdefault(user_id, {})
            for lease_id in [k for k, expiry in leases.items() if expiry <= now]:
                del leases[lease_id]
            if len(leases) >= self.limit:
                return None
            lease_id = secrets.token_hex(8)
            leases[lease_id] = now + self.ttl
        return Lease(self, user_id, lease_id)

    def renew(self, lease: Lease) -> None:
        with self._lock:
            leases = self._leases.get(lease.user_id, {})
            if lease.id in leases:
                leases[lease.id] = time.monotonic() + self.ttl

    def release(self, lease: Lease) -> None:
        with self._lock:
            leases = self._leases.get(lease.user_id, {})
            leases.pop(lease.id, None)
            if not leases:
                self._leases.pop(lease.user_id, None)


class RedisStreamCounter:
    """Leases in Redis, shared by every instance."""

    def __init__(self, client, prefix: str, limit: int, ttl_seconds: float):
        self.client = client
        self.prefix = prefix
        self.limit = limit
        self.ttl_ms = int(ttl_seconds * 1000)
        self._acquire = client.register_script(ACQUIRE_SCRIPT)
        self._renew = client.register_script(RENEW_SCRIPT)

    def key(self, user_id: int) -> str:
        return f"{self.prefix}:live:streams:{user_id}"

    def acquire(self, user_id: int) -> Lease | None:
        from redis.exceptions import RedisError

        lease_id = secrets.token_hex(8)
        try:
            taken = self._acquire(keys=[self.key(user_id)],
                                  args=[lease_id, self.limit, self.ttl_ms])
        except (RedisError, OSError) as error:
            raise BusUnavailable(str(error)) from error
        return Lease(self, user_id, lease_id) if taken == 1 else None

    def renew(self, lease: Lease) -> None:
        from redis.exceptions import RedisError

        try:
            self._renew(keys=[self.key(lease.user_id)], args=[lease.id, self.ttl_ms])
        except (RedisError, OSError):
            pass  # the listener notices too and ends the stream; the lease expires by itself

    def release(self, lease: Lease) -> None:
        from redis.exceptions import RedisError

        try:
            self.client.zrem(self.key(lease.user_id), lease.id)
        except (RedisError, OSError):
            pass  # expires by itself
