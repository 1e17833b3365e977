"""The gRPC server of the gRPC route: `python -m ingest_grpc.server`.

An asyncio server. Calls are validated and recorded in one database thread, which keeps one
Django connection; while that thread commits a batch, the votes that arrive meanwhile queue
up and go into the next transaction together (group commit, election.writer.group_committer), so
throughput is not one INSERT per call. No timer: a lone vote is committed at once. Each
caller is answered only after its vote's transaction has committed; the latest-votes list in
Redis is updated after that, from a thread of its own (election.writer.live_feed.LiveFeed).

Bounded under overload and untrusting of its callers:
- at most GRPC_MAX_CONCURRENT_RPCS calls at once (gRPC answers the next RESOURCE_EXHAUSTED),
  of which GRPC_MAX_STREAMS streams (the next: RESOURCE_EXHAUSTED, `overloaded`),
  messages of at most GRPC_MAX_RECEIVE_MESSAGE_BYTES (gRPC's own RESOURCE_EXHAUSTED), at
  most GRPC_MAX_VOTES_PER_MESSAGE votes in a CastVoteBatch message (INVALID_ARGUMENT), and at
  most GRPC_STREAM_MAX_REFUSED votes refused in a stream (listed, then INVALID_ARGUMENT);
- at most GRPC_COMMIT_MAX_PENDING votes wait for the database: past that, a call is answered
  RESOURCE_EXHAUSTED at once with trailing metadata `retry-after` and
  `escrutinio-refusal: overloaded` (a sede over its rate gets `escrutinio-refusal: throttled`);
- a vote's token is checked in memory before the vote takes a place in that queue, so a flood
  of bad tokens is refused there and never waits for, or delays, the database;
- a vote's `received_at` is taken from the call only when the call carries the gateway's key
  (`x-escrutinio-gateway-key`, GRPC_GATEWAY_KEY); otherwise, and when no key is configured,
  the server stamps the time it read the vote, so a caller cannot backdate votes.

Also served: the standard health service (SERVING; NOT_SERVING from SIGTERM on),
server reflection, and Prometheus `/metrics` over HTTP on GRPC_METRICS_PORT.
SIGTERM stops accepting calls, finishes those in flight, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

import django
import grpc
import uvloop
from django.conf import settings
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from election.lib.gc_freeze import startup_objects_freeze
from election.observability.metrics import metrics_serve
from ingest_grpc import acta_contract, contract
from ingest_grpc.config import ACTA_SERVICE, VOTE_SERVICE
from ingest_grpc.protos.escrutinio.v1 import actas_pb2, votes_pb2

if TYPE_CHECKING:  # they need Django set up: imported once it is (create_server)
    from ingest_grpc.acta_servicer import ActaServicer
    from ingest_grpc.servicer import VoteServicer
    from ingest_grpc.store import VoteStore

logger = logging.getLogger(__name__)


@dataclass
class VoteServer:
    """The gRPC server with what its start and graceful stop must also handle."""

    grpc_server: grpc.aio.Server
    servicer: VoteServicer
    store: VoteStore
    health: health.aio.HealthServicer
    actas: ActaServicer

    async def start(self) -> None:
        await self.store.start()
        await self.grpc_server.start()
        for service in ("", VOTE_SERVICE, ACTA_SERVICE):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float | None = None) -> None:
        """Stop without dropping a call that reached the server, within `grace` seconds
        (GRPC_SHUTDOWN_GRACE unless given).

        NOT_SERVING first, while still serving: calls already sent (some wait in gRPC's queue
        before their handler starts, and stopping would cancel them) are answered, and
        clients watching health move away. Once no vote call is in flight, stop accepting,
        end what is left (health Watch streams never end by themselves) and release the DB.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (settings.GRPC_SHUTDOWN_GRACE if grace is None else grace)
        await self.health.enter_graceful_shutdown()
        await self._until_idle(deadline - loop.time())
        stopping = asyncio.create_task(self.grpc_server.stop(max(0.0, deadline - loop.time())))
        await self._until_idle(deadline - loop.time())
        await self.grpc_server.stop(0)
        await stopping
        await asyncio.to_thread(self.actas.close)
        await self.store.close()

    async def _until_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            idle = asyncio.gather(self.servicer.wait_idle(), self.actas.wait_idle())
            await asyncio.wait_for(idle, max(0.0, timeout))


