"""Checks that the count is whole: tallies against a recount, and a client's ledger against storage.

Operators run `python manage.py reconcile [--fix]` after an incident; `make load` and the
fault suite reconcile what their clients were told against what the database holds.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction

from election.actas import tallies as acta_tallies
from election.catalogue.index import catalogue_index
from election.models import (
    Acta,
    ActaEntry,
    ActaProgress,
    ActaSedeTally,
    ActaSedeTotal,
    ActaTally,
    ActaVersion,
    Mesa,
    Vote,
)
from election.votes.tallies import TALLIES, stored_votes_counted, tallies_count, tallies_replace, tally_rows
from election.writer import live_feed


@dataclass(frozen=True)
class TallyDifference:
    tally: str
    key: tuple[Hashable, ...]
    counted: int  # from the vote table
    tallied: int  # in the tally table


def tally_differences() -> list[TallyDifference]:
    """Every tally row that disagrees with a recount: of the vote table, and of the acta entries."""
    return vote_tally_differences() + acta_tally_differences()


def vote_tally_differences() -> list[TallyDifference]:
    counts = tallies_count(stored_votes_counted())
    differences = []
    for tally in TALLIES:
        counted, tallied = counts[tally.name], tally_rows(tally)
        for key in sorted(counted.keys() | tallied.keys(), key=repr):
            if counted[key] != tallied[key]:
                differences.append(TallyDifference(tally.name, key, counted[key], tallied[key]))
    return differences


def acta_tally_differences() -> list[TallyDifference]:
    """The counted actas' tallies (ActaTally, ActaSedeTally, ActaSedeTotal, each ActaProgress
    column) against their recount from the stored versions and entries (the two counts, of the
    actas and of the votes, are checked apart, never added)."""
    recount = acta_tallies.actas_recount().nonzero()
    stored = acta_tallies.tallies_read().nonzero()
    differences = [
        *_rows_differences("ActaTally", recount.votes, stored.votes),
        *_rows_differences("ActaSedeTally", recount.sedes, stored.sedes),
        *_rows_differences("ActaSedeTotal", recount.sede_totals, stored.sede_totals),
    ]
    for key in sorted(recount.progress.keys() | stored.progress.keys()):
        counted, tallied = recount.progress.get(key, {}), stored.progress.get(key, {})
        for column in acta_tallies.PROGRESS_COLUMNS:
            if counted.get(column, 0) != tallied.get(column, 0):
                differences.append(
                    TallyDifference(
                        f"ActaProgress.{column}", key, counted.get(column, 0), tallied.get(column, 0)
                    )
                )
    return differences


Key = TypeVar("Key", bound=tuple[str, ...])


def _rows_differences(
    name: str, counted: Mapping[Key, int], tallied: Mapping[Key, int]
) -> list[TallyDifference]:
    return [
        TallyDifference(name, key, counted.get(key, 0), tallied.get(key, 0))
        for key in sorted(counted.keys() | tallied.keys())
        if counted.get(key, 0) != tallied.get(key, 0)
    ]


def tallies_rebuild() -> list[TallyDifference]:
    """Recount and rewrite every tally while writers wait; returns what was wrong."""
    with _writers_paused():
        votes_wrong, actas_wrong = vote_tally_differences(), acta_tally_differences()
        if votes_wrong:
            tallies_replace(tallies_count(stored_votes_counted()))
        if actas_wrong:
            acta_tallies.tallies_rebuild()
    return votes_wrong + actas_wrong


@contextmanager
def _writers_paused() -> Iterator[None]:
    """A recount and rewrite that no recording transaction can interleave with."""
    if connection.vendor != "mysql":
        with transaction.atomic():  # SQLite: BEGIN IMMEDIATE holds the only write lock
            yield
        return
    read = [m._meta.db_table for m in (Vote, Acta, ActaVersion, ActaEntry, Mesa)]
    write = [tally.model._meta.db_table for tally in TALLIES] + [
        ActaTally._meta.db_table,
        ActaProgress._meta.db_table,
        ActaSedeTally._meta.db_table,
        ActaSedeTotal._meta.db_table,
    ]
    lock = ", ".join(
        [f"{connection.ops.quote_name(t)} READ" for t in read]
        + [f"{connection.ops.quote_name(t)} WRITE" for t in write]
    )
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLES {lock}")
            yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UNLOCK TABLES")


# --- A client's ledger against the database -----------------------------------


@dataclass
class LedgerReport:
    sent: int = 0
    acknowledged: int = 0
    stored: int = 0  # acknowledged votes found in the vote table
    lost: list[str] = field(default_factory=list)  # acknowledged, not stored
    duplicated: list[str] = field(default_factory=list)  # stored more than once
    altered: list[str] = field(default_factory=list)  # stored with other content than acknowledged
    unexpected: list[str] = field(default_factory=list)  # stored in the window, never sent
    latest_duplicated: list[str] = field(default_factory=list)  # listed twice in the latest votes

    @property
    def whole(self) -> bool:
        return not (self.lost or self.duplicated or self.altered or self.unexpected or self.latest_duplicated)


def ledger_reconcile(
    *,
    acknowledged: Mapping[str, Mapping[str, object]],
    sent: Iterable[str],
    since: datetime | None = None,
) -> LedgerReport:
    """Compare what clients were told (vote_id -> canonical vote) with what is stored.

    `sent` holds every vote_id the clients sent (acknowledged or not); with `since`, any
    vote received after it that no client sent is reported as unexpected.
    """
    sent_ids = {str(uuid.UUID(str(v))) for v in sent}
    report = LedgerReport(sent=len(sent_ids), acknowledged=len(acknowledged))
    stored = _stored_rows([str(v) for v in acknowledged])
    for vote_id, vote in acknowledged.items():
        rows = stored.get(str(uuid.UUID(vote_id)), [])
        if not rows:
            report.lost.append(vote_id)
            continue
        report.stored += 1
        if len(rows) > 1:
            report.duplicated.append(vote_id)
        if any(_content(row) != _content_of(vote) for row in rows):
            report.altered.append(vote_id)
    if since is not None:
        received = Vote.objects.filter(received_at__gte=since).values_list("vote_id", flat=True)
        report.unexpected = sorted(str(v) for v in received.iterator() if str(v) not in sent_ids)
    listed = Counter(v["vote_id"] for v in live_feed.latest_votes(limit=settings.LATEST_VOTES_MAX))
    report.latest_duplicated = sorted(v for v, n in listed.items() if n > 1)
    return report


def _stored_rows(vote_ids: list[str]) -> dict[str, list[tuple[str, ...]]]:
    found: dict[str, list[tuple[str, ...]]] = {}
    for start in range(0, len(vote_ids), 1000):
        rows = Vote.objects.filter(vote_id__in=vote_ids[start : start + 1000]).values_list(
            "vote_id", "sede", "departamento_id", "municipio_id", "papeleta_id", "partido_id"
        )
        for vote_id, *content in rows:
            found.setdefault(str(vote_id), []).append(tuple(content))
    return found


def _content(row: tuple[str, ...]) -> tuple[str, ...]:
    sede, departamento, municipio, papeleta, partido = row
    index = catalogue_index()
    return (sede, index.departamento_names[departamento], index.municipio_names[municipio], papeleta, partido)


def _content_of(vote: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(str(vote[name]) for name in ("sede", "departamento", "municipio", "papeleta", "partido"))
