"""Votes a consumer could not store or read, parked in Redis for a person to look at.

`python -m ingest_pubsub.dead_letters show|requeue`: list them (one JSON object a line: the
queued vote and the reason it was parked: "signature: ...", "conflict: ...", the fields a
changed catalogue refuses, or the database unavailable after every retry), or put them back
on the queue once the cause is fixed (recording is idempotent, so requeueing twice is
harmless).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import django

logger = logging.getLogger(__name__)

DEAD_LETTER_KEY = "escrutinio:votes:dead"
# Entries being requeued: moved here before they are published, removed once they are.
REQUEUEING_KEY = "escrutinio:votes:dead:requeueing"
RECORD_BATCH = "escrutinio.votes.record_batch"


def dead_letters_park(entries: Sequence[tuple[Any, str]]) -> None:
    """RPUSH each (message, reason) in one command; raises redis.RedisError when Redis is away."""
    from election.writer.live_feed import redis_client

    if not entries:
        return
    for reason, count in _reasons(entries).items():
        logger.error("votes parked in the dead letters", extra={"votes": count, "reason": reason})
    lines = [
        json.dumps({"vote": message, "reason": reason}, ensure_ascii=False) for message, reason in entries
    ]
    redis_client().rpush(DEAD_LETTER_KEY, *lines)


def _reasons(entries: Sequence[tuple[Any, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, reason in entries:
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def dead_letters_requeue(limit: int = 10_000) -> int:
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
    for left in client.lrange(REQUEUEING_KEY, 0, -1):  # left by an interrupted requeue
        _publish(app, client, left)
        requeued += 1
    # Only those parked before this run: a vote parked again meanwhile waits for the next one.
    for _ in range(min(limit, client.llen(DEAD_LETTER_KEY))):
        raw = client.lmove(DEAD_LETTER_KEY, REQUEUEING_KEY, "LEFT", "RIGHT")
        if raw is None:
            break
        _publish(app, client, raw)
        requeued += 1
    return requeued


def _publish(app: Any, client: Any, raw: bytes | str) -> None:
    app.send_task(RECORD_BATCH, args=[[json.loads(raw)["vote"]]])
    client.lrem(REQUEUEING_KEY, 1, raw)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest_pubsub.dead_letters", description=__doc__)
    parser.add_argument("action", choices=["show", "requeue"])
    args = parser.parse_args()
    django.setup()
    from election.writer.live_feed import redis_client

    if args.action == "requeue":
        print(f"requeued {dead_letters_requeue()} votes")
    else:
        for raw in redis_client().lrange(DEAD_LETTER_KEY, 0, -1):
            print(raw.decode() if isinstance(raw, bytes) else raw)
    return 0


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    sys.exit(main())
