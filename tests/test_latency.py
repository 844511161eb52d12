"""The benchmark's latency proxy (bench/latency.py): delays both ways, keeps bytes intact, many connections.

Only lower bounds on time: a relay can be slow on a busy machine, but never faster than the wire.
"""

from __future__ import annotations

import hashlib
import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.latency import LatencyProxy

from .helpers import BACKLOG, LoopbackServer

LATENCY = 0.05


class Echo(socketserver.BaseRequestHandler):
    """Echoes every chunk as it arrives; closes after the client's EOF."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := sock.recv(65536):
            sock.sendall(data)


class EchoServer(socketserver.ThreadingTCPServer):
    request_queue_size = BACKLOG  # 40 parallel connects overflow the default 5: see helpers.BACKLOG
    daemon_threads = True


@pytest.fixture
def echo() -> Iterator[str]:
    server = LoopbackServer(Echo, EchoServer)
    yield server.address
    server.close()


def connect(proxy: LatencyProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def exchange(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(len(payload) - len(got))
        assert chunk, "connection closed early"
        got += chunk
    return got


def test_a_round_trip_costs_twice_the_latency(echo: str) -> None:
    with LatencyProxy(echo, LATENCY, connect_rtt=False) as proxy, connect(proxy) as sock:
        for _ in range(3):
            start = time.monotonic()
            assert exchange(sock, b"ping\n") == b"ping\n"
            assert time.monotonic() - start >= 2 * LATENCY


def test_a_new_connection_also_pays_the_handshake_round_trip(echo: str) -> None:
    with LatencyProxy(echo, LATENCY) as proxy:
        start = time.monotonic()
        with connect(proxy) as sock:
            assert exchange(sock, b"first\n") == b"first\n"
            assert time.monotonic() - start >= 4 * LATENCY
            again = time.monotonic()
            assert exchange(sock, b"second\n") == b"second\n"
            assert time.monotonic() - again >= 2 * LATENCY
        assert proxy.connections == 1


def test_zero_latency_relays_unchanged(echo: str) -> None:
    with LatencyProxy(echo, 0.0) as proxy, connect(proxy) as sock:
        assert exchange(sock, b"x" * 10) == b"x" * 10


def test_large_bodies_arrive_intact_both_ways(echo: str) -> None:
    payload = os.urandom(8 * 1024 * 1024)
    with LatencyProxy(echo, 0.005) as proxy, connect(proxy) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        got = bytearray()
        while len(got) < len(payload):
            chunk = sock.recv(1 << 20)
            assert chunk
            got += chunk
        sender.join()
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    assert proxy.bytes_up == proxy.bytes_down == len(payload)


def test_many_parallel_connections(echo: str) -> None:
    def one(number: int) -> bool:
        payload = f"{number}:".encode() + os.urandom(200_000)
        with connect(proxy) as sock:
            return all(exchange(sock, payload[i:i + 50_000]) == payload[i:i + 50_000] for i in range(0, len(payload), 50_000))

    with LatencyProxy(echo, 0.01) as proxy, ThreadPoolExecutor(max_workers=40) as pool:
        assert all(pool.map(one, range(120)))
        assert proxy.connections == 120


def test_half_close_is_forwarded(echo: str) -> None:
    with LatencyProxy(echo, 0.01) as proxy, connect(proxy) as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := sock.recv(1024):  # the echo server closes after our EOF: so does the proxy
            got += chunk
        assert got == b"last words"


def test_an_unreachable_target_closes_the_client() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"  # bound, not listening: connection refused
        with LatencyProxy(dead, 0.01) as proxy, connect(proxy) as sock:
            try:
                assert sock.recv(10) == b""
            except ConnectionResetError:
                pass


def test_stop_ends_open_connections(echo: str) -> None:
    proxy = LatencyProxy(echo, 0.01).start()
    sock = connect(proxy)
    assert exchange(sock, b"hello") == b"hello"
    proxy.stop()
    try:
        assert sock.recv(10) == b""
    except ConnectionResetError:
        pass
    sock.close()
