"""A small server-sent-events client for the tests: it reads in a background thread, keeps
every byte it received (for checks on the wire) and hands out messages with a timeout."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from dataclasses import dataclass

import requests

EOF_MARK = object()


@dataclass
class Message:
    event: str | None = None
    data: str = ""
    id: str | None = None
    comment: str | None = None
    retry: int | None = None

    def json(self):
        return json.loads(self.data)


class SSEClient:
    """GET `url` as an EventSource would and read its messages as they arrive."""

    def __init__(self, url: str, headers: dict | None = None, cookies=None,
                 session: requests.Session | None = None, last_event_id: str | None = None):
        headers = {"Accept": "text/event-stream", **(headers or {})}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        http = session or requests
        self.resp = http.get(url, headers=headers, cookies=cookies, stream=True,
                             timeout=(5, None))
        self.status_code = self.resp.status_code
        self.headers = self.resp.headers
        self.wire = bytearray()  # everything received, for checks on the wire
        self._chunks: queue.Queue = queue.Queue()
        self._buffer = ""
        self.closed_by_server = threading.Event()
        self._socket = _socket_of(self.resp)
        if self.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                chunk = self.resp.raw.read1(65536)
                if not chunk:
                    break
                self.wire.extend(chunk)
                self._chunks.put(chunk.decode())
        except Exception:  # noqa: S110 (closed by us or by the server: the end either way)
            pass
        self.closed_by_server.set()
        self._chunks.put(EOF_MARK)

    def next(self, timeout: float = 5.0) -> Message | None:
        """The next message (a comment counts), None at the end of the stream; TimeoutError if
        nothing complete arrives in time."""
        deadline = time.monotonic() + timeout
        while "\n\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no complete SSE message in time")
            try:
                chunk = self._chunks.get(timeout=remaining)
            except queue.Empty:
                raise TimeoutError("no complete SSE message in time") from None
            if chunk is EOF_MARK:
                self._chunks.put(EOF_MARK)
                return None
            self._buffer += chunk.replace("\r\n", "\n")
        block, self._buffer = self._buffer.split("\n\n", 1)
        return parse(block)

    def events(self, count: int, timeout: float = 10.0, skip=("ready",)) -> list[Message]:
        """The next `count` events, skipping comments, retry lines and `skip` event names."""
        found: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            message = self.next(max(deadline - time.monotonic(), 0.001))
            if message is None:
                raise AssertionError(f"stream ended after {len(found)} of {count} events")
            if message.event is not None and message.event not in skip:
                found.append(message)
        return found

    def quiet_for(self, seconds: float, skip=("ready",)) -> list[Message]:
        """Every event (not comment) received during `seconds`."""
        found: list[Message] = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = self.next(remaining)
            except TimeoutError:
                break
            if message is None:
                break
            if message.event is not None and message.event not in skip:
                found.append(message)
        return found

    def wait_closed(self, timeout: float) -> bool:
        """Read (and drop) until the server ends the stream; True if it did in time."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                if self.next(remaining) is None:
                    return True
            except TimeoutError:
                return False
        return self.closed_by_server.is_set()

    def close(self) -> None:
        # Shut the socket down first: closing the response alone waits for the reader
        # thread's blocked read, i.e. for the server's next heartbeat.
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.resp.close()


def _socket_of(resp: requests.Response):
    """The connection's socket: on urllib3's connection, or under http.client's reader."""
    sock = getattr(getattr(resp.raw, "_connection", None), "sock", None)
    if sock is None:
        reader = getattr(getattr(resp.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock


def parse(block: str) -> Message:
    message = Message()
    data: list[str] = []
    for line in block.split("\n"):
        if line.startswith(":"):
            message.comment = line[1:].strip()
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            message.event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            message.id = value
        elif name == "retry":
            message.retry = int(value)
    message.data = "\n".join(data)
    return message
