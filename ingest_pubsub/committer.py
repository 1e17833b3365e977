"""The Celery worker's group committer: the votes of the tasks of one process in one transaction.

Each task thread hands its validated votes to `committer.submit` and blocks until they are
committed, so Celery (acks_late) acknowledges a message only after its commit. How groups
form and fail is election.writer.group_committer's, shared with the gRPC server; with
GROUP_COMMIT_PIPELINE on, the next group is looked up on a second connection while one commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from election.models import Route
from election.votes.recording import VotesLookup, lookups_commit, votes_lookup, votes_record
from election.votes.types import RecordResult, ValidatedVote
from election.writer.group_committer import GroupCommitter


def _record_redis(votes: Sequence[ValidatedVote]) -> list[RecordResult]:
    return votes_record(votes=votes, route=Route.REDIS)


def _lookup_redis(votes: Sequence[ValidatedVote]) -> VotesLookup:
    return votes_lookup(votes, route=Route.REDIS)


def _commit_redis(lookups: Sequence[VotesLookup]) -> list[RecordResult]:
    return lookups_commit(lookups, route=Route.REDIS)


# One per worker process: every task thread of the process shares its transactions.
committer: GroupCommitter[ValidatedVote, RecordResult] = GroupCommitter(
    _record_redis,
    prepare=_lookup_redis,
    commit=_commit_redis,
    pipelined=settings.GROUP_COMMIT_PIPELINE,
    route=Route.REDIS,
)
