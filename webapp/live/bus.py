"""The event bus: publish after commit, hear every instance's events, catch up after a gap.

Two implementations with one interface:

- `RedisBus` (REDIS_URL set). Publishing is one Lua script that appends the event to a
  Redis stream (the history, trimmed to what LIVE_HISTORY_* keep) and PUBLISHes it with its
  stream id on a channel, atomically: every instance receives the events in stream-id order,
  the same order a catch-up reads them, so a client never sees one twice or out of order.
  Each process holds ONE pub/sub connection (a listener thread, a greenlet under gevent) and
  hands events to its open streams; a thousand streams cost no Redis connection each.
- `MemoryBus` (no Redis): the same, in this process only.

A change committed while Redis is unreachable is not lost: its event waits in a per-process
backlog and is published (with a new id, in order) as soon as Redis answers again. Open
streams end when the listener loses Redis; clients reconnect with Last-Event-ID and catch up.

History and resets: each bus has an *epoch* (the moment its history starts: the bus's
creation, or a Redis that came back empty) and a *floor* (the last event trimmed away). A
client whose Last-Event-ID is older than either may have missed events that no one can replay:
it gets a reset ("re-read everything") instead of a silent gap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from .events import ACCESS_CHANGED, Event, format_event_id, parse_event_id

log = logging.getLogger(__name__)

# What Subscription.get answers once the bus has ended the subscription.
CLOSED = object()


class BusUnavailable(Exception):
    """The bus cannot serve a stream or a catch-up right now (Redis is unreachable)."""


@dataclass(frozen=True)
class HistoryWindow:
    keep_seconds: int
    keep_events: int
    max_events: int


@dataclass(frozen=True)
class History:
    """The answer to "what happened after this id?"."""

    events: list[Event]  # oldest first; empty when no id was given or on a reset
    reset: bool  # the id is older than the kept history (or unknown): re-read everything
    # Where a client that is up to date now stands: a position made from the bus's clock
    # (just below any id the bus can still give), never from an event, so handing it to any
    # client tells nothing about anyone's changes.
    position: str


# --- Subscriptions ---------------------------------------------------------------------------


class Subscription:
    """One open stream's inbox. Events for the user (all events for an admin) arrive here."""

    def __init__(self, registry: Subscribers, user_id: int, sees_all: bool, limit: int):
        self.user_id = user_id
        self.sees_all = sees_all
        self._registry = registry
        self._limit = limit
        self._items: deque[Event] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.overflowed = False

    def deliver(self, event: Event) -> None:
        with self._cond:
            if self._closed:
                return
            if len(self._items) >= self._limit:
                # A client that does not read: end its stream; it catches up on reconnect.
                self.overflowed = True
                self._closed = True
            else:
                self._items.append(event)
            self._cond.notify()

    def end(self) -> None:
        """Ended by the bus (Redis went away): the stream closes after what it holds."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def get(self, timeout: float) -> Event | object | None:
        """The next event, None after `timeout` seconds without one, or CLOSED."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(max(timeout, 0))
            if self._items:
                return self._items.popleft()
            return CLOSED if self._closed else None

    def close(self) -> None:
        """The stream is done with it."""
        self._registry.remove(self)
        with self._cond:
            self._closed = True


