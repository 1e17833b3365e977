"""The server's life around failures: SIGTERM with calls in flight (two commit groups among
them), and a database outage."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import grpc
import MySQLdb
import pytest
from django.db import connection
from grpc_health.v1 import health_pb2, health_pb2_grpc

from election.models import Vote
from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc
from scripts.devservices import MariaDBServer, free_port, wait_until
from tests.conftest import AUTHORIZATION, INGEST_TOKEN, ROOT, UNBOUND_RATE
from tests.support.locks import table_locked
from tests.support.metrics import metric
from tests.support.votes import recount_matches_tallies

from .conftest import BearerToken, grpc_server_process
from .helpers import cast_request

TOKEN_METADATA = (("authorization", AUTHORIZATION),)
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def test_sigterm_reports_not_serving_and_finishes_the_calls_in_flight(
    spawn, service_env, redis_client, port
) -> None:  # type: ignore[no-untyped-def]
    # 800 calls at once: more than the server handles by default (GRPC_MAX_CONCURRENT_RPCS)
    server = grpc_server_process(spawn, {**service_env, "GRPC_MAX_CONCURRENT_RPCS": "1000"}, port)
    requests = [cast_request(sede=i) for i in range(1, 801)]

    async def scenario() -> tuple[list[object], int, int]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
            assert (await watch.read()).status == SERVING
            stub = votes_pb2_grpc.VoteServiceStub(channel)
            calls = [
                asyncio.ensure_future(stub.CastVote(request, timeout=30, metadata=TOKEN_METADATA))
                for request in requests
            ]
            await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
            server.signal(signal.SIGTERM)
            answered_before = sum(call.done() for call in calls)
            health_after = (await watch.read()).status
            watch.cancel()
            return await asyncio.gather(*calls, return_exceptions=True), answered_before, health_after

    outcomes, answered_before, health_after = asyncio.run(scenario())

    assert server.popen.wait(timeout=30) == 0
    assert health_after == NOT_SERVING
    stored = [o.vote.vote_id for o in outcomes if isinstance(o, votes_pb2.CastVoteResponse)]
    failed = [_code(o) for o in outcomes if not isinstance(o, votes_pb2.CastVoteResponse)]
    # Every call sent before the signal is answered, and answered only once committed.
    assert failed == []
    assert answered_before < len(stored) == len(requests)
    assert sorted(str(v) for v in Vote.objects.values_list("vote_id", flat=True)) == sorted(stored)


def test_sigterm_with_two_groups_in_flight_commits_and_answers_both(
    spawn, service_env, redis_client, port
) -> None:  # type: ignore[no-untyped-def]
    """Pipelined: one group's commit waits on a locked tally table while the next group is
    admitted and looked up beside it; SIGTERM then. Both groups are committed and every call
    answered."""
    if connection.vendor != "mysql":
        pytest.skip("holds a MySQL table lock to keep the commit open")
    metrics_port = free_port()
    env = {**service_env, "GRPC_METRICS_PORT": str(metrics_port), "GROUP_COMMIT_PIPELINE": "1"}
    server = grpc_server_process(spawn, env, port)
    server.wait_for_port(metrics_port)  # opened just after the gRPC port
    in_flight = 'escrutinio_commit_groups_in_flight{committer="grpc"}'

    async def scenario() -> list[object]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = votes_pb2_grpc.VoteServiceStub(channel)

            def cast(sede: int) -> asyncio.Future[object]:
                call = stub.CastVote(cast_request(sede=sede), timeout=30, metadata=TOKEN_METADATA)
                return asyncio.ensure_future(call)

            with table_locked("election_routetally"):
                calls = [cast(1)]  # the first group: its commit waits on the lock
                await _until(lambda: metric(metrics_port, in_flight) == 1, "the first group taken")
                calls += [cast(sede) for sede in range(2, 12)]  # the second, looked up meanwhile
                await _until(lambda: metric(metrics_port, in_flight) == 2, "two groups in flight")
                server.signal(signal.SIGTERM)
                await asyncio.sleep(1)
                assert server.popen.poll() is None  # it waits for both groups
                assert not any(call.done() for call in calls)  # none answered before its commit
            return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(scenario())

    assert server.popen.wait(timeout=30) == 0
    assert [_code(o) for o in outcomes if not isinstance(o, votes_pb2.CastVoteResponse)] == []
    assert {o.status for o in outcomes} == {votes_pb2.CAST_STATUS_STORED}  # type: ignore[attr-defined]
    stored = sorted(str(v) for v in Vote.objects.values_list("vote_id", flat=True))
    assert stored == sorted(o.vote.vote_id for o in outcomes)  # type: ignore[attr-defined]
    recount_matches_tallies()


async def _until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    await asyncio.to_thread(wait_until, condition, timeout, what)


@pytest.mark.slow
def test_unavailable_while_mariadb_is_stopped_then_recovers_by_itself(spawn, redis_client, port) -> None:  # type: ignore[no-untyped-def]
    mariadb = MariaDBServer(Path(tempfile.mkdtemp(prefix="esc-outage-")))
    try:
        mariadb.start()
        env = _migrated_database(mariadb)
        grpc_server_process(spawn, env, port)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as plain_channel:
            channel = grpc.intercept_channel(plain_channel, BearerToken())
            stub = votes_pb2_grpc.VoteServiceStub(channel)
            assert stub.CastVote(cast_request(), timeout=10).status == votes_pb2.CAST_STATUS_STORED

            mariadb.stop()
            during_outage = cast_request()
            with pytest.raises(grpc.RpcError) as refused:
                stub.CastVote(during_outage, timeout=10)
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
            with pytest.raises(grpc.RpcError) as stream_refused:
                stub.CastVotes(iter([cast_request(), cast_request()]), timeout=10)
            assert stream_refused.value.code() is grpc.StatusCode.UNAVAILABLE

            mariadb.start()  # same port, same data directory
            retried = stub.CastVote(during_outage, timeout=10)  # the client's retry, same vote_id

        assert retried.status == votes_pb2.CAST_STATUS_STORED
        assert _vote_count(mariadb) == 2
    finally:
        mariadb.stop()
        shutil.rmtree(mariadb.directory, ignore_errors=True)


def _code(outcome: object) -> object:
    return outcome.code() if isinstance(outcome, grpc.aio.AioRpcError) else outcome


def _migrated_database(mariadb: MariaDBServer) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": mariadb.url,
        "ESCRUTINIO_DEV": "1",
        "LOG_FORMAT": "plain",
        "PYTHONUNBUFFERED": "1",
        "DB_CONNECT_TIMEOUT": "2",
        "INGEST_TOKEN": INGEST_TOKEN,
        **UNBOUND_RATE,
    }
    with MySQLdb.connect(host="127.0.0.1", port=mariadb.port, user="root") as connection:
        connection.cursor().execute("CREATE DATABASE IF NOT EXISTS escrutinio CHARACTER SET utf8mb4")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
    )
    return env


def _vote_count(mariadb: MariaDBServer) -> int:
    with MySQLdb.connect(
        host="127.0.0.1", port=mariadb.port, user="root", database="escrutinio"
    ) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM election_vote")
        return int(cursor.fetchone()[0])
