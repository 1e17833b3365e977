"""The VoteService servicer and what it answers: it translates calls to the store and
verdicts to answers (status codes, BadRequest details, stream summaries), and decides nothing
about votes."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
from django.conf import settings

from election.admission.credentials import bearer_token_parse
from election.admission.rate_limit import Throttled
from election.admission.tokens import AccessDenied
from election.ingest.async_batcher import Overloaded
from election.votes.types import Outcome, RecordResult, StorageUnavailable, VoteInvalid
from ingest_grpc import contract
from ingest_grpc.answers import (
    CAST_STATUS,
    MessageTooLarge,
    Readable,
    StreamSummary,
    TooManyRefused,
    batch_result,
    call_unauthenticated,
    conflict_message,
    many_per_message,
    one_per_message,
    too_many_votes,
)
from ingest_grpc.calls import CallsInFlight
from ingest_grpc.config import GATEWAY_KEY_METADATA, STREAM_CHUNKS_IN_FLIGHT, UNAVAILABLE_MESSAGE
from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc
from ingest_grpc.recording import Ballot, Verdict
from ingest_grpc.store import VoteStore

logger = logging.getLogger(__name__)


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


def from_gateway(context: grpc.aio.ServicerContext, key: str | None = None) -> bool:
    """Whether the call carries the gateway's key (GRPC_GATEWAY_KEY unless `key`; never, when
    none is configured)."""
    key = settings.GRPC_GATEWAY_KEY if key is None else key
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
        stream_batch: int | None = None,
        max_per_message: int | None = None,
        max_streams: int | None = None,
    ) -> None:
        """Limits not given are the settings' GRPC_STREAM_MAX_BATCH, _MAX_VOTES_PER_MESSAGE, _MAX_STREAMS."""
        self._store = store
        self._stream_batch = settings.GRPC_STREAM_MAX_BATCH if stream_batch is None else stream_batch
        self._max_per_message = (
            settings.GRPC_MAX_VOTES_PER_MESSAGE if max_per_message is None else max_per_message
        )
        self._max_streams = settings.GRPC_MAX_STREAMS if max_streams is None else max_streams
        self._streams = 0
        self._calls = CallsInFlight()

    async def wait_idle(self) -> None:
        """Return once no vote call is in flight (a graceful stop)."""
        await self._calls.wait_idle()

    async def CastVote(
        self, request: votes_pb2.CastVoteRequest, context: grpc.aio.ServicerContext
    ) -> votes_pb2.CastVoteResponse:
        with self._calls.call():
            return await self._cast_vote(request, context)

    async def CastVotes(
        self, request_iterator: AsyncIterator[votes_pb2.CastVoteRequest], context: grpc.aio.ServicerContext
    ) -> votes_pb2.CastVotesResponse:
        with self._calls.call():
            return await self._cast_votes(one_per_message(request_iterator), context)

    async def CastVoteBatches(
        self,
        request_iterator: AsyncIterator[votes_pb2.CastVoteBatchRequest | contract.MalformedRequest],
        context: grpc.aio.ServicerContext,
    ) -> votes_pb2.CastVotesResponse:
        with self._calls.call():
            messages = many_per_message(request_iterator, self._max_per_message)
            return await self._cast_votes(messages, context)

    async def CastVoteBatch(
        self,
        request: votes_pb2.CastVoteBatchRequest | contract.MalformedRequest,
        context: grpc.aio.ServicerContext,
    ) -> votes_pb2.CastVoteBatchResponse:
        with self._calls.call():
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
            status=CAST_STATUS[verdict.outcome], vote=contract.vote_message(verdict.vote.canonical())
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
        refused = next((r for r in results if call_unauthenticated(r)), None)
        if refused is not None and not any(isinstance(r, RecordResult) for r in results):
            await context.abort(contract.REFUSAL_CODES[refused.kind], refused.message)  # type: ignore[union-attr]
        return votes_pb2.CastVoteBatchResponse(
            results=[batch_result(index, result) for index, result in enumerate(results)]
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
                        f"More than {settings.GRPC_STREAM_MAX_REFUSED} votes of this stream were refused; "
                        f"it was stopped at vote {exc.index}. The good votes before it were recorded: fix "
                        "the refused ones and resend the stream (recorded votes come back as duplicates)."
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
