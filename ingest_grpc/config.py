"""The gRPC route's settings, read from the environment once: limits, batch sizes, the
gateway's key, ports. Every module of the route reads them from here."""

from __future__ import annotations

import os

from election.ingest.async_batcher import DEFAULT_MAX_PENDING
from ingest_grpc.protos.escrutinio.v1 import votes_pb2

DEFAULT_ADDRESS = "127.0.0.1:50051"
VOTE_SERVICE = votes_pb2.DESCRIPTOR.services_by_name["VoteService"].full_name
MAX_BATCH = int(os.environ.get("GRPC_MAX_BATCH", "300"))
# Votes per transaction of a stream: large, since one sender's votes need no sharing.
STREAM_MAX_BATCH = int(os.environ.get("GRPC_STREAM_MAX_BATCH", "2000"))
# A stream's chunks in the store at once: one being admitted while the one before commits.
STREAM_CHUNKS_IN_FLIGHT = 2
# What one server holds at worst, with the defaults below: 128 calls of a 1 MiB message, 8
# streams of about 12 MB each (3,000 votes of 1.3 kB being read, as many in the database
# threads) and 5,000 votes waiting for the committer: about 230 MB, within the pod's 512 Mi
# beside Django and gRPC.
# Calls handled at once: room for the 64 callers of the benchmark, gateways, streams and probes.
MAX_CONCURRENT_RPCS = int(os.environ.get("GRPC_MAX_CONCURRENT_RPCS", "128"))
# Streams open at once (bulk senders; the gateway sends unary calls): one more is refused.
MAX_STREAMS = int(os.environ.get("GRPC_MAX_STREAMS", "8"))
# A message: a full batch of long-named votes is about 0.7 MB, the largest answer (1,000
# refused votes with every field wrong) about 0.6 MB.
MAX_RECEIVE_MESSAGE_BYTES = int(os.environ.get("GRPC_MAX_RECEIVE_MESSAGE_BYTES", str(1 << 20)))
MAX_SEND_MESSAGE_BYTES = int(os.environ.get("GRPC_MAX_SEND_MESSAGE_BYTES", str(1 << 20)))
# Votes in one CastVoteBatch / CastVoteBatches message (the gateway sends at most 200).
MAX_VOTES_PER_MESSAGE = int(os.environ.get("GRPC_MAX_VOTES_PER_MESSAGE", "1000"))
# Refused votes a stream's summary lists; one more ends the stream (the summary must fit a message).
STREAM_MAX_REFUSED = int(os.environ.get("GRPC_STREAM_MAX_REFUSED", "1000"))
# Votes that may wait for the committer before calls are answered RESOURCE_EXHAUSTED.
COMMIT_MAX_PENDING = int(os.environ.get("GRPC_COMMIT_MAX_PENDING", str(DEFAULT_MAX_PENDING)))
# The gateway's key: only a call that carries it has its votes' received_at believed.
GATEWAY_KEY = os.environ.get("GRPC_GATEWAY_KEY", "")
GATEWAY_KEY_METADATA = "x-escrutinio-gateway-key"
# While the tokens could not be loaded (the database was down at start), tried again this often.
TOKENS_RETRY_SECONDS = 2.0
SHUTDOWN_GRACE_SECONDS = float(os.environ.get("GRPC_SHUTDOWN_GRACE", "10"))
METRICS_PORT = int(os.environ.get("GRPC_METRICS_PORT", "9101"))
UNAVAILABLE_MESSAGE = "The database is unavailable; nothing was stored. Retry with the same vote_id."
