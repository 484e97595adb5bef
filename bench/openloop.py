"""Open-loop load (issue 15): many users, each sending requests on a fixed schedule whether or
not the server kept up, with latency measured from the scheduled send time.

wrk is closed-loop: a connection sends its next request only when the last one came back, so
a slow server is sent less and its queueing never shows (coordinated omission). Here each user
is a thread with its own keep-alive connection and token; its k-th request is due at
start + offset + k × interval, and a request that goes out late because the previous one was
slow is charged from its due time, so time spent waiting in any queue counts.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class OpenLoopResult:
    users: int
    rate: float  # requests per second asked for, all users together
    sent: int
    errors: int
    seconds: float
    p50: float
    p95: float
    p99: float
    worst: float
    unsent: int = 0  # due after the deadline: the server had fallen too far behind

    @property
    def achieved(self) -> float:
        return self.sent / self.seconds


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of the values (fraction 0.95 for p95)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))]


# A user stops once it is this far past the schedule's end: a server far slower than the rate
# asked for would otherwise keep the run going for minutes. What was not sent is reported.
GRACE_SECONDS = 10.0


def run(base_url: str, path: str, tokens: list[str], rate: float, seconds: float
        ) -> OpenLoopResult:
    """`len(tokens)` users send `path` at `rate` requests a second in all (evenly spread:
    user i starts i/rate after the first), each with its own token, for `seconds`."""
    users = len(tokens)
    interval = users / rate  # each user's own period
    per_user = max(1, int(seconds / interval))
    parts = urlsplit(base_url)
    latencies: list[float] = []
    errors = [0]
    unsent = [0]
    lock = threading.Lock()
    start = time.monotonic() + 1.0  # every thread is ready before the first request is due
    deadline = start + seconds + GRACE_SECONDS

    def user(index: int, token: str) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"}
        mine, failed, skipped = [], 0, 0
        for k in range(per_user):
            due = start + index / rate + k * interval
            if time.monotonic() > deadline:
                skipped = per_user - k
                break
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            mine.append(time.monotonic() - due)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed
            unsent[0] += skipped

    threads = [threading.Thread(target=user, args=(i, token), daemon=True)
               for i, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    ms = [value * 1000 for value in latencies]
    return OpenLoopResult(users, rate, len(ms), errors[0], elapsed,
                          statistics.median(ms), percentile(ms, 0.95), percentile(ms, 0.99),
                          max(ms), unsent[0])
