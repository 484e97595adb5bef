"""The Redis bus between instances: every bus hears every event in stream-id order, the
history catches a client up (or tells it to reset), and Redis going away never raises."""

from __future__ import annotations

import os
import secrets
import threading
import time

import pytest

from webapp.live.bus import CLOSED, BusUnavailable, HistoryWindow, RedisBus
from webapp.live.counter import RedisStreamCounter
from webapp.live.events import Event

from .redis_server import RedisServer

WINDOW = HistoryWindow(keep_seconds=600, keep_events=1000, max_events=20_000)


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: this test needs a Redis server")
    return url


@pytest.fixture
def make_bus(redis_url):
    prefix = f"taskdeck-test-{secrets.token_hex(4)}"
    made: list[RedisBus] = []

    def _make(window: HistoryWindow = WINDOW, url: str = redis_url) -> RedisBus:
        made.append(RedisBus(url, prefix, window))
        return made[-1]

    yield _make
    for bus in made:
        bus.close()
        try:
            bus.client.delete(*bus.keys)
        except Exception:  # noqa: S110 (a test's own Redis, already stopped)
            pass


def task_event(task_id: int, owner: int = 1, kind: str = "task.updated") -> Event:
    return Event(type=kind, task_id=task_id, owner_id=owner, owner_ids=(owner,), version=1,
                 time=1.0)


def drain(sub, count: int, timeout: float = 5.0) -> list[Event]:
    got = []
    while len(got) < count:
        item = sub.get(timeout)
        assert item is not None and item is not CLOSED, f"got {len(got)} of {count}"
        got.append(item)
    return got


def test_an_event_published_on_one_instance_reaches_the_other(make_bus):
    first, second = make_bus(), make_bus()
    sub = second.subscribe(user_id=1, sees_all=False)

    ids = first.publish([task_event(10), task_event(11)])

    received = drain(sub, 2)
    assert [e.id for e in received] == ids
    assert [e.task_id for e in received] == [10, 11]
    assert [e.id for e in second.history(None).events] == []
    assert [e.task_id for e in second.history("0-1").events] == []  # reset: older than epoch
    assert second.history("0-1").reset is True


def test_concurrent_publishers_are_heard_in_history_order(make_bus):
    publishers = [make_bus(), make_bus()]
    listener = make_bus()
    sub = listener.subscribe(user_id=1, sees_all=True)
    start = listener.position()
    barrier = threading.Barrier(4)

    def publish(bus, base):
        barrier.wait()
        for n in range(25):
            bus.publish([task_event(base + n)])

    threads = [threading.Thread(target=publish, args=(publishers[i % 2], 1000 * i))
               for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    heard = drain(sub, 100)
    assert [e.id for e in heard] == [e.id for e in listener.history(start).events]
    keys = [e.sort_key for e in heard]
    assert keys == sorted(keys) and len(set(keys)) == 100


def test_history_keeps_the_minimum_and_resets_clients_older_than_the_trim(make_bus):
    bus = make_bus(HistoryWindow(keep_seconds=0, keep_events=5, max_events=10))
    ids = [bus.publish([task_event(n)])[0] for n in range(20)]

    kept = bus.history(ids[-6])
    assert kept.reset is False and [e.task_id for e in kept.events] == list(range(15, 20))
    assert bus.history(ids[2]).reset is True  # its successors were trimmed away
    assert bus.client.xlen(bus.stream_key) >= 5


def test_an_emptied_redis_makes_old_positions_reset(make_bus):
    bus = make_bus()
    seen = bus.publish([task_event(1)])[0]
    for key in bus.keys:  # what a restart without persistence leaves
        bus.client.delete(key)
    time.sleep(0.01)  # a restart takes longer than the millisecond of the last id

    assert bus.history(seen).reset is True
    position = bus.history(None).position
    bus.publish([task_event(2)])
    assert [e.task_id for e in bus.history(position).events] == [2]


def test_publishing_without_redis_keeps_the_events_until_it_answers(make_bus):
    server = RedisServer()
    try:
        bus = make_bus(url=server.url)
        listener = make_bus(url=server.url)
        position = listener.position()
        server.stop()

        assert bus.publish([task_event(1), task_event(2)]) == []  # no exception
        assert bus.backlog_size() == 2
        with pytest.raises(BusUnavailable):
            bus.history(position)

        server.start()  # empty again: the epoch moves, the kept events are published
        for _ in range(100):
            if bus.backlog_size() == 0:
                break
            threading.Event().wait(0.1)
        assert bus.backlog_size() == 0
        stored = bus.client.xrange(bus.stream_key)
        assert [Event.from_json(fields[b"e"]).task_id for _, fields in stored] == [1, 2]
        # A client from before the restart cannot know what the empty Redis forgot: reset.
        assert listener.history(position).reset is True
    finally:
        server.close()


def test_stream_leases_are_counted_atomically_and_expire(make_bus):
    bus = make_bus()
    counter = RedisStreamCounter(bus.client, f"test-{secrets.token_hex(4)}", limit=3,
                                 ttl_seconds=0.5)
    barrier = threading.Barrier(8)
    taken = []

    def take():
        barrier.wait()
        taken.append(counter.acquire(42))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert sum(lease is not None for lease in taken) == 3
    assert counter.acquire(42) is None
    threading.Event().wait(0.6)  # nobody renewed: the leases of a dead worker expire
    assert counter.acquire(42) is not None
