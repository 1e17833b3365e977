"""The gRPC server of the gRPC route: `python -m ingest_grpc.server`.

An asyncio server. Calls are validated and recorded in one database thread, which keeps one
Django connection; while that thread commits a batch, the votes that arrive meanwhile queue
up and go into the next transaction together (group commit, election.group_commit), so
throughput is not one INSERT per call. No timer: a lone vote is committed at once. Each
caller is answered only after its vote's transaction has committed; the latest-votes list in
Redis is updated after that, from a thread of its own (election.live.LiveFeed).

Bounded under overload and untrusting of its callers:
- at most GRPC_MAX_CONCURRENT_RPCS calls at once (gRPC answers the next RESOURCE_EXHAUSTED),
  of which GRPC_MAX_STREAMS streams (the next: RESOURCE_EXHAUSTED, `overloaded`),
  messages of at most GRPC_MAX_RECEIVE_MESSAGE_BYTES (gRPC's own RESOURCE_EXHAUSTED), at
  most GRPC_MAX_VOTES_PER_MESSAGE votes in a CastVoteBatch message (INVALID_ARGUMENT), and at
  most GRPC_STREAM_MAX_REFUSED votes refused in a stream (listed, then INVALID_ARGUMENT);
- at most GRPC_COMMIT_MAX_PENDING votes wait for the database: past that, a call is answered
  RESOURCE_EXHAUSTED at once with trailing metadata `retry-after` and
  `escrutinio-refusal: overloaded` (a sede over its rate gets `escrutinio-refusal: throttled`);
- a vote's token is checked in memory before the vote takes a place in that queue, so a flood
  of bad tokens is refused there and never waits for, or delays, the database;
- a vote's `received_at` is taken from the call only when the call carries the gateway's key
  (`x-escrutinio-gateway-key`, GRPC_GATEWAY_KEY); otherwise, and when no key is configured,
  the server stamps the time it read the vote, so a caller cannot backdate votes.

Also served: the standard health service (SERVING; NOT_SERVING from SIGTERM on),
server reflection, and Prometheus `/metrics` over HTTP on GRPC_METRICS_PORT.
SIGTERM stops accepting calls, finishes those in flight, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import signal
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import grpc
import uvloop
from django.db import DatabaseError, connections
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from election.batching import DEFAULT_MAX_PENDING, Overloaded
from election.catalogue import CatalogueError
from election.credentials import AccessKind, bearer_token_parse
from election.heap import startup_objects_freeze
from election.metrics import metrics_serve
from ingest_grpc import contract
from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc
from ingest_grpc.recording import (
    ROUTE,
    AccessDenied,
    Ballot,
    GroupCommitter,
    LiveFeed,
    Outcome,
    RecordResult,
    StorageUnavailable,
    Throttled,
    Verdict,
    VoteCredentialRefused,
    VoteInvalid,
    admitted_record,
    ballot_authenticate,
    ballots_admit,
    ballots_authenticate,
    ballots_prepare,
    ballots_record,
    catalogue_warm,
    tokens_load,
)

logger = logging.getLogger(__name__)

DEFAULT_ADDRESS = "127.0.0.1:50051"
VOTE_SERVICE = votes_pb2.DESCRIPTOR.services_by_name["VoteService"].full_name
MAX_BATCH = int(os.environ.get("GRPC_MAX_BATCH", "300"))
# Votes per transaction of a stream: large, since one sender's votes need no sharing.
STREAM_MAX_BATCH = int(os.environ.get("GRPC_STREAM_MAX_BATCH", "2000"))
# A stream's chunks in the store at once: one being admitted while the one before commits.
STREAM_CHUNKS_IN_FLIGHT = 2
# What one server holds at worst, with the defaults below: 128 calls of a 1 MiB message, 8
# streams of about 12 MB each (3,000 votes of 1.3 kB being read, as many in the database
# threads) and 5,000 votes waiting for the committer: about 230 MB, within the pod's 512 Mi
# beside Django and gRPC.
# Calls handled at once: room for the 64 callers of the benchmark, gateways, streams and probes.
MAX_CONCURRENT_RPCS = int(os.environ.get("GRPC_MAX_CONCURRENT_RPCS", "128"))
# Streams open at once (bulk senders; the gateway sends unary calls): one more is refused.
MAX_STREAMS = int(os.environ.get("GRPC_MAX_STREAMS", "8"))
# A message: a full batch of long-named votes is about 0.7 MB, the largest answer (1,000
# refused votes with every field wrong) about 0.6 MB.
MAX_RECEIVE_MESSAGE_BYTES = int(os.environ.get("GRPC_MAX_RECEIVE_MESSAGE_BYTES", str(1 << 20)))
MAX_SEND_MESSAGE_BYTES = int(os.environ.get("GRPC_MAX_SEND_MESSAGE_BYTES", str(1 << 20)))
# Votes in one CastVoteBatch / CastVoteBatches message (the gateway sends at most 200).
MAX_VOTES_PER_MESSAGE = int(os.environ.get("GRPC_MAX_VOTES_PER_MESSAGE", "1000"))
# Refused votes a stream's summary lists; one more ends the stream (the summary must fit a message).
STREAM_MAX_REFUSED = int(os.environ.get("GRPC_STREAM_MAX_REFUSED", "1000"))
# Votes that may wait for the committer before calls are answered RESOURCE_EXHAUSTED.
COMMIT_MAX_PENDING = int(os.environ.get("GRPC_COMMIT_MAX_PENDING", str(DEFAULT_MAX_PENDING)))
# The gateway's key: only a call that carries it has its votes' received_at believed.
GATEWAY_KEY = os.environ.get("GRPC_GATEWAY_KEY", "")
GATEWAY_KEY_METADATA = "x-escrutinio-gateway-key"
# While the tokens could not be loaded (the database was down at start), tried again this often.
TOKENS_RETRY_SECONDS = 2.0
SHUTDOWN_GRACE_SECONDS = float(os.environ.get("GRPC_SHUTDOWN_GRACE", "10"))
METRICS_PORT = int(os.environ.get("GRPC_METRICS_PORT", "9101"))
UNAVAILABLE_MESSAGE = "The database is unavailable; nothing was stored. Retry with the same vote_id."

T = TypeVar("T")


class VoteStore(Protocol):
    """How the servicer gets ballots recorded; the benchmark swaps in other strategies."""

    async def start(self) -> None: ...
    async def cast(self, ballot: Ballot) -> Verdict: ...
    async def cast_together(self, ballots: list[Ballot]) -> list[Verdict]: ...
    async def cast_many(self, ballots: list[Ballot]) -> list[Verdict]: ...
    async def close(self) -> None: ...


class GroupCommitStore:
    """Concurrent calls share transactions (election.group_commit), and a stream's chunks are
    pipelined through two database threads of their own, each thread with its own connection.

    The votes of unary calls wait in the committer, whose thread takes everything that arrived
    during a commit into the next one once the loop has sent that commit's answers and handed
    over the calls it had already read (election.group_commit); at most `max_pending` wait
    (Overloaded past that). A stream's chunks go through two threads: one admits a chunk and
    looks up its vote_ids while the other commits the chunk before it, so the database's
    commit and Python's validation overlap. Either way a ballot whose token is unknown is
    refused on the loop, before it takes a place.
    """

    def __init__(self, max_batch: int = MAX_BATCH, max_pending: int = COMMIT_MAX_PENDING) -> None:
        # Redis after the answers, for calls and streams alike: callers wait for the commit only.
        self._live = LiveFeed(ROUTE.value)
        self._committer: GroupCommitter[Ballot, Verdict] = GroupCommitter(
            ballots_record,  # of admitted ballots: admission is not made again
            admit=ballots_admit,  # once per ballot, so a group committed again is not charged twice
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
            await _in_thread(self._admitting, catalogue_warm)
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
        admitted = await _in_thread(self._admitting, ballots_prepare, ballots)
        verdicts = await _in_thread(self._committing, admitted_record, admitted)
        self._live.publish(verdicts)
        return verdicts

    async def close(self) -> None:
        """After the last call: the committer's and the stream threads' work finished, their
        connections closed, and the latest list published."""
        if self._tokens_loading is not None:
            self._tokens_loading.cancel()
        await asyncio.to_thread(self._committer.stop)
        for executor in (self._admitting, self._committing):
            await _in_thread(executor, connections.close_all)
            executor.shutdown(wait=True)
        await asyncio.to_thread(self._live.close)


async def _in_thread(executor: ThreadPoolExecutor, function: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(executor, function, *args)


def ballot(
    request: votes_pb2.CastVoteRequest, token: str | None = None, *, from_gateway: bool = False
) -> Ballot:
    """The request as a Ballot. `token` is the call's; a vote with a credential of its own, or
    in a call without one (a gateway relaying many sedes' votes), is checked by its own.
    The request's received_at counts only `from_gateway`; else the vote is received now."""
    received_at = (
        request.received_at.ToDatetime(tzinfo=UTC)
        if from_gateway and request.HasField("received_at")
        else datetime.now(UTC)
    )
    if request.credential or token is None:
        return Ballot(
            contract.vote_data(request.vote), received_at, request.credential or None, own_credential=True
        )
    return Ballot(contract.vote_data(request.vote), received_at, token)


def bearer_token(context: grpc.aio.ServicerContext) -> str | None:
    """The token of the call's `authorization: Bearer <token>` metadata, or None."""
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            return bearer_token_parse(value)
    return None


def from_gateway(context: grpc.aio.ServicerContext, key: str = GATEWAY_KEY) -> bool:
    """Whether the call carries the gateway's key (never, when none is configured)."""
    if not key:
        return False
    for name, value in context.invocation_metadata() or ():
        if name == GATEWAY_KEY_METADATA:
            presented = value if isinstance(value, bytes) else str(value).encode("utf-8")
            return hmac.compare_digest(presented, key.encode("utf-8"))
    return False


async def abort_invalid(context: grpc.aio.ServicerContext, errors: contract.FieldErrors) -> None:
    """INVALID_ARGUMENT with every field message, also as a google.rpc.BadRequest in the details."""
    await context.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        contract.errors_text(errors),
        trailing_metadata=((contract.STATUS_DETAILS_KEY, contract.bad_request_details(errors)),),
    )


