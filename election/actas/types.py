"""The vocabulary of actas: a validated acta, its statuses, the check rules, the outcome of
recording it, and its refusal. Types only, importing nothing of Django or the project, so
the Django-free edge and every module of election.actas can share them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ActaStatus(StrEnum):
    PENDING = "pending"  # fewer agreeing entries than ACTA_ENTRIES_REQUIRED
    COUNTED = "counted"  # accepted, no rule fails: its numbers are in the tallies
    INCONSISTENT = "inconsistent"  # accepted, a rule fails: shown, not counted
    IN_REVIEW = "in_review"  # entries disagree: a supervisor decides


# The check rules (election/actas/checks.py), in the order they are reported.
RULES = ("sum_valid", "sum_cast", "voters", "padron", "ballots")

# The numbers an acta carries besides its votes, in the order of the field list.
COUNT_FIELDS = (
    "nulos",
    "blancos",
    "invalidos",
    "impugnados",
    "total_valid",
    "total_cast",
    "voters",
    "ballots_received",
    "ballots_unused",
)


class ActaInvalid(Exception):
    """A typed acta broke a rule of its fields; `errors` maps each field to readable messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class ValidatedActa:
    acta_id: uuid.UUID
    mesa: int
    departamento_code: str
    municipio_code: str
    sede: str
    papeleta: str  # code
    votes: Mapping[str, int]  # sigla -> votes: every valid partido of the papeleta, missing ones 0
    nulos: int
    blancos: int
    invalidos: int
    impugnados: int
    total_valid: int
    total_cast: int
    voters: int
    ballots_received: int
    ballots_unused: int
    image_sha256: str  # 64 lowercase hex digits
    entered_by: str
    corrects: bool
    reason: str | None
    received_at: datetime
    credential: str = ""  # set by admission: "token:<id>" or "shared"

    def numbers(self) -> dict[str, object]:
        """What two entries must agree on: the votes and every count."""
        return {
            "votes": dict(sorted(self.votes.items())),
            **{name: getattr(self, name) for name in COUNT_FIELDS},
        }

    def content(self) -> tuple[object, ...]:
        """What an acta_id stands for, to tell a duplicate from a conflict: everything typed
        (not who sent it, by which route, or when)."""
        return (
            self.mesa,
            self.papeleta,
            tuple(sorted(self.votes.items())),
            *(getattr(self, name) for name in COUNT_FIELDS),
            self.image_sha256,
            self.entered_by,
            self.corrects,
            self.reason,
        )


class ActaOutcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the same acta_id with the same content was stored before
    CONFLICT = "conflict"  # the acta_id was stored before with other content: nothing changed


@dataclass(frozen=True)
class ActaRecordResult:
    acta_id: uuid.UUID
    outcome: ActaOutcome
    status: ActaStatus  # the acta's (mesa + papeleta) status after this batch
    failed_rules: tuple[str, ...]  # this entry's failed rules