class Subscribers:
    """The open subscriptions of this process, indexed by whose events they may receive."""

    def __init__(self, queue_limit: int = 1000):
        self._lock = threading.Lock()
        self._by_user: dict[int, set[Subscription]] = {}
        self._all: set[Subscription] = set()
        self.queue_limit = queue_limit

    def add(self, user_id: int, sees_all: bool) -> Subscription:
        sub = Subscription(self, user_id, sees_all, self.queue_limit)
        with self._lock:
            self._by_user.setdefault(user_id, set()).add(sub)
            if sees_all:
                self._all.add(sub)
        return sub

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            users = self._by_user.get(sub.user_id)
            if users is not None:
                users.discard(sub)
                if not users:
                    del self._by_user[sub.user_id]
            self._all.discard(sub)

    def count(self) -> int:
        with self._lock:
            return sum(len(subs) for subs in self._by_user.values())

    def dispatch(self, event: Event) -> None:
        """Hand the event to the subscriptions that may receive it (the stream checks again)."""
        with self._lock:
            if event.type == ACCESS_CHANGED:
                targets = set(self._by_user.get(event.user_id, ()))
            else:
                targets = set(self._all)
                for owner in {event.owner_id, *event.owner_ids}:
                    targets.update(self._by_user.get(owner, ()))
        for sub in targets:
            sub.deliver(event)

    def end_all(self) -> None:
        with self._lock:
            subs = [sub for users in self._by_user.values() for sub in users]
        for sub in subs:
            sub.end()


# --- Shared helpers --------------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


# The largest sequence number an id may have here: positions end with it.
MAX_SEQUENCE = 10**15 - 1


def position_at(ms: int) -> tuple[int, int]:
    """The position of "now" at `ms`: after every id of earlier milliseconds, before any id
    the bus gives from `ms` on."""
    return ms - 1, MAX_SEQUENCE


def decide_history(after: str | None, events: Iterable[Event], epoch: str | None,
                   floor: str | None, now: int) -> History:
    """Which events a client that last saw `after` is owed, or whether it must reset.

    A reset when `after` is older than the epoch (the history started after it) or than the
    floor (an event after it was trimmed away), or newer than anything this bus can have
    issued by now (an id from elsewhere).
    """
    position = position_at(now)
    after_pair = parse_event_id(after)
    if after_pair is None:
        return History([], False, format_event_id(position))
    start = max(parse_event_id(epoch) or (0, 0), parse_event_id(floor) or (0, 0))
    if after_pair < start or after_pair > (now, MAX_SEQUENCE):
        return History([], True, format_event_id(position))
    return History([e for e in events if e.sort_key > after_pair], False,
                   format_event_id(max(position, after_pair)))


# --- In-process bus --------------------------------------------------------------------------


class MemoryBus:
    """The bus without Redis: one process, its own history."""

    def __init__(self, window: HistoryWindow):
        self.window = window
        self.subscribers = Subscribers()
        self._lock = threading.Lock()
        self._history: deque[Event] = deque()
        self._epoch = format_event_id(position_at(now_ms()))
        self._floor: str | None = None
        self._last = (0, 0)

    def _next_id(self) -> str:
        ms = now_ms()
        last_ms, seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, seq + 1)
        return format_event_id(self._last)

    def publish(self, events: list[Event]) -> list[str]:
        ids = []
        with self._lock:
            for event in events:
                stored = event.with_id(self._next_id())
                self._history.append(stored)
                ids.append(stored.id)
                self.subscribers.dispatch(stored)
            self._trim()
        return ids

    def _trim(self) -> None:
        window = self.window
        cutoff = time.time() - window.keep_seconds
        history = self._history
        while history and (
            len(history) > window.max_events
            or (len(history) > window.keep_events and history[0].time < cutoff)
        ):
            self._floor = history.popleft().id

    def subscribe(self, user_id: int, sees_all: bool) -> Subscription:
        return self.subscribers.add(user_id, sees_all)

    def history(self, after: str | None) -> History:
        with self._lock:
            return decide_history(after, list(self._history), self._epoch, self._floor,
                                  now_ms())

    def position(self) -> str | None:
        """Where a page rendered now stands (its stream starts there)."""
        return self.history(None).position

    def close(self) -> None:
        self.subscribers.end_all()


# --- Redis bus -------------------------------------------------------------------------------

