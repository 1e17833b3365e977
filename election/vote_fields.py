"""The vote as a sede sends it: the names of its fields, and how an error names a JSON value.

Plain Python, no Django: the gRPC contract and the gateway read it as the validation does.
Which values a field may hold is election.services' to decide; this only says which fields exist.
"""

from __future__ import annotations

from typing import Any

# What a vote says, besides its vote_id; the order of the JSON answers and the protobuf contract.
VOTE_FIELDS = ("sede", "municipio", "departamento", "papeleta", "partido")
# The fields a reported vote may carry: anything else is "Unknown field."
ACCEPTED_FIELDS = frozenset({"vote_id", *VOTE_FIELDS})

_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}


def json_type_name(value: Any) -> str:
    """A parsed JSON value's type as a message names it: "Must be a string, not a number."."""
    return _JSON_TYPES.get(type(value), "null" if value is None else type(value).__name__)
