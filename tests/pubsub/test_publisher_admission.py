"""The publisher keeps answering whatever the database and the clients do: real processes.

- A database partition (connections hang, nothing refused: scripts.fault_proxy) does not hold a
  token check: per-sede tokens are checked from memory, unknown ones refused at once.
- A flood of bad tokens is refused at the edge: it never takes a place in a publish batch.
- A vote_id already stored with other content is answered 409, as on the gRPC route; while the
  database does not answer, the check is skipped (202) instead of holding the publish thread.
- A full queue (the broker paused) answers 503 with Retry-After at once instead of growing.

The bound these tests put on an answer (CLIENT_TIMEOUT, below DB_CONNECT_TIMEOUT) is
functional: a request that waited on the database could not meet it. It says nothing of speed.
"""

from __future__ import annotations

import base64
import http.client
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.db import connection

from election.admission import tokens
from election.models import IngestToken, Route
from election.votes.recording import votes_record
from election.votes.validation import vote_validate
from scripts.devservices import RedisServer, wait_until
from scripts.fault_proxy import FaultProxy
from scripts.processes import Spawn
from tests.conftest import database_url_of_test_db
from tests.pubsub.conftest import QUEUE_KEY, start_publisher
from tests.support.field import new_sede, vote
from tests.support.metrics import metric

DB_CONNECT_TIMEOUT = 5  # the production default, set explicitly: the bound below depends on it
CLIENT_TIMEOUT = 3.0  # below DB_CONNECT_TIMEOUT: an answer that waited on the database misses it


def post(
    port: int, body: Any, token: str | None, timeout: float = CLIENT_TIMEOUT
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST /votes; (status, JSON body, headers with lower-case names). Raises on timeout."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        conn.request("POST", "/votes", body=json.dumps(body).encode(), headers=headers)
        response = conn.getresponse()
        answer = json.loads(response.read() or b"{}")
        return response.status, answer, {name.lower(): value for name, value in response.getheaders()}
    finally:
        conn.close()


def queued_vote_ids(broker: redis.Redis) -> list[str]:
    """Every vote_id in the messages on the queue (no worker runs in these tests)."""
    found = []
    for raw in broker.lrange(QUEUE_KEY, 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _, _ = json.loads(body)
        found += [queued["vote_id"] for queued in args[0]]
    return found


@pytest.fixture
def tokens_cleared(committed_db: None) -> Iterator[None]:
    IngestToken.objects.all().delete()
    yield
    IngestToken.objects.all().delete()


def issue(sede: int) -> str:
    """A per-sede token, committed, as `manage.py ingest_tokens issue` makes one."""
    token, _ = tokens.token_issue(departamento="Chimaltenango", municipio="Patzun", sede=sede)
    return token


@pytest.fixture
def db_proxy() -> Iterator[FaultProxy]:
    """A FaultProxy in front of the test database."""
    settings = connection.settings_dict
    proxy = FaultProxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 3306))).start()
    yield proxy
    proxy.stop()


def through(proxy: FaultProxy) -> str:
    """The test database's DATABASE_URL, with the proxy in place of the server."""
    parts = urlsplit(database_url_of_test_db())
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@{proxy.address}"))


@pytest.fixture
def partition_env(route_env: dict[str, str], db_proxy: FaultProxy, tokens_cleared: None) -> dict[str, str]:
    if connection.vendor != "mysql":
        pytest.skip("the proxy stands in front of MariaDB")
    return {
        **route_env,
        "DATABASE_URL": through(db_proxy),
        "DB_CONNECT_TIMEOUT": str(DB_CONNECT_TIMEOUT),
        "INGEST_TOKEN_CACHE_SECONDS": "1",  # the periodic refresh, too, comes due in the partition
    }


