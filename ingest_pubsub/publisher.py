"""The publisher: `POST /votes` validated, then put on the Celery queue "votes".

Served by `gunicorn ingest_pubsub.publisher:app -k uvicorn_worker.UvicornWorker`. The
votes that arrive while a publish is in flight are validated and published together as
one message (election.batching.GroupBatcher: group commit, no timer), and each request is
answered 202 only once Redis has confirmed that message. The validation and the publish
run in one dedicated thread: the catalogue may be read from the database there, never on
the event loop, and the process holds one database connection and one broker connection.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from kombu.exceptions import OperationalError as BrokerUnavailable  # noqa: E402

from election.access import AccessDenied, Throttled, vote_admit  # noqa: E402
from election.batching import GroupBatcher  # noqa: E402
from election.catalogue import catalogue_index  # noqa: E402
from election.edge import EdgeReply, edge_app, refusal_reply, unavailable_reply  # noqa: E402
from election.models import Route  # noqa: E402
from election.services import StorageUnavailable, ValidatedVote, VoteInvalid  # noqa: E402
from ingest_pubsub.messages import vote_to_message  # noqa: E402
from ingest_pubsub.tasks import record_batch  # noqa: E402

logger = logging.getLogger(__name__)

MAX_BATCH = int(os.environ.get("PUBLISHER_MAX_BATCH", "500"))
QUEUE_UNAVAILABLE = "The vote queue is unavailable; nothing was queued. Retry with the same vote_id."


@dataclass(frozen=True, slots=True)
class Submission:
    data: Any
    received_at: datetime
    token: str | None = None


_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")


def publish_batch(submissions: list[Submission]) -> list[EdgeReply]:
    """Admit each vote and publish the admitted ones as one message; one reply per submission.

    Runs in the publish thread. A vote refused by election.access.vote_admit (bad token 401,
    other sede 403, invalid 400, too fast 429) is never queued; when Redis refuses the
    message, every admitted vote of it gets 503.
    """
    checked: list[ValidatedVote | Refusal] = []
    for submission in submissions:
        try:
            checked.append(
                vote_admit(submission.data, token=submission.token, received_at=submission.received_at)
            )
        except (VoteInvalid, AccessDenied, Throttled, StorageUnavailable) as exc:
            checked.append(exc)
    valid = [vote for vote in checked if isinstance(vote, ValidatedVote)]
    queued = True
    if valid:
        try:
            # Returns once Redis answered the LPUSH: with AOF on, the message survives a crash.
            record_batch.apply_async(
                args=[[vote_to_message(vote) for vote in valid]],
                retry=True,
                # What the worker logs for the task. Celery would otherwise build it with its
                # saferepr of every vote: about a third of the publish's CPU (measured).
                argsrepr=f"[<{len(valid)} votes>]",
                kwargsrepr="{}",
            )
        except (BrokerUnavailable, redis.RedisError, OSError):
            logger.warning("could not queue votes", exc_info=True, extra={"votes": len(valid)})
            queued = False
    return [_reply(vote, queued) for vote in checked]


Refusal = VoteInvalid | AccessDenied | Throttled | StorageUnavailable


def _reply(vote: ValidatedVote | Refusal, queued: bool) -> EdgeReply:
    if isinstance(vote, VoteInvalid):
        return EdgeReply(400, {"errors": vote.errors})
    if isinstance(vote, AccessDenied):
        return refusal_reply(vote.kind.value, vote.message)
    if isinstance(vote, Throttled):
        return refusal_reply("throttled", vote.message, retry_after=vote.retry_after_seconds)
    if isinstance(vote, StorageUnavailable):
        return unavailable_reply("The sedes' tokens cannot be read now; nothing was queued. Retry.")
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
    return await asyncio.get_running_loop().run_in_executor(_executor, publish_batch, submissions)


_batcher: GroupBatcher[Submission, EdgeReply] | None = None


async def handle_vote(data: Any, received_at: datetime, token: str | None = None) -> EdgeReply:
    global _batcher
    if _batcher is None:  # made on the running loop, which exists only once serving
        _batcher = GroupBatcher(_flush, max_batch=MAX_BATCH)
    return await _batcher.submit(Submission(data, received_at, token))


def _warm_up() -> None:
    """Read the catalogue now, and say loudly if the broker would lose queued votes."""
    catalogue_index()
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
        appendonly = client.config_get("appendonly").get("appendonly")
        if appendonly != "yes":
            logger.error(
                "the broker Redis runs without AOF: queued votes are lost if it restarts",
                extra={"appendonly": appendonly},
            )
    except redis.RedisError as exc:  # unreachable now, or CONFIG disabled (managed Redis)
        logger.warning("could not check the broker's AOF setting", extra={"error": str(exc)})


async def on_startup() -> None:
    await asyncio.get_running_loop().run_in_executor(_executor, _warm_up)
    logger.info("publisher ready", extra={"max_batch": MAX_BATCH})


async def on_shutdown() -> None:
    # uvicorn stops accepting and waits for open requests before this: flush what is left.
    if _batcher is not None:
        await _batcher.wait_idle()
    _executor.shutdown(wait=True)


async def ready() -> bool:
    def ping() -> bool:
        try:
            client = redis.Redis.from_url(
                settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1
            )
            return bool(client.ping())
        except redis.RedisError:
            return False

    return await asyncio.to_thread(ping)


app = edge_app(
    handle_vote=handle_vote,
    route=Route.REDIS.value,
    on_startup=on_startup,
    on_shutdown=on_shutdown,
    ready=ready,
)
