"""The consumers of the queue "votes": record a batch, then list and announce it.

Thin adapters: each vote's signature is checked and the vote validated again
(ingest_pubsub/messages.py), stored by election.votes.recording through the process's group
committer (ingest_pubsub/committer.py), and listed and announced by election.writer.live_feed.
Every way out of a task leaves each of its votes stored, in a published retry, back on the
queue, or parked in the dead letters (ingest_pubsub/dead_letters.py): `messages_record` is the one
place that sees to it, for votes and for actas (ingest_pubsub/acta_tasks.py) alike: each queue
says how its messages are read, stored and parked (`QueueBatch`). Why, and how the worker is run
for it: docs/reliability.md#the-celery-worker.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from celery import Task, bootsteps, signals
from celery.exceptions import Reject, Retry
from celery.utils.time import get_exponential_backoff_interval
from django import db
from django.conf import settings
from django.db import DatabaseError

from election.catalogue.index import CatalogueError, catalogue_index
from election.celery import app
from election.models import Vote
from election.observability.metrics import QueueDepthCollector, metrics_serve
from election.votes.types import Outcome, RecordResult, StorageUnavailable, ValidatedVote, VoteInvalid
from election.writer.db_session import database_session
from ingest_pubsub.committer import committer
from ingest_pubsub.dead_letters import RECORD_BATCH, VOTES, Parking, dead_letters_park
from ingest_pubsub.messages import QueuedVote, SignatureInvalid, queue_key, vote_from_message

logger = logging.getLogger(__name__)

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,  # see CELERY_TASK_ACKS_LATE: ack after the commit
    "reject_on_worker_lost": True,  # a killed child requeues its message
    "max_retries": settings.VOTES_TASK_MAX_RETRIES,
}


class QueueKeyRequired(bootsteps.StartStopStep):
    """The worker refuses to start without VOTE_QUEUE_KEY, rather than park every vote it
    reads (a signal handler cannot stop the worker: Celery logs what it raises)."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        queue_key()
        super().__init__(parent, **kwargs)


app.steps["worker"].add(QueueKeyRequired)


@signals.worker_init.connect
def worker_switch_interval(**_: Any) -> None:
    """Hand the interpreter lock over every 0.5 ms instead of 5 ms. The consumer loop waits on
    Redis between messages; with the committer and task threads busy, each return from such a
    wait could otherwise queue up to 5 ms for the lock (measured: one process drained about
    1,600 votes/s before, 2,050 after)."""
    sys.setswitchinterval(0.0005)


@signals.worker_init.connect
def worker_catalogue_load(**_: Any) -> None:
    """Read the catalogue before the first message, so that a worker has a good copy to fall
    back on should the catalogue later fail to build (election/catalogue/index.py). A worker that
    starts while MariaDB is away, or the catalogue is ambiguous, starts all the same: its
    batches are retried until the catalogue can be read."""
    try:
        catalogue_index()
    except Exception:
        logger.exception("the catalogue could not be read at start; batches wait for it (retried)")
    finally:
        db.connection.close()  # the tasks and the committer use connections of their own


@signals.worker_ready.connect
def worker_metrics_serve(**_: Any) -> None:
    """In the worker's main process: `/metrics` adding up its pool's processes, and the depth
    of the queue read from the broker at each scrape."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        logger.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: /metrics shows this process only, not its pool "
            "(start the worker with `python -m scripts.part worker`)"
        )
    port = settings.CELERY_METRICS_PORT
    if port == 0:  # one process of several (ingest_pubsub/workers.py): another serves
        return
    metrics_serve(port, QueueDepthCollector(app.conf.broker_url), host=settings.BIND_HOST, what="worker")


Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class QueueBatch(Generic[Item, Result]):
    """What one queue's task reads, stores and parks: votes, or actas (acta_tasks.py)."""

    read: Callable[[Any], Item]  # a message, verified and validated again; raises as vote_from_message
    invalid: type[Exception]  # the domain's refusal of a field (VoteInvalid): its `errors` are the reason
    outcome: Callable[[Result], str]  # "stored", "duplicate", "conflict"
    # The (message, reason) of each message whose id is stored with other content.
    conflicts: Callable[[Sequence[Any], Sequence[Result]], list[tuple[Any, str]]]
    parking: Parking = VOTES


@app.task(name=RECORD_BATCH, **TASK_OPTIONS)
def record_batch(self: Task, votes: list[QueuedVote]) -> dict[str, int]:
    """Store the votes the publisher received together, with those of the tasks running
    meanwhile, in one transaction (the group committer also lists and announces them)."""
    return messages_record(self, votes, committer.submit)


# The batch cannot be taken now: the database, or the catalogue the votes are checked
# against, cannot be read. Retried with backoff, then parked.
UNAVAILABLE = (StorageUnavailable, DatabaseError, CatalogueError)