async def abort_refused(context: grpc.aio.ServicerContext, refusal: AccessDenied | Throttled) -> None:
    """UNAUTHENTICATED / PERMISSION_DENIED, or RESOURCE_EXHAUSTED (throttled) with `retry-after` seconds."""
    if isinstance(refusal, Throttled):
        await abort_exhausted(context, refusal.message, refusal.kind, refusal.retry_after_seconds)
    else:
        await context.abort(contract.REFUSAL_CODES[refusal.kind], refusal.message)


async def abort_exhausted(
    context: grpc.aio.ServicerContext, message: str, refusal: str, retry_after: int
) -> None:
    """RESOURCE_EXHAUSTED: nothing was done; retry after `retry_after` seconds. `refusal` says
    why, for relays (contract.REFUSAL_METADATA): AccessKind.THROTTLED or contract.OVERLOADED."""
    await context.abort(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        message,
        trailing_metadata=(("retry-after", str(retry_after)), (contract.REFUSAL_METADATA, refusal)),
    )


async def abort_overloaded(context: grpc.aio.ServicerContext, overloaded: Overloaded) -> None:
    await abort_exhausted(context, overloaded.message, contract.OVERLOADED, overloaded.retry_after)


class VoteServicer(votes_pb2_grpc.VoteServiceServicer):
    """Translates calls to the store and verdicts to answers; decides nothing about votes."""

    def __init__(
        self,
        store: VoteStore,
        stream_batch: int = STREAM_MAX_BATCH,
        max_per_message: int = MAX_VOTES_PER_MESSAGE,
        max_streams: int = MAX_STREAMS,
    ) -> None:
        self._store = store
        self._stream_batch = stream_batch
        self._max_per_message = max_per_message
        self._max_streams = max_streams
        self._streams = 0
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def _call(self) -> Iterator[None]:
        """Count the vote calls in flight, so a graceful stop knows when they are done."""
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def wait_idle(self) -> None:
        """Return once no vote call is in flight, and none started just after (a call the
        server accepted a moment before stopping may start its handler late)."""
        while True:
            await self._idle.wait()
            await asyncio.sleep(0.05)
            if self._idle.is_set():
                return

    async def CastVote(
        self, request: votes_pb2.CastVoteRequest, context: grpc.aio.ServicerContext
    ) -> votes_pb2.CastVoteResponse:
        with self._call():
            return await self._cast_vote(request, context)

    async def CastVotes(
        self, request_iterator: AsyncIterator[votes_pb2.CastVoteRequest], context: grpc.aio.ServicerContext
    ) -> votes_pb2.CastVotesResponse:
        with self._call():
            return await self._cast_votes(_one_per_message(request_iterator), context)

    async def CastVoteBatches(
        self,
        request_iterator: AsyncIterator[votes_pb2.CastVoteBatchRequest | contract.MalformedRequest],
        context: grpc.aio.ServicerContext,
    ) -> votes_pb2.CastVotesResponse:
        with self._call():
            messages = _many_per_message(request_iterator, self._max_per_message)
            return await self._cast_votes(messages, context)

    async def CastVoteBatch(
        self,
        request: votes_pb2.CastVoteBatchRequest | contract.MalformedRequest,
        context: grpc.aio.ServicerContext,
    ) -> votes_pb2.CastVoteBatchResponse:
        with self._call():
            return await self._cast_vote_batch(request, context)

    async def _cast_vote(
        self,
        request: votes_pb2.CastVoteRequest | contract.MalformedRequest,
        context: grpc.aio.ServicerContext,
    ) -> votes_pb2.CastVoteResponse:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline passed before the vote was read."
            )
        unreadable = contract.request_errors(request)
        if unreadable:
            await abort_invalid(context, unreadable)
        assert isinstance(request, votes_pb2.CastVoteRequest)
        try:
            verdict = await self._store.cast(
                ballot(request, bearer_token(context), from_gateway=from_gateway(context))
            )
        except StorageUnavailable as exc:
            logger.warning("vote not stored: database unavailable", extra={"error": str(exc)})
            await context.abort(grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_MESSAGE)
        except Overloaded as exc:
            await abort_overloaded(context, exc)
        if isinstance(verdict, AccessDenied | Throttled):
            await abort_refused(context, verdict)
        if isinstance(verdict, VoteInvalid):
            await abort_invalid(context, verdict.errors)
        assert isinstance(verdict, RecordResult)  # every refusal aborted the call above
        if verdict.outcome is Outcome.CONFLICT:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, conflict_message(str(verdict.vote.vote_id)))
        return votes_pb2.CastVoteResponse(
            status=_CAST_STATUS[verdict.outcome], vote=contract.vote_message(verdict.vote.canonical())
        )

    async def _cast_vote_batch(
        self,
        batch: votes_pb2.CastVoteBatchRequest | contract.MalformedRequest,
        context: grpc.aio.ServicerContext,
    ) -> votes_pb2.CastVoteBatchResponse:
        if isinstance(batch, contract.MalformedRequest):
            await abort_invalid(context, contract.request_errors(batch) or {})
        assert isinstance(batch, votes_pb2.CastVoteBatchRequest)
        if len(batch.requests) > self._max_per_message:
            await abort_invalid(context, too_many_votes(len(batch.requests), self._max_per_message))
        token, relayed = bearer_token(context), from_gateway(context)
        verdicts: list[Verdict | None] = []
        readable: list[Ballot] = []
        for request in batch.requests:
            unreadable = contract.request_errors(request)
            verdicts.append(VoteInvalid(unreadable) if unreadable else None)
            if not unreadable:
                readable.append(ballot(request, token, from_gateway=relayed))
        try:
            recorded = iter(await self._store.cast_together(readable))
        except StorageUnavailable as exc:
            logger.warning("batch not stored: database unavailable", extra={"error": str(exc)})
            await context.abort(grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_MESSAGE)
        except Overloaded as exc:
            await abort_overloaded(context, exc)
        results = [next(recorded) if verdict is None else verdict for verdict in verdicts]
        # The call's token is unknown and nothing was stored: the call is refused, as CastVote.
        # (Votes with good credentials of their own were stored: then each vote is answered.)
        refused = next((r for r in results if _call_unauthenticated(r)), None)
        if refused is not None and not any(isinstance(r, RecordResult) for r in results):
            await context.abort(contract.REFUSAL_CODES[refused.kind], refused.message)  # type: ignore[union-attr]
        return votes_pb2.CastVoteBatchResponse(
            results=[_batch_result(index, result) for index, result in enumerate(results)]
        )

    async def _cast_votes(
        self, messages: AsyncIterator[list[Readable]], context: grpc.aio.ServicerContext
    ) -> votes_pb2.CastVotesResponse:
        if self._streams >= self._max_streams:  # each holds a few MB: their number bounds memory
            await abort_overloaded(context, Overloaded(f"{self._streams} streams open on this server"))
        self._streams += 1
        try:
            return await self._record_votes(messages, context)
        finally:
            self._streams -= 1

    async def _record_votes(
        self, messages: AsyncIterator[list[Readable]], context: grpc.aio.ServicerContext
    ) -> votes_pb2.CastVotesResponse:
        summary = StreamSummary()
        try:
            await self._record_stream(messages, summary, bearer_token(context), from_gateway(context))
        except MessageTooLarge as exc:
            await abort_invalid(context, too_many_votes(exc.votes, self._max_per_message, in_stream=True))
        except TooManyRefused as exc:
            await abort_invalid(
                context,
                {
                    "non_field_errors": [
                        f"More than {STREAM_MAX_REFUSED} votes of this stream were refused; it was "
                        f"stopped at vote {exc.index}. The good votes before it were recorded: fix the "
                        "refused ones and resend the stream (recorded votes come back as duplicates)."
                    ]
                },
            )
        except StorageUnavailable as exc:
            logger.warning("stream stopped: database unavailable", extra={"error": str(exc)})
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                f"The database is unavailable after {summary.received} votes of this stream were "
                "recorded; resend the stream (already stored votes are reported as duplicates).",
            )
        except AccessDenied as exc:  # the stream's token is unknown: every vote would be refused
            await context.abort(contract.REFUSAL_CODES[exc.kind], exc.message)
        return summary.response()

    async def _record_stream(
        self,
        messages: AsyncIterator[list[Readable]],
        summary: StreamSummary,
        token: str | None,
        relayed: bool = False,
    ) -> None:
        """Group commit within one stream: while chunks are recorded, the next one is read.

        A chunk goes to the store as soon as fewer than STREAM_CHUNKS_IN_FLIGHT are in it
        (the store admits one while it commits another), so a slow sender's votes are not held
        back, and a fast one's pile up into large transactions (up to `stream_batch`; then
        reading waits). Verdicts are counted in stream order.
        """
        chunk: list[Ballot] = []
        in_flight: deque[asyncio.Task[list[Verdict]]] = deque()

        async def settle(*, keep: int) -> None:
            """Count finished chunks in order; wait until at most `keep` are in flight."""
            while in_flight and (in_flight[0].done() or len(in_flight) > keep):
                summary.add(await in_flight.popleft())

        try:
            async for requests in messages:
                for request in requests:
                    unreadable = contract.request_errors(request)
                    if unreadable:  # listed at its place in the stream, after everything before it
                        await settle(keep=0)
                        if chunk:
                            summary.add(await self._store.cast_many(chunk))
                            chunk = []
                        summary.add([VoteInvalid(unreadable)])
                        continue
                    chunk.append(ballot(request, token, from_gateway=relayed))  # type: ignore[arg-type]  # readable: checked above
                await settle(keep=STREAM_CHUNKS_IN_FLIGHT)
                if chunk and (len(in_flight) < STREAM_CHUNKS_IN_FLIGHT or len(chunk) >= self._stream_batch):
                    await settle(keep=STREAM_CHUNKS_IN_FLIGHT - 1)
                    in_flight.append(asyncio.create_task(self._store.cast_many(chunk)))
                    chunk = []
            await settle(keep=0)
            if chunk:
                summary.add(await self._store.cast_many(chunk))
        finally:  # after a failure: the chunks still in the store finish, observed
            await asyncio.gather(*in_flight, return_exceptions=True)


