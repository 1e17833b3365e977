"""How the gRPC server gets ballots recorded: the VoteStore strategy, and the group-commit
store the server runs (the benchmark swaps in others). Unary calls share transactions through
the group committer; a stream's chunks are pipelined through two database threads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections

from election.catalogue.index import CatalogueError
from election.votes.types import StorageUnavailable
from election.writer.group_committer import GroupCommitter
from election.writer.live_feed import LiveFeed
from ingest_grpc.config import TOKENS_RETRY_SECONDS
from ingest_grpc.recording import (
    ROUTE,
    Ballot,
    Verdict,
    admitted_commit,
    ballot_authenticate,
    ballots_admit,
    ballots_authenticate,
    ballots_lookup,
    ballots_prepare,
    ballots_record,
    catalogue_warm,
    tokens_load,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


class VoteStore(Protocol):
    """How the servicer gets ballots recorded; the benchmark swaps in other strategies."""

    async def start(self) -> None: ...
    async def cast(self, ballot: Ballot) -> Verdict: ...
    async def cast_together(self, ballots: list[Ballot]) -> list[Verdict]: ...
    async def cast_many(self, ballots: list[Ballot]) -> list[Verdict]: ...
    async def close(self) -> None: ...


class GroupCommitStore:
    """Concurrent calls share transactions (election.writer.group_committer), and a stream's chunks are
    pipelined through two database threads of their own, each thread with its own connection.

    The votes of unary calls wait in the committer, whose thread takes everything that arrived
    during a commit into the next one once the loop has sent that commit's answers and handed
    over the calls it had already read (election.writer.group_committer); at most `max_pending` wait
    (Overloaded past that). A stream's chunks go through two threads: one admits a chunk and
    looks up its vote_ids while the other commits the chunk before it, so the database's
    commit and Python's validation overlap. Either way a ballot whose token is unknown is
    refused on the loop, before it takes a place.
    """

    def __init__(self, max_batch: int | None = None, max_pending: int | None = None) -> None:
        """Unless given: the settings' GRPC_MAX_BATCH and GRPC_COMMIT_MAX_PENDING."""
        max_batch = settings.GRPC_MAX_BATCH if max_batch is None else max_batch
        max_pending = settings.GRPC_COMMIT_MAX_PENDING if max_pending is None else max_pending
        # Redis after the answers, for calls and streams alike: callers wait for the commit only.
        self._live = LiveFeed(ROUTE.value)
        self._committer: GroupCommitter[Ballot, Verdict] = GroupCommitter(
            ballots_record,  # of admitted ballots: admission is not made again
            admit=ballots_admit,  # once per ballot, so a group committed again is not charged twice
            prepare=ballots_lookup,  # pipelined: while the group before commits, on a second connection
            commit=admitted_commit,  # the prepared parts of a group in one transaction
            pipelined=settings.GROUP_COMMIT_PIPELINE,
            route=ROUTE.value,
            max_items=max_batch,
            max_pending=max_pending,
            live=self._live,
        )
        self._admitting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grpc-db-admit")
        self._committing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grpc-db-commit")
        # Tokens are checked on the loop only once loaded: before that, a check would load
        # them there, holding every call while the database answers (or does not).
        self._tokens_loaded = False
        self._tokens_loading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await in_thread(self._admitting, catalogue_warm)
        except (DatabaseError, CatalogueError):  # database away, or catalogue made ambiguous
            logger.error("catalogue not loaded at start; the first vote will load it", exc_info=True)
        if not await self._tokens_load():
            self._tokens_loading = asyncio.create_task(self._tokens_load_retried())

    async def _tokens_load(self) -> bool:
        """Load the tokens in a thread of its own; False when the database did not give them."""
        try:
            await asyncio.to_thread(tokens_load)
        except (StorageUnavailable, DatabaseError) as exc:
            logger.warning(
                "tokens not loaded; each batch checks its own until they are", extra={"error": str(exc)}
            )
            return False
        self._tokens_loaded = True
        return True

    async def _tokens_load_retried(self) -> None:
        while not await self._tokens_load():
            await asyncio.sleep(TOKENS_RETRY_SECONDS)

    async def cast(self, ballot: Ballot) -> Verdict:
        if not self._tokens_loaded:
            return (await self._committer.submit_async([ballot]))[0]
        refused = ballot_authenticate(ballot)
        if refused is not None:
            return refused
        return (await self._committer.submit_async([ballot]))[0]

    async def cast_together(self, ballots: list[Ballot]) -> list[Verdict]:
        """Several votes of one call, committed with whatever other calls send meanwhile."""
        return await self._refused_or(ballots, self._committer.submit_async)

    async def cast_many(self, ballots: list[Ballot]) -> list[Verdict]:
        """A chunk of a stream in one transaction of its own, admitted while the one before commits."""
        return await self._refused_or(ballots, self._record_chunk)

    async def _refused_or(
        self, ballots: Sequence[Ballot], record: Callable[[Sequence[Ballot]], Awaitable[list[Verdict]]]
    ) -> list[Verdict]:
        """Each ballot's verdict: its token's refusal, found in memory, or what `record` made
        of it. Only ballots with a known token reach `record` (and the database)."""
        if not self._tokens_loaded:
            return await record(ballots)
        checked = ballots_authenticate(ballots)
        known = [ballot for ballot in checked if isinstance(ballot, Ballot)]
        recorded = iter(await record(known) if known else ())
        return [next(recorded) if isinstance(ballot, Ballot) else ballot for ballot in checked]

    async def _record_chunk(self, ballots: Sequence[Ballot]) -> list[Verdict]:
        admitted = await in_thread(self._admitting, ballots_prepare, ballots)
        verdicts = await in_thread(self._committing, admitted_commit, [admitted])
        self._live.publish(verdicts)
        return verdicts

    async def close(self) -> None:
        """After the last call: the committer's and the stream threads' work finished, their
        connections closed, and the latest list published."""
        if self._tokens_loading is not None:
            self._tokens_loading.cancel()
        await asyncio.to_thread(self._committer.stop)
        for executor in (self._admitting, self._committing):
            await in_thread(executor, connections.close_all)
            executor.shutdown(wait=True)
        await asyncio.to_thread(self._live.close)


async def in_thread(executor: ThreadPoolExecutor, function: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(executor, function, *args)
