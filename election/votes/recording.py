"""Recording: batches of validated votes stored in one transaction, idempotently on `vote_id`.

Both routes end in `votes_record` (or its two steps, `votes_plan` then `plan_commit`);
nothing else decides how a vote is stored.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import DatabaseError, IntegrityError, OperationalError, connection
from django.utils import timezone

from election.models import Route
from election.observability import metrics
from election.votes import tallies
from election.votes.sql import stored_content, votes_insert
from election.votes.transaction import Statement, statements_commit
from election.votes.types import (
    ContentKey,
    Outcome,
    RecordResult,
    StorageUnavailable,
    ValidatedVote,
)

logger = logging.getLogger(__name__)

RECORD_ATTEMPTS = 5


def votes_record(*, votes: Sequence[ValidatedVote], route: Route | str) -> list[RecordResult]:
    """Store a batch of validated votes in one transaction, idempotently on `vote_id`.

    Returns one result per input vote, in order. A vote whose `vote_id` is already stored
    is not written again: DUPLICATE when its content matches, CONFLICT when it does not.
    Raises StorageUnavailable when the database cannot take the batch; then nothing of
    the batch was written and the caller may retry it whole.
    """
    return plan_commit(RecordPlan(votes, Route(route)))


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """A batch, and what storing it will write, decided from what was stored when it looked.

    votes_record looks and commits in one go. A pipelined caller (election.writer.group_committer,
    a gRPC stream) makes the next batch's plan (`votes_plan`) while the previous batch commits
    (`plan_commit`), on two connections. The plan's `stored_at` is when it looked: at most one
    commit before its own.
    """

    votes: Sequence[ValidatedVote]
    route: Route
    results: list[RecordResult] | None = None  # None: not looked yet, or looking failed
    writes: list[Statement] = field(default_factory=list)


def votes_plan(*, votes: Sequence[ValidatedVote], route: Route | str) -> RecordPlan:
    """Look up a batch's vote_ids and prepare its writes; `plan_commit` stores them.

    If the lookup fails, the plan is left unmade and `plan_commit` makes it, with its own
    handling of database errors.
    """
    route = Route(route)
    try:
        results, writes = _record_plan(votes, route)
    except DatabaseError:
        connection.close()
        return RecordPlan(votes, route)
    return RecordPlan(votes, route, results, writes)


def plan_commit(plan: RecordPlan) -> list[RecordResult]:
    """Commit a plan's writes in one transaction and return its results (see votes_record).

    A plan made stale by another commit since it looked (one of its vote_ids is now stored)
    fails on the unique key: it is made again and retried, and then reports that vote as a
    duplicate.
    """
    votes, route, results, writes = plan.votes, plan.route, plan.results, plan.writes
    if not votes:
        return []
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            started = time.perf_counter()
            if results is None:
                results, writes = _record_plan(votes, route)
            statements_commit(writes)
            _observe(results, route, time.perf_counter() - started)
            return results
        except IntegrityError as exc:
            if not _is_duplicate_key(exc):
                raise
            # A concurrent transaction stored one of these vote_ids after we looked (or the
            # group committed just before this one): it is committed, so looking again at once
            # sees it and reports it as a duplicate.
            logger.info("vote_id race, retrying batch", extra={"attempt": attempt})
            results = None
            continue
        except OperationalError as exc:
            if _is_connection_lost(exc) and attempt == 1:
                # A connection the server dropped while idle (a restart, a timeout): the next
                # attempt opens a new one. Had the COMMIT gone through, it sees the votes stored.
                logger.info("database connection lost, retrying batch on a new one")
                connection.close()
                results = None
                continue
            if not _is_transient_lock_error(exc):
                connection.close()  # a fresh connection next time, once the server is back
                raise StorageUnavailable(str(exc)) from exc
            logger.warning("lock conflict, retrying batch", extra={"attempt": attempt})
        except DatabaseError as exc:
            connection.close()
            raise StorageUnavailable(str(exc)) from exc
        results = None
        time.sleep(0.01 * 2**attempt)
    raise StorageUnavailable(f"batch of {len(votes)} votes failed {RECORD_ATTEMPTS} times")


def _observe(results: list[RecordResult], route: Route, seconds: float) -> None:
    metrics.RECORD_BATCH_SIZE.labels(route).observe(len(results))
    metrics.RECORD_SECONDS.labels(route).observe(seconds)
    for outcome, count in Counter(r.outcome for r in results).items():
        metrics.VOTES_RECORDED.labels(route, outcome.value).inc(count)
    latency = metrics.RECEIPT_TO_STORAGE.labels(route)
    for result in results:
        if result.stored_at is not None:
            latency.observe((result.stored_at - result.vote.received_at).total_seconds())


def _is_duplicate_key(exc: IntegrityError) -> bool:
    code = exc.args[0] if exc.args else None
    # MySQL: 1062 duplicate entry. SQLite: "UNIQUE constraint failed".
    return code == 1062 or "UNIQUE constraint" in str(exc)


# MySQL client: server gone away, connection lost (twice); MariaDB: connection killed.
_CONNECTION_LOST = (2006, 2013, 2055, 1927)


def _is_connection_lost(exc: OperationalError) -> bool:
    return bool(exc.args) and exc.args[0] in _CONNECTION_LOST


def _is_transient_lock_error(exc: OperationalError) -> bool:
    code = exc.args[0] if exc.args else None
    # MySQL: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
    return code in (1205, 1213) or "locked" in str(exc)


def _record_plan(votes: Sequence[ValidatedVote], route: Route) -> tuple[list[RecordResult], list[Statement]]:
    """Each vote's outcome, from what is stored now, and the writes that store the new ones.

    A vote another transaction stores between this look and the commit makes the commit fail
    on the vote_id's unique key; votes_record then plans again and sees it.
    """
    stored_before = stored_content([vote.vote_id for vote in votes])
    stored_at = timezone.now()
    fresh: dict[uuid.UUID, ValidatedVote] = {}
    results: list[RecordResult] = []
    for vote in votes:
        earlier = fresh.get(vote.vote_id)
        known = earlier.content_key() if earlier else stored_before.get(vote.vote_id)
        if known is None:
            fresh[vote.vote_id] = vote
            results.append(RecordResult(vote, Outcome.STORED, stored_at))
        elif known == vote.content_key():
            results.append(RecordResult(vote, Outcome.DUPLICATE))
        else:
            results.append(RecordResult(vote, Outcome.CONFLICT))
    new = list(fresh.values())
    writes = votes_insert(new, route, stored_at)
    writes += tallies.tallies_statements(votes=new, route=route, stored_at=stored_at)
    return results, writes


def votes_stored_content(vote_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ContentKey]:
    """What is stored under each of these vote_ids that is stored: one query per 1000 ids.

    For telling, before a vote is queued, that its vote_id was used for another vote (the
    publisher's 409). Raises StorageUnavailable when the database does not answer; the
    connection is then closed, so the next call opens a new one.
    """
    try:
        return stored_content(list(vote_ids))
    except DatabaseError as exc:
        connection.close()
        raise StorageUnavailable(str(exc)) from exc


def vote_conflict_message(vote_id: uuid.UUID | str) -> str:
    """Why a vote whose vote_id is stored with other content is refused (HTTP 409, ALREADY_EXISTS)."""
    return f"vote_id {vote_id} was stored before with different content; nothing changed."