# What a stream carries per vote: a request, or bytes that did not decode as one.
Readable = votes_pb2.CastVoteRequest | contract.MalformedRequest


async def _one_per_message(
    requests: AsyncIterator[Readable],
) -> AsyncIterator[list[Readable]]:
    async for request in requests:
        yield [request]


class MessageTooLarge(Exception):
    """A message of a stream holds more votes than GRPC_MAX_VOTES_PER_MESSAGE."""

    def __init__(self, votes: int) -> None:
        super().__init__(votes)
        self.votes = votes


class TooManyRefused(Exception):
    """A stream had more votes refused than its summary lists (GRPC_STREAM_MAX_REFUSED)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def too_many_votes(votes: int, most: int, *, in_stream: bool = False) -> contract.FieldErrors:
    message = f"At most {most} votes per message; this one has {votes}. Send them in several messages."
    if in_stream:
        message += " The stream was stopped at this message; the good votes before it were recorded."
    return {"requests": [message]}


async def _many_per_message(
    batches: AsyncIterator[votes_pb2.CastVoteBatchRequest | contract.MalformedRequest], most: int
) -> AsyncIterator[list[Readable]]:
    async for batch in batches:
        # an undecodable message is listed as one refused vote: how many it held is unknown
        if isinstance(batch, contract.MalformedRequest):
            yield [batch]
            continue
        if len(batch.requests) > most:
            raise MessageTooLarge(len(batch.requests))
        yield list(batch.requests)


def _batch_result(index: int, verdict: Verdict) -> votes_pb2.CastVoteResult:
    rejected = _rejection(index, verdict)
    if rejected is not None:
        return votes_pb2.CastVoteResult(rejected=rejected)
    assert not isinstance(verdict, Exception)
    return votes_pb2.CastVoteResult(
        status=_CAST_STATUS[verdict.outcome], vote=contract.vote_message(verdict.vote.canonical())
    )


_CAST_STATUS = {
    Outcome.STORED: votes_pb2.CAST_STATUS_STORED,
    Outcome.DUPLICATE: votes_pb2.CAST_STATUS_DUPLICATE,
}


@dataclass
class StreamSummary:
    received: int = 0
    stored: int = 0
    duplicate: int = 0
    rejected: list[votes_pb2.RejectedVote] = field(default_factory=list)

    def add(self, verdicts: Sequence[Verdict]) -> None:
        """Count the verdicts of the next chunk of the stream, in stream order.

        Raises AccessDenied when the stream's token is unknown (the call is refused whole),
        TooManyRefused past STREAM_MAX_REFUSED refused votes.
        """
        for index, verdict in enumerate(verdicts, start=self.received):
            if _call_unauthenticated(verdict):
                raise verdict  # type: ignore[misc]
            rejected = _rejection(index, verdict)
            if rejected is not None:
                if len(self.rejected) >= STREAM_MAX_REFUSED:
                    raise TooManyRefused(index)
                self.rejected.append(rejected)
            elif verdict.outcome is Outcome.DUPLICATE:  # type: ignore[union-attr]  # not refused
                self.duplicate += 1
            else:
                self.stored += 1
        self.received += len(verdicts)

    def response(self) -> votes_pb2.CastVotesResponse:
        return votes_pb2.CastVotesResponse(
            received=self.received, stored=self.stored, duplicate=self.duplicate, rejected=self.rejected
        )


def _rejection(index: int, verdict: Verdict) -> votes_pb2.RejectedVote | None:
    """Why the vote at `index` was not accepted, or None when it was stored or a duplicate."""
    if isinstance(verdict, AccessDenied | Throttled):
        return _refused_in_stream(index, verdict)
    if isinstance(verdict, VoteInvalid):
        return votes_pb2.RejectedVote(
            index=index,
            reason=votes_pb2.RejectedVote.REASON_INVALID,
            errors=contract.field_errors_list(verdict.errors),
        )
    if verdict.outcome is Outcome.CONFLICT:
        vote_id = str(verdict.vote.vote_id)
        return votes_pb2.RejectedVote(
            index=index,
            vote_id=vote_id,
            reason=votes_pb2.RejectedVote.REASON_CONFLICT,
            errors=[votes_pb2.FieldError(field="vote_id", message=conflict_message(vote_id))],
        )
    return None


def conflict_message(vote_id: str) -> str:
    return f"vote_id {vote_id} was stored before with different content; nothing changed."


def _call_unauthenticated(verdict: Verdict) -> bool:
    """The call's own token is unknown: every vote of it would be refused, so the call is."""
    return (
        isinstance(verdict, AccessDenied)
        and verdict.kind is AccessKind.UNAUTHENTICATED
        and not isinstance(verdict, VoteCredentialRefused)
    )


