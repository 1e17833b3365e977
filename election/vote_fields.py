"""The vote as a sede sends it: the names of its fields, for every route and edge.

Plain Python, no Django: the gRPC contract and the gateway read it as the validation does.
Which values a field may hold is election.services' to decide; this only says which fields exist.
"""

from __future__ import annotations

# What a vote says, besides its vote_id; the order of the JSON answers and the protobuf contract.
VOTE_FIELDS = ("sede", "municipio", "departamento", "papeleta", "partido")
# The fields a reported vote may carry: anything else is "Unknown field."
ACCEPTED_FIELDS = frozenset({"vote_id", *VOTE_FIELDS})
