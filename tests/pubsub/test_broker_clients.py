"""The broker keeps one redis-py client per connection pool, and a new one with a new pool.

kombu asks the channel for a client for every command it runs outside its event loop (each
publish, ack and unacked record); ingest_pubsub.broker hands back the same one while the pool
lives. When kombu drops a broken pool, the next command must get a client of the new pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kombu import Connection

from election.celery import app


@pytest.fixture
def channel(redis_client: redis.Redis) -> Iterator[Any]:
    with Connection(app.conf.broker_url, transport="ingest_pubsub.broker:Transport") as connection:
        channel = connection.default_channel
        yield channel


def test_commands_share_one_client_until_the_pool_is_replaced(channel: Any) -> None:
    with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
        assert first is second
        assert first.ping()
    old_pool = channel.pool
    channel._pool = None  # what kombu does on a connection error (Channel._disconnect_pools)
    with channel.conn_or_acquire() as after:
        assert after is not first
        assert after.connection_pool is channel.pool is not old_pool
        assert after.ping()


def test_publishes_reach_the_queue_through_the_shared_client(channel: Any, redis_client: redis.Redis) -> None:
    queue = "escrutinio-test-broker-clients"
    redis_client.delete(queue)
    for n in range(3):
        channel._put(queue, {"body": f"m{n}", "properties": {}})
    assert redis_client.llen(queue) == 3
    redis_client.delete(queue)