# KEYS: stream, floor, epoch. ARGV: channel, keep events, max events, keep ms, payloads...
PUBLISH_SCRIPT = """
local ids = {}
local ms = 0
for i = 5, #ARGV do
  local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
  ms = tonumber(string.match(id, '^(%d+)'))
  redis.call('SET', KEYS[3], (ms - 1) .. '-999999999999999', 'NX')
  redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[i])
  ids[#ids + 1] = id
end
local keep, cap, age = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local len = redis.call('XLEN', KEYS[1])
if len > keep then
  local old = redis.call('XRANGE', KEYS[1], '-', '(' .. (ms - age) .. '-0', 'COUNT', len - keep)
  local n = #old
  local last = n > 0 and old[n][1] or nil
  if len - n > cap then
    local extra = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - cap)
    n = #extra
    last = extra[n][1]
  end
  if n > 0 then
    redis.call('XTRIM', KEYS[1], 'MAXLEN', len - n)
    redis.call('SET', KEYS[2], last)
  end
end
return ids
"""

# KEYS: stream, floor, epoch. ARGV: after id ("" for none), max events.
HISTORY_SCRIPT = """
local t = redis.call('TIME')
redis.call('SET', KEYS[3], (t[1] * 1000 + math.floor(t[2] / 1000) - 1) .. '-999999999999999',
           'NX')
local epoch = redis.call('GET', KEYS[3])
local floor = redis.call('GET', KEYS[2]) or ''
local entries = {}
if ARGV[1] ~= '' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
end
return {epoch, floor, t[1] .. string.format('%06d', t[2]), entries}
"""


