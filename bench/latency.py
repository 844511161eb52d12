"""A TCP proxy on loopback that adds a one-way network latency to every chunk, both ways.

    python bench/latency.py --latency-ms 15 127.0.0.1:9000     # listens on a free port, prints it

Each connection accepted on 127.0.0.1 is relayed to ``target``. Every chunk read from one side
is written to the other ``latency`` seconds after it was read, in order, while reading goes on:
the delay pipelines like a long cable instead of stalling each chunk behind the previous one,
so throughput is not limited by the latency (up to ``MAX_IN_FLIGHT`` bytes per direction are
in flight). A request/response exchange therefore costs one round trip (2 x latency).

``connect_rtt`` (on by default) also charges the TCP handshake of a new connection: the kernel
completes the connect on loopback at once, so the proxy holds the client's first bytes until
one extra round trip after the accept, as a client ``latency`` away would wait for SYN/SYN-ACK
before sending. Opening a connection per request then costs what it costs on a real network;
reusing a connection saves it. (TLS would add one or two more round trips; not modelled.)

Concurrency: one asyncio event loop in a daemon thread per proxy, any number of parallel
connections (boto3 pools, pip/Poetry parallel downloads); ``latency`` may be changed between
runs. Half-closes are forwarded after the latency too; a reset on one side aborts the other.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from collections.abc import Coroutine
from typing import Any

CHUNK = 256 * 1024
MAX_IN_FLIGHT = 64 * 1024 * 1024


class LatencyProxy:
    """``LatencyProxy("127.0.0.1:9000", 0.015).start()``; ``.url`` is where clients connect."""

    def __init__(self, target: str, latency: float, *, connect_rtt: bool = True, port: int = 0) -> None:
        host, _, port_text = target.removeprefix("http://").rstrip("/").rpartition(":")
        self.target_host = host or "127.0.0.1"
        self.target_port = int(port_text)
        self.latency = latency
        self.connect_rtt = connect_rtt
        self.connections = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self._listen_port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._live: set[asyncio.BaseTransport] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LatencyProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._serve, "127.0.0.1", self._listen_port, backlog=1024))
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            _abort(self._live)  # every relay then reads EOF and ends after at most one latency
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if tasks:
                await asyncio.wait(tasks, timeout=self.latency + 5)

        with contextlib.suppress(Exception):
            self._call(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def counters(self) -> dict[str, int]:
        return {"connections": self.connections, "bytes_up": self.bytes_up, "bytes_down": self.bytes_down}

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    # -- the relay (runs in the proxy's loop) ----------------------------------------------

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        accepted = loop.time()
        self.connections += 1
        client = client_w.transport
        try:
            upstream_r, upstream_w = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client.abort()
            return
        upstream = upstream_w.transport
        ends: set[asyncio.BaseTransport] = {client, upstream}
        self._live |= ends
        # A client `latency` away sends its first bytes only after the SYN/SYN-ACK round trip.
        first = accepted + 2 * self.latency if self.connect_rtt else accepted
        try:
            await asyncio.gather(
                self._pipe(client_r, upstream_w, ends, first, up=True),
                self._pipe(upstream_r, client_w, ends, accepted, up=False),
            )
        finally:
            for writer in (client_w, upstream_w):
                writer.close()
            self._live -= ends

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ends: set[asyncio.BaseTransport],
        not_before: float,
        *,
        up: bool,
    ) -> None:
        """Copy ``reader`` to ``writer``, each chunk delivered ``latency`` after it was read."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(MAX_IN_FLIGHT // CHUNK)

        async def receive() -> None:
            while True:
                try:
                    data = await reader.read(CHUNK)
                except OSError:
                    data = b""
                    _abort(ends)
                await queue.put((max(loop.time(), not_before) + self.latency, data))
                if not data:
                    return
                if up:
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                try:
                    if not data:
                        if writer.can_write_eof() and not writer.is_closing():
                            writer.write_eof()
                        return
                    writer.write(data)
                    await writer.drain()
                except OSError:
                    _abort(ends)
                    return

        receiving = asyncio.ensure_future(receive())
        try:
            await deliver()
        finally:
            if not receiving.done():
                _abort(ends)  # the other side is gone: nothing more can be delivered
                receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiving


def _abort(ends: set[asyncio.BaseTransport]) -> None:
    for transport in list(ends):
        if isinstance(transport, asyncio.Transport) and not transport.is_closing():
            transport.abort()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A TCP proxy on loopback adding a one-way latency to every chunk.")
    parser.add_argument("target", help="HOST:PORT to relay to")
    parser.add_argument("--latency-ms", type=float, default=15.0, help="one-way latency (default 15)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--no-connect-rtt", action="store_true", help="do not charge a round trip per new connection")
    args = parser.parse_args(argv)
    proxy = LatencyProxy(args.target, args.latency_ms / 1000, connect_rtt=not args.no_connect_rtt, port=args.port)
    proxy.start()
    print(f"{proxy.url} -> {args.target}, {args.latency_ms:g} ms each way (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
        print(f"{proxy.counters()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
