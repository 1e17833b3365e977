"""The gRPC route's fixed constants. What an operator sets (limits, batch sizes, the
gateway's key, ports) is in election/settings.py (GRPC_*), read there from the environment."""

from __future__ import annotations

from ingest_grpc.protos.escrutinio.v1 import actas_pb2, votes_pb2

VOTE_SERVICE = votes_pb2.DESCRIPTOR.services_by_name["VoteService"].full_name
ACTA_SERVICE = actas_pb2.DESCRIPTOR.services_by_name["ActaService"].full_name
# A stream's chunks in the store at once: one being admitted while the one before commits.
STREAM_CHUNKS_IN_FLIGHT = 2
GATEWAY_KEY_METADATA = "x-escrutinio-gateway-key"
# While the tokens could not be loaded (the database was down at start), tried again this often.
TOKENS_RETRY_SECONDS = 2.0
UNAVAILABLE_MESSAGE = "The database is unavailable; nothing was stored. Retry with the same vote_id."
