"""The gRPC route bounded under overload: message limits, a concurrency cap, a bounded commit
queue answered RESOURCE_EXHAUSTED / 503 with retry-after, and tokens checked before a vote
takes a place in that queue.

The overload tests put a FaultProxy between the server and MariaDB and partition it: the
committer's transaction then hangs, exactly one vote in it (GRPC_MAX_BATCH=1), and what the
queue holds is known exactly. Nothing here waits for a time to pass: every wait is for an
answer, bounded.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from election.models import Vote
from ingest_grpc import contract
from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc
from scripts.devservices import wait_until
from scripts.fault_proxy import FaultProxy
from tests.conftest import AUTHORIZATION, child_env

from .conftest import gateway_process, grpc_server_process, through_proxy
from .helpers import cast_request, good_vote

TOKEN = (("authorization", AUTHORIZATION),)
BAD_TOKEN = (("authorization", "Bearer made-up-token"),)
Reason = votes_pb2.RejectedVote
# The committer's queue in the overload tests: one vote in the hung transaction, four waiting.
ONE_PER_TRANSACTION = {"GRPC_MAX_BATCH": "1", "GRPC_COMMIT_MAX_PENDING": "4"}
HELD = 5


def batch(requests: list[votes_pb2.CastVoteRequest]) -> votes_pb2.CastVoteBatchRequest:
    return votes_pb2.CastVoteBatchRequest(requests=requests)


def trailers(error: grpc.RpcError) -> dict[str, str]:
    return {key: str(value) for key, value in error.trailing_metadata() or ()}  # type: ignore[attr-defined]


def stored_ids() -> set[str]:
    return {str(vote_id) for vote_id in Vote.objects.values_list("vote_id", flat=True)}


# --- message limits ----------------------------------------------------------------


def test_a_message_over_the_size_limit_is_refused_by_grpc_before_it_is_read(stub) -> None:  # type: ignore[no-untyped-def]
    # 900 votes of 1.2 kB each: within the vote cap, over the 1 MiB message limit.
    requests = [cast_request(sede=1 + i % 40, partido="VAMOS" + " " * 1_200) for i in range(900)]
    assert batch(requests).ByteSize() > 1 << 20

    with pytest.raises(grpc.RpcError) as refused:
        stub.CastVoteBatch(batch(requests), timeout=30)

    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert Vote.objects.count() == 0


def test_a_batch_of_more_votes_than_the_cap_is_invalid_argument_and_stores_nothing(stub) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as refused:
        stub.CastVoteBatch(batch([cast_request(sede=1 + i % 40) for i in range(1_001)]), timeout=30)

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert contract.bad_request_errors(refused.value.trailing_metadata()) == {
        "requests": ["At most 1000 votes per message; this one has 1001. Send them in several messages."]
    }
    assert Vote.objects.count() == 0


def test_a_stream_message_over_the_cap_stops_the_stream_after_the_votes_before_it(stub) -> None:  # type: ignore[no-untyped-def]
    first = [cast_request(sede=1 + i % 40) for i in range(300)]
    too_many = [cast_request(sede=1 + i % 40) for i in range(1_001)]

    with pytest.raises(grpc.RpcError) as refused:
        stub.CastVoteBatches(iter([batch(first), batch(too_many)]), timeout=30)

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    errors = contract.bad_request_errors(refused.value.trailing_metadata())
    assert errors is not None and "1001" in errors["requests"][0]
    assert stored_ids() <= {request.vote.vote_id for request in first}


def test_calls_beyond_the_concurrency_cap_are_resource_exhausted(spawn, service_env, port) -> None:  # type: ignore[no-untyped-def]
    grpc_server_process(spawn, {**service_env, "GRPC_MAX_CONCURRENT_RPCS": "4"}, port)

    async def scenario() -> tuple[grpc.aio.AioRpcError, list[Any], votes_pb2.CastVoteResponse]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = votes_pb2_grpc.VoteServiceStub(channel)
            streams = [stub.CastVotes(metadata=TOKEN, timeout=30) for _ in range(4)]
            for stream in streams:  # four calls open on the server, each with a vote recorded
                await stream.write(cast_request(sede=7))
            await asyncio.to_thread(wait_until, lambda: Vote.objects.count() == 4, 30, "4 stream votes")
            try:
                await stub.CastVote(cast_request(), metadata=TOKEN, timeout=30)
                raise AssertionError("a fifth call was taken")
            except grpc.aio.AioRpcError as error:
                refused = error
            for stream in streams:
                await stream.done_writing()
            summaries = [await stream for stream in streams]
            after = await stub.CastVote(cast_request(), metadata=TOKEN, timeout=30)
            return refused, summaries, after

    refused, summaries, after = asyncio.run(scenario())

    assert refused.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [summary.stored for summary in summaries] == [1, 1, 1, 1]
    assert after.status == votes_pb2.CAST_STATUS_STORED
    assert Vote.objects.count() == 5


# --- the committer's bounded queue -------------------------------------------------


def overloaded_server(spawn, proxy: FaultProxy, port: int, **extra: str) -> None:  # type: ignore[no-untyped-def]
    """A server on `port` whose database is behind `proxy`, the tokens and catalogue loaded."""
    grpc_server_process(spawn, through_proxy(proxy, **ONE_PER_TRANSACTION, **extra), port)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        first = votes_pb2_grpc.VoteServiceStub(channel).CastVote(cast_request(), metadata=TOKEN, timeout=30)
    assert first.status == votes_pb2.CAST_STATUS_STORED


async def answered_while(
    calls: Sequence[asyncio.Future[Any]], count: int, what: str, timeout: float = 30
) -> list[asyncio.Future[Any]]:
    """Wait until `count` of `calls` are answered (bounded); the ones still waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sum(call.done() for call in calls) < count:
        if loop.time() > deadline:
            raise TimeoutError(f"{what}: {sum(call.done() for call in calls)} of {count} answered")
        await asyncio.wait([call for call in calls if not call.done()], timeout=0.2)
    return [call for call in calls if not call.done()]


