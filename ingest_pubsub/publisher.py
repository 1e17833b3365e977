"""The publisher: `POST /votes` validated, then put on the Celery queue "votes" (and
`POST /actas` on the queue "actas": ingest_pubsub/acta_publisher.py, through the same steps).

Served by `gunicorn ingest_pubsub.asgi:app -k uvicorn_worker.UvicornWorker` (ingest_pubsub/asgi.py
sets Django up, then imports this module). Its point
is to keep accepting votes while MySQL is away, so nothing on a vote's way waits on the
database:

1. the token is checked on arrival, from memory (election.admission.tokens): a bad token is answered
   401 before the vote takes a place in a batch, so a flood of them never reaches step 2;
2. the votes that arrive while a publish is in flight wait for the next one
   (election.ingest.async_batcher.GroupBatcher: group commit, no timer), at most PUBLISHER_MAX_PENDING of
   them: past that, 503 with Retry-After at once, instead of a process that grows until killed;
3. the publish thread validates them (`grant_admit`), refuses with 409 a vote_id already stored
   with other content (one query per batch, skipped when the database does not answer within
   PUBLISHER_CONFLICT_CHECK_SECONDS: the worker then parks such a vote), and publishes the rest
   as one message; each request is answered 202 only once Redis has confirmed that message;
4. the queue itself is bounded (BrokerRoom): past PUBLISHER_MAX_QUEUED messages, or a share of
   the broker's maxmemory, votes are answered 503 with Retry-After until the workers drain it.

The validation and the publish run in one dedicated thread: the catalogue may be read from the
database there, never on the event loop. At startup the publisher refuses to run on a broker
that could lose a vote it answered 202 (no AOF, or an fsync other than `always`), unless
ESCRUTINIO_DEV (a local run: it warns) or BROKER_DURABILITY_CHECK=off (a managed Redis whose
CONFIG is disabled and whose durability the operator has checked).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from kombu.exceptions import OperationalError as BrokerUnavailable
from prometheus_client import Histogram

from election.admission.rate_limit import Throttled
from election.admission.tokens import (
    AccessDenied,
    Grant,
    grant_admit,
    token_authenticate,
    tokens_warm,
)
from election.catalogue.index import CatalogueError, catalogue_index
from election.ingest.async_batcher import GroupBatcher
from election.ingest.edge import (
    EdgeReply,
    overloaded_reply,
    refusal_reply,
    unavailable_reply,
)
from election.lib.redis_clients import PROBE_TIMEOUT_SECONDS, redis_connect
from election.models import Route
from election.votes.recording import vote_conflict_message, votes_stored_content
from election.votes.types import ContentKey, StorageUnavailable, ValidatedVote, VoteInvalid
from ingest_pubsub.messages import vote_to_message
from ingest_pubsub.tasks import record_batch

logger = logging.getLogger(__name__)

CONFLICT_CHECK_PAUSE_SECONDS = 5.0  # after a failed check, from its end: batches go unchecked
BROKER_WAIT_SECONDS = 10.0  # at startup, for a broker that does not answer yet; then refuse
QUEUE_UNAVAILABLE = "The vote queue is unavailable; nothing was queued. Retry with the same vote_id."
TOKENS_UNAVAILABLE = "The sedes' tokens cannot be read now; nothing was queued. Retry."
CATALOGUE_UNAVAILABLE = "The catalogue cannot be read now; nothing was queued. Retry with the same vote_id."
QUEUE_NAME = "votes"  # CELERY_TASK_ROUTES
QUEUE_FULL = "The vote queue is full; nothing was queued. Retry later with the same vote_id."
QUEUE_FULL_RETRY_AFTER = 5

# Defined here, not in election.observability.metrics: only the publisher has a publish thread.
PUBLISH_BATCH_SIZE = Histogram(
    "escrutinio_publish_batch_votes",
    "Votes examined per batch of the publisher's publish thread (each already authenticated)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)


@dataclass(frozen=True, slots=True)
class Submission:
    data: Any
    received_at: datetime
    grant: Grant  # what the request's token allows, checked on arrival


class Conflict(Exception):
    """The vote_id is stored (or queued in the same batch) with other content: 409."""

    def __init__(self, vote: ValidatedVote) -> None:
        self.vote = vote
        super().__init__(vote_conflict_message(vote.vote_id))


Refusal = VoteInvalid | AccessDenied | Throttled | Conflict | StorageUnavailable

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
T = TypeVar("T")
R = TypeVar("R")


async def in_publish_thread(function: Callable[[T], R], argument: T) -> R:
    """Run `function(argument)` in the one publish thread (votes' and actas' alike)."""
    return await asyncio.get_running_loop().run_in_executor(_executor, function, argument)


class StoredContentCheck:
    """What is stored under a batch's vote_ids, asked in a thread of its own with a bounded wait.

    The publish thread is single: a query frozen by a partition (until DB_READ_TIMEOUT) or a
    connect that hangs (DB_CONNECT_TIMEOUT) must not hold every vote behind it. So the publish
    thread waits PUBLISHER_CONFLICT_CHECK_SECONDS at most, and while a check is still running, or for
    CONFLICT_CHECK_PAUSE_SECONDS after one failed, batches go unchecked (None).
    """

    def __init__(
        self,
        wait_seconds: float,
        query: Callable[[list[uuid.UUID]], dict[uuid.UUID, Any]] = votes_stored_content,
    ) -> None:
        """`query`: what is stored under some ids (votes_stored_content, or an acta's)."""
        self._wait = wait_seconds
        self._query_stored = query
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conflict-check")
        self._running: Future[dict[uuid.UUID, Any]] | None = None
        self._paused_until = 0.0

    def stored(self, vote_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any] | None:
        if self._running is not None and not self._running.done():
            return None  # the last one is still waiting on the database
        if time.monotonic() < self._paused_until:
            return None
        self._running = self._thread.submit(self._query, list(vote_ids))
        try:
            return self._running.result(timeout=self._wait)
        except FutureTimeout:
            logger.warning("conflict check skipped: the database is slow to answer")
        except StorageUnavailable as exc:
            logger.warning("conflict check skipped: the database is unavailable", extra={"error": str(exc)})
        return None

    def _query(self, vote_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        try:
            close_old_connections()  # past CONN_MAX_AGE or broken: a new one
            return self._query_stored(vote_ids)
        except Exception:
            self._paused_until = time.monotonic() + CONFLICT_CHECK_PAUSE_SECONDS  # from its end
            raise

    def shutdown(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


_stored_check = StoredContentCheck(settings.PUBLISHER_CONFLICT_CHECK_SECONDS)


class BrokerRoom:
    """Whether the queue may grow, read from the broker at most once a second.

    While the database is away the workers cannot drain the queue, so it grows with every vote
    accepted. Past PUBLISHER_MAX_QUEUED messages, or past BROKER_MEMORY_SHARE of the broker's
    maxmemory, votes are answered 503 with Retry-After instead: the queue stays bounded, and
    the broker keeps the memory the workers need to take messages again (at maxmemory with
    noeviction Redis refuses their BLMOVE too, and nothing drains). Read every
    PUBLISHER_QUEUE_CHECK_SECONDS: two cheap commands, not a round trip per vote.
    """

    def __init__(self, max_queued: int, memory_share: float, check_seconds: float) -> None:
        self._max_queued = max_queued
        self._memory_share = memory_share
        self._check_seconds = check_seconds
        self._room = True
        self._read_at = -1.0
        # No connection yet: redis-py connects at the first command.
        self._client = redis_connect(settings.CELERY_BROKER_URL, timeout=PROBE_TIMEOUT_SECONDS)

    def has_room(self) -> bool:
        now = time.monotonic()
        if now - self._read_at < self._check_seconds:
            return self._room
        self._read_at = now
        try:
            self._room = self._read()
        except redis.RedisError:
            self._room = True  # unknown: the publish itself tells whether Redis takes it
        return self._room

    def _read(self) -> bool:
        pipe = self._client.pipeline(transaction=False)
        pipe.llen(QUEUE_NAME)
        pipe.info("memory")
        queued, memory = pipe.execute()
        maxmemory = int(memory.get("maxmemory") or 0)
        full = queued >= self._max_queued or (
            maxmemory > 0 and int(memory.get("used_memory") or 0) >= self._memory_share * maxmemory
        )
        if full:
            logger.warning(
                "the vote queue is full; answering 503",
                extra={"queued": queued, "used_memory": memory.get("used_memory"), "maxmemory": maxmemory},
            )
        return not full


_broker_room = BrokerRoom(
    settings.PUBLISHER_MAX_QUEUED, settings.BROKER_MEMORY_SHARE, settings.PUBLISHER_QUEUE_CHECK_SECONDS
)


def publish_batch(submissions: list[Submission]) -> list[EdgeReply]:
    """Admit each vote and publish the admitted ones as one message; one reply per submission.

    Runs in the publish thread, for votes whose token was checked on arrival. A vote refused
    by election.admission.tokens.grant_admit (other sede 403, invalid 400, too fast 429) or whose vote_id
    is taken by another vote (409) is never queued; when Redis refuses the message, every
    admitted vote of it gets 503.
    """
    PUBLISH_BATCH_SIZE.observe(len(submissions))
    checked: list[ValidatedVote | Refusal] = []
    for submission in submissions:
        try:
            checked.append(
                grant_admit(submission.data, grant=submission.grant, received_at=submission.received_at)
            )
        except (VoteInvalid, AccessDenied, Throttled) as exc:
            checked.append(exc)
        except (DatabaseError, CatalogueError) as exc:  # never read a good copy of the catalogue
            checked.append(StorageUnavailable(f"catalogue unavailable: {exc}"))
    checked = conflicts_refuse(checked)
    valid = [vote for vote in checked if isinstance(vote, ValidatedVote)]
    queued = messages_queue(record_batch, [vote_to_message(vote) for vote in valid], "votes")
    return [_reply(vote, queued) for vote in checked]


def messages_queue(task: Any, messages: list[Any], noun: str) -> bool | None:
    """Publish `messages` as one task message: True once Redis took it (nothing to publish:
    True), False when it refused, None when the queue has no room (BrokerRoom)."""
    if not messages:
        return True
    if not _broker_room.has_room():
        return None
    try:
        # Returns once Redis answered the LPUSH: with AOF on, the message survives a crash.
        task.apply_async(
            args=[messages],
            retry=True,
            # What the worker logs for the task. Celery would otherwise build it with its
            # saferepr of every vote: about a third of the publish's CPU (measured).
            argsrepr=f"[<{len(messages)} {noun}>]",
            kwargsrepr="{}",
        )
    except (BrokerUnavailable, redis.RedisError, OSError):
        logger.warning(f"could not queue {noun}", exc_info=True, extra={noun: len(messages)})
        return False
    except Exception:
        # kombu fails in other ways while Redis is paused or reconnecting (an AttributeError
        # on a half-made channel, seen under CLIENT PAUSE): still "not queued", so 503.
        logger.exception(f"could not queue {noun}", extra={noun: len(messages)})
        return False
    return True


def conflicts_refuse(checked: list[ValidatedVote | Refusal]) -> list[ValidatedVote | Refusal]:
    """Each admitted vote, or Conflict when its vote_id holds other content: stored before (one
    query for the batch, when the database answers in time) or earlier in this batch."""
    admitted = [vote for vote in checked if isinstance(vote, ValidatedVote)]
    if not admitted:
        return checked
    known: dict[uuid.UUID, ContentKey] = dict(_stored_check.stored([vote.vote_id for vote in admitted]) or {})
    result: list[ValidatedVote | Refusal] = []
    for vote in checked:
        if isinstance(vote, ValidatedVote):
            content = known.setdefault(vote.vote_id, vote.content_key())
            if content != vote.content_key():
                logger.info("vote_id conflict refused", extra={"vote_id": str(vote.vote_id)})
                vote = Conflict(vote)
        result.append(vote)
    return result


def _reply(vote: ValidatedVote | Refusal, queued: bool | None) -> EdgeReply:
    """The answer to one vote; `queued` is None when the queue had no room for its batch."""
    if isinstance(vote, VoteInvalid):
        return EdgeReply(400, {"errors": vote.errors})
    if isinstance(vote, AccessDenied):
        return refusal_reply(vote.kind, vote.message)
    if isinstance(vote, Throttled):
        return refusal_reply(vote.kind, vote.message, retry_after=vote.retry_after_seconds)
    if isinstance(vote, Conflict):
        return EdgeReply(409, {"errors": {"vote_id": [str(vote)]}})
    if isinstance(vote, StorageUnavailable):
        return unavailable_reply(CATALOGUE_UNAVAILABLE)
    if queued is None:
        return overloaded_reply(QUEUE_FULL, retry_after=QUEUE_FULL_RETRY_AFTER)
    if not queued:
        return unavailable_reply(QUEUE_UNAVAILABLE)
    return EdgeReply(
        202,
        {
            "vote_id": str(vote.vote_id),
            "route": Route.REDIS.value,
            "status": "queued",
            "vote": vote.canonical(),
        },
    )


async def _flush(submissions: list[Submission]) -> list[EdgeReply]:
    return await in_publish_thread(publish_batch, submissions)


# Overloaded (PUBLISHER_MAX_PENDING waiting) is answered 503 with Retry-After by the edge.
_batcher = GroupBatcher(
    _flush, max_batch=settings.PUBLISHER_MAX_BATCH, max_pending=settings.PUBLISHER_MAX_PENDING
)


async def handle_vote(data: Any, received_at: datetime, token: str | None = None) -> EdgeReply:
    return await authenticated_submit(_batcher, Submission, data, received_at, token)


S = TypeVar("S")


async def authenticated_submit(
    batcher: GroupBatcher[S, EdgeReply],
    submission: Callable[[Any, datetime, Grant], S],
    data: Any,
    received_at: datetime,
    token: str | None,
) -> EdgeReply:
    """The token first, from memory: an unknown one is refused before the item takes a place
    in a publish batch (a flood of bad tokens never delays honest votes or actas)."""
    try:
        grant = token_authenticate(token)
    except AccessDenied as refused:
        return refusal_reply(refused.kind, refused.message)
    except StorageUnavailable:
        return unavailable_reply(TOKENS_UNAVAILABLE)
    return await batcher.submit(submission(data, received_at, grant))


class BrokerNotDurable(RuntimeError):
    """The broker could lose a vote answered 202: the publisher does not start (production)."""


def broker_durability_problem() -> str | None:
    """Why the broker could lose a queued vote (no AOF, AOF not fsynced before each answer,
    or its settings unreadable), or None when its AOF is on with `appendfsync always`."""
    client = redis_connect(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + BROKER_WAIT_SECONDS  # a broker still starting, as pods start together
    try:
        while True:
            try:
                config = client.config_get("append*")
                break
            except redis.AuthenticationError as exc:  # a wrong or missing password: no use waiting
                return f"cannot reach the broker Redis to check its AOF settings ({exc})"
            except redis.ResponseError as exc:  # CONFIG disabled or renamed: a managed Redis
                return (
                    f"cannot read the broker Redis's AOF settings ({exc}); if its provider guarantees "
                    "AOF with appendfsync always, set BROKER_DURABILITY_CHECK=off"
                )
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if time.monotonic() >= deadline:
                    return f"cannot reach the broker Redis to check its AOF settings ({exc})"
                time.sleep(1)
            except redis.RedisError as exc:
                return f"cannot reach the broker Redis to check its AOF settings ({exc})"
    finally:
        client.close()
    if config.get("appendonly") != "yes":
        return "the broker Redis runs without AOF (appendonly no): a restart loses the queued votes"
    if config.get("appendfsync") != "always":
        return (
            f"the broker Redis fsyncs its AOF '{config.get('appendfsync')}', not 'always': a crash of "
            "its machine loses votes already answered 202"
        )
    return None


def broker_durability_check() -> None:
    """Refuse to start on a broker that could lose a queued vote; a local run only warns."""
    if settings.BROKER_DURABILITY_CHECK == "off":
        logger.warning("the broker Redis's durability is not checked (BROKER_DURABILITY_CHECK=off)")
        return
    problem = broker_durability_problem()
    if problem is None:
        return
    if settings.DEV:
        logger.warning(f"{problem} (ESCRUTINIO_DEV: starting anyway)")
        return
    logger.error(f"refusing to start: {problem}")
    raise BrokerNotDurable(f"refusing to start: {problem}")


def _warm_up() -> None:
    """Check the broker, then read the catalogue and the tokens: the first vote waits on nothing.

    A database that is away does not stop the publisher from starting: its votes are answered
    503 until the catalogue and the tokens can be read (the refreshers keep trying), and from
    then on it accepts while the database is away.
    """
    broker_durability_check()
    try:
        catalogue_index()
        tokens_warm()
    except (DatabaseError, CatalogueError, StorageUnavailable) as exc:
        logger.error("starting without the catalogue or the tokens", extra={"error": str(exc)})


async def on_startup() -> None:
    await asyncio.get_running_loop().run_in_executor(_executor, _warm_up)
    logger.info(
        "publisher ready",
        extra={"max_batch": settings.PUBLISHER_MAX_BATCH, "max_pending": settings.PUBLISHER_MAX_PENDING},
    )


async def on_shutdown() -> None:
    # uvicorn stops accepting and waits for open requests before this: flush what is left.
    await _batcher.wait_idle()
    _executor.shutdown(wait=True)
    _stored_check.shutdown()


async def ready() -> bool:
    def ping() -> bool:
        client = redis_connect(settings.CELERY_BROKER_URL, timeout=PROBE_TIMEOUT_SECONDS)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    return await asyncio.to_thread(ping)
