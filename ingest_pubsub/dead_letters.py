"""Votes a consumer could not store or read, parked in Redis for a person to look at.

`python -m ingest_pubsub.dead_letters show|requeue`: list them, or put them back on the
queue once the cause is fixed (recording is idempotent, so requeueing twice is harmless).
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
RECORD_BATCH = "escrutinio.votes.record_batch"


def dead_letters_park(messages: Sequence[Any], *, reason: str) -> None:
    """RPUSH the messages with the reason; raises redis.RedisError when Redis is away."""
    from election.live import redis_client

    if not messages:
        return
    logger.error("votes parked in the dead letters", extra={"votes": len(messages), "reason": reason})
    entries = [json.dumps({"vote": message, "reason": reason}, ensure_ascii=False) for message in messages]
    redis_client().rpush(DEAD_LETTER_KEY, *entries)


def dead_letters_requeue(limit: int = 10_000) -> int:
    """Publish each parked vote again, then drop it from the list: a crash in between repeats, never loses."""
    from election.celery import app
    from election.live import redis_client

    client = redis_client()
    moved = 0
    while moved < limit:
        raw = client.lindex(DEAD_LETTER_KEY, 0)
        if raw is None:
            break
        app.send_task(RECORD_BATCH, args=[[json.loads(raw)["vote"]]])
        client.lpop(DEAD_LETTER_KEY)
        moved += 1
    return moved


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest_pubsub.dead_letters", description=__doc__)
    parser.add_argument("action", choices=["show", "requeue"])
    args = parser.parse_args()
    django.setup()
    from election.live import redis_client

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
