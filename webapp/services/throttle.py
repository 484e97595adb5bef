"""Budgets that are spent before the work they protect: reserve, then check, atomically.

A budget ("5 per minute" per client address, "30 per minute" per user, ...) is a counter per
key and window. `reserve()` increments the counter first and compares afterwards, in one step
of the storage (a Lua script in Redis, a lock in process memory), so of any number of requests
arriving together at most the limit get through: the others see a count above it and are
refused with `Throttled` (429 and Retry-After). A refused reservation is taken back at once.
Work that turns out not to count (a successful login) `refund()`s its reservation.

Failed-login throttling uses Flask-Limiter's decorators no more: they test the limit before
the view and count after it, so every request in flight passed (40 simultaneous attempts had
16-20 passwords checked against a limit of 5).

Storage: the rate limiter's (Redis when REDIS_URL is set, so every process and instance
shares one count; process memory otherwise). When Redis fails, counting falls back to process
memory for `RETRY_REDIS_AFTER` seconds, with a warning in the log, as the rate limiter does.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass, field

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage

from ..extensions import limiter
from .errors import Throttled

log = logging.getLogger("webapp.throttle")

RETRY_REDIS_AFTER = 5.0
# MemoryStorage.incr reads its result outside its own lock: ours makes increment-and-read one
# step, so two threads can never both see a count within the limit for one free place.
_memory_lock = threading.Lock()


@dataclass(frozen=True)
class Budget:
    """A named limit whose value (e.g. "5 per minute", or several joined by ";") is read from
    the configuration setting `setting` on every use, so tests and operators can change it."""

    name: str
    setting: str
    message: str = "Too many attempts. Wait a little, then try again."

    def limits(self) -> list[RateLimitItem]:
        return parse_many(current_app.config[self.setting])


@dataclass
class Reservation:
    """Places taken in a budget's windows; `refund()` gives them back (once)."""

    budget: Budget
    key: str
    _entries: list[tuple[str, int]] = field(default_factory=list)  # (storage key, expiry)

    def refund(self) -> None:
        entries, self._entries = self._entries, []
        for storage_key, expiry in entries:
            _counters().add(storage_key, expiry, -1)


def reserve(budget: Budget, key: str) -> Reservation:
    """Take one place in every window of the budget for `key`, or raise Throttled.

    The count is incremented before it is compared, so concurrent callers cannot all pass.
    """
    reservation = Reservation(budget, key)
    counters = _counters()
    for item in budget.limits():
        storage_key = _storage_key(item, budget.name, key)
        count = counters.add(storage_key, item.get_expiry(), 1)
        reservation._entries.append((storage_key, item.get_expiry()))
        if count > item.amount:
            retry_after = counters.seconds_left(storage_key)
            reservation.refund()
            raise Throttled(retry_after, budget.message, budget.name)
    return reservation


def once_per_window(name: str, key: str, seconds: int) -> bool:
    """True for the first caller in each `seconds`-long window (alerts are sent once)."""
    return _counters().add(_prefixed(f"once/{name}/{key}"), seconds, 1) == 1


def _prefixed(key: str) -> str:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return f"{prefix}/{key}" if prefix else key


def _storage_key(item: RateLimitItem, name: str, key: str) -> str:
    return _prefixed(item.key_for("taskdeck", name, key))


class _Counters:
    """Counters in the rate limiter's storage, falling back to process memory while it fails."""

    def __init__(self, primary: Storage):
        self.primary = primary
        self.fallback = MemoryStorage()
        self.skip_primary_until = 0.0
        self.failing = False  # since the last failure, no call to the primary has succeeded
        self.lock = threading.Lock()

    def _storage(self) -> Storage:
        return self.fallback if time.monotonic() < self.skip_primary_until else self.primary

    def _call(self, operation, *args):
        storage = self._storage()
        if storage is not self.fallback:
            try:
                result = _run(storage, operation, *args)
            except Exception as error:  # noqa: BLE001 (any storage failure: count in memory)
                with self.lock:
                    newly_failing, self.failing = not self.failing, True
                    self.skip_primary_until = time.monotonic() + RETRY_REDIS_AFTER
                if newly_failing:  # once per outage, not once per retry
                    log.warning(
                        "rate-limit storage unreachable (%s); counting in this process's "
                        "memory, trying again every %.0f s: each process now allows the "
                        "full limit", type(error).__name__, RETRY_REDIS_AFTER,
                        extra={"event": "throttle_storage_fallback"},
                    )
            else:
                if self.failing:
                    with self.lock:
                        recovered, self.failing = self.failing, False
                    if recovered:
                        log.warning("rate-limit storage reachable again; counting there",
                                    extra={"event": "throttle_storage_recovered"})
                return result
        return _run(self.fallback, operation, *args)

    def add(self, storage_key: str, expiry: int, amount: int) -> int:
        """Add to the counter (starting its window when new); the count afterwards."""
        return self._call("incr", storage_key, expiry, amount)

    def seconds_left(self, storage_key: str) -> int:
        """Whole seconds until the counter's window ends (at least 1)."""
        reset_at = self._call("get_expiry", storage_key)
        return max(1, math.ceil(reset_at - time.time()))


def _run(storage: Storage, operation: str, *args):
    if isinstance(storage, MemoryStorage):
        with _memory_lock:
            return getattr(storage, operation)(*args)
    return getattr(storage, operation)(*args)


# One set of counters per storage object: the rate limiter replaces its storage when an app
# is initialised, and the fallback state belongs to that storage.
_counters_by_storage: weakref.WeakKeyDictionary[Storage, _Counters] = weakref.WeakKeyDictionary()
_counters_lock = threading.Lock()
# With RATELIMIT_ENABLED=False the rate limiter opens no storage at all (its `storage` fails an
# assertion): the login budgets still hold, counted in this process's memory.
_storage_when_limiter_off = MemoryStorage()


def _counters() -> _Counters:
    if current_app.config.get("RATELIMIT_ENABLED", True):
        storage = limiter.storage
    else:
        storage = _storage_when_limiter_off
    with _counters_lock:
        counters = _counters_by_storage.get(storage)
        if counters is None:
            counters = _counters_by_storage[storage] = _Counters(storage)
        return counters
