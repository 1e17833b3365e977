"""The Redis route as it runs: a real publisher (gunicorn + uvicorn worker) and a real Celery worker.

Each test gets its own processes. Tests that stop Redis or kill a worker point them at a
throwaway RedisServer, so the shared Redis is never touched.
"""

from __future__ import annotations

import http.client
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest_pubsub.messages import message_sign
from scripts.devservices import RedisServer, free_port, wait_until
from scripts.processes import ChildProcess, Spawn
from tests.conftest import AUTHORIZATION

WORKER_PROCESSES = 2  # the Procfile's default (CELERY_WORKER_PROCESSES)
QUEUE_KEY = "votes"  # kombu's Redis transport keeps the queue "votes" as a list of that name
UNACKED_KEY = "unacked"  # and delivered, unacknowledged messages in this hash

# Crash recovery in seconds rather than minutes (production defaults: 300 s, swept every 10 s).
FAST_RESTORE = {
    "CELERY_VISIBILITY_TIMEOUT": "3",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}
# A batch retried within a second rather than after up to a minute; a database that does not
# answer found out in a second rather than five.
FAST_RETRY = {"VOTES_TASK_RETRY_BACKOFF_MAX": "1", "DB_CONNECT_TIMEOUT": "1"}


def signed_vote(**changes: str) -> dict[str, str]:
    """A vote as the publisher queues it, with a fresh vote_id, signed (ingest_pubsub.messages)."""
    fields = {
        "vote_id": str(uuid.uuid4()),
        "sede": "7",
        "departamento": "04",
        "municipio": "0407",
        "papeleta": "presidente",
        "partido": "VAMOS",
        "received_at": "2026-06-25T20:00:00+00:00",
    }
    return message_sign({**fields, **changes})


@pytest.fixture
def route_env(service_env: dict[str, str]) -> dict[str, str]:
    return {**service_env, "CELERY_BROKER_URL": "", "LOG_LEVEL": "INFO"}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def start_worker(
    spawn: Spawn, env: dict[str, str], name: str = "worker", processes: int = WORKER_PROCESSES
) -> ChildProcess:
    """The Procfile's `worker:` line (threads pool, group commit), returned once it consumes."""
    argv = [sys.executable, "-m", "scripts.part", "worker"]
    env = {**env, "CELERY_METRICS_PORT": str(free_port()), "CELERY_WORKER_PROCESSES": str(processes)}
    process = spawn(name, argv, env)

    def ready() -> bool:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.popen.returncode}:\n{process.output()}")
        return process.output().count(" ready.") >= processes

    wait_until(ready, 60, f"celery {name}")
    return process


def start_publisher(spawn: Spawn, env: dict[str, str], name: str = "publisher") -> tuple[int, ChildProcess]:
    """The Procfile's publisher (gunicorn + uvicorn worker) on a free port, once it is ready."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "ingest_pubsub.asgi:app",
        "-k",
        "uvicorn_worker.UvicornWorker",
        "--workers",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
    ]
    process = spawn(name, argv, env)
    process.wait_for_port(port)
    process.wait_until(lambda: "publisher ready" in process.output(), 60, "publisher ready")
    return port, process


def request(
    port: int, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One HTTP request; (status, JSON body, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json", "authorization": AUTHORIZATION}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}"), dict(response.getheaders())
    finally:
        conn.close()


def post_vote(port: int, vote: Any) -> tuple[int, dict[str, Any]]:
    status, body, _ = request(port, "POST", "/votes", vote)
    return status, body
