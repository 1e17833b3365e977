"""The database side of the gRPC server: validate received ballots and record them as one batch.

Runs in the server's database threads (never on the event loop, but for the token check of
`ballots_authenticate`, which is memory only), through the same `vote_admit` (token,
`vote_validate`, sede, rate) / `votes_record` path as every other route. Admission and commit
are separate steps, so that a batch committed again (election.writer.group_committer's fallback) is not
admitted again. The server hands the results to `election.writer.live_feed.LiveFeed`, which updates Redis
after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, close_old_connections, connection

from election.admission.credentials import AccessKind
from election.admission.rate_limit import Throttled
from election.admission.tokens import (
    AccessDenied,
    Grant,
    grant_admit,
    token_authenticate,
    tokens_warm,
    vote_admit,
)
from election.catalogue.index import CatalogueError, catalogue_index
from election.models import Route
from election.votes.recording import VotesLookup, lookups_commit, votes_lookup
from election.votes.types import RecordResult, StorageUnavailable, ValidatedVote, VoteInvalid
from election.writer.db_session import database_session

ROUTE = Route.GRPC


@dataclass(slots=True)
class Ballot:
    """A vote as received, before validation.

    `grant` and `admission` are filled in once each, in place (a copy per step would cost more
    than the check), and only ever by the one thread that holds the ballot at that step.
    """

    data: dict[str, Any]
    received_at: datetime
    token: str | None = None  # the call's `authorization: Bearer <token>`, or the vote's credential
    own_credential: bool = False  # token is this vote's own: a bad one refuses this vote alone
    grant: Grant | None = None  # what the token allows, once ballots_authenticate found it
    # Set once by ballots_admit: the vote as admitted, or why it was refused. A ballot that
    # has it is never admitted again, so a committed-again batch takes no second rate token.
    admission: ValidatedVote | Refusal | None = None


class VoteCredentialRefused(AccessDenied):
    """A vote's own credential is missing, unknown or revoked: that vote alone is refused."""


# Per ballot: how it was recorded, or why it was refused.
Refusal = VoteInvalid | AccessDenied | Throttled
Verdict = RecordResult | Refusal


def ballots_authenticate(ballots: Sequence[Ballot]) -> list[Ballot | AccessDenied]:
    """Per ballot: the ballot with what its token allows, or the refusal of its token.

    From memory once the tokens are loaded (`tokens_load`), so the event loop calls it before
    a ballot takes a place in the committer: a flood of bad tokens is refused there and never
    waits for, or delays, the database. Admission then starts from the grant found here.
    """
    checked: dict[str | None, Grant | AccessDenied] = {}  # a batch's votes often share a token
    authenticated: list[Ballot | AccessDenied] = []
    for ballot in ballots:
        found = checked.get(ballot.token)
        if found is None:
            found = checked[ballot.token] = _grant_or_refusal(ballot.token)
        if isinstance(found, AccessDenied):
            authenticated.append(_credential_refusal(ballot, found))
        else:
            ballot.grant = found
            authenticated.append(ballot)
    return authenticated


def ballot_authenticate(ballot: Ballot) -> AccessDenied | None:
    """ballots_authenticate for one ballot: its refusal, or None (and its grant set)."""
    found = _grant_or_refusal(ballot.token)
    if isinstance(found, AccessDenied):
        return _credential_refusal(ballot, found)
    ballot.grant = found
    return None


def _grant_or_refusal(token: str | None) -> Grant | AccessDenied:
    try:
        return token_authenticate(token)
    except AccessDenied as refused:
        return refused


def ballots_record(ballots: Sequence[Ballot]) -> list[Verdict]:
    """Admit each ballot (token, validity, sede, rate) unless admitted already, and store the
    admitted ones in one transaction.

    Raises StorageUnavailable when the database cannot take the batch: then nothing of it
    was stored.
    """
    with database_session():
        return admitted_commit([ballots_lookup(ballots_admit(ballots))])


def ballots_admit(ballots: Sequence[Ballot]) -> Sequence[Ballot]:
    """The ballots, each with its admission (token, validity, sede, rate token taken), made
    once: a ballot admitted before is left as it is. No database work once the catalogue and
    the tokens are loaded."""
    for ballot in ballots:
        if ballot.admission is None:
            try:
                ballot.admission = _admit(ballot)
            except AccessDenied as refused:
                ballot.admission = _credential_refusal(ballot, refused)
            except (VoteInvalid, Throttled) as refused:
                ballot.admission = refused
    return ballots


@dataclass(frozen=True, slots=True)
class Admitted:
    """Admitted ballots: each refused ballot's refusal, and the lookup of the others' vote_ids."""

    refusals: list[Refusal | None]  # None where the ballot was admitted, in ballot order
    lookup: VotesLookup


def ballots_lookup(ballots: Sequence[Ballot]) -> Admitted:
    """The lookup of admitted ballots' vote_ids (see election.votes.recording.votes_lookup)."""
    with database_session():
        refusals: list[Refusal | None] = []
        valid: list[ValidatedVote] = []
        for ballot in ballots:
            admission = ballot.admission
            assert admission is not None, "look up admitted ballots only"
            if isinstance(admission, ValidatedVote):
                valid.append(admission)
                refusals.append(None)
            else:
                refusals.append(admission)
        return Admitted(refusals, votes_lookup(valid, route=ROUTE))


def ballots_prepare(ballots: Sequence[Ballot]) -> Admitted:
    """The first half of ballots_record, for a stream's pipeline: admission and the lookup."""
    with database_session():
        return ballots_lookup(ballots_admit(ballots))


def admitted_commit(parts: Sequence[Admitted]) -> list[Verdict]:
    """The second half: the parts' admitted votes in one transaction. Verdicts in ballot order."""
    with database_session():
        results = iter(lookups_commit([part.lookup for part in parts], route=ROUTE))
        return [next(results) if refusal is None else refusal for part in parts for refusal in part.refusals]


def _credential_refusal(ballot: Ballot, refused: AccessDenied) -> AccessDenied:
    if ballot.own_credential and refused.kind is AccessKind.UNAUTHENTICATED:
        return VoteCredentialRefused(refused.kind, refused.message)
    return refused


def _admit(ballot: Ballot) -> ValidatedVote:
    try:
        if ballot.grant is not None:  # authenticated on arrival
            return grant_admit(ballot.data, grant=ballot.grant, received_at=ballot.received_at)
        return vote_admit(ballot.data, token=ballot.token, received_at=ballot.received_at)
    except (DatabaseError, CatalogueError) as exc:  # never read a good copy of the catalogue
        connection.close()
        raise StorageUnavailable(f"catalogue unavailable: {exc}") from exc


def tokens_load() -> None:
    """Load the tokens, so that checking one never waits on the database (election.admission.tokens);
    raises StorageUnavailable when they cannot be read."""
    close_old_connections()
    try:
        tokens_warm()
    finally:
        close_old_connections()


def catalogue_warm() -> None:
    """Load the catalogue before the first vote, so that vote does not wait for it."""
    close_old_connections()
    try:
        catalogue_index()
    finally:
        close_old_connections()