def test_votes_beyond_the_commit_queue_are_refused_at_once_with_retry_after_and_the_rest_stored(
    spawn, database_proxy, port
) -> None:  # type: ignore[no-untyped-def]
    overloaded_server(spawn, database_proxy, port)
    requests = [cast_request(sede=1 + i % 40) for i in range(30)]

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = votes_pb2_grpc.VoteServiceStub(channel)
            database_proxy.partition()  # the next transaction hangs: the queue fills behind it
            calls = [
                asyncio.ensure_future(stub.CastVote(request, metadata=TOKEN, timeout=60))
                for request in requests
            ]
            waiting = await answered_while(calls, len(calls) - HELD, "refusals during the partition")
            refused = [call.exception() for call in calls if call.done()]
            database_proxy.heal()
            return refused, await asyncio.gather(*waiting)

    refused, accepted = asyncio.run(scenario())

    assert len(refused) == len(requests) - HELD and len(accepted) == HELD
    for error in refused:
        assert isinstance(error, grpc.aio.AioRpcError)
        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert trailers(error) == {"retry-after": "1", "escrutinio-refusal": "overloaded"}
        assert "nothing was done" in (error.details() or "")
    assert {answer.status for answer in accepted} == {votes_pb2.CAST_STATUS_STORED}
    sent = {request.vote.vote_id for request in requests}
    assert stored_ids() & sent == {answer.vote.vote_id for answer in accepted}
    assert Vote.objects.count() == 1 + HELD  # and the warm-up vote


Answer = tuple[int, dict[str, str], Any]  # HTTP status, headers (lower-case names), JSON body


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def post_with_headers(url: str, body: Any, authorization: str = AUTHORIZATION) -> Answer:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": authorization},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, _lower(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), json.loads(error.read())


