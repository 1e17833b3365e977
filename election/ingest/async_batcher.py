"""Group commit for asyncio servers: concurrent submissions share one flush.

While a flush runs, new items wait; when it ends, the next flush takes everything that
arrived meanwhile (up to `max_batch`). There is no timer, so a lone request is flushed at
once and a busy server forms large batches by itself. Each submitter gets its own result,
or the flush's exception. At most `max_pending` items wait: past that, `submit` refuses at once
with Overloaded, so a flood is answered 503 instead of growing the process until it is killed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Items that may wait for a flush, by default: about ten full batches.
DEFAULT_MAX_PENDING = 5000


class Overloaded(Exception):
    """Too much is waiting already: nothing was done; retry after `retry_after` seconds.

    Raised by the bounded queues in front of the database and the broker (GroupBatcher,
    election.writer.group_committer.GroupCommitter); the edges answer 503 / RESOURCE_EXHAUSTED with
    Retry-After.
    """

    def __init__(self, what: str, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        self.message = f"Too many votes are waiting ({what}); nothing was done. Retry in {retry_after} s."
        super().__init__(self.message)


class GroupBatcher(Generic[T, R]):
    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_batch: int = 500,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    async def submit(self, item: T) -> R:
        """The item's result, once flushed; Overloaded at once when `max_pending` items wait."""
        if len(self._pending) >= self._max_pending:
            raise Overloaded(f"{len(self._pending)} queued in this process")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._drain_soon()
        # shield: a caller that gives up (deadline) does not cancel the flush of the others
        return await asyncio.shield(future)

    def _drain_soon(self) -> None:
        if self._drainer is None:
            self._idle.clear()
            self._drainer = asyncio.create_task(self._drain())

    async def wait_idle(self) -> None:
        """Return once every submitted item has been flushed (for graceful shutdown)."""
        await self._idle.wait()

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._flush_batch(batch)
        finally:
            self._drainer = None
            self._idle.set()

    async def _flush_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        if len(results) != len(batch):
            error = RuntimeError(f"flush returned {len(results)} results for {len(batch)} items")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
