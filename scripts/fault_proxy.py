"""A TCP proxy that can stop forwarding or slow down, for partition and slow-database faults.

A killed server refuses connections at once; a network partition does not: packets vanish,
and every connect or query hangs until some timeout. This proxy sits between the system and a
server (MariaDB, Redis) and plays either, without root or iptables:

    proxy = FaultProxy(("127.0.0.1", 3306)).start()   # listens on proxy.port
    proxy.partition()       # nothing crosses: open connections freeze, new ones get no greeting
    proxy.heal()            # everything held is delivered, in order; new connections go through
    proxy.slow(0.3)         # every chunk client -> server waits 300 ms more (each query, in order)
    proxy.stop()

Data is held, never dropped, as TCP retransmission would deliver it once the partition heals.
It runs an asyncio loop in a daemon thread of the calling process (tests and bench/faults.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class _State:
    forwarding: asyncio.Event
    delay: float = 0.0


class FaultProxy:
    CHUNK = 65536

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = target
        self.host = host
        self.port = port
        self.connections = 0  # accepted so far: a test can see whether anything tried to connect
        self.delayed = 0  # chunks client -> server slowed so far: whether a slow fault met any query
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._state: _State | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def partition(self) -> None:
        self._call(lambda state: state.forwarding.clear())

    def heal(self) -> None:
        def heal(state: _State) -> None:
            state.delay = 0.0
            state.forwarding.set()

        self._call(heal)

    def slow(self, seconds: float) -> None:
        def slow(state: _State) -> None:
            state.delay = seconds

        self._call(slow)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            assert self._state is not None
            self._state.forwarding.set()  # let frozen connections end
            for writer in list(self._writers):
                writer.transport.abort()  # ends both pumps of its connection
            await asyncio.wait(list(self._tasks), timeout=2) if self._tasks else None

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, change: object) -> None:
        async def apply() -> None:
            assert self._state is not None
            change(self._state)  # type: ignore[operator]

        asyncio.run_coroutine_threadsafe(apply(), self._loop).result(timeout=5)

    async def _listen(self) -> None:
        self._state = _State(forwarding=asyncio.Event())
        self._state.forwarding.set()
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        sock: socket.socket = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        assert self._state is not None
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self._writers.add(client_writer)
        try:
            await self._state.forwarding.wait()  # a partition: the connection is never put through
            try:
                server_reader, server_writer = await asyncio.open_connection(*self.target)
            except OSError:
                return  # the server is down: the client sees its connection closed
            self._writers.add(server_writer)
            await asyncio.gather(
                self._pump(client_reader, server_writer, slowed=True),
                self._pump(server_reader, client_writer, slowed=False),
                return_exceptions=True,
            )
            server_writer.close()
            self._writers.discard(server_writer)
        finally:
            client_writer.close()
            self._writers.discard(client_writer)
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, slowed: bool
    ) -> None:
        """Copy one direction; a chunk waits for the partition to heal, and for the delay."""
        assert self._state is not None
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            assert self._state is not None
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                await self._state.forwarding.wait()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()
            with contextlib.suppress(OSError):
                writer.write_eof()

        delivering = asyncio.ensure_future(deliver())
        try:
            while True:
                try:
                    chunk = await reader.read(self.CHUNK)
                except OSError:
                    chunk = b""
                delay = self._state.delay if slowed else 0.0
                if delay and chunk:
                    self.delayed += 1
                queue.put_nowait((time.monotonic() + delay, chunk))
                if not chunk:
                    break
            await delivering
        finally:
            delivering.cancel()