def messages_record(
    task: Task,
    messages: Any,
    store: Callable[[list[Any]], Sequence[Any]],
    batch: QueueBatch[Any, Any] | None = None,
) -> dict[str, int]:
    """Store the batch, or retry it, or park it: nothing else leaves here. Returns once every
    vote (acta) is stored or parked; raises only Retry or Reject(requeue=True), since Celery
    acknowledges anything else (docs/reliability.md#the-celery-worker). `batch`: votes unless given."""
    batch = VOTE_BATCH if batch is None else batch
    try:
        return _store(messages, store, batch)
    except UNAVAILABLE as exc:
        return _retry_or_park(task, messages, exc, batch.parking)
    except Reject:  # requeue=True: parking failed
        raise
    except Exception as exc:  # a bug or an unforeseen refusal: keep the votes for a person to see
        logger.exception("batch could not be recorded", extra={batch.parking.item + "s": _count(messages)})
        reason = f"{type(exc).__name__}: {exc}"
        return _park([(message, reason) for message in _listed(messages)], batch.parking)


def _store(
    messages: Sequence[Any], store: Callable[[list[Any]], Sequence[Any]], batch: QueueBatch[Any, Any]
) -> dict[str, int]:
    """Store the messages that read; park the others, and the conflicts, once the rest is stored."""
    if not isinstance(messages, list):
        raise TypeError(f"a batch is a list of {batch.parking.item}s, not {type(messages).__name__}")
    items: list[Any] = []
    readable: list[Any] = []
    refused: list[tuple[Any, str]] = []
    for message in messages:
        try:
            items.append(batch.read(message))
            readable.append(message)
        except SignatureInvalid as exc:  # forged or altered: never stored
            refused.append((message, f"signature: {exc}"))
        except batch.invalid as exc:  # the catalogue changed while it was queued
            refused.append((message, json.dumps(exc.errors, ensure_ascii=False)))  # type: ignore[attr-defined]
        except (KeyError, TypeError, ValueError) as exc:
            refused.append((message, f"malformed message: {exc!r}"))
    results = store(items) if items else []
    refused += batch.conflicts(readable, results)
    counts = Counter(batch.outcome(result) for result in results)
    if refused:
        counts.update(_park(refused, batch.parking))
    return dict(counts)


# A vote's content as stored: ValidatedVote.content_key's order, under Vote's column names.
CONTENT_FIELDS = ("sede", "departamento_id", "municipio_id", "papeleta_id", "partido_id")


def _conflicts(messages: Sequence[Any], results: Sequence[RecordResult]) -> list[tuple[Any, str]]:
    """The messages whose vote_id is stored with other content, each with both contents."""
    conflicting = [
        (message, result.vote)
        for message, result in zip(messages, results, strict=True)
        if result.outcome is Outcome.CONFLICT
    ]
    if not conflicting:
        return []
    with database_session():
        rows = Vote.objects.filter(vote_id__in=[vote.vote_id for _, vote in conflicting]).values_list(
            "vote_id", *CONTENT_FIELDS, "route"
        )
        stored = {
            vote_id: dict(zip((*CONTENT_FIELDS, "route"), content, strict=True)) for vote_id, *content in rows
        }
    return [
        (
            message,
            f"conflict: vote_id {vote.vote_id} is stored with other content: stored "
            f"{_content(stored.get(vote.vote_id))}, queued "
            f"{_content(dict(zip(CONTENT_FIELDS, vote.content_key(), strict=True)))}",
        )
        for message, vote in conflicting
    ]


def _content(content: dict[str, Any] | None) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True)


VOTE_BATCH: QueueBatch[ValidatedVote, RecordResult] = QueueBatch(
    read=vote_from_message,
    invalid=VoteInvalid,
    outcome=lambda result: str(result.outcome),
    conflicts=_conflicts,
)


def _retry_or_park(task: Task, messages: Any, exc: Exception, parking: Parking) -> dict[str, int]:
    retries = task.request.retries
    if retries >= task.max_retries:
        reason = f"unavailable after {retries} retries: {type(exc).__name__}: {exc}"
        return _park([(message, reason) for message in _listed(messages)], parking)
    countdown = get_exponential_backoff_interval(
        1, retries, settings.VOTES_TASK_RETRY_BACKOFF_MAX, full_jitter=True
    )
    logger.warning(
        "database or catalogue unavailable, retrying batch",
        extra={"votes": _count(messages), "retry": retries, "error": f"{type(exc).__name__}: {exc}"},
    )
    try:
        raise task.retry(countdown=countdown, exc=exc)  # Retry: published, with the same votes
    except Retry:
        raise
    except Exception as unpublished:  # Reject(requeue=False): Celery would drop the message
        cause = getattr(unpublished, "reason", unpublished)  # why the publish failed
        logger.error(
            "the retry could not be queued; the batch goes back on the queue",
            extra={"votes": _count(messages), "error": str(cause)},
        )
        raise Reject(cause, requeue=True) from exc


def _park(entries: Sequence[tuple[Any, str]], parking: Parking) -> dict[str, int]:
    """Park each message with its reason; if they cannot all be parked, requeue the batch."""
    try:
        dead_letters_park(entries, parking)
    except Exception as exc:  # Redis away: not parked, so not acknowledged either
        raise Reject(exc, requeue=True) from exc
    return {"dead_lettered": len(entries)}


def _listed(messages: Any) -> list[Any]:
    """The messages of a batch, or a malformed batch as one message to park."""
    return list(messages) if isinstance(messages, list) else [messages]


def _count(messages: Any) -> int:
    return len(messages) if isinstance(messages, list) else 1