def test_tokens_are_checked_from_memory_while_the_database_is_partitioned(  # type: ignore[no-untyped-def]
    spawn, partition_env, db_proxy: FaultProxy, redis_client
) -> None:
    sedes = [new_sede() for _ in range(3)]
    issued = {sede: issue(sede) for sede in sedes}
    port, publisher = start_publisher(spawn, partition_env)  # reads the tokens through the proxy
    for sede in sedes:
        assert post(port, vote(sede), issued[sede])[0] == 202

    db_proxy.partition()
    accepted: list[str] = []

    def one_round() -> int:
        """Each sede's vote with its token, and votes with tokens never issued, at once."""
        sent = [(vote(sede), issued[sede]) for sede in sedes]
        sent += [(vote(sede), f"never-issued-{uuid.uuid4()}") for sede in sedes]
        sent += [(vote(sedes[0]), "the-same-unknown-token")]
        with ThreadPoolExecutor(len(sent)) as pool:
            answers = list(pool.map(lambda s: post(port, *s), sent))  # raises on CLIENT_TIMEOUT
        statuses = [status for status, _, _ in answers]
        assert statuses == [202] * len(sedes) + [401] * (len(sedes) + 1), answers
        accepted.extend(body["vote_id"] for body, _ in sent[: len(sedes)])
        return publisher.output().count("could not reload ingest tokens")

    # Round after round until the refresher has failed twice on the partition (a timed-out
    # connect each, the second after a back-off from the end of the first): answered throughout.
    wait_until(lambda: one_round() >= 2, 4 * DB_CONNECT_TIMEOUT, "two failed token refreshes")

    db_proxy.heal()
    late_sede = new_sede()
    late_token = issue(late_sede)  # while the publisher runs: known from its next refresh on
    wait_until(lambda: post(port, vote(late_sede), late_token)[0] == 202, 10, "the new token accepted")
    assert post(port, vote(late_sede), issued[sedes[0]])[0] == 403  # still each token's own sede
    assert set(accepted) <= set(queued_vote_ids(redis_client))


def test_a_flood_of_bad_tokens_never_reaches_the_publish_thread(  # type: ignore[no-untyped-def]
    spawn, route_env, tokens_cleared, redis_client
) -> None:
    sedes = [new_sede() for _ in range(4)]
    issued = {sede: issue(sede) for sede in sedes}
    port, _ = start_publisher(spawn, route_env)
    honest = [(vote(sede), issued[sede]) for sede in sedes for _ in range(10)]
    flood: list[tuple[Any, str | None]] = [(vote(sedes[i % 4]), f"forged-{i}") for i in range(200)]
    flood += [(vote(sedes[0]), None) for _ in range(20)] + [({"not": "a vote"}, "forged")] * 20
    # Honest votes spread through the flood, all sent at once.
    sent = [("flood", *bad) for bad in flood]
    for i, good in enumerate(honest):
        sent.insert(i * 6, ("honest", *good))

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda s: post(port, s[1], s[2], timeout=30), sent))

    statuses = {"honest": [], "flood": []}  # type: dict[str, list[int]]
    for (kind, _, _), (status, _, _) in zip(sent, answers, strict=True):
        statuses[kind].append(status)
    assert statuses["honest"] == [202] * len(honest)
    assert set(statuses["flood"]) == {401}
    assert sorted(queued_vote_ids(redis_client)) == sorted(body["vote_id"] for body, _ in honest)
    # What the publish thread examined: the honest votes, none of the flood.
    assert metric(port, "escrutinio_publish_batch_votes_sum") == len(honest)


