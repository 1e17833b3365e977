"""The publisher fails closed on a broker that could lose a vote it answered 202.

Under the production settings (no ESCRUTINIO_DEV) it refuses to start on a Redis without AOF,
with an fsync other than `always`, or whose CONFIG it cannot read (a managed Redis), unless
BROKER_DURABILITY_CHECK=off; a local run only warns. A broker that requires a password is
reached with it. Real gunicorn publishers against throwaway Redis servers.
"""

from __future__ import annotations

import secrets
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from scripts.devservices import RedisServer, free_port
from scripts.processes import Spawn
from tests.pubsub.conftest import start_publisher
from tests.pubsub.test_publisher_admission import post
from tests.support.field import vote

PASSWORD = "broker-test-password"


class ConfiguredRedis(RedisServer):
    """A throwaway Redis with extra server arguments, and a password when given one."""

    def __init__(self, directory: Path, *extra: str, password: str = "", **options: Any) -> None:
        super().__init__(directory, **options)
        self.extra = list(extra)
        self.password = password

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        auth = ["--requirepass", self.password] if self.password else []
        return [*super().command(), *auth, *self.extra]


@pytest.fixture
def brokers(tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[RedisServer] = []

    def start(*extra: str, **options: Any) -> RedisServer:
        server = ConfiguredRedis(tmp_path / f"redis-{len(started)}", *extra, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def production(env: dict[str, str], broker: RedisServer, **changes: str) -> dict[str, str]:
    """The publisher's environment as a deployment has it: no ESCRUTINIO_DEV, a real secret key."""
    env = {name: value for name, value in env.items() if name not in ("ESCRUTINIO_DEV", "DJANGO_DEBUG")}
    env |= {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "VOTE_QUEUE_KEY": secrets.token_urlsafe(32)}
    env |= {"REDIS_URL": broker.url, "CELERY_BROKER_URL": ""}
    return env | changes


def refused_to_start(spawn: Spawn, env: dict[str, str]) -> str:
    """Start the publisher; it must exit non-zero without serving. Its output."""
    argv = [sys.executable, "-m", "gunicorn", "ingest_pubsub.asgi:app",
            "-k", "uvicorn_worker.UvicornWorker", "--workers", "1",
            "--bind", f"127.0.0.1:{free_port()}", "--no-control-socket"]  # fmt: skip
    process = spawn(f"publisher-{uuid.uuid4().hex[:6]}", argv, env)
    assert process.popen.wait(timeout=30) != 0, process.output()
    assert "publisher ready" not in process.output()
    return process.output()


def test_production_refuses_a_broker_without_aof(spawn, route_env, brokers) -> None:  # type: ignore[no-untyped-def]
    broker = brokers(appendonly=False)
    output = refused_to_start(spawn, production(route_env, broker))
    assert "refusing to start: the broker Redis runs without AOF (appendonly no)" in output


def test_production_refuses_an_aof_not_fsynced_before_each_answer(spawn, route_env, brokers) -> None:  # type: ignore[no-untyped-def]
    broker = brokers(appendfsync="everysec")
    output = refused_to_start(spawn, production(route_env, broker))
    assert "refusing to start: the broker Redis fsyncs its AOF 'everysec', not 'always'" in output


def test_a_local_run_only_warns(spawn, route_env, brokers) -> None:  # type: ignore[no-untyped-def]
    broker = brokers(appendonly=False)
    port, process = start_publisher(spawn, {**route_env, "REDIS_URL": broker.url, "ESCRUTINIO_DEV": "1"})
    assert (
        "runs without AOF (appendonly no): a restart loses the queued votes (ESCRUTINIO_DEV"
        in process.output()
    )
    assert post(port, vote(7), "test-ingest-token")[0] == 202


def test_a_managed_broker_without_config_needs_the_operator_s_explicit_off(spawn, route_env, brokers) -> None:  # type: ignore[no-untyped-def]
    broker = brokers("--rename-command", "CONFIG", "")  # as managed Redis services disable it
    output = refused_to_start(spawn, production(route_env, broker))
    assert "cannot read the broker Redis's AOF settings" in output
    assert "set BROKER_DURABILITY_CHECK=off" in output

    port, process = start_publisher(spawn, production(route_env, broker, BROKER_DURABILITY_CHECK="off"))
    assert "durability is not checked (BROKER_DURABILITY_CHECK=off)" in process.output()
    assert post(port, vote(7), "test-ingest-token")[0] == 202


def test_a_broker_with_a_password_is_checked_and_used_with_it(spawn, route_env, brokers) -> None:  # type: ignore[no-untyped-def]
    broker = brokers(password=PASSWORD)
    assert PASSWORD in broker.url
    port, _ = start_publisher(spawn, production(route_env, broker))  # AOF always: it starts
    assert post(port, vote(7), "test-ingest-token")[0] == 202

    wrong = production(route_env, broker, REDIS_URL=broker.url.replace(PASSWORD, "wrong"))
    assert "cannot reach the broker Redis" in refused_to_start(spawn, wrong)
