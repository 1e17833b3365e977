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
from typing import Any


class VoteInvalid(Exception):
    """A reported vote broke a rule; `errors` maps each field to readable messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class StorageUnavailable(Exception):
    """The database could not be reached or kept failing: nothing was stored, retry later."""


# What a vote says, for telling a duplicate (same vote_id, same content) from a conflict:
# sede, departamento code, municipio code, papeleta, partido, mesa (None when it names none).
ContentKey = tuple[str, str, str, str, str, int | None]


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
    mesa: int | None = None  # the mesa (JRV) the ballot was cast at, when the vote says

    def canonical(self) -> dict[str, Any]:
        """The vote as stored, in the field format (names, papeleta code, partido sigla); `mesa`
        only when the vote names one, so the answers to votes without one are as they were."""
        canonical: dict[str, Any] = {
            "vote_id": str(self.vote_id),
            "sede": self.sede,
            "departamento": self.departamento,
            "municipio": self.municipio,
            "papeleta": self.papeleta,
            "partido": self.partido,
        }
        if self.mesa is not None:
            canonical["mesa"] = self.mesa
        return canonical

    def content_key(self) -> ContentKey:
        place = (self.sede, self.departamento_code, self.municipio_code)
        return (*place, self.papeleta, self.partido, self.mesa)


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the same vote_id with the same content was stored before
    CONFLICT = "conflict"  # the vote_id was stored before with different content: refused


@dataclass(frozen=True, slots=True)
class RecordResult:
    vote: ValidatedVote
    outcome: Outcome
    stored_at: datetime | None = None  # set when this call stored the vote
