"""The Redis route end to end: publisher -> queue "votes" on Redis -> Celery worker -> MySQL and Redis.

Real processes throughout (gunicorn publisher, `celery -A election worker -Q votes`), real
MariaDB and Redis; nothing runs eagerly.
"""

from __future__ import annotations

import json
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from bench.simulation import VoteGenerator
from election.models import RouteTally, Vote
from election.writer import live_feed
from ingest_pubsub.broker import LANDING_INDEX
from ingest_pubsub.dead_letters import DEAD_LETTER_KEY
from ingest_pubsub.tasks import record_batch
from scripts.devservices import RedisServer, wait_until
from tests.pubsub.conftest import (
    FAST_RESTORE,
    QUEUE_KEY,
    UNACKED_KEY,
    post_vote,
    request,
    signed_vote,
    start_publisher,
    start_worker,
)
from tests.support.locks import table_locked
from tests.support.votes import recount_matches_tallies

VOTE = {
    "sede": 7,
    "municipio": "Patzun",
    "departamento": "Chimaltenango",
    "papeleta": "Blanca",
    "partido": "VAMOS",
}


def stored_count() -> int:
    return Vote.objects.count()


def wait_stored(n: int, timeout: float = 30) -> None:
    wait_until(lambda: stored_count() >= n, timeout, f"{n} votes stored")


def latest_ids(limit: int) -> list[str]:
    return [vote["vote_id"] for vote in live_feed.latest_votes(limit)]


def succeeded(worker: Any) -> list[str]:
    return [line for line in worker.output().splitlines() if "succeeded in" in line]


def test_a_published_vote_is_stored_and_heads_the_latest_list(spawn, route_env, redis_client) -> None:  # type: ignore[no-untyped-def]
    start_worker(spawn, route_env)
    port, _ = start_publisher(spawn, route_env)
    first_id, second_id = str(uuid.uuid4()), str(uuid.uuid4())

    status, body = post_vote(port, {**VOTE, "vote_id": first_id})
    assert status == 202
    assert body == {
        "vote_id": first_id,
        "route": "redis",
        "status": "queued",
        "vote": {
            "vote_id": first_id,
            "sede": "7",
            "departamento": "Chimaltenango",
            "municipio": "Patzún",
            "papeleta": "presidente",
            "partido": "VAMOS",
        },
    }
    wait_stored(1)
    wait_until(lambda: latest_ids(1) == [first_id], 10, "the vote at the head of the latest list")

    status, body = post_vote(port, {**VOTE, "vote_id": second_id, "partido": "SEMILLA"})
    assert status == 202
    wait_stored(2)
    wait_until(lambda: latest_ids(2) == [second_id, first_id], 10, "the newest vote first")
    stored = Vote.objects.get(vote_id=second_id)
    assert (stored.route, stored.municipio_id, stored.partido_id) == ("redis", "0407", "SEMILLA")
    assert stored.received_at <= stored.stored_at
    assert live_feed.latest_votes(1)[0]["route"] == "redis"


def test_a_vote_delivered_twice_is_stored_once_and_listed_once(spawn, route_env, redis_client) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker(spawn, route_env)
    port, _ = start_publisher(spawn, route_env)
    vote_id = str(uuid.uuid4())

    # The client retries (two messages), and the broker redelivers the same message body.
    assert post_vote(port, {**VOTE, "vote_id": vote_id})[0] == 202
    assert post_vote(port, {**VOTE, "vote_id": vote_id, "sede": "007"})[0] == 202
    record_batch.apply_async(args=[[signed_vote(vote_id=vote_id)]])
    record_batch.apply_async(args=[[signed_vote(vote_id=vote_id)]])
    wait_until(lambda: len(succeeded(worker)) >= 4, 30, "four deliveries handled")

    assert Vote.objects.filter(vote_id=vote_id).count() == 1
    assert RouteTally.objects.aggregate(total=Sum("votes"))["total"] == 1
    wait_until(lambda: latest_ids(10) == [vote_id], 10, "the vote, once, in the latest list")
    outcomes = " ".join(succeeded(worker))
    assert outcomes.count("'stored': 1") == 1
    assert outcomes.count("'duplicate': 1") == 3


def test_a_vote_unreadable_on_the_queue_is_parked_not_dropped(spawn, route_env, redis_client) -> None:  # type: ignore[no-untyped-def]
    worker = start_worker(spawn, route_env)
    good = signed_vote()
    stale = signed_vote(municipio="9999")  # e.g. removed from the catalogue
    record_batch.apply_async(args=[[good, stale]])
    wait_until(lambda: len(succeeded(worker)) >= 1, 30, "the batch handled")

    assert list(Vote.objects.values_list("vote_id", flat=True)) == [uuid.UUID(good["vote_id"])]
    parked = [json.loads(raw) for raw in redis_client.lrange(DEAD_LETTER_KEY, 0, -1)]
    assert [entry["vote"] for entry in parked] == [stale]
    assert "municipio" in parked[0]["reason"]


