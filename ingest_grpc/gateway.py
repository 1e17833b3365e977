"""The HTTP gateway of the gRPC route: `POST /votes` -> `VoteService.CastVote`, and
`POST /actas` -> `ActaService.SubmitActa`.

An ASGI app on the shared edge (election.ingest.edge), served by gunicorn with uvicorn workers:
  gunicorn ingest_grpc.gateway:app -k uvicorn_worker.UvicornWorker --bind 127.0.0.1:8001
Each worker process keeps one grpc.aio channel to the server and many votes in flight on it.
It needs no Django and no database: the server validates and records.

The votes a process receives while its previous call to the server is in flight go together
in the next one (`CastVoteBatch`, group commit as in election.ingest.async_batcher), whichever sede sent
them: each vote carries its sender's bearer token as its own `credential`, so the server
checks every vote against its own sede and refuses a bad one alone. A gRPC call costs both
processes far more CPU than the vote inside it, so under load each call carries many votes,
and a lone vote is still sent at once. Each vote gets its own answer from the batch's results.

It transcodes the JSON vote to the protobuf contract. What the contract cannot carry (a
body that is not an object, a field it does not have, a value that is not text) is refused
here with 400; every other rule is the server's.

Overload: at most GATEWAY_MAX_PENDING votes wait in a process for their call; past that a vote
is answered 503 with Retry-After at once (election.ingest.async_batcher.Overloaded, answered by the edge),
as when the server answers RESOURCE_EXHAUSTED for a full queue (`escrutinio-refusal:
overloaded`); a sede over its rate gets 429. The votes' receipt times count at the server only
because each call carries the gateway's key (GRPC_GATEWAY_KEY, shared with the server); without
one the server stamps its own.

Actas (`handle_acta`) go one per SubmitActa call, with the typist's bearer token as the
request's `credential`: an acta is rare beside votes, and its answer carries its status and
failed rules, computed by the server. At most GATEWAY_MAX_PENDING actas wait for the server in a
process; past that, 503 with Retry-After. The answers map as for votes (400, 401, 403, 409, 429,
503); a 201 is `{"acta_id", "route", "status", "outcome", "failed_rules"}`.
"""

from __future__ import annotations

import logging
import logging.config
import os
from datetime import datetime
from typing import Any, NamedTuple

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from election.admission.credentials import AccessKind
from election.ingest import config
from election.ingest.async_batcher import GroupBatcher, Overloaded
from election.ingest.edge import EdgeReply, edge_app, overloaded_reply, refusal_reply, unavailable_reply
from election.observability.logs import FORMATTERS
from election.votes.fields import ACCEPTED_FIELDS, json_type_name
from ingest_grpc import acta_contract, contract
from ingest_grpc.config import ACTA_SERVICE, GATEWAY_KEY_METADATA, VOTE_SERVICE
from ingest_grpc.protos.escrutinio.v1 import actas_pb2_grpc, votes_pb2, votes_pb2_grpc

logger = logging.getLogger(__name__)

# Shown to the server with every call, so that it keeps the receipt times stamped here.
GATEWAY_METADATA = ((GATEWAY_KEY_METADATA, config.GRPC_GATEWAY_KEY),) if config.GRPC_GATEWAY_KEY else None
ROUTE = "grpc"
_STATUS_NAMES = {votes_pb2.CAST_STATUS_STORED: "stored", votes_pb2.CAST_STATUS_DUPLICATE: "duplicate"}


class _Channel:
    """The process's one channel to the gRPC server and its batcher, made at startup."""

    channel: grpc.aio.Channel | None = None
    votes: votes_pb2_grpc.VoteServiceStub
    actas: actas_pb2_grpc.ActaServiceStub
    actas_waiting: int = 0
    health: health_pb2_grpc.HealthStub
    batcher: GroupBatcher[votes_pb2.CastVoteRequest, votes_pb2.CastVoteResult]


_grpc = _Channel()