def test_the_gateway_answers_503_with_retry_after_when_the_servers_queue_is_full(
    spawn, database_proxy, port
) -> None:  # type: ignore[no-untyped-def]
    overloaded_server(spawn, database_proxy, port)
    _, url = gateway_process(spawn, child_env(GATEWAY_GRPC_TIMEOUT="60"), port)
    direct = [cast_request(sede=1 + i) for i in range(10)]

    async def scenario() -> tuple[Answer, list[Any]]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = votes_pb2_grpc.VoteServiceStub(channel)
            database_proxy.partition()
            calls = [
                asyncio.ensure_future(stub.CastVote(request, metadata=TOKEN, timeout=60))
                for request in direct
            ]
            waiting = await answered_while(calls, len(calls) - HELD, "the server's queue full")
            assert all(call.exception() for call in calls if call.done())
            answer = await asyncio.to_thread(post_with_headers, f"{url}/votes", good_vote(sede=99))
            database_proxy.heal()
            return answer, await asyncio.gather(*waiting)

    (status, headers, body), accepted = asyncio.run(scenario())

    assert status == 503
    assert headers["retry-after"] == "1"
    assert body["errors"]["non_field_errors"] == [
        "The vote service is overloaded; nothing was stored. Retry with the same vote_id."
    ]
    assert len(accepted) == HELD
    assert Vote.objects.count() == 1 + HELD  # the warm-up and the accepted calls; not the refused vote


def test_the_gateway_answers_503_at_once_when_its_own_queue_is_full(spawn, database_proxy, port) -> None:  # type: ignore[no-untyped-def]
    overloaded_server(spawn, database_proxy, port)
    env = child_env(GATEWAY_GRPC_TIMEOUT="60", GATEWAY_MAX_BATCH="1", GATEWAY_MAX_PENDING="3")
    _, url = gateway_process(spawn, env, port)
    votes = [good_vote(sede=1 + i) for i in range(20)]
    held = 1 + 3  # the vote in the gateway's call (hung behind the partition), three waiting

    database_proxy.partition()
    with ThreadPoolExecutor(max_workers=len(votes)) as pool:
        answers: list[Future[Answer]] = [
            pool.submit(post_with_headers, f"{url}/votes", vote) for vote in votes
        ]
        wait_until(
            lambda: sum(answer.done() for answer in answers) == len(votes) - held,
            30,
            "the gateway's refusals",
        )
        answered = [answer for answer in answers if answer.done()]
        database_proxy.heal()
        refused = [answer.result() for answer in answered]
        accepted = [answer.result() for answer in answers if answer not in answered]

    assert len(refused) == len(votes) - held
    for status, headers, body in refused:
        assert status == 503 and headers["retry-after"] == "1"
        assert "nothing was done" in body["errors"]["non_field_errors"][0]
    assert [status for status, _, _ in accepted] == [201] * held
    assert stored_ids() >= {body["vote_id"] for _, _, body in accepted}
    assert Vote.objects.count() == 1 + held


# --- tokens checked before a place in the queue ------------------------------------


def test_a_flood_of_bad_tokens_is_refused_before_the_queue_and_takes_no_place_from_honest_votes(
    spawn, database_proxy, port
) -> None:  # type: ignore[no-untyped-def]
    """With the database partitioned the queue holds exactly HELD votes. Honest calls bring
    exactly that many; a flood of bad tokens comes with them. Checked before the queue, every
    bad one is answered at once and none takes a place; else they would wait behind the
    partition or push honest votes out as RESOURCE_EXHAUSTED."""
    overloaded_server(spawn, database_proxy, port)
    honest = [cast_request(sede=1 + i) for i in range(HELD - 1)]
    relayed = cast_request(sede=50)  # the good vote of a gateway's batch, with its own credential
    relayed.credential = AUTHORIZATION.removeprefix("Bearer ")
    bad_credentials = [cast_request(sede=60 + i) for i in range(10)]
    for request in bad_credentials:
        request.credential = "made-up-credential"

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = votes_pb2_grpc.VoteServiceStub(channel)
            database_proxy.partition()
            honest_calls: list[asyncio.Future[Any]] = [
                asyncio.ensure_future(stub.CastVote(request, metadata=TOKEN, timeout=60))
                for request in honest
            ]
            honest_calls.append(
                asyncio.ensure_future(stub.CastVoteBatch(batch([relayed, *bad_credentials]), timeout=60))
            )
            flood: list[Awaitable[Any]] = []
            for i in range(40):
                flood.append(stub.CastVote(cast_request(sede=70 + i), metadata=BAD_TOKEN, timeout=60))
                flood.append(stub.CastVoteBatch(batch(bad_credentials), timeout=60))
            flood_calls = [asyncio.ensure_future(call) for call in flood]
            await answered_while(flood_calls, len(flood_calls), "the flood, during the partition")
            database_proxy.heal()
            honest_answers = await asyncio.gather(*honest_calls, return_exceptions=True)
            return honest_answers, [call.exception() or call.result() for call in flood_calls]

    honest_answers, flood_answers = asyncio.run(scenario())

    for answer in flood_answers:
        if isinstance(answer, votes_pb2.CastVoteBatchResponse):
            assert {result.rejected.reason for result in answer.results} == {Reason.REASON_UNAUTHENTICATED}
        else:
            assert isinstance(answer, grpc.aio.AioRpcError)
            assert answer.code() is grpc.StatusCode.UNAUTHENTICATED
    *single, relayed_answer = honest_answers
    assert [answer.status for answer in single] == [votes_pb2.CAST_STATUS_STORED] * len(honest)
    first, *others = relayed_answer.results
    assert first.status == votes_pb2.CAST_STATUS_STORED
    assert {result.rejected.reason for result in others} == {Reason.REASON_UNAUTHENTICATED}
    assert stored_ids() >= {request.vote.vote_id for request in [*honest, relayed]}
    assert Vote.objects.count() == 1 + HELD


