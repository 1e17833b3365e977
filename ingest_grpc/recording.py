"""The database side of the gRPC server: validate received ballots and record them as one batch.

Runs in the server's database thread (never on the event loop), through the same
`vote_admit` (token, `vote_validate`, sede, rate) / `votes_record` path as every other
route. The server hands the results to `election.live.LiveFeed`, which updates Redis after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
django.setup()

from django.db import DatabaseError, close_old_connections, connection  # noqa: E402

from election.access import AccessDenied, Throttled, vote_admit  # noqa: E402
from election.catalogue import catalogue_index  # noqa: E402
from election.live import LiveFeed  # noqa: E402
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
    was stored.
    """
    with _database_session():
        verdicts: list[Verdict | None] = []
        valid: list[ValidatedVote] = []
        for ballot in ballots:
            try:
                valid.append(_admit(ballot))
                verdicts.append(None)
            except (VoteInvalid, AccessDenied, Throttled) as refused:
                verdicts.append(refused)
        results = iter(votes_record(votes=valid, route=ROUTE))
        return [next(results) if verdict is None else verdict for verdict in verdicts]


# A batch within this long of the previous one skips the connection check (a round trip).
_CHECK_AFTER_IDLE_SECONDS = 1.0
_last_batch_ended = 0.0  # monotonic; the database thread's only


@contextmanager
def _database_session() -> Iterator[None]:
    """Django's connection handling around a request, minus a ping before every busy batch.

    After a pause, the connection is checked (and replaced if the server dropped it) before
    use, as Django does for a request; so a server outlives database restarts. Back-to-back
    batches reuse it as it is: if it was dropped meanwhile, the first statement fails and
    votes_record retries on a new connection.
    """
    global _last_batch_ended  # one database thread per process
    if time.monotonic() - _last_batch_ended > _CHECK_AFTER_IDLE_SECONDS:
        close_old_connections()
    try:
        yield
    finally:
        _last_batch_ended = time.monotonic()
        if connection.errors_occurred:
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
    "LiveFeed",
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
