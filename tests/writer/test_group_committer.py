"""The group committer (Celery worker, gRPC server) against the real database and Redis,
one group in flight at a time (GROUP_COMMIT_PIPELINE off; two in flight:
test_group_committer_pipeline.py).

Callers submit while a commit is held open, as happens when a transaction is slow: task
threads that block, and coroutines that await. The submissions that waited meanwhile must go
together in the next transaction, each caller must get its own results, a bad message must
fail alone, and a coroutine that gives up must not take its votes out of the transaction.
Calls that reach an event loop while it sends a commit's answers go together too. Admission
(the gRPC server's) happens once per vote, however often its group is committed; and at most
`max_pending` items wait for a coroutine, which is refused at once past that.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError

from election.admission.rate_limit import Throttled, sede_limiter
from election.ingest.async_batcher import Overloaded
from election.models import Vote
from election.votes.types import Outcome, RecordResult, ValidatedVote
from election.writer import live_feed, submissions
from election.writer.group_committer import GroupCommitter
from ingest_grpc.recording import Ballot, ballots_admit, ballots_record
from tests.conftest import INGEST_TOKEN
from tests.support.votes import make_votes, recount_matches_tallies
from tests.writer.holds import HeldFirstCommit, submit_all


@pytest.fixture
def held() -> HeldFirstCommit:
    return HeldFirstCommit()


@pytest.fixture
def committer(held: HeldFirstCommit, committed_db: None, redis_client: Any) -> Iterator[GroupCommitter]:
    group = GroupCommitter(held, route="redis")
    yield group
    held.release()
    group.stop()


def test_tasks_waiting_during_a_commit_share_the_next_transaction(
    committer: GroupCommitter, held: HeldFirstCommit
) -> None:
    votes = make_votes(15 * 11)
    batches = [votes[i : i + 15] for i in range(0, len(votes), 15)]

    answers = submit_all(committer, held, batches)

    assert committer.group_sizes == [1, 10]
    assert held.calls == 2
    for batch, answer in zip(batches, answers, strict=True):
        assert isinstance(answer, list)
        assert [r.vote.vote_id for r in answer] == [v.vote_id for v in batch]
        assert {r.outcome for r in answer} == {Outcome.STORED}
    assert Vote.objects.count() == len(votes)
    assert Vote.objects.values("stored_at").distinct().count() == 2
    recount_matches_tallies()
    committer.stop()  # the latest list follows the commits; stopping publishes what is left
    listed = [vote["vote_id"] for vote in live_feed.latest_votes(settings.LATEST_VOTES_MAX)]
    assert len(listed) == min(len(votes), settings.LATEST_VOTES_MAX)
    assert listed[0] == str(votes[-1].vote_id)  # newest first


def test_a_vote_in_two_messages_of_one_transaction_is_stored_once(
    committer: GroupCommitter, held: HeldFirstCommit
) -> None:
    first, again = make_votes(2), make_votes(1, seed=5)
    answers = submit_all(committer, held, [first, again, [again[0], first[1]]])

    assert committer.group_sizes == [1, 2]
    outcomes = [[r.outcome for r in answer] for answer in answers if isinstance(answer, list)]
    assert outcomes == [
        [Outcome.STORED, Outcome.STORED],
        [Outcome.STORED],
        [Outcome.DUPLICATE, Outcome.DUPLICATE],
    ]
    assert Vote.objects.count() == 3


def test_a_message_the_database_refuses_fails_alone(committer: GroupCommitter, held: HeldFirstCommit) -> None:
    votes = make_votes(40)
    poison = replace(make_votes(1, seed=40)[0], partido="NO-SUCH-PARTIDO")  # violates a foreign key
    batches = [votes[0:10], votes[10:20], [votes[20], poison], votes[30:40]]

    answers = submit_all(committer, held, batches)

    assert isinstance(answers[2], IntegrityError)
    assert all(isinstance(answers[i], list) for i in (0, 1, 3))
    # The group failed as a whole, then each message was committed alone.
    assert committer.group_sizes == [1, 3, 1, 1, 1]
    stored = {str(v) for v in Vote.objects.values_list("vote_id", flat=True)}
    assert stored == {str(v.vote_id) for batch in (batches[0], batches[1], batches[3]) for v in batch}
    recount_matches_tallies()


def test_coroutines_waiting_during_a_commit_share_the_next_one_and_a_cancelled_ones_votes_stay(
    committer: GroupCommitter, held: HeldFirstCommit
) -> None:
    votes = make_votes(4 * 5)
    first, *waiting = [votes[i : i + 5] for i in range(0, len(votes), 5)]
    first_thread = threading.Thread(target=committer.submit, args=(first,))
    first_thread.start()
    assert held.entered.wait(30)

    async def callers() -> list[list[RecordResult] | BaseException]:
        tasks = [asyncio.ensure_future(committer.submit_async(batch)) for batch in waiting]
        while committer.waiting() < len(waiting):
            await asyncio.sleep(0.01)
        tasks[1].cancel()  # its caller's deadline passed while the commit was held
        held.release()
        return await asyncio.gather(*tasks, return_exceptions=True)

    answers = asyncio.run(callers())
    first_thread.join(30)

    assert isinstance(answers[1], asyncio.CancelledError)
    for batch, answer in zip(waiting, answers, strict=True):
        if answer is not answers[1]:
            assert isinstance(answer, list)
            assert [r.vote.vote_id for r in answer] == [v.vote_id for v in batch]
    assert committer.group_sizes == [1, 3]
    assert Vote.objects.count() == len(votes)  # the cancelled caller's votes were committed too
    recount_matches_tallies()


def test_calls_a_loop_takes_in_while_it_sends_the_answers_go_in_one_group(
    committer: GroupCommitter, held: HeldFirstCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a busy gRPC server: the answered callers send their next votes one after another,
    while the loop is still busy with the answers. Taken at once, the first of them would be
    committed alone and the others after it."""
    monkeypatch.setattr(submissions, "ITERATIONS_WAIT_MAX_SECONDS", 10.0)  # a slow machine
    votes = make_votes(1 + 2 * 4)
    first_thread = threading.Thread(target=committer.submit, args=([votes[0]],))
    first_thread.start()
    assert held.entered.wait(30)

    async def caller(vote: ValidatedVote, then: ValidatedVote) -> list[RecordResult]:
        await committer.submit_async([vote])
        time.sleep(0.005)  # this caller's answer keeps the loop busy; the committer is free
        return await committer.submit_async([then])

    async def callers() -> list[list[RecordResult]]:
        tasks = [asyncio.ensure_future(caller(votes[i], votes[4 + i])) for i in range(1, 5)]
        while committer.waiting() < len(tasks):
            await asyncio.sleep(0.01)
        held.release()
        return await asyncio.gather(*tasks)

    answers = asyncio.run(callers())
    first_thread.join(30)

    assert committer.group_sizes == [1, 4, 4]
    assert [answer[0].vote.vote_id for answer in answers] == [v.vote_id for v in votes[5:]]
    assert Vote.objects.count() == len(votes)