def cast_request(data: Any, received_at: datetime) -> votes_pb2.CastVoteRequest | contract.FieldErrors:
    """The JSON vote as a CastVoteRequest, or the errors of what the contract cannot carry."""
    if not isinstance(data, dict):
        return {"non_field_errors": [f"Expected a JSON object, not {json_type_name(data)}."]}
    errors: contract.FieldErrors = {}
    vote = votes_pb2.Vote()
    for name, value in data.items():
        if name not in ACCEPTED_FIELDS:
            errors[str(name)[:64]] = ["Unknown field."]
        elif value is None:
            continue  # absent: the server answers "required"
        elif name == "sede" and type(value) is int:
            if value < 0:
                errors[name] = ["Must not be negative."]
            else:
                vote.sede = str(value)
        elif not isinstance(value, str):
            kind = "an integer or a string" if name == "sede" else "a string"
            errors[name] = [f"Must be {kind}, not {json_type_name(value)}."]
        elif not _is_utf8(value):
            errors[name] = ["Must be valid Unicode text."]
        else:
            setattr(vote, name, value)
    if errors:
        return errors
    request = votes_pb2.CastVoteRequest(vote=vote)
    request.received_at.FromDatetime(received_at)
    return request


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")  # JSON "\ud800" escapes decode to lone surrogates, which protobuf refuses
        return True
    except UnicodeEncodeError:
        return False


async def handle_vote(data: Any, received_at: datetime, token: str | None = None) -> EdgeReply:
    request = cast_request(data, received_at)
    if not isinstance(request, votes_pb2.CastVoteRequest):
        return EdgeReply(400, {"errors": request})
    try:
        result = await _cast(request, token)
    except grpc.aio.AioRpcError as error:
        return error_reply(error, request.vote.vote_id)
    if result.HasField("rejected"):
        return rejected_reply(result.rejected)
    return EdgeReply(
        201,
        {
            "vote_id": result.vote.vote_id,
            "route": ROUTE,
            "status": _STATUS_NAMES[result.status],
            "vote": contract.canonical_vote(result.vote),
        },
    )


async def _cast(request: votes_pb2.CastVoteRequest, token: str | None) -> votes_pb2.CastVoteResult:
    """The vote's result, sent with the other votes that wait meanwhile, of whatever sede."""
    # The server checks the token (election.admission.tokens); the gateway only passes it on.
    request.credential = token or ""
    return await _grpc.batcher.submit(request)


async def _cast_batch(requests: list[votes_pb2.CastVoteRequest]) -> list[votes_pb2.CastVoteResult]:
    response = await _grpc.votes.CastVoteBatch(
        votes_pb2.CastVoteBatchRequest(requests=requests),
        timeout=config.GATEWAY_GRPC_TIMEOUT,
        metadata=GATEWAY_METADATA,
    )
    return list(response.results)


async def handle_acta(data: Any, received_at: datetime, token: str | None = None) -> EdgeReply:
    request = acta_contract.submit_request(data, received_at)
    if not isinstance(request, acta_contract.actas_pb2.SubmitActaRequest):
        return EdgeReply(400, {"errors": request})
    if _grpc.actas_waiting >= config.GATEWAY_MAX_PENDING:
        raise Overloaded(f"{_grpc.actas_waiting} actas wait for the gRPC server")
    # The server checks the token (election.admission); the gateway only passes it on.
    request.credential = token or ""
    _grpc.actas_waiting += 1
    try:
        response = await _grpc.actas.SubmitActa(
            request, timeout=config.GATEWAY_GRPC_TIMEOUT, metadata=GATEWAY_METADATA
        )
    except grpc.aio.AioRpcError as error:
        return error_reply(error, request.acta.acta_id, ACTA)
    finally:
        _grpc.actas_waiting -= 1
    return EdgeReply(201, acta_contract.answer_json(response, ROUTE))


def rejected_reply(rejected: votes_pb2.RejectedVote) -> EdgeReply:
    """400, 403, 409 or 429 for a vote the server refused within its batch."""
    errors = contract.field_errors_dict((error.field, error.message) for error in rejected.errors)
    message = " ".join(error.message for error in rejected.errors)
    if rejected.reason == votes_pb2.RejectedVote.REASON_CONFLICT:
        return EdgeReply(409, {"errors": {"vote_id": [message or "vote_id already used."]}})
    kind = _REFUSAL_OF_REASON.get(rejected.reason)
    if kind is not None:
        retry_after = (rejected.retry_after_seconds or 1) if kind is AccessKind.THROTTLED else None
        return refusal_reply(kind, message or "Refused.", retry_after=retry_after)
    return EdgeReply(400, {"errors": errors or {"non_field_errors": ["Invalid vote."]}})