def test_bad_and_good_tokens_through_the_gateway_get_401_and_201(gateway_url: str) -> None:
    good = [good_vote(sede=1 + i % 40) for i in range(40)]
    bad = [good_vote(sede=1 + i % 40) for i in range(80)]
    bodies: list[tuple[dict[str, Any], str]] = [(vote, AUTHORIZATION) for vote in good]
    bodies += [(vote, "Bearer made-up-token") for vote in bad]

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda pair: post_with_headers(f"{gateway_url}/votes", *pair), bodies))

    assert [status for status, _, _ in answers] == [201] * len(good) + [401] * len(bad)
    assert stored_ids() == {vote["vote_id"] for vote in good}


def test_a_sede_over_its_rate_is_resource_exhausted_saying_throttled(spawn, service_env, port) -> None:  # type: ignore[no-untyped-def]
    env = {**service_env, "INGEST_RATE_PER_SEDE": "0.001", "INGEST_RATE_BURST": "1"}
    grpc_server_process(spawn, env, port)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = votes_pb2_grpc.VoteServiceStub(channel)
        stub.CastVote(cast_request(sede=5), metadata=TOKEN, timeout=10)
        with pytest.raises(grpc.RpcError) as refused:
            stub.CastVote(cast_request(sede=5), metadata=TOKEN, timeout=10)

    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert trailers(refused.value) == {"retry-after": "1000", "escrutinio-refusal": "throttled"}
    assert Vote.objects.count() == 1


def test_a_stream_beyond_the_streams_cap_is_refused_as_overloaded(spawn, service_env, port) -> None:  # type: ignore[no-untyped-def]
    grpc_server_process(spawn, {**service_env, "GRPC_MAX_STREAMS": "2"}, port)

    async def scenario() -> tuple[grpc.aio.AioRpcError, list[Any]]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = votes_pb2_grpc.VoteServiceStub(channel)
            streams = [stub.CastVotes(metadata=TOKEN, timeout=30) for _ in range(2)]
            for stream in streams:  # two streams open on the server, each with a vote recorded
                await stream.write(cast_request(sede=7))
            await asyncio.to_thread(wait_until, lambda: Vote.objects.count() == 2, 30, "2 stream votes")
            try:
                await stub.CastVoteBatches(iter([batch([cast_request()])]), metadata=TOKEN, timeout=30)
                raise AssertionError("a third stream was taken")
            except grpc.aio.AioRpcError as error:
                refused = error
            for stream in streams:
                await stream.done_writing()
            return refused, [await stream for stream in streams]

    refused, summaries = asyncio.run(scenario())

    assert refused.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert dict(refused.trailing_metadata() or ()) == {"retry-after": "1", "escrutinio-refusal": "overloaded"}
    assert [summary.stored for summary in summaries] == [1, 1]
    assert Vote.objects.count() == 2