def test_a_bad_vote_is_answered_400_and_never_queued(spawn, route_env, redis_client) -> None:  # type: ignore[no-untyped-def]
    port, _ = start_publisher(spawn, route_env)  # no worker: whatever is queued stays visible

    status, body = post_vote(port, {**VOTE, "municipio": "Mixco", "partido": "NADIE"})
    assert status == 400
    assert set(body["errors"]) == {"municipio", "partido"}
    status, body, _ = request(port, "POST", "/votes", "not a vote")
    assert status == 400
    assert redis_client.llen(QUEUE_KEY) == 0

    vote_id = str(uuid.uuid4())
    assert post_vote(port, {**VOTE, "vote_id": vote_id})[0] == 202
    assert redis_client.llen(QUEUE_KEY) == 1
    assert _queued_votes(json.loads(redis_client.lindex(QUEUE_KEY, 0))) == [vote_id]


@pytest.mark.slow
def test_the_publisher_answers_503_while_redis_is_down(spawn, route_env, own_redis: RedisServer) -> None:  # type: ignore[no-untyped-def]
    env = {**route_env, "REDIS_URL": own_redis.url}
    port, _ = start_publisher(spawn, env)
    first, retried = str(uuid.uuid4()), str(uuid.uuid4())
    assert post_vote(port, {**VOTE, "vote_id": first})[0] == 202

    own_redis.stop(signal.SIGKILL)  # a crash: what was answered 202 must survive it (AOF)
    status, body, headers = request(port, "POST", "/votes", {**VOTE, "vote_id": retried})
    assert status == 503
    assert "non_field_errors" in body["errors"]
    assert headers.get("retry-after") == "1"
    assert request(port, "GET", "/healthz")[0] == 200  # alive, so not restarted
    assert request(port, "GET", "/readyz")[0] == 503  # but not ready

    own_redis.start()  # the same port and data directory
    assert post_vote(port, {**VOTE, "vote_id": retried})[0] == 202  # the client's retry
    broker = redis.Redis.from_url(own_redis.url)
    queued = [_queued_votes(json.loads(raw)) for raw in broker.lrange(QUEUE_KEY, 0, -1)]
    assert sorted(queued) == sorted([[first], [retried]])


@pytest.mark.slow
def test_a_worker_killed_with_votes_in_flight_loses_none_and_doubles_none(  # type: ignore[no-untyped-def]
    spawn, route_env, own_redis: RedisServer, tmp_path: Path
) -> None:
    if connection.vendor != "mysql":
        pytest.skip("holds a MySQL table lock to keep the batches in flight")
    env = {**route_env, "REDIS_URL": own_redis.url, **FAST_RESTORE}
    broker = redis.Redis.from_url(own_redis.url)
    generator = VoteGenerator(seed=4)
    port, _ = start_publisher(spawn, env)
    first_worker = start_worker(spawn, env, "worker-1")

    with table_locked("election_vote"):
        # The worker takes messages but cannot commit them: they are in flight, unacknowledged.
        accepted = _post_many(port, [generator.vote() for _ in range(200)])
        # Killed at once, while it is still fetching: a message it has taken off the queue but
        # not yet recorded as unacknowledged sits in its landing list (ingest_pubsub/broker.py).
        wait_until(lambda: broker.hlen(UNACKED_KEY) > 0, 30, "messages in flight")
        in_flight = broker.hlen(UNACKED_KEY)
        first_worker.signal(signal.SIGKILL)
        first_worker.popen.wait(timeout=10)
    accepted += _post_many(port, [generator.vote() for _ in range(50)])  # no worker now: queued
    assert in_flight > 0 and len(accepted) == 250
    assert stored_count() == 0

    start_worker(spawn, env, "worker-2")
    wait_stored(250, timeout=45)  # needs the in-flight messages, restored after the visibility timeout
    wait_until(lambda: broker.llen(QUEUE_KEY) == 0 and broker.hlen(UNACKED_KEY) == 0, 30, "queue drained")
    landing = [key for key in broker.zrange(LANDING_INDEX, 0, -1) if broker.llen(key)]  # type: ignore[arg-type]
    assert landing == []

    assert set(map(str, Vote.objects.values_list("vote_id", flat=True))) == set(accepted)
    assert stored_count() == 250
    assert RouteTally.objects.aggregate(total=Sum("votes"))["total"] == 250
    recount_matches_tallies()
    # the list follows the commits within LIVE_INTERVAL_MS, from each worker process
    listed_count = min(250, settings.LATEST_VOTES_MAX)
    wait_until(lambda: broker.llen(live_feed.LATEST_KEY) == listed_count, 10, "the latest list filled")
    listed = [json.loads(raw)["vote_id"] for raw in broker.lrange(live_feed.LATEST_KEY, 0, -1)]
    assert len(listed) == listed_count
    assert len(set(listed)) == len(listed)
    assert set(listed) <= set(accepted)


# --- helpers -----------------------------------------------------------------


def _queued_votes(message: dict[str, Any]) -> list[str]:
    """The vote_ids in a kombu message on the Redis list."""
    import base64

    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args, _, _ = json.loads(body)
    return [vote["vote_id"] for vote in args[0]]


def _post_many(port: int, votes: list[dict[str, Any]]) -> list[str]:
    """POST concurrently; the vote_ids answered 202 (every answer must be 202)."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda vote: post_vote(port, vote), votes))
    assert [status for status, _ in answers] == [202] * len(votes)
    return [body["vote_id"] for _, body in answers]
