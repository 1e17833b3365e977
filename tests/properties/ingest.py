"""The two HTTP entry points as real processes, and a raw HTTP client that sends any bytes."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis as redis_lib

from scripts.system import System
from tests.conftest import INGEST_TOKEN, _empty_vote_tables, child_env, process_group

QUEUE_KEY = "votes"  # kombu's Redis transport keeps the Celery queue "votes" as a list of that name


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: Any  # the parsed JSON, or the raw bytes when it is not JSON


@dataclass
class Ingest:
    """gRPC server + gateway and publisher (no Celery worker: what is queued stays countable)."""

    system: System
    token: str
    broker: redis_lib.Redis

    def port(self, part: str) -> int:
        return self.system.ports[part]

    def queued(self) -> int:
        return int(self.broker.llen(QUEUE_KEY))


def send(
    port: int,
    body: bytes,
    *,
    content_type: str | None = "application/json",
    token: str | None = None,
    method: str = "POST",
    path: str = "/votes",
    chunked: bool = False,
) -> Answer:
    """One request on a fresh connection, exactly these bytes; the answer parsed if it is JSON."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if chunked:
            conn.request(method, path, body=iter([body]), headers=headers, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    content = response.getheader("Content-Type", "")
    try:
        parsed: Any = json.loads(raw) if content.startswith("application/json") else raw
    except ValueError:
        parsed = raw
    return Answer(response.status, content, parsed)


@pytest.fixture(scope="module")
def ingest(request, django_db_setup, django_db_blocker) -> Iterator[Ingest]:  # type: ignore[no-untyped-def]
    """Both entry points, started once for a module of property tests, against the test database.

    The environment is `service_env`'s (the shared test token, a rate limit that never binds:
    429s are tests/admission' subject). The test process keeps database access for the module
    (hypothesis cannot use the function-scoped `committed_db`); the vote tables and the test
    Redis are emptied around it.
    """
    broker = redis_lib.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    with django_db_blocker.unblock():
        _empty_vote_tables()
        broker.flushdb()
        try:
            with process_group(request) as group:
                system = System(group.start, child_env()).start(parts=("grpc", "gateway", "publisher"))
                yield Ingest(system, INGEST_TOKEN, broker)
        finally:
            _empty_vote_tables()
            broker.flushdb()
            broker.close()
