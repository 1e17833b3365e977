"""The latest-votes list in the real Redis: newest first, capped, never a vote twice."""

import json
import time

import pytest
import redis

from election.votes.recording import votes_record
from election.writer import live_feed
from scripts.devservices import wait_until
from tests.support.votes import make_votes

pytestmark = pytest.mark.django_db


def test_stored_votes_enter_the_list_newest_first_and_once(redis_client: redis.Redis) -> None:
    first, second = make_votes(3), make_votes(2, seed=3)
    live_feed.live_publish(results=votes_record(votes=first, route="grpc"), route="grpc")
    live_feed.live_publish(results=votes_record(votes=second, route="redis"), route="redis")
    # Delivered again: duplicates, so nothing new is listed.
    live_feed.live_publish(results=votes_record(votes=first + second, route="redis"), route="redis")
    latest = live_feed.latest_votes(limit=10)
    assert [v["vote_id"] for v in latest] == [str(v.vote_id) for v in reversed(first + second)]
    assert [v["route"] for v in latest] == ["redis"] * 2 + ["grpc"] * 3
    assert latest[0]["municipio"] == second[-1].municipio


def test_the_list_is_capped(settings, redis_client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    settings.LATEST_VOTES_MAX = 4
    live_feed.live_publish(results=votes_record(votes=make_votes(10), route="grpc"), route="grpc")
    assert redis_client.llen(live_feed.LATEST_KEY) == 4


def test_a_redis_outage_does_not_fail_the_caller(settings, redis_client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    live_feed.live_publish(results=votes_record(votes=make_votes(1), route="grpc"), route="grpc")


def test_the_live_feed_lists_what_it_was_given_in_order_and_only_new_votes(redis_client: redis.Redis) -> None:
    batches = [make_votes(3), make_votes(4, seed=3), make_votes(2, seed=7)]
    feed = live_feed.LiveFeed("grpc")
    for batch in batches:
        feed.publish(votes_record(votes=batch, route="grpc"))
    feed.publish(votes_record(votes=batches[0], route="grpc"))  # duplicates: nothing to list
    feed.close()  # publishes what is still pending
    every = [vote for batch in batches for vote in batch]
    assert [v["vote_id"] for v in live_feed.latest_votes(limit=20)] == [
        str(v.vote_id) for v in reversed(every)
    ]


def test_the_live_feed_publishes_once_an_interval_and_close_flushes(redis_client: redis.Redis) -> None:
    announcements = redis_client.pubsub(ignore_subscribe_messages=True)
    announcements.subscribe(live_feed.STORED_CHANNEL)
    first, second, third = make_votes(3), make_votes(4, seed=3), make_votes(2, seed=7)
    feed = live_feed.LiveFeed("grpc", interval_s=60)
    feed.publish(votes_record(votes=first, route="grpc"))
    wait_until(lambda: len(live_feed.latest_votes(limit=20)) == 3, 10, "the first batch listed at once")
    feed.publish(votes_record(votes=second, route="grpc"))
    feed.publish(votes_record(votes=third, route="grpc"))
    time.sleep(0.3)
    assert len(live_feed.latest_votes(limit=20)) == 3  # the next publish waits for the interval
    feed.close()  # ... or for close, which publishes both batches together
    every = first + second + third
    assert [v["vote_id"] for v in live_feed.latest_votes(limit=20)] == [
        str(v.vote_id) for v in reversed(every)
    ]
    counts = []
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # get_message answers None for the subscription itself
        message = announcements.get_message(timeout=0.2)
        if message is not None:
            counts.append(json.loads(message["data"])["stored"])
    assert counts == [3, 6]