def add_vote_service(servicer: VoteServicer, server: grpc.aio.Server) -> None:
    """VoteService as the generated add_VoteServiceServicer_to_server registers it, but with
    contract.request_parse as the request deserializer: an undecodable request is then
    INVALID_ARGUMENT, not the UNKNOWN grpcio answers when the deserializer raises."""
    handlers = {
        "CastVote": grpc.unary_unary_rpc_method_handler(
            servicer.CastVote,
            request_deserializer=contract.request_parse,
            response_serializer=votes_pb2.CastVoteResponse.SerializeToString,
        ),
        "CastVotes": grpc.stream_unary_rpc_method_handler(
            servicer.CastVotes,
            request_deserializer=contract.request_parse,
            response_serializer=votes_pb2.CastVotesResponse.SerializeToString,
        ),
        "CastVoteBatch": grpc.unary_unary_rpc_method_handler(
            servicer.CastVoteBatch,
            request_deserializer=contract.batch_parse,
            response_serializer=votes_pb2.CastVoteBatchResponse.SerializeToString,
        ),
        "CastVoteBatches": grpc.stream_unary_rpc_method_handler(
            servicer.CastVoteBatches,
            request_deserializer=contract.batch_parse,
            response_serializer=votes_pb2.CastVotesResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(VOTE_SERVICE, handlers),))
    server.add_registered_method_handlers(VOTE_SERVICE, handlers)


def add_acta_service(servicer: ActaServicer, server: grpc.aio.Server) -> None:
    """ActaService, with an undecodable request answered INVALID_ARGUMENT (see add_vote_service)."""
    handlers = {
        "SubmitActa": grpc.unary_unary_rpc_method_handler(
            servicer.SubmitActa,
            request_deserializer=acta_contract.request_parse,
            response_serializer=actas_pb2.SubmitActaResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(ACTA_SERVICE, handlers),))
    server.add_registered_method_handlers(ACTA_SERVICE, handlers)


def create_server(address: str, store: VoteStore | None = None) -> tuple[VoteServer, int]:
    """A server of VoteService and ActaService bound to `address` (port 0: any free port), and
    the port it got. Both share the message bounds and the concurrent calls' limit."""
    from ingest_grpc.acta_servicer import ActaServicer
    from ingest_grpc.servicer import VoteServicer
    from ingest_grpc.store import GroupCommitStore

    server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", settings.GRPC_MAX_RECEIVE_MESSAGE_BYTES),
            ("grpc.max_send_message_length", settings.GRPC_MAX_SEND_MESSAGE_BYTES),
        ],
        maximum_concurrent_rpcs=settings.GRPC_MAX_CONCURRENT_RPCS,
    )
    store = store if store is not None else GroupCommitStore()
    servicer = VoteServicer(store)
    add_vote_service(servicer, server)
    actas = ActaServicer()
    add_acta_service(actas, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    services = (VOTE_SERVICE, ACTA_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(services, server)
    port = server.add_insecure_port(address)
    return VoteServer(server, servicer, store, health_servicer, actas), port


async def serve(address: str, store: VoteStore | None = None) -> None:
    vote_server, port = create_server(address, store)
    await vote_server.start()
    startup_objects_freeze()  # no full collection walks Django and grpc again (election.lib.gc_freeze)
    metrics_serve(
        settings.GRPC_METRICS_PORT, host=settings.BIND_HOST, what="grpc"
    )  # HTTP /metrics beside the gRPC port
    limits = {
        "max_calls": settings.GRPC_MAX_CONCURRENT_RPCS,
        "max_streams": settings.GRPC_MAX_STREAMS,
        "max_pending": settings.GRPC_COMMIT_MAX_PENDING,
    }
    # Without a key every vote's received_at is this server's: the gateway's hop is not in the latencies.
    trust = {"gateway_key": bool(settings.GRPC_GATEWAY_KEY)}
    logger.info(
        "gRPC server listening",
        extra={"address": address, "port": port, "max_batch": settings.GRPC_MAX_BATCH, **limits, **trust},
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    logger.info(
        "stopping: NOT_SERVING, finishing the calls in flight",
        extra={"grace_s": settings.GRPC_SHUTDOWN_GRACE},
    )
    await vote_server.stop()
    logger.info("stopped")


def run(address: str, store: VoteStore | None = None) -> None:
    """Serve until SIGTERM on uvloop, as uvicorn runs the gateway (measured: about 5% less CPU
    a call than asyncio's own loop)."""
    uvloop.run(serve(address, store))


def main() -> None:
    """The process's entry point: Django set up here, before anything imports a model."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    django.setup()
    run(settings.GRPC_ADDRESS)


if __name__ == "__main__":
    main()
