"""An open stream of events for one viewer: authorised when it opens, counted against the
viewer's stream limit, caught up from Last-Event-ID, kept alive by heartbeats, and ended when
its credentials stop being good, when the bus loses Redis, or after LIVE_STREAM_MAX_SECONDS.

The stream holds no database connection while it waits: each check or read of a task uses the
session briefly and releases it (a thousand idle streams hold a pool of ten).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import current_app

from ..extensions import db
from ..services.permissions import can
from .bus import CLOSED, BusUnavailable, History, Subscription
from .events import ACCESS_CHANGED, Event, parse_event_id


class TooManyStreams(Exception):
    """The viewer already has LIVE_MAX_STREAMS_PER_USER streams open."""


@dataclass(frozen=True)
class Viewer:
    """Who a stream serves, as they were when it opened: plain values, so the stream needs no
    database session to decide what they may receive. Quacks like a User for `can()`."""

    id: int
    role: str
    session_version: int | None = None  # streams opened by a browser session
    token_id: int | None = None  # streams opened with an API token
    # Names the credentials beyond their ids (the token's hash, the account's creation time),
    # so a shared check can never be about another row that got the same id.
    credentials: str = ""
    is_active: bool = True
    is_authenticated: bool = True

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def of(cls, user, token=None) -> Viewer:
        return cls(id=user.id, role=user.role,
                   session_version=None if token is not None else user.session_version,
                   token_id=token.id if token is not None else None,
                   credentials=token.token_hash if token is not None
                   else user.created_at.isoformat())


@dataclass(frozen=True)
class _Owned:
    """A task as far as the access rule needs it: its owner."""

    owner_id: int | None


def event_type_for(viewer: Viewer, event: Event) -> str | None:
    """The event as this viewer may see it, decided by the one access rule (`can`): the event
    itself when the task is theirs to see (an admin sees all), `task.deleted` when it was
    theirs and now belongs to someone else (it left their view), None otherwise."""
    if not event.is_task_event:
        return None
    if can(viewer, "view", _Owned(event.owner_id)):
        return event.type
    if any(can(viewer, "view", _Owned(owner)) for owner in event.owner_ids):
        return "task.deleted"
    return None


class CredentialChecks:
    """Recent answers to "are these credentials still good?", shared by a process's streams."""

    def __init__(self):
        self._lock = threading.Lock()
        self._answers: dict[tuple, tuple[float, bool]] = {}

    def check(self, key: tuple, ask, ttl: float, fresh: bool = False) -> bool:
        now = time.monotonic()
        if not fresh:
            with self._lock:
                cached = self._answers.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        answer = ask()
        with self._lock:
            if len(self._answers) > 10_000:  # forget stale ones now and then
                self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
            self._answers[key] = (now + ttl, answer)
        return answer


# What Stream.messages yields besides (event, type) pairs.
HEARTBEAT = "heartbeat"
RESET = "reset"


class Stream:
    """One viewer's stream. `open()` may raise TooManyStreams or BusUnavailable."""

    def __init__(self, viewer: Viewer, last_event_id: str | None,
                 still_authorised: Callable[[], bool]):
        config = current_app.config
        live = current_app.extensions["taskdeck_live"]
        self.viewer = viewer
        self.live = live
        self.after = last_event_id
        self.still_authorised = still_authorised
        self.heartbeat = float(config["LIVE_HEARTBEAT_SECONDS"])
        self.max_seconds = float(config["LIVE_STREAM_MAX_SECONDS"])
        self.subscription: Subscription | None = None
        self.lease = None
        self.history: History | None = None

    def open(self) -> Stream:
        if not current_app.config["LIVE_STREAMS"]:
            raise BusUnavailable("live streams are switched off on this server")
        self.lease = self.live.counter.acquire(self.viewer.id)
        if self.lease is None:
            raise TooManyStreams()
        try:
            # Subscribe first, then read the history: an event published in between is in
            # both, and the stream skips what it has already sent (ids only grow).
            self.subscription = self.live.bus.subscribe(self.viewer.id, self.viewer.is_admin)
            self.history = self.live.bus.history(self.after)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self.subscription is not None:
            self.subscription.close()
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    def messages(self) -> Iterator[tuple[Event, str] | tuple[str, str | None]]:
        """(event, type as the viewer sees it) for each event, in id order and once each;
        (RESET, position) first when the history cannot fill the gap since Last-Event-ID;
        (HEARTBEAT, None) every LIVE_HEARTBEAT_SECONDS. Ends when the stream should."""
        try:
            history = self.history
            if history.reset:
                yield RESET, history.position
            last = parse_event_id(history.position if history.reset else self.after) or (0, 0)
            for event in history.events:
                seen = event_type_for(self.viewer, event)
                if seen is not None:
                    yield event, seen
                last = max(last, event.sort_key)
            started = time.monotonic()
            # The first beat comes a little early, at a random point: streams opened together
            # (a reconnect storm after a deploy) do not all check their credentials and renew
            # their leases in the same instant afterwards.
            next_beat = started + self.heartbeat * random.uniform(0.5, 1.0)
            while True:
                now = time.monotonic()
                if now - started >= self.max_seconds:
                    return
                item = self.subscription.get(min(next_beat, started + self.max_seconds) - now)
                if item is CLOSED:
                    return
                if item is None:
                    if time.monotonic() >= next_beat:
                        if not self._check():
                            return
                        self.lease.renew()
                        yield HEARTBEAT, None
                        next_beat = time.monotonic() + self.heartbeat
                    continue
                if item.type == ACCESS_CHANGED:
                    if item.user_id == self.viewer.id and item.token_id in (
                            None, self.viewer.token_id) and not self._check(fresh=True):
                        return
                    continue
                if item.sort_key <= last:
                    continue  # already sent from the history
                last = item.sort_key
                seen = event_type_for(self.viewer, item)
                if seen is not None:
                    yield item, seen
        finally:
            self.close()

    def _check(self, fresh: bool = False) -> bool:
        """Whether the credentials that opened the stream are still good (and give the same
        rights: a changed role ends the stream, whose reconnection gets the new ones).

        The answer is shared for half a heartbeat by the streams of the same credentials in
        this process (a user with ten tabs costs one query per beat, not ten); an access
        event asks the database afresh."""
        return self.live.checks.check(self.credentials_key, self._ask_database,
                                      self.heartbeat / 2, fresh)

    def _ask_database(self) -> bool:
        try:
            return self.still_authorised()
        finally:
            db.session.remove()  # no connection held between checks

    @property
    def credentials_key(self) -> tuple:
        viewer = self.viewer
        return (viewer.id, viewer.role, viewer.session_version, viewer.token_id,
                viewer.credentials)


def parse_last_event_id(header: str | None, query: str | None) -> str | None:
    """Last-Event-ID from the header (a reconnecting EventSource sends it) or the `after`
    query parameter (a page's first connection, a script's choice); ValueError if malformed."""
    value = header if header not in (None, "") else query
    if value in (None, ""):
        return None
    parse_event_id(value)
    return value.strip()


def sse(event: str, data: str, event_id: str | None = None) -> str:
    """One server-sent event message."""
    lines = [f"id: {event_id}"] if event_id else []
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx (and proxies that honour it) pass the stream through instead of buffering it.
    "X-Accel-Buffering": "no",
}
