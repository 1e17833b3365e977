"""The group committer pipelined (GROUP_COMMIT_PIPELINE on): two groups in flight, against
the real database.

While group N commits, group N+1 forms on a second connection: every submission that arrives
meanwhile is admitted and its vote_ids looked up at once, and the group is handed over when
the commit ends. Each test holds commits open (tests/writer/holds.py) to put both groups in
flight, then checks what the pipeline must not change: an answer only after the commit, a
vote_id in both groups stored once (the unique key), a failing group that fails alone
whichever of the two it is, a caller that gives up leaving its votes in, and never a third
group in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from django.db import IntegrityError

from election.models import Vote
from election.votes.types import Outcome, RecordResult, ValidatedVote
from election.writer.group_committer import GroupCommitter
from scripts.devservices import wait_until
from tests.support.votes import PARTIDOS, make_votes, recount_matches_tallies
from tests.writer.holds import HeldPipeline, Submitter

Committer = GroupCommitter[ValidatedVote, RecordResult]


@pytest.fixture
def held() -> HeldPipeline:
    return HeldPipeline()


@pytest.fixture
def committer(held: HeldPipeline, committed_db: None, redis_client: Any) -> Iterator[Committer]:
    group: Committer = GroupCommitter(
        held.record, prepare=held.prepare, commit=held.commit, pipelined=True, route="redis"
    )
    yield group
    held.release_all()
    group.stop()


def outcomes(answer: list[RecordResult] | BaseException) -> list[Outcome]:
    assert isinstance(answer, list), answer
    return [result.outcome for result in answer]


def formed(committer: Committer, held: HeldPipeline, lookups: int) -> None:
    """Wait until the group behind the committing one has taken everything submitted and
    looked up `lookups` parts in all (the committing group's included)."""
    wait_until(
        lambda: committer.in_flight() == 2 and committer.waiting() == 0 and len(held.lookups) == lookups,
        30,
        "the next group formed beside the commit",
    )


@pytest.mark.parametrize("same_content", [True, False], ids=["resent", "reused-for-another-vote"])
def test_a_vote_id_in_both_groups_in_flight_is_stored_once(
    committer: Committer, held: HeldPipeline, same_content: bool
) -> None:
    first, second = make_votes(2), make_votes(2, seed=10)
    vote = first[0]
    other_partido = next(p for p in PARTIDOS if p != vote.partido)
    second[0] = vote if same_content else replace(vote, partido=other_partido)
    tasks = Submitter(committer)

    tasks.submit(first)
    held.commit_entered(0)  # looked up; its commit held open
    tasks.submit(second)
    formed(committer, held, lookups=2)
    # The second group looked the vote_id up before the first committed it: the race is real.
    assert held.lookups[1].stored == {}
    assert not tasks.answers  # nobody is answered before the commit that stores their votes

    held.release_all()
    answers = tasks.join()

    assert outcomes(answers[0]) == [Outcome.STORED, Outcome.STORED]
    expected = Outcome.DUPLICATE if same_content else Outcome.CONFLICT
    assert outcomes(answers[1]) == [expected, Outcome.STORED]
    assert committer.group_sizes == [1, 1]  # caught by the unique key, not by a retry alone
    stored = list(Vote.objects.filter(vote_id=vote.vote_id).values_list("partido", flat=True))
    assert stored == [vote.partido]
    assert Vote.objects.count() == 3
    recount_matches_tallies()  # the second group's stale look did not count the vote twice


def test_a_failing_group_fails_alone_beside_a_good_one_in_flight(
    committer: Committer, held: HeldPipeline
) -> None:
    """Group 1 forms while group 0 commits and holds a poison vote; then it fails while
    group 2 forms behind it. Only the poison's message fails, in either position."""
    votes = make_votes(5)
    poison = replace(make_votes(1, seed=40)[0], partido="NO-SUCH-PARTIDO")  # violates a foreign key
    tasks = Submitter(committer)

    tasks.submit([votes[0]])  # group 0: committing, held
    held.commit_entered(0)
    for batch in ([votes[1]], [votes[2], poison], [votes[3]]):  # group 1 forms beside it
        tasks.submit(batch)
        wait_until(lambda: committer.waiting() == 0, 30, "the message taken into the forming group")
    formed(committer, held, lookups=4)

    held.release(0)
    held.commit_entered(1)  # group 1, with the poison, commits (held) while group 2 forms
    tasks.submit([votes[4]])
    formed(committer, held, lookups=5)
    held.release_all()
    answers = tasks.join()

    assert isinstance(answers[2], IntegrityError)
    assert [outcomes(answers[i]) for i in (0, 1, 3, 4)] == [[Outcome.STORED]] * 4
    assert committer.group_sizes == [1, 3, 1, 1, 1, 1]  # group 1 again, one message at a time
    stored = {str(v) for v in Vote.objects.values_list("vote_id", flat=True)}
    assert stored == {str(vote.vote_id) for vote in (votes[0], votes[1], votes[3], votes[4])}
    recount_matches_tallies()


def test_what_arrives_during_a_commit_forms_one_group_and_never_a_third(
    committer: Committer, held: HeldPipeline
) -> None:
    votes = make_votes(6)
    tasks = Submitter(committer)
    tasks.submit([votes[0]])
    held.commit_entered(0)
    for vote in votes[1:]:
        tasks.submit([vote])
    wait_until(lambda: committer.waiting() == 0 and committer.in_flight() == 2, 30, "all taken")
    assert committer.in_flight() == 2  # the five grow one group; none starts a third

    held.release_all()
    answers = tasks.join()

    assert [outcomes(answer) for answer in answers] == [[Outcome.STORED]] * 6
    assert committer.group_sizes == [1, 5]
    assert committer.in_flight() == 0
    recount_matches_tallies()


def test_a_caller_that_gives_up_in_the_forming_group_leaves_its_votes_in(
    committer: Committer, held: HeldPipeline
) -> None:
    votes = make_votes(3 * 4)
    first, *forming = [votes[i : i + 4] for i in range(0, len(votes), 4)]
    tasks = Submitter(committer)
    tasks.submit(first)
    held.commit_entered(0)

    async def callers() -> list[list[RecordResult] | BaseException]:
        calls = [asyncio.ensure_future(committer.submit_async(batch)) for batch in forming]
        while committer.waiting() or sum(len(lookup.votes) for lookup in held.lookups) < len(votes):
            await asyncio.sleep(0.01)  # every vote taken and looked up
        calls[0].cancel()  # its deadline passed while the group formed
        held.release_all()
        return await asyncio.gather(*calls, return_exceptions=True)

    answers = asyncio.run(callers())
    tasks.join()

    assert isinstance(answers[0], asyncio.CancelledError)
    assert outcomes(answers[1]) == [Outcome.STORED] * 4
    assert committer.group_sizes == [1, 2]
    assert Vote.objects.count() == len(votes)  # the votes of the caller that gave up, too
    recount_matches_tallies()


def test_the_forming_group_stays_within_max_items(
    held: HeldPipeline, committed_db: None, redis_client: Any
) -> None:
    committer: Committer = GroupCommitter(
        held.record, prepare=held.prepare, commit=held.commit, pipelined=True, route="redis", max_items=3
    )
    votes = make_votes(6)
    tasks = Submitter(committer)
    try:
        tasks.submit([votes[0]])
        held.commit_entered(0)
        for vote in votes[1:]:
            tasks.submit([vote])
        wait_until(lambda: committer.waiting() == 2 and committer.in_flight() == 2, 30, "the group full")
        held.release_all()
        answers = tasks.join()
    finally:
        held.release_all()
        committer.stop()

    assert [outcomes(answer) for answer in answers] == [[Outcome.STORED]] * 6
    assert committer.group_sizes == [1, 3, 2]  # the two that did not fit form the next group