def _refused_in_stream(index: int, refusal: AccessDenied | Throttled) -> votes_pb2.RejectedVote:
    if isinstance(refusal, VoteCredentialRefused):  # the vote's own credential, not the call's
        field = "credential"
    elif refusal.kind is AccessKind.THROTTLED:
        field = "non_field_errors"
    else:
        field = "authorization"
    return votes_pb2.RejectedVote(
        index=index,
        reason=contract.REFUSAL_REASONS[refusal.kind],
        errors=[votes_pb2.FieldError(field=field, message=refusal.message)],
        retry_after_seconds=refusal.retry_after_seconds if isinstance(refusal, Throttled) else 0,
    )


@dataclass
class VoteServer:
    """The gRPC server with what its start and graceful stop must also handle."""

    grpc_server: grpc.aio.Server
    servicer: VoteServicer
    store: VoteStore
    health: health.aio.HealthServicer

    async def start(self) -> None:
        await self.store.start()
        await self.grpc_server.start()
        for service in ("", VOTE_SERVICE):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop without dropping a call that reached the server, within `grace` seconds.

        NOT_SERVING first, while still serving: calls already sent (some wait in gRPC's queue
        before their handler starts, and stopping would cancel them) are answered, and
        clients watching health move away. Once no vote call is in flight, stop accepting,
        end what is left (health Watch streams never end by themselves) and release the DB.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        await self.health.enter_graceful_shutdown()
        await self._until_idle(deadline - loop.time())
        stopping = asyncio.create_task(self.grpc_server.stop(max(0.0, deadline - loop.time())))
        await self._until_idle(deadline - loop.time())
        await self.grpc_server.stop(0)
        await stopping
        await self.store.close()

    async def _until_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.servicer.wait_idle(), max(0.0, timeout))


