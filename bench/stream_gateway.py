"""The gateway with its batches over one long-lived bidirectional stream: an alternative
measured by bench/gateway_stream.py, not the product.

The product gateway (ingest_grpc/gateway.py) sends each batch as a unary `CastVoteBatch`
call. Here the same app sends it as the next message of one `CastVoteStream` per process, a
stream-stream method that bench/gateway_stream.py adds to the product server for the
measurement only (it is not in the contract), and reads the next response message. One batch
is in flight at a time (the gateway's GroupBatcher), so responses come back in order.

    gunicorn bench.stream_gateway:app -k uvicorn_worker.UvicornWorker
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from election.ingest import config
from ingest_grpc import gateway
from ingest_grpc.protos.escrutinio.v1 import votes_pb2

STREAM_METHOD = "/escrutinio.v1.bench.VoteStream/CastVoteStream"

_stream: dict[str, Any] = {"call": None}


async def cast_batch_on_stream(requests: list[votes_pb2.CastVoteRequest]) -> list[votes_pb2.CastVoteResult]:
    call = _stream["call"]
    if call is None:
        assert gateway._grpc.channel is not None
        open_stream = gateway._grpc.channel.stream_stream(
            STREAM_METHOD,
            request_serializer=votes_pb2.CastVoteBatchRequest.SerializeToString,
            response_deserializer=votes_pb2.CastVoteBatchResponse.FromString,
        )
        call = _stream["call"] = open_stream()
    try:
        await call.write(votes_pb2.CastVoteBatchRequest(requests=requests))
        response = await asyncio.wait_for(call.read(), config.GATEWAY_GRPC_TIMEOUT)
    except BaseException:
        call.cancel()  # a later answer could no longer be matched to its batch
        _stream["call"] = None
        raise
    if response is grpc.aio.EOF:
        _stream["call"] = None
        raise RuntimeError("the vote stream ended")
    return list(response.results)


async def open_channel() -> None:
    await gateway.open_channel()
    gateway._grpc.batcher = type(gateway._grpc.batcher)(
        cast_batch_on_stream, max_batch=config.GATEWAY_MAX_BATCH
    )


app = gateway.edge_app(
    handle_vote=gateway.handle_vote,
    route=gateway.ROUTE,
    on_startup=open_channel,
    on_shutdown=gateway.close_channel,
    ready=gateway.vote_service_ready,
)
