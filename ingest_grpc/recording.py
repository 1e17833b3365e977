"""The database side of the gRPC server: validate received ballots and record them as one batch.

Runs in the server's database thread (never on the event loop), through the same
`vote_admit` (token, `vote_validate`, sede, rate) / `votes_record` / `live_publish` path as
every other route.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
django.setup()

from django.db import DatabaseError, close_old_connections, connection  # noqa: E402

from election.access import AccessDenied, Throttled, vote_admit  # noqa: E402
from election.catalogue import catalogue_index  # noqa: E402
from election.live import live_publish  # noqa: E402
from election.models import Route  # noqa: E402
from election.services import (  # noqa: E402
    Outcome,
    RecordResult,
    StorageUnavailable,
    ValidatedVote,
    VoteInvalid,
    votes_record,
)

ROUTE = Route.GRPC


@dataclass(frozen=True, slots=True)
class Ballot:
    """A vote as received, before validation."""

    data: dict[str, Any]
    received_at: datetime
    token: str | None = None  # from the call's `authorization: Bearer <token>` metadata


# Per ballot: how it was recorded, or why it was refused.
Refusal = VoteInvalid | AccessDenied | Throttled
Verdict = RecordResult | Refusal


def ballots_record(ballots: Sequence[Ballot]) -> list[Verdict]:
    """Admit each ballot (token, validity, sede, rate) and store the admitted ones in one transaction.

    Raises StorageUnavailable when the database cannot take the batch: then nothing of it
    was stored. Django's connection is checked before and released after, as a request
    would, so a server outlives database restarts.
    """
    close_old_connections()
    try:
        verdicts: list[Verdict | None] = []
        valid: list[ValidatedVote] = []
        for ballot in ballots:
            try:
                valid.append(_admit(ballot))
                verdicts.append(None)
            except (VoteInvalid, AccessDenied, Throttled) as refused:
                verdicts.append(refused)
        results = iter(votes_record(votes=valid, route=ROUTE))
        recorded = [next(results) if verdict is None else verdict for verdict in verdicts]
        live_publish(results=[r for r in recorded if isinstance(r, RecordResult)], route=ROUTE.value)
        return recorded
    finally:
        close_old_connections()


def _admit(ballot: Ballot) -> ValidatedVote:
    try:
        return vote_admit(ballot.data, token=ballot.token, received_at=ballot.received_at)
    except DatabaseError as exc:  # the catalogue could not be read: no copy cached yet
        connection.close()
        raise StorageUnavailable(f"catalogue unavailable: {exc}") from exc


def catalogue_warm() -> None:
    """Load the catalogue before the first vote, so that vote does not wait for it."""
    close_old_connections()
    try:
        catalogue_index()
    finally:
        close_old_connections()


__all__ = [
    "ROUTE",
    "AccessDenied",
    "Ballot",
    "Outcome",
    "RecordResult",
    "Refusal",
    "StorageUnavailable",
    "Throttled",
    "Verdict",
    "VoteInvalid",
    "ballots_record",
    "catalogue_warm",
]
