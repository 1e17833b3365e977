"""The consumer of the queue "actas": `escrutinio.actas.record_batch`.

A thin adapter, as the votes' task: each acta's signature is checked and the acta validated
again (ingest_pubsub/messages.py), the batch stored in one transaction by the domain
(election.actas.recording.actas_record), and every way out (stored, retried, requeued, parked
in the actas' dead letters) is tasks.messages_record's, the one guard both queues share. No
group committer: actas are few beside votes, and their transaction moves tallies and versions
that a vote's does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Task
from election.actas.recording import actas_record

from election.actas.types import ActaInvalid, ActaOutcome, ActaRecordResult, ValidatedActa
from election.celery import app
from election.models import Route
from election.writer.db_session import database_session
from ingest_pubsub.dead_letters import ACTAS, RECORD_ACTAS
from ingest_pubsub.messages import QueuedActa, acta_from_message
from ingest_pubsub.tasks import TASK_OPTIONS, QueueBatch, messages_record


def actas_store(actas: Sequence[ValidatedActa]) -> list[ActaRecordResult]:
    """The actas in one transaction; raises StorageUnavailable when the database cannot take them."""
    with database_session():
        return actas_record(actas=actas, route=Route.REDIS)


def _conflicts(messages: Sequence[Any], results: Sequence[ActaRecordResult]) -> list[tuple[Any, str]]:
    return [
        (message, f"conflict: acta_id {result.acta_id} is stored with other content; nothing changed")
        for message, result in zip(messages, results, strict=True)
        if result.outcome is ActaOutcome.CONFLICT
    ]


ACTA_BATCH: QueueBatch[ValidatedActa, ActaRecordResult] = QueueBatch(
    read=acta_from_message,
    invalid=ActaInvalid,
    outcome=lambda result: str(result.outcome),
    conflicts=_conflicts,
    parking=ACTAS,
)


@app.task(name=RECORD_ACTAS, **TASK_OPTIONS)
def record_actas(self: Task, actas: list[QueuedActa]) -> dict[str, int]:
    """Store the actas the publisher received together, in one transaction."""
    return messages_record(self, actas, actas_store, ACTA_BATCH)
