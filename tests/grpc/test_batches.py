"""Many votes per message: CastVoteBatch (each vote answered) and CastVoteBatches (a stream
of them), and the gateway, which sends the votes it receives together in CastVoteBatch."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from election.models import AreaTally, Vote
from ingest_grpc.protos.escrutinio.v1 import votes_pb2

from .helpers import cast_request, good_vote, post

Reason = votes_pb2.RejectedVote


def batch(requests: list[votes_pb2.CastVoteRequest]) -> votes_pb2.CastVoteBatchRequest:
    return votes_pb2.CastVoteBatchRequest(requests=requests)


def messages(
    requests: list[votes_pb2.CastVoteRequest], per_message: int
) -> list[votes_pb2.CastVoteBatchRequest]:
    starts = range(0, len(requests), per_message)
    return [batch(requests[start : start + per_message]) for start in starts]


def test_a_batch_answers_each_vote_in_order_and_stores_only_the_good_ones(stub) -> None:  # type: ignore[no-untyped-def]
    already = cast_request()
    stub.CastVote(already, timeout=10)
    good = cast_request(sede=8)
    bad = cast_request(partido="XYZ", municipio="Mixco")
    conflict = votes_pb2.CastVoteRequest()
    conflict.CopyFrom(already)
    conflict.vote.sede = "99"

    answer = stub.CastVoteBatch(batch([good, bad, already, conflict]), timeout=10)

    first, second, third, fourth = answer.results
    assert (first.status, first.vote.sede, first.vote.municipio) == (
        votes_pb2.CAST_STATUS_STORED,
        "8",
        "Patzún",
    )
    assert not first.HasField("rejected")
    assert second.status == votes_pb2.CAST_STATUS_UNSPECIFIED
    assert (second.rejected.index, second.rejected.reason) == (1, Reason.REASON_INVALID)
    assert {error.field for error in second.rejected.errors} == {"municipio", "partido"}
    assert third.status == votes_pb2.CAST_STATUS_DUPLICATE
    assert (fourth.rejected.index, fourth.rejected.reason) == (3, Reason.REASON_CONFLICT)
    assert fourth.rejected.vote_id == already.vote.vote_id
    assert set(Vote.objects.values_list("vote_id", flat=True)) == {
        uuid.UUID(already.vote.vote_id),
        uuid.UUID(good.vote.vote_id),
    }
    assert sum(AreaTally.objects.values_list("votes", flat=True)) == 2


def test_a_batch_with_an_unknown_token_is_unauthenticated_and_stores_nothing(channel) -> None:  # type: ignore[no-untyped-def]
    from ingest_grpc.protos.escrutinio.v1 import votes_pb2_grpc

    stub = votes_pb2_grpc.VoteServiceStub(channel)
    with pytest.raises(grpc.RpcError) as error:
        stub.CastVoteBatch(
            batch([cast_request(), cast_request()]),
            timeout=10,
            metadata=(("authorization", "Bearer not-a-token"),),
        )
    assert error.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert Vote.objects.count() == 0


def test_a_large_batch_stream_is_stored_exactly_once_even_when_resent(stub) -> None:  # type: ignore[no-untyped-def]
    requests = [cast_request(sede=1 + i % 40) for i in range(6_000)]

    first = stub.CastVoteBatches(iter(messages(requests, 700)), timeout=60)
    again = stub.CastVoteBatches(iter(messages(requests, 1_000)), timeout=60)

    assert (first.received, first.stored, first.duplicate, len(first.rejected)) == (6_000, 6_000, 0, 0)
    assert (again.received, again.stored, again.duplicate, len(again.rejected)) == (6_000, 0, 6_000, 0)
    assert Vote.objects.count() == 6_000
    assert sum(AreaTally.objects.values_list("votes", flat=True)) == 6_000


def test_votes_repeated_in_the_next_message_of_a_stream_are_stored_once(stub) -> None:  # type: ignore[no-untyped-def]
    # The server admits a stream's next chunk while the one before commits: a vote_id in both
    # is looked up before the first commit, and must still be stored once, then a duplicate.
    requests = [cast_request(sede=1 + i % 40) for i in range(3_000)]
    stream = []
    for start in range(0, 3_000, 1_000):
        stream += [batch(requests[start : start + 1_000]), batch(requests[start + 500 : start + 1_000])]
    stream += [batch(requests[:750]), batch(requests[750:1_500])]

    summary = stub.CastVoteBatches(iter(stream), timeout=60)

    assert (summary.received, summary.stored, summary.duplicate, len(summary.rejected)) == (
        6_000,
        3_000,
        3_000,
        0,
    )  # 1,500 repeated right after their first message, 1,500 at the end
    assert Vote.objects.count() == 3_000
    assert sum(AreaTally.objects.values_list("votes", flat=True)) == 3_000


def test_a_bad_vote_inside_a_stream_message_fails_alone_at_its_stream_index(stub) -> None:  # type: ignore[no-untyped-def]
    good = [cast_request(sede=i) for i in range(1, 301)]
    bad = cast_request(papeleta="Morada")
    stream = [batch(good[:100]), batch([*good[100:150], bad, *good[150:200]]), batch(good[200:])]

    summary = stub.CastVoteBatches(iter(stream), timeout=30)

    assert (summary.received, summary.stored, summary.duplicate) == (301, 300, 0)
    assert [(r.index, r.reason) for r in summary.rejected] == [(150, Reason.REASON_INVALID)]
    assert summary.rejected[0].errors[0].field == "papeleta"
    assert not Vote.objects.filter(vote_id=bad.vote.vote_id).exists()
    assert Vote.objects.count() == 300


def test_a_stream_past_its_deadline_keeps_what_committed_and_a_resend_stores_each_vote_once(stub) -> None:  # type: ignore[no-untyped-def]
    requests = [cast_request(sede=1 + i % 40) for i in range(400)]
    sent_first = threading.Event()

    def slow_sender() -> Iterator[votes_pb2.CastVoteBatchRequest]:
        yield batch(requests[:200])
        sent_first.set()
        time.sleep(3)  # the client stalls: its deadline passes with the stream still open
        yield batch(requests[200:])

    with pytest.raises(grpc.RpcError) as error:
        stub.CastVoteBatches(slow_sender(), timeout=1.5)
    assert error.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert sent_first.is_set()
    assert Vote.objects.count() <= 200  # never a vote of the message that was never sent

    summary = stub.CastVoteBatches(iter(messages(requests, 200)), timeout=30)

    # the first message's commit may still have been finishing: it shows up as duplicates
    assert summary.stored + summary.duplicate == 400 and summary.duplicate <= 200
    assert Vote.objects.count() == 400


def test_concurrent_gateway_votes_each_get_their_own_answer(gateway_url: str) -> None:
    good = [good_vote(sede=1 + i % 40) for i in range(120)]
    bad = [good_vote(partido="XYZ") for _ in range(10)]
    repeated = good[:10]
    bodies = [*good, *bad, *repeated]

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda body: post(f"{gateway_url}/votes", body), bodies))

    for body, (status, answer) in zip(bodies, answers, strict=True):
        if body in bad:
            assert status == 400 and answer["errors"] == {"partido": ["Unknown partido 'XYZ'."]}
        else:
            assert status == 201
            assert answer["vote_id"] == body["vote_id"]
            assert answer["vote"]["sede"] == str(body["sede"])
    statuses = [answer["status"] for status, answer in answers if status == 201]
    assert statuses.count("stored") == 120 and statuses.count("duplicate") == 10
    assert Vote.objects.count() == 120
