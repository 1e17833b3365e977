"""After a batch commits: the latest-votes list and the live announcement, in Redis.

Both routes call `live_publish` with the results of `votes_record`. Only votes stored by
that call (outcome STORED) are pushed, so a redelivered or re-sent vote never enters the
list twice. Redis here is a convenience for the dashboard, not evidence: a failure is
logged and swallowed, since the votes are already durable in the database.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence

import redis
from django.conf import settings

from election.lib.redis_clients import redis_shared
from election.lib.singletons import thread_ensure
from election.votes.types import Outcome, RecordResult

logger = logging.getLogger(__name__)

LATEST_KEY = "escrutinio:latest"
STORED_CHANNEL = "votes.stored"


def redis_client() -> redis.Redis:
    """The process's client of REDIS_URL (not the broker's)."""
    return redis_shared(settings.REDIS_URL)


def latest_entry(result: RecordResult, route: str) -> str:
    assert result.stored_at is not None
    return json.dumps(
        {
            **result.vote.canonical(),
            "mesa": result.vote.mesa,  # null too: the same fields as the vote list's
            "route": route,
            "received_at": result.vote.received_at.isoformat(),
            "stored_at": result.stored_at.isoformat(),
        },
        ensure_ascii=False,
    )


def live_publish(*, results: Sequence[RecordResult], route: str) -> None:
    stored = [r for r in results if r.outcome is Outcome.STORED]
    _publish(stored, len(stored), route)


def _publish(stored: Sequence[RecordResult], count: int, route: str) -> None:
    """Push the newest of `stored` onto the list and announce `count` new votes."""
    if not count:
        return
    # Only the last LATEST_VOTES_MAX survive the LTRIM below: serialize just those.
    latest_max = settings.LATEST_VOTES_MAX
    entries = [latest_entry(r, route) for r in stored[-latest_max:]]
    try:
        pipe = redis_client().pipeline(transaction=True)
        pipe.lpush(LATEST_KEY, *entries)  # the last of the batch ends up first: newest first
        pipe.ltrim(LATEST_KEY, 0, latest_max - 1)
        pipe.publish(STORED_CHANNEL, json.dumps({"route": route, "stored": count}))
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not update the latest-votes list", exc_info=True, extra={"votes": count})


class LiveFeed:
    """`live_publish` from a thread of its own, for a caller that should not wait on Redis.

    The gRPC server and the Celery worker answer as soon as the votes are durable; the list
    and the announcement follow, at most every LIVE_INTERVAL_MS. What is committed meanwhile
    goes together in the next publish, of which only the newest LATEST_VOTES_MAX are kept and
    serialized: under load the list costs a few publishes a second, not one per transaction,
    and a slow Redis delays the list, never the votes.
    """

    def __init__(self, route: str, interval_s: float | None = None) -> None:
        self._route = route
        self._interval_s = settings.LIVE_INTERVAL_MS / 1000 if interval_s is None else interval_s
        self._pending: list[RecordResult] = []  # the newest LATEST_VOTES_MAX stored, oldest first
        self._pending_count = 0  # every stored vote not yet announced
        self._changed = threading.Condition()
        self._closing = False
        self._idle = False  # the thread waits for votes (not pausing between publishes)
        self._thread: threading.Thread | None = None

    def publish(self, results: Sequence[object]) -> None:
        """Queue the stored votes among `results` (a batch's verdicts may hold refusals too)."""
        stored = [r for r in results if isinstance(r, RecordResult) and r.outcome is Outcome.STORED]
        if stored:
            with self._changed:
                self._pending = (self._pending + stored)[-settings.LATEST_VOTES_MAX :]
                self._pending_count += len(stored)
                self._thread = thread_ensure(self._thread, self._run, f"live-{self._route}")
                if self._idle:  # during its pause the thread finds them when it ends: no wake-up
                    self._changed.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is pending, then stop."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._idle = True
                self._changed.wait_for(lambda: self._pending_count or self._closing)
                self._idle = False
                if not self._pending_count:
                    return
                results, count = self._pending, self._pending_count
                self._pending, self._pending_count = [], 0
            started = time.monotonic()
            try:
                _publish(results, count, self._route)
            except Exception:  # the votes are durable: a failure here only delays the list
                logger.exception("could not publish the committed votes")
            with self._changed:  # a pause between publishes, cut short by close()
                self._changed.wait_for(lambda: self._closing, started + self._interval_s - time.monotonic())


def latest_votes(limit: int = 5) -> list[dict[str, str]]:
    """The newest stored votes, newest first."""
    raw = redis_client().lrange(LATEST_KEY, 0, max(0, limit - 1))
    return [json.loads(item) for item in raw]
