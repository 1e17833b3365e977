"""The Django-free edge's configuration, read from the environment once (the table:
docs/configuration.md): the HTTP front doors (election.ingest.edge) and the gRPC route's
gateway, which run without Django settings. The Django processes read everything else
from election/settings.py, which takes the log settings from here; both parse with
election.lib.env.
"""

from __future__ import annotations

from election.ingest.async_batcher import DEFAULT_MAX_PENDING
from election.lib.env import env_float, env_int, env_str

# Both front doors (the gateway and the publisher).
VOTE_MAX_BODY_BYTES = env_int("VOTE_MAX_BODY_BYTES", 4096)
# An acta names up to two dozen partidos, in full as the TREP does: a few KB.
ACTA_MAX_BODY_BYTES = env_int("ACTA_MAX_BODY_BYTES", 16384)

# Every process logs alike: election/settings.py's LOGGING and the gateway's.
LOG_FORMAT = env_str("LOG_FORMAT", "json")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()

# The gateway: the gRPC server it calls, and how.
GRPC_ADDRESS = env_str("GRPC_ADDRESS", "127.0.0.1:50051")
GATEWAY_GRPC_TIMEOUT = env_float("GATEWAY_GRPC_TIMEOUT", 5)
GATEWAY_MAX_BATCH = env_int("GATEWAY_MAX_BATCH", 200)
GATEWAY_MAX_PENDING = env_int("GATEWAY_MAX_PENDING", DEFAULT_MAX_PENDING)
# Shared with the gRPC server (settings.GRPC_GATEWAY_KEY): calls carrying it keep their receipt times.
GRPC_GATEWAY_KEY = env_str("GRPC_GATEWAY_KEY")
