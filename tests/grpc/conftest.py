"""A real gRPC server and a real gateway (gunicorn + uvicorn workers) on free ports.

The pair is started once per test module (each start costs a second or two) and shared by
the tests that leave it running; the vote tables are emptied around every test by
`committed_db`. Tests that stop a process start their own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import grpc
import pytest

from ingest_grpc.protos.escrutinio.v1 import votes_pb2_grpc
from scripts.devservices import free_port
from scripts.fault_proxy import FaultProxy
from scripts.processes import ChildProcess, Spawn
from tests.conftest import AUTHORIZATION, child_env, database_url_of_test_db, process_group


def grpc_server_process(spawn: Spawn, env: dict[str, str], port: int) -> ChildProcess:
    env = {**env, "GRPC_ADDRESS": f"127.0.0.1:{port}"}
    return spawn("grpc-server", [sys.executable, "-m", "ingest_grpc.server"], env).wait_for_port(port)


def gateway_process(
    spawn: Spawn, env: dict[str, str], grpc_port: int, workers: int = 1
) -> tuple[ChildProcess, str]:
    http_port = free_port()
    env = {"GATEWAY_GRPC_TIMEOUT": "5", **env, "GRPC_ADDRESS": f"127.0.0.1:{grpc_port}"}
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "ingest_grpc.gateway:app",
        "-k",
        "uvicorn_worker.UvicornWorker",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{http_port}",
        "--no-control-socket",
    ]
    process = spawn("gateway", argv, env).wait_for_port(http_port)
    return process, f"http://127.0.0.1:{http_port}"


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor):  # type: ignore[misc]
    """Adds `authorization: Bearer <INGEST_TOKEN>` to every call, as a sede's client does."""

    def __init__(self, authorization: str = AUTHORIZATION) -> None:
        self.metadata = (("authorization", authorization),)

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return details._replace(metadata=[*(details.metadata or ()), *self.metadata])  # type: ignore[attr-defined]

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._with_token(details), request_iterator)


@dataclass
class Route:
    grpc_port: int
    gateway_url: str


@pytest.fixture(scope="module")
def shared_route(request, django_db_setup, django_db_blocker) -> Iterator[Route]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        env = child_env()
    with process_group(request) as group:
        grpc_port = free_port()
        grpc_server_process(group.start, env, grpc_port)
        yield Route(grpc_port, gateway_process(group.start, env, grpc_port)[1])


@pytest.fixture
def channel(shared_route: Route, committed_db, redis_client) -> Iterator[grpc.Channel]:  # type: ignore[no-untyped-def]
    with grpc.insecure_channel(f"127.0.0.1:{shared_route.grpc_port}") as ch:
        yield grpc.intercept_channel(ch, BearerToken())


@pytest.fixture
def stub(channel: grpc.Channel) -> votes_pb2_grpc.VoteServiceStub:
    return votes_pb2_grpc.VoteServiceStub(channel)


@pytest.fixture
def gateway_url(shared_route: Route, committed_db, redis_client) -> str:  # type: ignore[no-untyped-def]
    return shared_route.gateway_url


@pytest.fixture
def database_proxy(committed_db, redis_client) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    """A FaultProxy in front of the test database: partition or slow it under a real server."""
    address = urlsplit(database_url_of_test_db())
    proxy = FaultProxy((address.hostname or "127.0.0.1", address.port or 3306)).start()
    try:
        yield proxy
    finally:
        proxy.heal()
        proxy.stop()


def through_proxy(proxy: FaultProxy, **extra: str) -> dict[str, str]:
    """child_env with the test database reached through `proxy`."""
    address = urlsplit(database_url_of_test_db())
    netloc = address.netloc.rsplit("@", 1)
    host = f"{proxy.host}:{proxy.port}"
    url = urlunsplit(address._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))
    return child_env(DATABASE_URL=url, **extra)
