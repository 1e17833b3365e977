"""Every way out of a record_batch task leaves its votes stored, retried, requeued or parked.

A real Celery worker (the Procfile's line) against real MariaDB and Redis. MariaDB is taken
away from the worker, without touching the shared server, by pointing it at a port where a
TCP proxy to MariaDB (scripts/fault_proxy.py) is started only once the database is to be
"back". Catalogue changes are written to the database directly, as a script would, past the
admin's check.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db import connection

from election.catalogue.index import catalogue_index_clear
from election.celery import app
from election.models import Vote
from ingest_pubsub.dead_letters import DEAD_LETTER_KEY
from ingest_pubsub.tasks import record_batch
from scripts.devservices import RedisServer, free_port, wait_until
from scripts.fault_proxy import FaultProxy
from scripts.processes import ChildProcess
from tests.conftest import ROOT, database_url_of_test_db
from tests.pubsub.conftest import FAST_RESTORE, FAST_RETRY, UNACKED_KEY, signed_vote, start_worker

RETRYING = "retrying batch"  # what the worker logs when it retries a batch


def test_a_worker_started_while_mariadb_is_down_stores_the_votes_once_it_is_back(  # type: ignore[no-untyped-def]
    spawn, route_env, redis_client
) -> None:
    port = free_port()  # MariaDB "down": nothing listens there yet
    worker = start_worker(spawn, {**route_env, **FAST_RETRY, "DATABASE_URL": _through(port)}, processes=1)

    votes = [signed_vote(), signed_vote()]
    task = record_batch.apply_async(args=[votes])
    _wait_handled(worker, task.id)  # the votes could not even be read: the catalogue is away
    proxy = _mariadb_on(port)
    try:
        wait_until(lambda: _stored(votes), 30, "the votes stored once MariaDB is back")
    finally:
        proxy.stop()
    assert redis_client.llen(DEAD_LETTER_KEY) == 0
    assert "the catalogue could not be read at start" in worker.output()
    assert RETRYING in worker.output()


def test_a_batch_still_unavailable_after_its_last_retry_is_parked(  # type: ignore[no-untyped-def]
    spawn, route_env, redis_client
) -> None:
    env = {**route_env, **FAST_RETRY, "VOTES_TASK_MAX_RETRIES": "1", "DATABASE_URL": _through(free_port())}
    start_worker(spawn, env, processes=1)  # MariaDB never comes back
    vote = signed_vote()
    record_batch.apply_async(args=[[vote]])
    wait_until(lambda: redis_client.llen(DEAD_LETTER_KEY) == 1, 30, "the batch parked")
    entry = json.loads(redis_client.lindex(DEAD_LETTER_KEY, 0))  # type: ignore[arg-type]
    assert entry["vote"] == vote
    assert entry["reason"].startswith("unavailable after 1 retries: OperationalError")


def test_a_catalogue_made_ambiguous_keeps_the_last_good_copy_and_a_new_worker_waits(  # type: ignore[no-untyped-def]
    spawn, route_env, redis_client, ambiguous_partido
) -> None:
    env = {**route_env, **FAST_RETRY, "CATALOGUE_CACHE_SECONDS": "0"}  # re-read at every use
    worker = start_worker(spawn, env, processes=1)  # reads the catalogue at start

    ambiguous_partido.make()
    before = signed_vote()
    record_batch.apply_async(args=[[before]])
    wait_until(lambda: _stored([before]), 30, "a vote validated against the last good copy")
    # The re-read that finds it ambiguous runs behind the task (election.catalogue.index), and says so.
    logged = "the catalogue could not be re-read"
    wait_until(lambda: logged in worker.output(), 30, "the failed re-read logged")
    worker.stop()

    # A worker that never read a good copy cannot validate: it keeps the votes until repaired.
    fresh = start_worker(spawn, env, "worker-2", processes=1)
    assert "the catalogue could not be read at start" in fresh.output()
    waiting = signed_vote()
    record_batch.apply_async(args=[[waiting]])
    _wait_for(fresh, RETRYING)
    assert not _stored([waiting])
    ambiguous_partido.repair()
    wait_until(lambda: _stored([waiting]), 30, "the vote stored once the catalogue is repaired")
    assert redis_client.llen(DEAD_LETTER_KEY) == 0


@pytest.mark.slow
def test_a_retry_that_cannot_be_queued_leaves_the_batch_on_the_queue(  # type: ignore[no-untyped-def]
    spawn, route_env, own_redis: RedisServer
) -> None:
    """Redis refuses to queue the retry but takes the acknowledgement: Celery would drop the
    message. The worker's Redis user loses LPUSH and RPUSH for a while (ACL), which refuses
    exactly the publishes and nothing else: unlike a pause, deterministic."""
    control = redis.Redis.from_url(own_redis.url)
    control.execute_command("ACL", "SETUSER", "worker", "on", ">worker-pw", "~*", "&*", "+@all")
    worker_url = f"redis://worker:worker-pw@127.0.0.1:{own_redis.port}/0"
    port = free_port()
    proxy = _mariadb_on(port)
    env = {**route_env, **FAST_RESTORE, **FAST_RETRY, "REDIS_URL": worker_url, "DATABASE_URL": _through(port)}
    worker = start_worker(spawn, env, processes=1)
    stored_first = signed_vote()
    _queue(own_redis, [stored_first])
    wait_until(lambda: _stored([stored_first]), 30, "a first vote stored")

    proxy.stop()  # MariaDB away: the next batch is retried ...
    control.execute_command("ACL", "SETUSER", "worker", "-lpush", "-rpush")  # ... and that fails
    vote = signed_vote()
    _queue(own_redis, [vote])
    _wait_for(worker, RETRYING)
    wait_until(
        lambda: "reject requeue=" in worker.output(), 30, "the retry refused, and the message rejected"
    )
    control.execute_command("ACL", "SETUSER", "worker", "+lpush", "+rpush")
    proxy = _mariadb_on(port)
    try:
        wait_until(lambda: _stored([vote]), 30, "the vote stored, restored from the unacknowledged")
    finally:
        proxy.stop()
    wait_until(lambda: control.hlen(UNACKED_KEY) == 0, 10, "nothing left unacknowledged")
    assert control.llen(DEAD_LETTER_KEY) == 0


def test_a_vote_id_stored_with_other_content_is_parked_and_shown_to_operators(  # type: ignore[no-untyped-def]
    spawn, route_env, redis_client
) -> None:
    start_worker(spawn, route_env, processes=1)
    first = signed_vote(partido="VAMOS")
    record_batch.apply_async(args=[[first]])
    wait_until(lambda: _stored([first]), 30, "the first vote stored")
    other = signed_vote(vote_id=first["vote_id"], partido="SEMILLA")  # reused vote_id
    fresh = signed_vote()
    record_batch.apply_async(args=[[other, fresh]])

    wait_until(lambda: redis_client.llen(DEAD_LETTER_KEY) == 1, 30, "the conflict parked")
    wait_until(lambda: _stored([fresh]), 30, "the rest of the batch stored")
    entry = json.loads(redis_client.lindex(DEAD_LETTER_KEY, 0))
    assert entry["vote"] == other
    assert entry["reason"].startswith(f"conflict: vote_id {first['vote_id']}")
    assert '"partido_id": "VAMOS"' in entry["reason"] and '"partido_id": "SEMILLA"' in entry["reason"]
    assert Vote.objects.get(vote_id=first["vote_id"]).partido_id == "VAMOS"

    shown = subprocess.run(
        [sys.executable, "-m", "ingest_pubsub.dead_letters", "show"],
        env=route_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [json.loads(line) for line in shown.stdout.splitlines()] == [entry]


# --- helpers -----------------------------------------------------------------


class AmbiguousPartido:
    """A partido alias naming another partido (Semilla for VAMOS), written in SQL as a script
    would, past the admin's check; removed at the end of the test whatever happens."""

    def make(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO election_partidoalias (partido_id, alias) VALUES ('VAMOS', 'Semilla')"
            )

    def repair(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM election_partidoalias WHERE alias = 'Semilla'")
        catalogue_index_clear()


@pytest.fixture
def ambiguous_partido(committed_db) -> Iterator[AmbiguousPartido]:  # type: ignore[no-untyped-def]
    ambiguity = AmbiguousPartido()
    try:
        yield ambiguity
    finally:
        ambiguity.repair()


def _through(port: int) -> str:
    """DATABASE_URL of the test database, reached through `port`."""
    return database_url_of_test_db().replace(f":{_mariadb_port()}/", f":{port}/")


def _mariadb_port() -> int:
    return int(connection.settings_dict["PORT"] or 3306)


def _mariadb_on(port: int) -> FaultProxy:
    """MariaDB reachable at `port` (until the proxy stops)."""
    host = connection.settings_dict["HOST"] or "127.0.0.1"
    return FaultProxy((host, _mariadb_port()), port=port).start()


def _stored(votes: list[dict[str, Any]]) -> bool:
    return Vote.objects.filter(vote_id__in=[uuid.UUID(vote["vote_id"]) for vote in votes]).count() == len(
        votes
    )


def _queue(server: RedisServer, votes: list[dict[str, str]]) -> None:
    with app.connection_for_write(server.url) as broker:
        record_batch.apply_async(args=[votes], connection=broker)


def _wait_for(worker: ChildProcess, text: str) -> None:
    worker.wait_for_output(text, timeout=30)


def _wait_handled(worker: ChildProcess, task_id: str) -> None:
    """Until Celery logs how the task ended (after "received": retry, raised, succeeded...)."""
    worker.wait_until(lambda: worker.output().count(f"[{task_id}]") >= 2, 30, f"task {task_id} handled")
