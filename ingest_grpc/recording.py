"""The database side of the gRPC server: validate received ballots and record them as one batch.

Runs in the server's database thread (never on the event loop), through the same
`vote_admit` (token, `vote_validate`, sede, rate) / `votes_record` path as every other
route. The server hands the results to `election.live.LiveFeed`, which updates Redis after.
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

from election.access import AccessDenied, AccessKind, Throttled, vote_admit  # noqa: E402
from election.catalogue import catalogue_index  # noqa: E402
from election.db_thread import database_session  # noqa: E402
from election.group_commit import GroupCommitter  # noqa: E402
from election.live import LiveFeed  # noqa: E402
from election.models import Route  # noqa: E402
from election.services import (  # noqa: E402
    Outcome,
    RecordPlan,
    RecordResult,
    StorageUnavailable,
    ValidatedVote,
    VoteInvalid,
    plan_commit,
    votes_plan,
)

ROUTE = Route.GRPC


@dataclass(frozen=True, slots=True)
class Ballot:
    """A vote as received, before validation."""

    data: dict[str, Any]
    received_at: datetime
    token: str | None = None  # the call's `authorization: Bearer <token>`, or the vote's credential
    own_credential: bool = False  # token is this vote's own: a bad one refuses this vote alone


class VoteCredentialRefused(AccessDenied):
    """A vote's own credential is missing, unknown or revoked: that vote alone is refused."""


# Per ballot: how it was recorded, or why it was refused.
Refusal = VoteInvalid | AccessDenied | Throttled
Verdict = RecordResult | Refusal


def ballots_record(ballots: Sequence[Ballot]) -> list[Verdict]:
    """Admit each ballot (token, validity, sede, rate) and store the admitted ones in one transaction.

    Raises StorageUnavailable when the database cannot take the batch: then nothing of it
    was stored.
    """
    return admitted_record(ballots_admit(ballots))


@dataclass(frozen=True, slots=True)
class Admitted:
    """A batch after admission: each refused ballot's refusal, and the plan for the others."""

    refusals: list[Refusal | None]  # None where the ballot was admitted, in ballot order
    plan: RecordPlan


def ballots_admit(ballots: Sequence[Ballot]) -> Admitted:
    """The first half of ballots_record: admission, and the lookup of the admitted votes."""
    with database_session():
        refusals: list[Refusal | None] = []
        valid: list[ValidatedVote] = []
        for ballot in ballots:
            try:
                valid.append(_admit(ballot))
                refusals.append(None)
            except AccessDenied as refused:
                refusals.append(_credential_refusal(ballot, refused))
            except (VoteInvalid, Throttled) as refused:
                refusals.append(refused)
        return Admitted(refusals, votes_plan(votes=valid, route=ROUTE))


def admitted_record(admitted: Admitted) -> list[Verdict]:
    """The second half: the commit. Verdicts in ballot order."""
    with database_session():
        results = iter(plan_commit(admitted.plan))
        return [next(results) if refusal is None else refusal for refusal in admitted.refusals]


def _credential_refusal(ballot: Ballot, refused: AccessDenied) -> AccessDenied:
    if ballot.own_credential and refused.kind is AccessKind.UNAUTHENTICATED:
        return VoteCredentialRefused(refused.kind, refused.message)
    return refused


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
    "Admitted",
    "Ballot",
    "GroupCommitter",
    "LiveFeed",
    "Outcome",
    "RecordResult",
    "Refusal",
    "StorageUnavailable",
    "Throttled",
    "Verdict",
    "VoteCredentialRefused",
    "VoteInvalid",
    "admitted_record",
    "ballots_admit",
    "ballots_record",
    "catalogue_warm",
]
