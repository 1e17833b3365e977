"""The pipelined group committer with two groups in flight, against the real database.

While group N commits, group N+1 is admitted and its vote_ids looked up on a second
connection. Each test holds commits open (tests/writer/holds.py) to put both groups in flight
at once, then checks what must not change with the pipeline: an answer only after the
commit, a vote_id in both groups stored once (the unique key), a failing group that fails
alone whichever of the two it is, and never a third group in flight.
"""

from __future__ import annotations

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
from tests.writer.holds import HeldPipeline, Submitter, two_in_flight

Committer = GroupCommitter[ValidatedVote, RecordResult]


@pytest.fixture
def held() -> HeldPipeline:
    return HeldPipeline()


@pytest.fixture
def committer(held: HeldPipeline, committed_db: None, redis_client: Any) -> Iterator[Committer]:
    group: Committer = GroupCommitter(held.record, prepare=held.prepare, route="redis")
    yield group
    held.release_all()
    group.stop()


def outcomes(answer: list[RecordResult] | BaseException) -> list[Outcome]:
    assert isinstance(answer, list), answer
    return [result.outcome for result in answer]


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
    two_in_flight(committer)
    wait_until(lambda: len(held.plans) == 2, 30, "the second group looked up")
    # The second group looked up the vote_id before the first committed it: the race is real.
    assert held.plans[1].results is not None
    assert held.plans[1].results[0].outcome == Outcome.STORED
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
    recount_matches_tallies()  # the second group's stale tally increments were not applied


def test_a_failing_group_fails_alone_beside_a_good_one_in_flight(
    committer: Committer, held: HeldPipeline
) -> None:
    """Group 2 (prepared while group 1 commits) holds a poison vote; so does nobody else.
    It fails while group 3 is prepared behind it: only the poison's message fails."""
    votes = make_votes(5)
    poison = replace(make_votes(1, seed=40)[0], partido="NO-SUCH-PARTIDO")  # violates a foreign key
    tasks = Submitter(committer)

    tasks.submit([votes[0]])  # group 0: held committing
    held.commit_entered(0)
    tasks.submit([votes[1]])  # group 1: prepared beside it
    two_in_flight(committer)
    tasks.submit([votes[2], poison])  # these two wait, then form group 2
    tasks.submit([votes[3]])
    wait_until(lambda: committer.waiting() == 2, 30, "two messages waiting")

    held.release(0)
    held.commit_entered(1)  # group 1 commits while group 2, with the poison, is prepared
    two_in_flight(committer)
    held.release(1)
    held.commit_entered(2)  # group 2 about to fail, while group 3 is prepared behind it
    tasks.submit([votes[4]])
    two_in_flight(committer)
    held.release_all()
    answers = tasks.join()

    assert isinstance(answers[2], IntegrityError)
    assert [outcomes(answers[i]) for i in (0, 1, 3, 4)] == [[Outcome.STORED]] * 4
    assert committer.group_sizes == [1, 1, 2, 1, 1, 1]  # group 2 again, one message at a time
    stored = {str(v) for v in Vote.objects.values_list("vote_id", flat=True)}
    assert stored == {str(vote.vote_id) for vote in (votes[0], votes[1], votes[3], votes[4])}
    recount_matches_tallies()


def test_never_more_than_two_groups_in_flight(committer: Committer, held: HeldPipeline) -> None:
    votes = make_votes(6)
    tasks = Submitter(committer)
    tasks.submit([votes[0]])
    held.commit_entered(0)
    tasks.submit([votes[1]])
    two_in_flight(committer)
    for vote in votes[2:]:
        tasks.submit([vote])
    wait_until(lambda: committer.waiting() == 4, 30, "the rest waiting")
    assert committer.in_flight() == 2 and len(held.plans) == 2  # nothing more taken or looked up

    held.release_all()
    answers = tasks.join()

    assert [outcomes(answer) for answer in answers] == [[Outcome.STORED]] * 6
    assert committer.group_sizes == [1, 1, 4]
    assert committer.in_flight() == 0
    recount_matches_tallies()