def add_vote_service(servicer: VoteServicer, server: grpc.aio.Server) -> None:
    """VoteService as the generated add_VoteServiceServicer_to_server registers it, but with
    contract.request_parse as the request deserializer: an undecodable request is then
    INVALID_ARGUMENT, not the UNKNOWN grpcio answers when the deserializer raises."""
    handlers = {
        "CastVote": grpc.unary_unary_rpc_method_handler(
            servicer.CastVote,
            request_deserializer=contract.request_parse,
            response_serializer=votes_pb2.CastVoteResponse.SerializeToString,
        ),
        "CastVotes": grpc.stream_unary_rpc_method_handler(
            servicer.CastVotes,
            request_deserializer=contract.request_parse,
            response_serializer=votes_pb2.CastVotesResponse.SerializeToString,
        ),
        "CastVoteBatch": grpc.unary_unary_rpc_method_handler(
            servicer.CastVoteBatch,
            request_deserializer=contract.batch_parse,
            response_serializer=votes_pb2.CastVoteBatchResponse.SerializeToString,
        ),
        "CastVoteBatches": grpc.stream_unary_rpc_method_handler(
            servicer.CastVoteBatches,
            request_deserializer=contract.batch_parse,
            response_serializer=votes_pb2.CastVotesResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(VOTE_SERVICE, handlers),))
    server.add_registered_method_handlers(VOTE_SERVICE, handlers)


