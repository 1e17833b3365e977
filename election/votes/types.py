"""The vocabulary every part of the vote domain speaks: a validated vote, its content key, the
outcome of recording it, and the two refusals (invalid, storage unavailable).

A module of types only, importing nothing of the project, so that validation, recording,
access, both routes and the SQL can all import it without a cycle.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class VoteInvalid(Exception):
    """A reported vote broke a rule; `errors` maps each field to readable messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class StorageUnavailable(Exception):
    """The database could not be reached or kept failing: nothing was stored, retry later."""


# What a vote says, for telling a duplicate (same vote_id, same content) from a conflict:
# sede, departamento code, municipio code, papeleta, partido.
ContentKey = tuple[str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class ValidatedVote:
    vote_id: uuid.UUID
    sede: str
    departamento_code: str
    departamento: str
    municipio_code: str
    municipio: str
    papeleta: str
    partido: str
    received_at: datetime

    def canonical(self) -> dict[str, str]:
        """The vote as stored, in the field format (names, papeleta code, partido sigla)."""
        return {
            "vote_id": str(self.vote_id),
            "sede": self.sede,
            "departamento": self.departamento,
            "municipio": self.municipio,
            "papeleta": self.papeleta,
            "partido": self.partido,
        }

    def content_key(self) -> ContentKey:
        return (self.sede, self.departamento_code, self.municipio_code, self.papeleta, self.partido)


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the same vote_id with the same content was stored before
    CONFLICT = "conflict"  # the vote_id was stored before with different content: refused


@dataclass(frozen=True, slots=True)
class RecordResult:
    vote: ValidatedVote
    outcome: Outcome
    stored_at: datetime | None = None  # set when this call stored the vote
