"""Recording: batches of validated votes stored in one transaction, idempotently on `vote_id`.

Both routes end in `votes_record` (or its two steps, `votes_lookup` then `lookups_commit`);
nothing else decides how a vote is stored.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

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
    return lookups_commit([VotesLookup(votes)], route=route)


@dataclass(frozen=True, slots=True)
class VotesLookup:
    """Part of a batch, and what was stored under its vote_ids when it looked.

    votes_record looks and commits in one go. A pipelined caller (election.writer.group_committer,
    a gRPC stream) looks up the next batch's parts (`votes_lookup`) on one connection while the
    batch before commits on another, then commits the parts together (`lookups_commit`).
    """

    votes: Sequence[ValidatedVote]
    stored: dict[uuid.UUID, ContentKey] | None = None  # None: not looked yet, or looking failed
    # Its results and writes, made with the lookup: committed as they are when the part is
    # committed alone (a stream's chunk), so that their Python runs while the part before commits.
    plan: tuple[list[RecordResult], list[Statement]] | None = None


def votes_lookup(votes: Sequence[ValidatedVote], *, route: Route | str) -> VotesLookup:
    """What is stored under these votes' vote_ids now (one query), and what storing them alone
    would write. If the database does not answer, the lookup is left to `lookups_commit`, with
    its own handling of database errors."""
    try:
        stored = stored_content([vote.vote_id for vote in votes])
    except DatabaseError:
        connection.close()
        return VotesLookup(votes)
    return VotesLookup(votes, stored, _record_plan(votes, Route(route), stored))


def lookups_commit(lookups: Sequence[VotesLookup], *, route: Route | str) -> list[RecordResult]:
    """Store the parts' votes in one transaction and return their results (see votes_record).

    A part looked up before another commit stored one of its vote_ids (the group before, in a
    pipeline) fails on the unique key: the batch is looked up again at once and retried, and
    then reports that vote as a duplicate.
    """
    route = Route(route)
    votes = [vote for part in lookups for vote in part.votes]
    if not votes:
        return []
    stored = _merged(lookups)
    plan = lookups[0].plan if len(lookups) == 1 else None
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            started = time.perf_counter()
            if stored is None:
                stored = stored_content([vote.vote_id for vote in votes])
            results, writes = plan or _record_plan(votes, route, stored)
            plan = None  # a retry looks again and plans again
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
            stored = None
            continue
        except OperationalError as exc:
            if _is_connection_lost(exc) and attempt == 1:
                # A connection the server dropped while idle (a restart, a timeout): the next
                # attempt opens a new one. Had the COMMIT gone through, it sees the votes stored.
                logger.info("database connection lost, retrying batch on a new one")
                connection.close()
                stored = None
                continue
            if not _is_transient_lock_error(exc):
                connection.close()  # a fresh connection next time, once the server is back
                raise StorageUnavailable(str(exc)) from exc
            logger.warning("lock conflict, retrying batch", extra={"attempt": attempt})
        except DatabaseError as exc:
            connection.close()
            raise StorageUnavailable(str(exc)) from exc
        stored = None
        time.sleep(0.01 * 2**attempt)
    raise StorageUnavailable(f"batch of {len(votes)} votes failed {RECORD_ATTEMPTS} times")


def _merged(lookups: Sequence[VotesLookup]) -> dict[uuid.UUID, ContentKey] | None:
    """The parts' lookups as one, or None when a part was not looked up."""
    if len(lookups) == 1:
        return lookups[0].stored
    merged: dict[uuid.UUID, ContentKey] = {}
    for part in lookups:
        if part.stored is None:
            return None
        merged.update(part.stored)
    return merged


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


def _record_plan(
    votes: Sequence[ValidatedVote], route: Route, stored_before: dict[uuid.UUID, ContentKey]
) -> tuple[list[RecordResult], list[Statement]]:
    """Each vote's outcome, from what was stored when it looked, and the writes that store the
    new ones. A vote another transaction stored since makes the commit fail on the vote_id's
    unique key; lookups_commit then looks again and sees it."""
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
