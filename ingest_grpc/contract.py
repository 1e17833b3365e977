"""Translations between the protobuf contract and plain Python, shared by the server and the gateway.

Pure Python and protobuf: importing this needs neither Django nor a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2

from election.admission.credentials import AccessKind
from election.votes.fields import MESA_FIELD, VOTE_FIELDS
from ingest_grpc.protos.escrutinio.v1 import votes_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"  # where gRPC's rich error model travels

# How each refusal of election.admission.tokens travels over gRPC (HTTP: election.ingest.edge):
# the call's status, and a vote's reason within a batch or a stream. The server writes them;
# the gateway reads them back.
REFUSAL_CODES = {
    AccessKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    AccessKind.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    AccessKind.THROTTLED: grpc.StatusCode.RESOURCE_EXHAUSTED,
}
REFUSAL_REASONS = {
    AccessKind.UNAUTHENTICATED: votes_pb2.RejectedVote.REASON_UNAUTHENTICATED,
    AccessKind.FORBIDDEN: votes_pb2.RejectedVote.REASON_FORBIDDEN,
    AccessKind.THROTTLED: votes_pb2.RejectedVote.REASON_THROTTLED,
}
# Why a call was answered RESOURCE_EXHAUSTED, for relays: AccessKind.THROTTLED (the sede's rate,
# HTTP 429) or OVERLOADED (the server's queue is full, HTTP 503).
REFUSAL_METADATA = "escrutinio-refusal"
OVERLOADED = "overloaded"

FieldErrors = dict[str, list[str]]


class MalformedRequest(NamedTuple):
    """Bytes that do not decode as a CastVoteRequest: truncated, invalid UTF-8 in a string field..."""

    reason: str


def request_parse(raw: bytes) -> votes_pb2.CastVoteRequest | MalformedRequest:
    """The server's request deserializer. grpcio answers an exception raised here with UNKNOWN;
    a message the client got wrong is its mistake, so it reaches the servicer, which answers
    INVALID_ARGUMENT (see `request_errors`)."""
    try:
        return votes_pb2.CastVoteRequest.FromString(raw)
    except DecodeError as exc:
        return MalformedRequest(str(exc))


def batch_parse(raw: bytes) -> votes_pb2.CastVoteBatchRequest | MalformedRequest:
    """`request_parse` for the messages that carry many votes."""
    try:
        return votes_pb2.CastVoteBatchRequest.FromString(raw)
    except DecodeError as exc:
        return MalformedRequest(str(exc))


def request_errors(request: votes_pb2.CastVoteRequest | MalformedRequest) -> FieldErrors | None:
    """What makes a request unreadable before its vote is even looked at, or None."""
    if isinstance(request, MalformedRequest):
        return {"non_field_errors": [f"The request could not be decoded: {request.reason}."]}
    if request.HasField("received_at"):
        try:
            request.received_at.ToDatetime()
        except (ValueError, OverflowError) as exc:  # outside 0001-01-01..9999-12-31, or nanos out of range
            return {"received_at": [f"Not a valid timestamp: {exc}"]}
    return None


def vote_data(vote: votes_pb2.Vote) -> dict[str, Any]:
    """The vote as the mapping `vote_validate` reads; an unset field stays absent, so it is 'required'
    (or, the mesa, not given)."""
    data: dict[str, Any] = {name: getattr(vote, name) for name in VOTE_FIELDS if vote.HasField(name)}
    if vote.HasField(MESA_FIELD):
        data[MESA_FIELD] = vote.mesa
    if vote.vote_id:
        data["vote_id"] = vote.vote_id
    return data


def vote_message(canonical: Mapping[str, Any]) -> votes_pb2.Vote:
    message = votes_pb2.Vote(**{name: canonical[name] for name in ("vote_id", *VOTE_FIELDS)})
    if canonical.get(MESA_FIELD) is not None:
        message.mesa = canonical[MESA_FIELD]
    return message


def canonical_vote(vote: votes_pb2.Vote) -> dict[str, Any]:
    """The canonical vote of a response, in the JSON shape the HTTP routes answer with
    (ValidatedVote.canonical: `mesa` only when the vote names one)."""
    canonical: dict[str, Any] = {"vote_id": vote.vote_id}
    canonical |= {name: getattr(vote, name) for name in VOTE_FIELDS}
    if vote.HasField(MESA_FIELD):
        canonical[MESA_FIELD] = vote.mesa
    return canonical


def field_errors_list(errors: FieldErrors) -> list[votes_pb2.FieldError]:
    return [
        votes_pb2.FieldError(field=field, message=message)
        for field, messages in errors.items()
        for message in messages
    ]


def field_errors_dict(pairs: Iterable[tuple[str, str]]) -> FieldErrors:
    """(field, message) pairs back to {field: [messages]}, in order."""
    errors: FieldErrors = {}
    for field, message in pairs:
        errors.setdefault(field, []).append(message)
    return errors


def errors_text(errors: FieldErrors) -> str:
    """A readable one-line summary for the status message, e.g. in grpcurl's output."""
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())


def bad_request_details(errors: FieldErrors) -> bytes:
    """A serialized google.rpc.Status carrying a BadRequest with one violation per message."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
            for field, messages in errors.items()
            for message in messages
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=errors_text(errors), details=[detail])
    return status.SerializeToString()


def bad_request_errors(trailing_metadata: Sequence[tuple[str, Any]] | None) -> FieldErrors | None:
    """The field errors of an INVALID_ARGUMENT status, or None when it carries no BadRequest."""
    for key, value in trailing_metadata or ():
        if key != STATUS_DETAILS_KEY:
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(bad_request):
                return field_errors_dict((v.field, v.description) for v in bad_request.field_violations)
    return None
