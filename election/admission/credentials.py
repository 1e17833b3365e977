"""How a sede presents its credential, and the kinds of refusal of it: one home for every edge.

Plain Python, no Django: the HTTP edge (election.ingest.edge), the gRPC server and the gateway all read
it. election.admission.tokens decides who may report; this module only names its refusals and reads the
header (HTTP `Authorization`, gRPC `authorization` metadata).
"""

from __future__ import annotations

from enum import StrEnum


class AccessKind(StrEnum):
    """Why election.admission.tokens refused a vote; each edge maps it to its answer (election.ingest.edge for
    HTTP, ingest_grpc.contract for gRPC)."""

    UNAUTHENTICATED = "unauthenticated"  # HTTP 401, gRPC UNAUTHENTICATED
    FORBIDDEN = "forbidden"  # HTTP 403, gRPC PERMISSION_DENIED
    THROTTLED = "throttled"  # HTTP 429, gRPC RESOURCE_EXHAUSTED (escrutinio-refusal: throttled)


def bearer_token_parse(value: str) -> str | None:
    """The token of an `authorization` value `Bearer <token>` (any case of the scheme), or None."""
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
