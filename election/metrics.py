"""Prometheus metrics shared by every process, and their exposition.

Processes with several workers (gunicorn, Celery's prefork pool) set
PROMETHEUS_MULTIPROC_DIR to a directory of their own, emptied at start; then every worker
writes its samples there and `/metrics` adds them up. Without it, a process reports its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

VOTES_ANSWERED = Counter(
    "escrutinio_votes_answered_total",
    "Votes answered at an ingest entry point, by route and HTTP/gRPC answer",
    [
        "route",
        "answer",
    ],  # answer: accepted, rejected, conflict, unauthorized, forbidden, throttled, unavailable
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
RECEIPT_TO_STORAGE = Histogram(
    "escrutinio_receipt_to_storage_seconds",
    "From receipt at the edge to the commit that stored the vote",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
QUEUE_DEPTH = Gauge(
    "escrutinio_queue_messages",
    "Messages waiting in a Celery queue (each holds one or more votes)",
    ["queue"],
    multiprocess_mode="max",
)


def prepare_multiprocess_dir() -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR before the workers start (stale files would add up)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def metrics_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def metrics_payload() -> tuple[bytes, str]:
    """The body and content type of a `/metrics` answer."""
    return generate_latest(metrics_registry()), CONTENT_TYPE_LATEST
