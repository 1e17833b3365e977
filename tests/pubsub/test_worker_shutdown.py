"""A Celery worker told to stop (SIGTERM, a warm shutdown) with two commit groups in flight
(GROUP_COMMIT_PIPELINE on).

One group's commit waits on a locked tally table while the next group's votes are admitted
and looked up beside it (election.writer.group_committer). The worker must finish both: every
vote stored once, every message acknowledged, none left on the queue, then exit cleanly.
Real processes: the gunicorn publisher and the Procfile's worker line, on real MariaDB and Redis.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.db import connection

from bench.simulation import VoteGenerator
from election.models import Vote
from scripts.devservices import wait_until
from tests.pubsub.conftest import QUEUE_KEY, UNACKED_KEY, post_vote, start_publisher, start_worker
from tests.support.locks import table_locked
from tests.support.metrics import metric
from tests.support.votes import recount_matches_tallies

IN_FLIGHT = 'escrutinio_commit_groups_in_flight{committer="redis"}'


def test_sigterm_with_two_groups_in_flight_stores_both_and_acknowledges_every_message(  # type: ignore[no-untyped-def]
    spawn, route_env, redis_client
) -> None:
    if connection.vendor != "mysql":
        pytest.skip("holds a MySQL table lock to keep the commit open")
    broker = redis.Redis.from_url(route_env["REDIS_URL"])
    generator = VoteGenerator(seed=24)
    port, _ = start_publisher(spawn, route_env)
    env = {**route_env, "GROUP_COMMIT_PIPELINE": "1"}
    worker = start_worker(spawn, env, processes=1)  # its /metrics is then this process's own
    metrics_port = int(worker.env["CELERY_METRICS_PORT"])

    with table_locked("election_routetally"):
        status, first = post_vote(port, generator.vote())
        assert status == 202
        wait_until(lambda: metric(metrics_port, IN_FLIGHT) == 1, 30, "the first group taken")
        with ThreadPoolExecutor(max_workers=8) as pool:
            votes = [generator.vote() for _ in range(20)]
            answers = list(pool.map(lambda vote: post_vote(port, vote), votes))
        assert [status for status, _ in answers] == [202] * 20
        wait_until(lambda: metric(metrics_port, IN_FLIGHT) == 2, 30, "two groups in flight")
        worker.signal(signal.SIGTERM)
        time.sleep(1)
        assert worker.popen.poll() is None  # a warm shutdown waits for both groups
        assert Vote.objects.count() == 0

    assert worker.popen.wait(timeout=60) == 0
    accepted = {first["vote_id"], *(body["vote_id"] for _, body in answers)}
    assert {str(v) for v in Vote.objects.values_list("vote_id", flat=True)} == accepted
    assert Vote.objects.count() == 21
    assert broker.llen(QUEUE_KEY) == 0 and broker.hlen(UNACKED_KEY) == 0
    recount_matches_tallies()