def create_server(address: str, store: VoteStore | None = None) -> tuple[VoteServer, int]:
    """A VoteService server bound to `address` (port 0: any free port), and the port it got."""
    server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_SEND_MESSAGE_BYTES),
        ],
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
    )
    store = store if store is not None else GroupCommitStore()
    servicer = VoteServicer(store)
    add_vote_service(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((VOTE_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(address)
    return VoteServer(server, servicer, store, health_servicer), port


async def serve(address: str, store: VoteStore | None = None) -> None:
    vote_server, port = create_server(address, store)
    await vote_server.start()
    startup_objects_freeze()  # no full collection walks Django and grpc again (election.heap)
    metrics_serve(METRICS_PORT, what="grpc")  # HTTP /metrics beside the gRPC port
    limits = {"max_calls": MAX_CONCURRENT_RPCS, "max_streams": MAX_STREAMS, "max_pending": COMMIT_MAX_PENDING}
    # Without a key every vote's received_at is this server's: the gateway's hop is not in the latencies.
    trust = {"gateway_key": bool(GATEWAY_KEY)}
    logger.info(
        "gRPC server listening",
        extra={"address": address, "port": port, "max_batch": MAX_BATCH, **limits, **trust},
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    logger.info(
        "stopping: NOT_SERVING, finishing the calls in flight", extra={"grace_s": SHUTDOWN_GRACE_SECONDS}
    )
    await vote_server.stop()
    logger.info("stopped")


def run(address: str, store: VoteStore | None = None) -> None:
    """Serve until SIGTERM on uvloop, as uvicorn runs the gateway (measured: about 5% less CPU
    a call than asyncio's own loop)."""
    uvloop.run(serve(address, store))


def main() -> None:
    run(os.environ.get("GRPC_ADDRESS", DEFAULT_ADDRESS))


if __name__ == "__main__":
    main()
