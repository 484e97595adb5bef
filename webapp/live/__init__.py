"""Live updates: an event after every committed task change, heard by every instance, sent to
open pages (/live/events, or /live/poll where a stream cannot get through) and to scripts
(/api/events, /api/ws; see webapp/api/events.py). See the README, "Live updates"."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from flask import Flask

from .bus import HistoryWindow, MemoryBus, RedisBus
from .counter import MemoryStreamCounter, RedisStreamCounter
from .streams import CredentialChecks

EXTENSION_KEY = "taskdeck_live"
# Every bus of this process, so that a worker told to stop can end its open streams.
_buses: weakref.WeakSet = weakref.WeakSet()


def end_all_streams() -> None:
    """End every open stream of this process now (a worker shutting down): clients reconnect,
    to another worker or instance, and catch up from their Last-Event-ID."""
    for bus in list(_buses):
        bus.subscribers.end_all()


@dataclass
class Live:
    """The app's bus and stream counter (one per process; workers build their own)."""

    bus: MemoryBus | RedisBus
    counter: MemoryStreamCounter | RedisStreamCounter
    checks: CredentialChecks


def init_live(app: Flask) -> Live:
    """Create the bus for this process and register the session hooks and the page routes."""
    from . import hooks  # noqa: F401  (registers the SQLAlchemy session listeners)
    from .views import bp, register_template_helpers

    config = app.config
    window = HistoryWindow(
        keep_seconds=config["LIVE_HISTORY_SECONDS"],
        keep_events=config["LIVE_HISTORY_MIN_EVENTS"],
        max_events=config["LIVE_HISTORY_MAX_EVENTS"],
    )
    # A lease outlives two missed heartbeats (a Redis blip): a worker that died with streams
    # open gives their places back within three heartbeats.
    lease_seconds = 3 * config["LIVE_HEARTBEAT_SECONDS"]
    prefix = config["LIVE_KEY_PREFIX"]
    limit = config["LIVE_MAX_STREAMS_PER_USER"]
    if config.get("REDIS_URL"):
        bus = RedisBus(config["REDIS_URL"], prefix, window)
        counter = RedisStreamCounter(bus.client, prefix, limit, lease_seconds)
    else:
        bus = MemoryBus(window)
        counter = MemoryStreamCounter(limit, lease_seconds)
    live = Live(bus, counter, CredentialChecks())
    _buses.add(bus)
    app.extensions[EXTENSION_KEY] = live
    app.register_blueprint(bp)
    register_template_helpers(app)
    return live