def test_a_vote_id_stored_with_other_content_is_answered_409(  # type: ignore[no-untyped-def]
    spawn, partition_env, db_proxy: FaultProxy, redis_client
) -> None:
    sede = new_sede()
    token = issue(sede)
    stored = vote(sede)
    votes_record(votes=[vote_validate(stored)], route=Route.GRPC)
    port, _ = start_publisher(spawn, partition_env)

    status, answer, headers = post(port, {**stored, "partido": "SEMILLA"}, token)
    assert status == 409, answer
    assert answer["errors"]["vote_id"] == [
        f"vote_id {stored['vote_id']} was stored before with different content; nothing changed."
    ]
    assert headers["vote-id"] == answer["vote_id"] == stored["vote_id"]
    # The same vote again (a client's retry) is no conflict; nor are two new ones.
    assert post(port, {**stored, "sede": f"00{sede}"}, token)[0] == 202
    assert post(port, vote(sede), token)[0] == 202
    assert queued_vote_ids(redis_client).count(stored["vote_id"]) == 1

    # The database partitioned: the check is skipped, not waited for (the worker parks a
    # conflict it finds); the publish thread goes on answering.
    db_proxy.partition()
    unchecked = {**stored, "partido": "UNE"}
    assert post(port, unchecked, token)[0] == 202
    assert [post(port, vote(sede), token)[0] for _ in range(5)] == [202] * 5
    db_proxy.heal()
    wait_until(lambda: post(port, {**stored, "partido": "UNE"}, token)[0] == 409, 30, "the check back")


def test_a_full_queue_answers_503_with_retry_after_at_once(  # type: ignore[no-untyped-def]
    spawn, route_env, tmp_path: Path
) -> None:
    broker_server = RedisServer(tmp_path / "redis").start()
    try:
        _full_queue(spawn, route_env, broker_server)
    finally:
        broker_server.stop()


MAX_PENDING = 4


def _full_queue(spawn: Spawn, route_env: dict[str, str], broker_server: RedisServer) -> None:
    env = {
        **route_env,
        "REDIS_URL": broker_server.url,
        "PUBLISHER_MAX_PENDING": str(MAX_PENDING),
        "PUBLISHER_MAX_BATCH": "1",  # a publish takes one vote; the others wait for theirs
    }
    port, _ = start_publisher(spawn, env)
    broker = redis.Redis.from_url(broker_server.url)
    assert post(port, vote(new_sede()), "test-ingest-token")[0] == 202

    broker.execute_command("CLIENT", "PAUSE", "60000", "WRITE")  # the LPUSH hangs, nothing fails
    sent = 1 + MAX_PENDING + 6
    surplus = sent - 1 - MAX_PENDING
    answers: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    pool = ThreadPoolExecutor(sent)
    try:
        futures = [pool.submit(post, port, vote(new_sede()), "test-ingest-token", 60) for _ in range(sent)]

        # Answered while the broker is still paused: they never waited for it.
        def overloaded() -> list[tuple[int, dict[str, Any], dict[str, str]]]:
            return [f.result() for f in futures if f.done() and f.result()[0] == 503]

        wait_until(lambda: len(overloaded()) >= surplus, 10, f"{surplus} answers 503")
        assert broker.llen(QUEUE_KEY) == 1  # still paused: only the first vote was queued
        for _, answer, headers in overloaded():
            assert headers["retry-after"] == "1", headers
            assert _overflowed(answer)
            assert uuid.UUID(headers["vote-id"]) and answer["vote_id"] == headers["vote-id"]
    finally:
        broker.execute_command("CLIENT", "UNPAUSE")
        answers = [f.result() for f in futures]
        pool.shutdown()
    statuses = [status for status, _, _ in answers]
    assert statuses.count(503) >= surplus and set(statuses) <= {202, 503}
    accepted = {answer["vote_id"] for status, answer, _ in answers if status == 202}
    overflow = {answer["vote_id"] for status, answer, _ in answers if status == 503 and _overflowed(answer)}
    assert len(overflow) >= surplus
    assert len(accepted) <= 1 + MAX_PENDING  # never more waiting than the bound, and the one in flight
    queued = set(queued_vote_ids(broker))
    assert accepted <= queued
    assert not overflow & queued  # refused at once: never published, even once the broker was back


def _overflowed(answer: dict[str, Any]) -> bool:
    return "Too many votes are waiting" in answer["errors"]["non_field_errors"][0]
