"""Calls in flight on a servicer, so a graceful stop waits until its handlers are done."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class CallsInFlight:
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """Count one call for as long as its handler runs."""
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if not self._count:
                self._idle.set()

    async def wait_idle(self) -> None:
        """Return once no call is in flight, and none started just after (a call the server
        accepted a moment before stopping may start its handler late)."""
        while True:
            await self._idle.wait()
            await asyncio.sleep(0.05)
            if self._idle.is_set():
                return
