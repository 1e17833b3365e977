"""How a sede presents its credential: one home for every edge.

Plain Python, no Django: the HTTP edge (election.edge) and the gRPC server read it.
election.access decides who may report; this module only reads the header (HTTP
`Authorization`, gRPC `authorization` metadata).
"""

from __future__ import annotations


def bearer_token_parse(value: str) -> str | None:
    """The token of an `authorization` value `Bearer <token>` (any case of the scheme), or None."""
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
