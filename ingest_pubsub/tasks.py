"""The consumers of the queue "votes": record a batch, then list and announce it.

Thin adapters: the votes are validated again and stored by election.services, and listed
and announced by election.live. The worker runs many tasks at once in threads (Procfile
`worker:`, election/celery.py); each hands its votes to the process's group committer
(ingest_pubsub/group_commit.py), which stores the votes of every task waiting meanwhile in
one transaction, and returns once they are committed. The message is acknowledged after the
task returns (acks_late), so after the commit; a redelivered message finds its votes stored
and changes nothing. A batch that cannot be stored or read is never dropped: it is retried
with backoff, and parked in a dead-letter list (ingest_pubsub/dead_letters.py) when retries run out.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from celery import Task, signals
from celery.exceptions import Reject
from celery.utils.time import get_exponential_backoff_interval
from redis import RedisError

from election.celery import app
from election.live import live_publish
from election.metrics import QueueDepthCollector, metrics_serve
from election.models import Route
from election.services import (
    Outcome,
    RecordResult,
    StorageUnavailable,
    ValidatedVote,
    VoteInvalid,
    votes_record,
)
from ingest_pubsub.dead_letters import RECORD_BATCH, dead_letters_park
from ingest_pubsub.group_commit import Record, committer
from ingest_pubsub.messages import QueuedVote, vote_from_message

logger = logging.getLogger(__name__)

RECORD_ONE = "escrutinio.votes.record_one"
# Database retries: 1, 2, 4 ... 60 s apart (with jitter), about 25 minutes in all by default.
MAX_RETRIES = int(os.environ.get("VOTES_TASK_MAX_RETRIES", "30"))
RETRY_BACKOFF_MAX = 60
METRICS_PORT = int(os.environ.get("CELERY_METRICS_PORT", "9102"))

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,  # see CELERY_TASK_ACKS_LATE: ack after the commit
    "reject_on_worker_lost": True,  # a killed child requeues its message
    "max_retries": MAX_RETRIES,
}


@signals.worker_init.connect
def worker_switch_interval(**_: Any) -> None:
    """Hand the interpreter lock over every 0.5 ms instead of 5 ms. The consumer loop waits on
    Redis between messages; with the committer and task threads busy, each return from such a
    wait could otherwise queue up to 5 ms for the lock (measured: one process drained about
    1,600 votes/s before, 2,050 after)."""
    sys.setswitchinterval(0.0005)


@signals.worker_ready.connect
def worker_metrics_serve(**_: Any) -> None:
    """In the worker's main process: `/metrics` adding up its pool's processes, and the depth
    of the queue read from the broker at each scrape."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        logger.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: /metrics shows this process only, not its pool "
            "(start the worker with `python -m scripts.part worker`)"
        )
    if METRICS_PORT == 0:  # one process of several (ingest_pubsub/workers.py): another serves
        return
    metrics_serve(METRICS_PORT, QueueDepthCollector(app.conf.broker_url), what="worker")


@app.task(name=RECORD_BATCH, **TASK_OPTIONS)
def record_batch(self: Task, votes: list[QueuedVote]) -> dict[str, int]:
    """Store the votes the publisher received together, with those of the tasks running
    meanwhile, in one transaction (the group committer also lists and announces them)."""
    return _record(self, votes, committer.submit)


@app.task(name=RECORD_ONE, **TASK_OPTIONS)
def record_one(self: Task, vote: QueuedVote) -> dict[str, int]:
    """One vote per message and one transaction per task: the baseline bench/redis_route.py
    compares against (never published)."""
    return _record(self, [vote], _record_alone)


def _record_alone(votes: Sequence[ValidatedVote]) -> list[RecordResult]:
    results = votes_record(votes=votes, route=Route.REDIS)
    live_publish(results=results, route=Route.REDIS)
    return results


def _record(task: Task, messages: Sequence[Any], store: Record) -> dict[str, int]:
    votes, readable = _readable_votes(messages)
    try:
        results = store(votes)
    except StorageUnavailable as exc:
        retries = task.request.retries
        if retries >= task.max_retries:
            _dead_letter(readable, reason=f"database unavailable after {retries} retries: {exc}")
            return {"dead_lettered": len(readable)}
        countdown = get_exponential_backoff_interval(1, retries, RETRY_BACKOFF_MAX, full_jitter=True)
        logger.warning("database unavailable, retrying batch", extra={"votes": len(votes), "retry": retries})
        raise task.retry(args=[readable], countdown=countdown, exc=exc) from exc
    except Exception as exc:  # a bug or an unforeseen refusal: keep the votes for a person to see
        logger.exception("batch could not be recorded", extra={"votes": len(votes)})
        _dead_letter(readable, reason=f"{type(exc).__name__}: {exc}")
        return {"dead_lettered": len(readable)}
    _log_conflicts(results)
    return dict(Counter(str(result.outcome) for result in results))


def _readable_votes(messages: Sequence[Any]) -> tuple[list[ValidatedVote], list[Any]]:
    """The votes that validate, and their messages; the others go to the dead letters."""
    votes: list[ValidatedVote] = []
    readable: list[Any] = []
    unreadable: list[tuple[Any, str]] = []
    for message in messages:
        try:
            votes.append(vote_from_message(message))
            readable.append(message)
        except VoteInvalid as exc:  # the catalogue changed while the vote was queued
            unreadable.append((message, json.dumps(exc.errors, ensure_ascii=False)))
        except (KeyError, TypeError, ValueError) as exc:
            unreadable.append((message, f"malformed message: {exc!r}"))
    for message, reason in unreadable:
        _dead_letter([message], reason=reason)
    return votes, readable


def _dead_letter(messages: Sequence[Any], *, reason: str) -> None:
    try:
        dead_letters_park(messages, reason=reason)
    except RedisError as exc:
        # Not parked, so not acknowledged either: the message comes back later.
        raise Reject(exc, requeue=True) from exc


def _log_conflicts(results: Sequence[RecordResult]) -> None:
    for result in results:
        if result.outcome is Outcome.CONFLICT:
            logger.warning(
                "vote_id already stored with different content; refused",
                extra={"vote_id": str(result.vote.vote_id)},
            )
