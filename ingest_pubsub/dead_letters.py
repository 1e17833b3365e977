"""Votes (and actas) a consumer could not store or read, parked in Redis for a person to look at.

`python -m ingest_pubsub.dead_letters show|requeue [--actas]`: list them (one JSON object a
line: the queued vote, or acta, and the reason it was parked: "signature: ...", "conflict:
...", the fields a changed catalogue refuses, or the database unavailable after every retry),
or put them back on their queue once the cause is fixed (recording is idempotent, so
requeueing twice is harmless). Votes and actas are parked apart (`Parking`), each requeued to
its own task.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import django

logger = logging.getLogger(__name__)

DEAD_LETTER_KEY = "escrutinio:votes:dead"
# Entries being requeued: moved here before they are published, removed once they are.
REQUEUEING_KEY = "escrutinio:votes:dead:requeueing"
RECORD_BATCH = "escrutinio.votes.record_batch"
RECORD_ACTAS = "escrutinio.actas.record_batch"


@dataclass(frozen=True)
class Parking:
    """Where one queue's messages are parked, and the task that takes them back."""

    key: str
    requeueing_key: str
    task: str
    item: str  # the entry's field holding the message, and the logs' noun: "vote", "acta"


VOTES = Parking(DEAD_LETTER_KEY, REQUEUEING_KEY, RECORD_BATCH, "vote")
ACTAS = Parking("escrutinio:actas:dead", "escrutinio:actas:dead:requeueing", RECORD_ACTAS, "acta")


def dead_letters_park(entries: Sequence[tuple[Any, str]], parking: Parking = VOTES) -> None:
    """RPUSH each (message, reason) in one command; raises redis.RedisError when Redis is away."""
    from election.writer.live_feed import redis_client

    if not entries:
        return
    for reason, count in _reasons(entries).items():
        logger.error(
            f"{parking.item}s parked in the dead letters", extra={f"{parking.item}s": count, "reason": reason}
        )
    lines = [
        json.dumps({parking.item: message, "reason": reason}, ensure_ascii=False)
        for message, reason in entries
    ]
    redis_client().rpush(parking.key, *lines)


def _reasons(entries: Sequence[tuple[Any, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, reason in entries:
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def dead_letters_requeue(limit: int = 10_000, parking: Parking = VOTES) -> int:
    """Publish each parked vote again, as the message it was: a crash loses none.

    Each entry is moved atomically (LMOVE) from the dead letters to a requeueing list, then
    published, then removed from there. Entries a crash left in the requeueing list are
    published first by the next requeue: published twice at worst, and stored once
    (idempotent on vote_id). A vote keeps the signature the publisher gave it: a genuine one
    is stored, whereas a forged or altered one, still unsigned, is parked again.
    """
    from election.celery import app
    from election.writer.live_feed import redis_client

    client = redis_client()
    requeued = 0
    for left in client.lrange(parking.requeueing_key, 0, -1):  # left by an interrupted requeue
        _publish(app, client, left, parking)
        requeued += 1
    # Only those parked before this run: a vote parked again meanwhile waits for the next one.
    for _ in range(min(limit, client.llen(parking.key))):
        raw = client.lmove(parking.key, parking.requeueing_key, "LEFT", "RIGHT")
        if raw is None:
            break
        _publish(app, client, raw, parking)
        requeued += 1
    return requeued


def _publish(app: Any, client: Any, raw: bytes | str, parking: Parking) -> None:
    app.send_task(parking.task, args=[[json.loads(raw)[parking.item]]])
    client.lrem(parking.requeueing_key, 1, raw)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest_pubsub.dead_letters", description=__doc__)
    parser.add_argument("action", choices=["show", "requeue"])
    parser.add_argument("--actas", action="store_true", help="the parked actas, not votes")
    args = parser.parse_args()
    django.setup()
    from election.writer.live_feed import redis_client

    parking = ACTAS if args.actas else VOTES
    if args.action == "requeue":
        print(f"requeued {dead_letters_requeue(parking=parking)} {parking.item}s")
    else:
        for raw in redis_client().lrange(parking.key, 0, -1):
            print(raw.decode() if isinstance(raw, bytes) else raw)
    return 0


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    sys.exit(main())
