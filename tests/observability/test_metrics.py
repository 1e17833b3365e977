"""Prometheus metrics of every part, scraped from real processes after real votes.

The whole system runs (scripts/system.py: the Procfile's commands through scripts.part, so each
multi-process part gets its own PROMETHEUS_MULTIPROC_DIR). Votes go through both routes, good,
bad and repeated; then every part's `/metrics` must show exactly what it did, and nothing of
the other route: answers at the gateway and the publisher, recordings and receipt-to-storage
observations at the gRPC server and the Celery worker.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from bench.simulation import VoteGenerator
from election.observability.metrics import QueueDepthCollector
from scripts.devservices import port_answers, wait_until
from scripts.processes import Spawn
from scripts.system import System

GOOD = {"grpc": 5, "redis": 4}
BAD = {"grpc": 2, "redis": 3}


def post_vote(url: str, vote: dict[str, Any], token: str) -> int:
    request = urllib.request.Request(
        f"{url}/votes",
        data=json.dumps(vote).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a `/metrics` page, by (name, labels)."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def routes_seen(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> set[str]:
    return {
        v
        for (name, labels), _ in samples.items()
        if name.startswith("escrutinio_")
        for k, v in labels
        if k == "route"
    }


def send_votes(system: System, token: str) -> dict[str, list[int]]:
    """Good votes (the first one sent twice, as a retry would), then bad ones, on each route."""
    generator = VoteGenerator(seed=6)
    statuses: dict[str, list[int]] = {"grpc": [], "redis": []}
    for route, part in (("grpc", "gateway"), ("redis", "publisher")):
        votes = [{**generator.vote(), "vote_id": str(uuid.uuid4())} for _ in range(GOOD[route])]
        for vote in [*votes, votes[0]]:
            statuses[route].append(post_vote(system.url(part), vote, token))
        for _ in range(BAD[route]):
            statuses[route].append(post_vote(system.url(part), generator.bad_vote(), token))
    return statuses


@pytest.mark.slow
def test_every_part_counts_its_own_votes(spawn: Spawn, service_env: dict[str, str]) -> None:
    env = {**service_env, "GATEWAY_WORKERS": "2", "PUBLISHER_WORKERS": "2", "CELERY_WORKER_CONCURRENCY": "2"}
    system = System(spawn, env).start()
    wait_until(lambda: port_answers("127.0.0.1", system.ports["grpc_metrics"]), 30, "gRPC metrics port")
    wait_until(lambda: port_answers("127.0.0.1", system.ports["worker_metrics"]), 30, "worker metrics port")

    statuses = send_votes(system, os.environ.get("INGEST_TOKEN", service_env.get("INGEST_TOKEN", "")))
    assert statuses["grpc"] == [201] * (GOOD["grpc"] + 1) + [400] * BAD["grpc"]
    assert statuses["redis"] == [202] * (GOOD["redis"] + 1) + [400] * BAD["redis"]

    # The worker has recorded every message (the repeated vote included) once it counted them all.
    def worker_done() -> bool:
        samples = scrape(system.metrics_url("worker"))
        recorded = sum(
            value(samples, "escrutinio_votes_recorded_total", route="redis", outcome=outcome)
            for outcome in ("stored", "duplicate")
        )
        return recorded >= GOOD["redis"] + 1

    wait_until(worker_done, 60, "the worker to record the queued votes")

    for _ in range(4):  # several scrapes: with two workers, each must show both workers' counts
        gateway = scrape(system.metrics_url("gateway"))
        assert (
            value(gateway, "escrutinio_votes_answered_total", route="grpc", answer="accepted")
            == GOOD["grpc"] + 1
        )
        assert (
            value(gateway, "escrutinio_votes_answered_total", route="grpc", answer="rejected") == BAD["grpc"]
        )
        assert routes_seen(gateway) == {"grpc"}

        publisher = scrape(system.metrics_url("publisher"))
        assert (
            value(publisher, "escrutinio_votes_answered_total", route="redis", answer="accepted")
            == GOOD["redis"] + 1
        )
        assert (
            value(publisher, "escrutinio_votes_answered_total", route="redis", answer="rejected")
            == BAD["redis"]
        )
        assert routes_seen(publisher) == {"redis"}

    server = scrape(system.metrics_url("grpc"))
    assert value(server, "escrutinio_votes_recorded_total", route="grpc", outcome="stored") == GOOD["grpc"]
    assert value(server, "escrutinio_votes_recorded_total", route="grpc", outcome="duplicate") == 1
    assert value(server, "escrutinio_receipt_to_storage_seconds_count", route="grpc") == GOOD["grpc"]
    assert value(server, "escrutinio_receipt_to_storage_seconds_sum", route="grpc") > 0
    assert value(server, "escrutinio_record_batch_votes_sum", route="grpc") == GOOD["grpc"] + 1
    assert value(server, "escrutinio_record_transaction_seconds_count", route="grpc") >= 1
    assert routes_seen(server) == {"grpc"}

    worker = scrape(system.metrics_url("worker"))
    assert value(worker, "escrutinio_votes_recorded_total", route="redis", outcome="stored") == GOOD["redis"]
    assert value(worker, "escrutinio_votes_recorded_total", route="redis", outcome="duplicate") == 1
    assert value(worker, "escrutinio_receipt_to_storage_seconds_count", route="redis") == GOOD["redis"]
    assert value(worker, "escrutinio_record_batch_votes_sum", route="redis") == GOOD["redis"] + 1
    assert value(worker, "escrutinio_queue_messages", queue="votes") == 0  # drained
    assert routes_seen(worker) == {"redis"}

    api = scrape(system.metrics_url("api"))
    assert routes_seen(api) == set()  # the API records no vote


def test_queue_depth_is_the_length_of_the_celery_queue(redis_client: redis.Redis) -> None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    redis_client.rpush("votes", "a", "b", "c")
    redis_client.rpush("other", "x")
    [family] = QueueDepthCollector(url, queues=("votes", "empty")).collect()
    assert family.name == "escrutinio_queue_messages"
    assert {sample.labels["queue"]: sample.value for sample in family.samples} == {"votes": 3, "empty": 0}


def test_queue_depth_has_no_sample_when_the_broker_does_not_answer(port: int) -> None:
    [family] = QueueDepthCollector(f"redis://127.0.0.1:{port}/0").collect()
    assert family.samples == []