# The server's mappings (ingest_grpc.contract) read back.
_REFUSAL_OF_REASON = {reason: kind for kind, reason in contract.REFUSAL_REASONS.items()}
_REFUSAL_OF_CODE = {code: kind for kind, code in contract.REFUSAL_CODES.items()}


def _trailer(error: grpc.aio.AioRpcError, name: str) -> str | None:
    for key, value in error.trailing_metadata() or ():
        if key == name:
            return str(value)
    return None


def _retry_after(error: grpc.aio.AioRpcError) -> int:
    value = _trailer(error, "retry-after")
    return int(value) if value is not None and value.isdigit() else 1


class Noun(NamedTuple):
    """What a call carried, for the answers' words: ("vote", "vote_id", "CastVote")."""

    name: str
    id_field: str
    method: str


VOTE = Noun("vote", "vote_id", "CastVote")
ACTA = Noun("acta", "acta_id", "SubmitActa")


def error_reply(error: grpc.aio.AioRpcError, item_id: str, noun: Noun = VOTE) -> EdgeReply:
    """The HTTP answer to a call the server refused: the same mapping for votes and actas."""
    code, id_field = error.code(), noun.id_field
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        errors = contract.bad_request_errors(error.trailing_metadata())  # type: ignore[arg-type]
        return EdgeReply(
            400, {"errors": errors or {"non_field_errors": [error.details() or f"Invalid {noun.name}."]}}
        )
    if code is grpc.StatusCode.ALREADY_EXISTS:
        return EdgeReply(409, {"errors": {id_field: [error.details() or f"{id_field} already used."]}})
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and (
        _trailer(error, contract.REFUSAL_METADATA) != AccessKind.THROTTLED
    ):  # not the sede's rate (429): the server is full, by its own queue or gRPC's limits (503)
        return overloaded_reply(
            f"The {noun.name} service is overloaded; nothing was stored. Retry with the same {id_field}.",
            _retry_after(error),
        )
    kind = _REFUSAL_OF_CODE.get(code)
    if kind is not None:
        retry_after = _retry_after(error) if kind is AccessKind.THROTTLED else None
        return refusal_reply(kind, error.details() or "Refused.", retry_after=retry_after)
    if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        logger.error(
            f"{noun.method} failed", extra={"code": code.name, "details": error.details(), id_field: item_id}
        )
    return unavailable_reply(
        f"The {noun.name} service did not store the {noun.name} ({code.name}); "
        f"retry with the same {id_field}."
    )


async def open_channel() -> None:
    configure_logging()
    # round_robin: behind a headless Service (dns:///grpc:50051) calls spread over every server pod
    _grpc.channel = grpc.aio.insecure_channel(
        config.GRPC_ADDRESS, options=[("grpc.lb_policy_name", "round_robin")]
    )
    _grpc.votes = votes_pb2_grpc.VoteServiceStub(_grpc.channel)
    _grpc.actas = actas_pb2_grpc.ActaServiceStub(_grpc.channel)
    _grpc.health = health_pb2_grpc.HealthStub(_grpc.channel)
    _grpc.batcher = GroupBatcher(
        _cast_batch, max_batch=config.GATEWAY_MAX_BATCH, max_pending=config.GATEWAY_MAX_PENDING
    )
    logger.info("gateway started", extra={"grpc_address": config.GRPC_ADDRESS, "pid": os.getpid()})


async def close_channel() -> None:
    if _grpc.channel is not None:
        await _grpc.channel.close(grace=config.GATEWAY_GRPC_TIMEOUT)


async def vote_service_ready() -> bool:
    """Ready when the gRPC server's health service says VoteService and ActaService are SERVING."""
    for service in (VOTE_SERVICE, ACTA_SERVICE):
        try:
            answer = await _grpc.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
        except grpc.aio.AioRpcError:
            return False
        if answer.status != health_pb2.HealthCheckResponse.SERVING:
            return False
    return True


def configure_logging() -> None:
    """The same log format as the Django processes, without Django: at startup (open_channel)."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": FORMATTERS,
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": config.LOG_FORMAT}},
            "loggers": {"ingest_grpc": {"handlers": ["console"], "level": config.LOG_LEVEL}},
        }
    )


app = edge_app(
    handle_vote=handle_vote,
    handle_acta=handle_acta,
    route=ROUTE,
    on_startup=open_channel,
    on_shutdown=close_channel,
    ready=vote_service_ready,
)
