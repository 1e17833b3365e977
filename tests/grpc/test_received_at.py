"""A vote's received_at is believed only from the gateway, which shows the server a shared key
(GRPC_GATEWAY_KEY, metadata `x-escrutinio-gateway-key`); from any other caller, or with no key
configured, the server stamps the time it read the vote: a caller cannot backdate votes or skew
the receipt-to-storage latencies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime

import grpc
import pytest

from election.models import Vote
from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc
from tests.conftest import AUTHORIZATION

from .conftest import gateway_process, grpc_server_process
from .helpers import cast_request, good_vote, post

KEY = "a-gateway-key-of-the-tests"
TOKEN = ("authorization", AUTHORIZATION)
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)


def backdated(**changes: object) -> votes_pb2.CastVoteRequest:
    request = cast_request(**changes)
    request.received_at.FromDatetime(LONG_AGO)
    return request


def stored_received_at(request: votes_pb2.CastVoteRequest) -> datetime:
    return Vote.objects.get(vote_id=request.vote.vote_id).received_at


def test_a_direct_callers_received_at_is_replaced_by_the_servers_time(stub) -> None:  # type: ignore[no-untyped-def]
    request = backdated()
    before = datetime.now(UTC)
    stub.CastVote(request, timeout=10)
    stub.CastVoteBatch(votes_pb2.CastVoteBatchRequest(requests=[backdated(sede=8)]), timeout=10)
    stub.CastVotes(iter([backdated(sede=9)]), timeout=10)
    after = datetime.now(UTC)

    received = list(Vote.objects.values_list("received_at", flat=True))
    assert len(received) == 3
    assert all(before <= at <= after for at in received), received


def test_only_a_call_with_the_gateways_key_has_its_received_at_kept(spawn, service_env, port) -> None:  # type: ignore[no-untyped-def]
    grpc_server_process(spawn, {**service_env, "GRPC_GATEWAY_KEY": KEY}, port)
    with_key, wrong_key, without = backdated(sede=1), backdated(sede=2), backdated(sede=3)

    before = datetime.now(UTC)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = votes_pb2_grpc.VoteServiceStub(channel)
        relay = ("x-escrutinio-gateway-key", KEY)
        stub.CastVoteBatch(votes_pb2.CastVoteBatchRequest(requests=[with_key]), metadata=(TOKEN, relay))
        stub.CastVote(wrong_key, metadata=(TOKEN, ("x-escrutinio-gateway-key", KEY[:-1] + "X")))
        stub.CastVote(without, metadata=(TOKEN,))

    assert stored_received_at(with_key) == LONG_AGO
    assert stored_received_at(wrong_key) >= before
    assert stored_received_at(without) >= before


class RecordingVoteService:
    """A stand-in VoteService that keeps what the gateway sends and answers 'stored'."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], votes_pb2.CastVoteBatchRequest]] = []
        self.lock = threading.Lock()

    def cast_vote_batch(
        self, request: votes_pb2.CastVoteBatchRequest, context: grpc.ServicerContext
    ) -> votes_pb2.CastVoteBatchResponse:
        with self.lock:
            self.calls.append((dict(context.invocation_metadata()), request))
        return votes_pb2.CastVoteBatchResponse(
            results=[
                votes_pb2.CastVoteResult(status=votes_pb2.CAST_STATUS_STORED, vote=vote.vote)
                for vote in request.requests
            ]
        )


@pytest.fixture
def recording_service() -> Iterator[tuple[RecordingVoteService, int]]:
    service = RecordingVoteService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.unary_unary_rpc_method_handler(
        service.cast_vote_batch,
        request_deserializer=votes_pb2.CastVoteBatchRequest.FromString,
        response_serializer=votes_pb2.CastVoteBatchResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("escrutinio.v1.VoteService", {"CastVoteBatch": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, port
    server.stop(0)


@pytest.mark.parametrize("key", [KEY, ""], ids=["key configured", "no key"])
def test_the_gateway_shows_its_key_with_the_receipt_times_it_stamps(
    spawn, service_env, recording_service, key: str
) -> None:  # type: ignore[no-untyped-def]
    service, grpc_port = recording_service
    _, url = gateway_process(spawn, {**service_env, "GRPC_GATEWAY_KEY": key}, grpc_port)

    before = datetime.now(UTC)
    status, _ = post(f"{url}/votes", good_vote())
    after = datetime.now(UTC)

    assert status == 201
    [(metadata, request)] = service.calls
    assert metadata.get("x-escrutinio-gateway-key") == (key or None)
    [vote] = request.requests
    assert before <= vote.received_at.ToDatetime(tzinfo=UTC) <= after
