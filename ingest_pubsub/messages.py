"""The form of a vote on the queue: small JSON, the same for the publisher and the tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from election.services import ValidatedVote, vote_validate

QueuedVote = dict[str, str]


def vote_to_message(vote: ValidatedVote) -> QueuedVote:
    """The validated vote with its receipt time.

    Departamento and municipio travel as INE codes, not names: vote_validate accepts both,
    and a code still resolves if the catalogue renames the place while the vote is queued.
    """
    return {
        "vote_id": str(vote.vote_id),
        "sede": vote.sede,
        "departamento": vote.departamento_code,
        "municipio": vote.municipio_code,
        "papeleta": vote.papeleta,
        "partido": vote.partido,
        "received_at": vote.received_at.isoformat(),
    }


def vote_from_message(message: Any) -> ValidatedVote:
    """Validate a queued vote again (cheap, in memory); raises VoteInvalid, ValueError, TypeError."""
    fields = dict(message)
    received_at = datetime.fromisoformat(fields.pop("received_at"))
    return vote_validate(fields, received_at=received_at)