def test_a_group_committed_again_one_by_one_admits_no_vote_twice(
    committed_db: None, redis_client: Any, settings: Any
) -> None:
    """A sede at exactly its burst, one of its votes in a group that a poison vote makes fail:
    each submission is committed again alone, and none of the sede's votes is throttled for it
    (admission, and the rate token it takes, happened once)."""
    settings.INGEST_TOKEN = INGEST_TOKEN
    settings.INGEST_RATE_PER_SEDE, settings.INGEST_RATE_BURST = 0.001, 3  # no refill during the test
    sede_limiter.reset()
    sede = [_ballot(sede=7) for _ in range(3)]
    poison = _ballot(sede=8)

    def admit(ballots: Sequence[Ballot]) -> Sequence[Ballot]:
        """ballots_admit; then the poison's admitted vote names a partido the database lacks."""
        admitted = ballots_admit(ballots)
        for ballot in admitted:
            if ballot is poison:
                assert isinstance(ballot.admission, ValidatedVote)
                ballot.admission = replace(ballot.admission, partido="NO-SUCH-PARTIDO")
        return admitted

    held = HeldFirstCommit(ballots_record)
    committer: GroupCommitter[Ballot, Any] = GroupCommitter(held, admit=admit, route="grpc")
    try:
        answers = submit_all(committer, held, [[sede[0]], [sede[1]], [poison], [sede[2]]])
    finally:
        held.release()
        committer.stop()
        sede_limiter.reset()

    assert committer.group_sizes == [1, 3, 1, 1, 1]  # the group failed; each went again alone
    assert isinstance(answers[2], IntegrityError)
    verdicts = [answer[0] for answer in answers if isinstance(answer, list)]
    assert not [verdict for verdict in verdicts if isinstance(verdict, Throttled)]
    assert [verdict.outcome for verdict in verdicts] == [Outcome.STORED] * 3
    assert Vote.objects.count() == 3
    recount_matches_tallies()


def _ballot(sede: int) -> Ballot:
    data = {"sede": str(sede), "municipio": "Patzun", "departamento": "Chimaltenango"}
    data |= {"papeleta": "Blanca", "partido": "VAMOS", "vote_id": str(uuid.uuid4())}
    return Ballot(data, datetime.now(UTC), INGEST_TOKEN)


def test_coroutines_are_refused_at_once_past_max_pending_and_blocking_tasks_never(
    held: HeldFirstCommit, committed_db: None, redis_client: Any
) -> None:
    committer: GroupCommitter[ValidatedVote, RecordResult] = GroupCommitter(
        held, route="redis", max_pending=2
    )
    votes = make_votes(6)
    first = threading.Thread(target=committer.submit, args=([votes[0]],))
    first.start()
    assert held.entered.wait(30)

    async def callers() -> tuple[list[Any], BaseException | None]:
        accepted = [asyncio.ensure_future(committer.submit_async([vote])) for vote in votes[1:3]]
        while committer.waiting_items() < 2:
            await asyncio.sleep(0.01)
        try:
            await committer.submit_async([votes[3]])
            refused = None
        except Overloaded as exc:
            refused = exc
        task = threading.Thread(target=committer.submit, args=(votes[4:6],))  # a Celery task: waits
        task.start()
        while committer.waiting_items() < 4:
            await asyncio.sleep(0.01)
        held.release()
        answers = await asyncio.gather(*accepted)
        await asyncio.to_thread(task.join, 30)
        return answers, refused

    try:
        answers, refused = asyncio.run(callers())
        first.join(30)
    finally:
        held.release()
        committer.stop()

    assert isinstance(refused, Overloaded)
    assert refused.message == (
        "Too many votes are waiting (2 waiting for the database in this server); nothing was done. "
        "Retry in 1 s."
    )
    assert [answer[0].outcome for answer in answers] == [Outcome.STORED] * 2
    stored = {str(v) for v in Vote.objects.values_list("vote_id", flat=True)}
    assert stored == {str(vote.vote_id) for vote in [*votes[:3], *votes[4:6]]}
