"""Double entry, review and corrections: what an acta's entries make of its current version.

`KeyState` is one acta (mesa + papeleta) while a transaction changes it: its locked head, its
current version and that version's entries. Entries join the current version; a correction
(`corrects`) after the version was decided opens the next one. A version is decided once:
by ACTA_ENTRIES_REQUIRED agreeing entries (different `entered_by` AND different credential),
or by a supervisor (election.actas.resolution); never again after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from election.actas.types import COUNT_FIELDS, ActaStatus
from election.models import Acta, ActaEntry, ActaVersion


def entry_numbers(entry: ActaEntry) -> dict[str, Any]:
    """What two entries must agree on (ValidatedActa.numbers of a stored entry)."""
    return {
        "votes": dict(sorted(entry.votes.items())),
        **{name: getattr(entry, name) for name in COUNT_FIELDS},
    }


def numbers_differing(entries: list[ActaEntry]) -> list[str]:
    """The fields on which some entry differs from the first: counts by name, votes as votes.SIGLA."""
    first = entry_numbers(entries[0])
    differing: set[str] = set()
    for entry in entries[1:]:
        other = entry_numbers(entry)
        differing |= {name for name in COUNT_FIELDS if other[name] != first[name]}
        siglas = first["votes"].keys() | other["votes"].keys()
        differing |= {f"votes.{s}" for s in siglas if first["votes"].get(s, 0) != other["votes"].get(s, 0)}
    return sorted(differing)


def agreeing_entry(entries: list[ActaEntry], required: int) -> ActaEntry | None:
    """The first entry of the first pair that agrees, typed by two people with two credentials
    (the first entry alone when one entry is required), or None."""
    if required <= 1:
        return entries[0] if entries else None
    for i, first in enumerate(entries):
        for second in entries[i + 1 :]:
            if (
                first.entered_by != second.entered_by
                and first.credential != second.credential
                and entry_numbers(first) == entry_numbers(second)
            ):
                return first
    return None


@dataclass
class KeyState:
    """One acta as a transaction sees and changes it (its head locked FOR UPDATE)."""

    head: Acta
    version: ActaVersion
    entries: list[ActaEntry]  # the current version's, in the order they came
    padron: int
    status_before: str | None  # None: the head is new in this transaction
    counted_before: ActaEntry | None
    new_versions: list[ActaVersion] = field(default_factory=list)

    def entry_add(self, entry: ActaEntry, *, now: datetime, required: int) -> None:
        """Add a typed entry: it joins the current version, or a correction opens the next."""
        if self.version.decided_at is not None and entry.corrects:
            self.version_open(now)
        entry.version = self.version
        self.entries.append(entry)
        if self.version.decided_at is None:
            chosen = agreeing_entry(self.entries, required)
            if chosen is not None:
                self.decide(chosen, now=now, by="", reason=None)
            else:
                distinct = len({repr(entry_numbers(e)) for e in self.entries}) > 1
                self.version.status = ActaStatus.IN_REVIEW if distinct else ActaStatus.PENDING
                self.version.differing_fields = numbers_differing(self.entries) if distinct else []
                self.version.failed_rules = list(entry.failed_rules)
        self.head_follow(now)

    def version_open(self, now: datetime) -> None:
        self.version = ActaVersion(
            acta=self.head, number=self.version.number + 1, status=ActaStatus.PENDING, opened_at=now
        )
        self.entries = []
        self.new_versions.append(self.version)

    def decide(self, chosen: ActaEntry, *, now: datetime, by: str, reason: str | None) -> None:
        """Decide the current version on `chosen`'s numbers: counted unless a rule fails."""
        version = self.version
        assert version.decided_at is None, "a version is decided once"
        version.status = ActaStatus.INCONSISTENT if chosen.failed_rules else ActaStatus.COUNTED
        version.failed_rules = list(chosen.failed_rules)
        version.chosen_entry = chosen
        version.decided_at, version.decided_by, version.reason = now, by, reason

    def head_follow(self, now: datetime) -> None:
        """The head after a change of its current version. A correction not yet decided leaves a
        counted acta counted, with the numbers it had."""
        head, version = self.head, self.version
        head.current_version = version
        head.differing_fields = list(version.differing_fields)
        head.updated_at = now
        if version.decided_at is not None:
            head.status = version.status
            head.failed_rules = list(version.failed_rules)
            head.counted_entry = version.chosen_entry if version.status == ActaStatus.COUNTED else None
        elif head.counted_entry is None:
            head.status = version.status
            head.failed_rules = list(version.failed_rules)

    @property
    def counted_after(self) -> ActaEntry | None:
        return self.head.counted_entry