class RedisBus:
    """The bus through Redis: every instance hears every event."""

    # After a failed publish, skip Redis for this long (the event goes to the backlog) instead
    # of spending a socket timeout per write.
    RETRY_SECONDS = 1.0
    BACKLOG_LIMIT = 10_000
    # How often the listener checks that Redis still answers (a silently dead connection
    # would otherwise just look quiet).
    CHECK_SECONDS = 2.0

    def __init__(self, url: str, prefix: str, window: HistoryWindow,
                 connect_wait: float = 5.0):
        import redis

        self.window = window
        self.client = redis.Redis.from_url(url)
        self.stream_key = f"{prefix}:live:events"
        self.keys = [self.stream_key, f"{prefix}:live:floor", f"{prefix}:live:epoch"]
        self.channel = f"{prefix}:live:events"
        self._publish = self.client.register_script(PUBLISH_SCRIPT)
        self._history = self.client.register_script(HISTORY_SCRIPT)
        self.subscribers = Subscribers()
        self._lock = threading.Lock()
        self._backlog: deque[Event] = deque(maxlen=self.BACKLOG_LIMIT)
        self._skip_until = 0.0
        self._flusher: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._connected = threading.Event()
        self._stopped = threading.Event()
        self._connect_wait = connect_wait
        self._lost_redis = False

    # Publishing ----------------------------------------------------------------------------

    def publish(self, events: list[Event]) -> list[str]:
        """Publish now, or keep the events for later if Redis is not answering (never raises)."""
        from redis.exceptions import RedisError

        with self._lock:
            if self._backlog or time.monotonic() < self._skip_until:
                self._keep(events)
                return []
            try:
                return self._run_publish(events)
            except (RedisError, OSError) as error:
                log.warning("live updates: publishing failed (%s); kept for later", error)
                self._skip_until = time.monotonic() + self.RETRY_SECONDS
                self._keep(events)
                return []

    def _run_publish(self, events: list[Event]) -> list[str]:
        window = self.window
        args = [self.channel, window.keep_events, window.max_events,
                window.keep_seconds * 1000, *[e.to_json() for e in events]]
        return [i.decode() if isinstance(i, bytes) else i
                for i in self._publish(keys=self.keys, args=args)]

    def _keep(self, events: list[Event]) -> None:
        if len(self._backlog) + len(events) > self.BACKLOG_LIMIT:
            log.error("live updates: backlog full, dropping the oldest unpublished events")
        self._backlog.extend(events)
        if self._flusher is None or not self._flusher.is_alive():
            self._flusher = threading.Thread(target=self._flush_backlog, daemon=True,
                                             name="live-backlog")
            self._flusher.start()

    def _flush_backlog(self) -> None:
        """Publish the backlog, oldest first, once Redis answers again."""
        from redis.exceptions import RedisError

        while not self._stopped.is_set():
            with self._lock:
                if not self._backlog:
                    return
                batch = list(self._backlog)[:100]
                try:
                    self._run_publish(batch)
                except (RedisError, OSError):
                    pass
                else:
                    for _ in batch:
                        self._backlog.popleft()
                    self._skip_until = 0.0
                    log.info("live updates: published %d kept events", len(batch))
                    continue
            self._stopped.wait(self.RETRY_SECONDS)

    def backlog_size(self) -> int:
        return len(self._backlog)

    # History ------------------------------------------------------------------------------

    def history(self, after: str | None) -> History:
        from redis.exceptions import RedisError

        try:
            epoch, floor, micros, entries = self._history(
                keys=self.keys, args=[after or "", self.window.max_events])
        except (RedisError, OSError) as error:
            raise BusUnavailable(str(error)) from error
        events = [Event.from_json(dict(_pairs(fields))[b"e"], _text(entry_id))
                  for entry_id, fields in entries]
        # Redis's clock, the one that makes the stream ids.
        now = int(_text(micros)) // 1000
        return decide_history(after, events, _text(epoch), _text(floor) or None, now)

    def position(self) -> str | None:
        """Where a page rendered now stands; None when Redis is unreachable."""
        try:
            return self.history(None).position
        except BusUnavailable:
            return None

    # Listening ----------------------------------------------------------------------------

    def subscribe(self, user_id: int, sees_all: bool) -> Subscription:
        self._start_listener()
        # A worker's first stream waits for its listener to connect (seconds on a busy
        # machine); once the listener has lost Redis, refuse at once instead.
        wait = 0 if self._lost_redis else self._connect_wait
        if not self._connected.wait(wait):
            raise BusUnavailable("not connected to Redis")
        return self.subscribers.add(user_id, sees_all)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _start_listener(self) -> None:
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen, daemon=True,
                                                  name="live-listener")
                self._listener.start()

    def _listen(self) -> None:
        """Hold one pub/sub connection and hand every event to this process's streams."""
        from redis.exceptions import RedisError

        backoff = 0.1
        while not self._stopped.is_set():
            pubsub = self.client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                # Streams may rely on the bus only once Redis has confirmed the subscription:
                # an event published before that would reach their history read but not them.
                deadline = time.monotonic() + 5
                while (message := pubsub.get_message(timeout=0.5)) is None or \
                        message.get("type") != "subscribe":
                    if time.monotonic() > deadline:
                        raise OSError("no subscription confirmation from Redis")
                self.client.ping()
                self._connected.set()
                self._lost_redis = False
                backoff = 0.1
                log.info("live updates: listening on Redis")
                next_check = time.monotonic() + self.CHECK_SECONDS
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message.get("type") == "message":
                        self._dispatch(message["data"])
                    if time.monotonic() >= next_check:
                        self.client.ping()  # a blackholed Redis times out here
                        next_check = time.monotonic() + self.CHECK_SECONDS
            except (RedisError, OSError) as error:
                if self._connected.is_set():
                    log.warning("live updates: lost Redis (%s); ending open streams", error)
                self._connected.clear()
                self._lost_redis = True
                self.subscribers.end_all()
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                try:
                    pubsub.close()
                except Exception:  # noqa: S110 (the connection is already gone)
                    pass

    def _dispatch(self, data: bytes | str) -> None:
        text = _text(data)
        event_id, _, body = text.partition(" ")
        try:
            event = Event.from_json(body, event_id)
        except (ValueError, KeyError):
            log.warning("live updates: ignored a malformed message on %s", self.channel)
            return
        self.subscribers.dispatch(event)

    def close(self) -> None:
        self._stopped.set()
        self.subscribers.end_all()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


def _pairs(flat):
    return zip(flat[::2], flat[1::2], strict=True)
