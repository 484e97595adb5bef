"""The suite never reaches the internet: the autouse guard in conftest refuses and reports."""

from __future__ import annotations

import socket

import pytest


def test_connection_to_outside_address_is_refused_and_recorded(no_internet):
    # 192.0.2.1 is TEST-NET-1 (documentation only); the guard refuses before any packet.
    with socket.socket() as sock, pytest.raises(OSError, match="must not reach the internet"):
        sock.connect(("192.0.2.1", 80))
    assert no_internet == ["('192.0.2.1', 80)"]
    no_internet.clear()  # recorded on purpose here: do not fail this test


def test_name_lookup_of_outside_host_is_refused(no_internet):
    with pytest.raises(OSError, match="must not reach the internet"):
        socket.getaddrinfo("api.github.com", 443)
    assert no_internet == ["('api.github.com',)"]
    no_internet.clear()


def test_loopback_connection_is_allowed(no_internet):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
    assert no_internet == []
