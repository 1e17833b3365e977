"""The baseline bench/redis_route.py compares the batch task against: one vote per message,
one transaction per task. Benchmark-only: the system never publishes it; the bench's worker
loads it with `--include bench.one_vote_task`.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import Task

from election.celery import app
from election.models import Route
from election.votes.recording import votes_record
from election.votes.types import RecordResult, ValidatedVote
from election.writer.live_feed import live_publish
from ingest_pubsub.messages import QueuedVote
from ingest_pubsub.tasks import TASK_OPTIONS, messages_record

RECORD_ONE = "escrutinio.votes.record_one"  # on the votes queue, by CELERY_TASK_ROUTES


def _record_alone(votes: Sequence[ValidatedVote]) -> list[RecordResult]:
    results = votes_record(votes=votes, route=Route.REDIS)
    live_publish(results=results, route=Route.REDIS)
    return results


@app.task(name=RECORD_ONE, **TASK_OPTIONS)
def record_one(self: Task, vote: QueuedVote) -> dict[str, int]:
    return messages_record(self, [vote], _record_alone)
