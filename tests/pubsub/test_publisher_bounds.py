"""The Redis route's queue is bounded, and a publisher without a database still starts.

While MySQL is away the workers cannot drain the queue, and the publisher keeps accepting: the
queue would grow until the broker's maxmemory, where (noeviction) Redis refuses the workers'
BLMOVE too and nothing drains again. So the publisher stops queueing at PUBLISHER_MAX_QUEUED
messages or BROKER_MEMORY_SHARE of maxmemory, and answers 503 with Retry-After meanwhile.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import redis

from scripts.devservices import RedisServer, free_port
from tests.conftest import INGEST_TOKEN
from tests.pubsub.conftest import QUEUE_KEY, start_publisher
from tests.pubsub.test_publisher_admission import post
from tests.support.field import new_sede, vote


def _queue_full(answer: dict[str, Any]) -> bool:
    return "queue is full" in answer["errors"]["non_field_errors"][0]


def test_the_queue_stops_growing_at_its_bound_and_takes_votes_again_once_drained(  # type: ignore[no-untyped-def]
    spawn, route_env, tmp_path: Path
) -> None:
    broker_server = RedisServer(tmp_path / "redis").start()
    try:
        env = {
            **route_env,
            "REDIS_URL": broker_server.url,
            "PUBLISHER_MAX_QUEUED": "3",
            "PUBLISHER_MAX_BATCH": "1",
            "PUBLISHER_QUEUE_CHECK_SECONDS": "0",  # read the queue's length before each publish
        }
        port, _ = start_publisher(spawn, env)
        broker = redis.Redis.from_url(broker_server.url)
        answers = [post(port, vote(new_sede()), INGEST_TOKEN) for _ in range(6)]  # no worker drains

        assert [status for status, _, _ in answers] == [202, 202, 202, 503, 503, 503]
        for _, answer, headers in answers[3:]:
            assert _queue_full(answer) and headers["retry-after"] == "5"
            assert answer["vote_id"] == headers["vote-id"]  # the client retries it as it is
        assert broker.llen(QUEUE_KEY) == 3

        broker.delete(QUEUE_KEY)  # as the workers drain it
        assert post(port, vote(new_sede()), INGEST_TOKEN)[0] == 202
    finally:
        broker_server.stop()


def test_the_queue_keeps_the_broker_memory_the_workers_need(  # type: ignore[no-untyped-def]
    spawn, route_env, tmp_path: Path
) -> None:
    broker_server = RedisServer(tmp_path / "redis").start()
    try:
        env = {**route_env, "REDIS_URL": broker_server.url, "PUBLISHER_QUEUE_CHECK_SECONDS": "0"}
        port, _ = start_publisher(spawn, env)
        broker = redis.Redis.from_url(broker_server.url)
        used = int(broker.info("memory")["used_memory"])
        broker.config_set("maxmemory", str(int(used / 0.8) + 1024))  # past 80 % already
        status, answer, headers = post(port, vote(new_sede()), INGEST_TOKEN)
        assert status == 503 and _queue_full(answer) and headers["retry-after"] == "5"
        assert broker.llen(QUEUE_KEY) == 0

        broker.config_set("maxmemory", str(64 * 1024 * 1024))
        assert post(port, vote(new_sede()), INGEST_TOKEN)[0] == 202
    finally:
        broker_server.stop()


def test_a_publisher_started_without_its_database_answers_503_not_500(  # type: ignore[no-untyped-def]
    spawn, route_env
) -> None:
    nothing_there = f"mysql://root@127.0.0.1:{free_port()}/escrutinio"  # refused at once
    port, publisher = start_publisher(spawn, {**route_env, "DATABASE_URL": nothing_there})
    sent = vote(new_sede(), vote_id=str(uuid.uuid4()))
    status, answer, headers = post(port, sent, INGEST_TOKEN)
    assert status == 503 and headers["retry-after"] == "1"
    assert "catalogue cannot be read" in answer["errors"]["non_field_errors"][0]
    assert answer["vote_id"] == sent["vote_id"]
    assert "starting without the catalogue" in publisher.output()
