"""Prometheus metrics shared by every process, and their exposition.

Processes with several workers (gunicorn, Celery's prefork pool) get a
PROMETHEUS_MULTIPROC_DIR of their own, emptied at start (scripts/part.py); then every worker
writes its samples there and `/metrics` adds them up. Without it, a process reports its own.
Where each part serves `/metrics`: the HTTP parts on their own port (election.ingest.edge, the
Django URLs), the gRPC server on GRPC_METRICS_PORT, a Celery worker on CELERY_METRICS_PORT.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import redis
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Metric,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from election.lib.redis_clients import PROBE_TIMEOUT_SECONDS, redis_connect

logger = logging.getLogger(__name__)

VOTES_ANSWERED = Counter(
    "escrutinio_votes_answered_total",
    "Votes answered at an ingest entry point, by route and HTTP/gRPC answer",
    [
        "route",
        "answer",
    ],  # answer: accepted, rejected, conflict, unauthorized, forbidden, throttled, unavailable
)
ACTAS_ANSWERED = Counter(
    "escrutinio_actas_answered_total",
    "Actas answered at an ingest entry point (POST /actas), by route and HTTP answer",
    ["route", "answer"],  # as escrutinio_votes_answered_total
)
VOTES_RECORDED = Counter(
    "escrutinio_votes_recorded_total",
    "Votes through the recording transaction, by route and outcome (stored, duplicate, conflict)",
    ["route", "outcome"],
)
RECORD_BATCH_SIZE = Histogram(
    "escrutinio_record_batch_votes",
    "Votes per recording transaction",
    ["route"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
)
RECORD_SECONDS = Histogram(
    "escrutinio_record_transaction_seconds",
    "Time of one recording transaction",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
COMMIT_GROUPS_IN_FLIGHT = Gauge(
    "escrutinio_commit_groups_in_flight",
    "Groups a group committer has taken and not yet answered (pipelined: one forming, one committing)",
    ["committer"],  # grpc, grpc-actas, redis: a part may run several
    multiprocess_mode="livesum",
)
RECEIPT_TO_STORAGE = Histogram(
    "escrutinio_receipt_to_storage_seconds",
    "From receipt at the edge to the commit that stored the vote",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


class QueueDepthCollector(Collector):
    """`escrutinio_queue_messages{queue}`: LLEN of each Celery queue in the broker, read at scrape."""

    def __init__(self, broker_url: str, queues: tuple[str, ...] = ("votes",)) -> None:
        self._broker = redis_connect(broker_url, timeout=PROBE_TIMEOUT_SECONDS)
        self._queues = queues

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "escrutinio_queue_messages",
            "Messages waiting in a Celery queue (each holds one or more votes)",
            labels=["queue"],
        )
        for queue in self._queues:
            with contextlib.suppress(redis.RedisError):  # unreachable: no sample, not a wrong 0
                family.add_metric([queue], self._broker.llen(queue))
        yield family


def metrics_registry(*extra: Collector) -> CollectorRegistry:
    """The registry `/metrics` exposes: every process of this part (multiprocess) or this one,
    plus `extra` collectors (register them once per process)."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in extra:
        registry.register(collector)
    return registry


def metrics_payload() -> tuple[bytes, str]:
    """The body and content type of a `/metrics` answer."""
    return generate_latest(metrics_registry()), CONTENT_TYPE_LATEST


def metrics_serve(port: int, *extra: Collector, host: str, what: str) -> bool:
    """Serve `/metrics` on its own HTTP port, on `host` (the settings' BIND_HOST), from a
    thread; False if it cannot.

    A part that cannot open its metrics port keeps working: it logs why and goes on.
    """
    try:
        start_http_server(port, addr=host, registry=metrics_registry(*extra))
    except OSError as exc:
        logger.error("metrics not served", extra={"part": what, "port": port, "error": str(exc)})
        return False
    logger.info("metrics served", extra={"part": what, "url": f"http://{host}:{port}/metrics"})
    return True
