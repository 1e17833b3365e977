"""Votes as a sede's client sends them, for the tests of the HTTP and gRPC entry points."""

from __future__ import annotations

import uuid
from typing import Any


def new_sede() -> int:
    """A sede of Patzún no other test (or earlier run) has used: its own rate bucket and token."""
    return uuid.uuid4().int % 1_000_000 + 1000


def vote(sede: int | str, **changes: Any) -> dict[str, Any]:
    """A valid vote of that sede of Patzún, with a fresh vote_id."""
    return {
        "vote_id": str(uuid.uuid4()),
        "departamento": "Chimaltenango",
        "municipio": "Patzun",
        "sede": sede,
        "papeleta": "Blanca",
        "partido": "VAMOS",
        **changes,
    }
