"""What the gRPC route answers, vote by vote: a verdict as a batch result or a stream's
rejected vote, the stream summary, and the readers that bound a stream's messages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from django.conf import settings

from election.admission.credentials import AccessKind
from election.admission.rate_limit import Throttled
from election.admission.tokens import AccessDenied
from election.votes.types import Outcome, VoteInvalid
from ingest_grpc import contract
from ingest_grpc.protos.escrutinio.v1 import votes_pb2
from ingest_grpc.recording import Verdict, VoteCredentialRefused

logger = logging.getLogger(__name__)


# A message of a stream as the servicer reads it: a request, or one grpcio could not decode.
Readable = votes_pb2.CastVoteRequest | contract.MalformedRequest


async def one_per_message(
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


async def many_per_message(
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


def batch_result(index: int, verdict: Verdict) -> votes_pb2.CastVoteResult:
    rejected = _rejection(index, verdict)
    if rejected is not None:
        return votes_pb2.CastVoteResult(rejected=rejected)
    assert not isinstance(verdict, Exception)
    return votes_pb2.CastVoteResult(
        status=CAST_STATUS[verdict.outcome], vote=contract.vote_message(verdict.vote.canonical())
    )


CAST_STATUS = {
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
        TooManyRefused past GRPC_STREAM_MAX_REFUSED refused votes.
        """
        for index, verdict in enumerate(verdicts, start=self.received):
            if call_unauthenticated(verdict):
                raise verdict  # type: ignore[misc]
            rejected = _rejection(index, verdict)
            if rejected is not None:
                if len(self.rejected) >= settings.GRPC_STREAM_MAX_REFUSED:
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


def call_unauthenticated(verdict: Verdict) -> bool:
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
