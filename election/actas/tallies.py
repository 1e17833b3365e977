"""The counted tallies of actas (ActaTally, ActaProgress, ActaSedeTally, ActaSedeTotal), moved
by the transaction that changes an acta's status or its counted numbers, and recounted from the
stored entries.

An acta moves them by the difference between what it counted (and its status) before the
transaction and after it. The move is one multi-row upsert per tally and batch
(`col = col + VALUES(col)`), rows sorted by key so that concurrent batches lock rows in the
same order, as election.votes.tallies does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

from django.db import connection

from election.actas.types import ActaStatus
from election.models import (
    Acta,
    ActaProgress,
    ActaSedeTally,
    ActaSedeTotal,
    ActaTally,
    ActaVersion,
    Mesa,
)

# ActaProgress's counters, in column order: a status's count, and the counted actas' sums.
STATUS_COLUMNS = {
    ActaStatus.COUNTED: "actas_counted",
    ActaStatus.INCONSISTENT: "actas_inconsistent",
    ActaStatus.IN_REVIEW: "actas_in_review",
    ActaStatus.PENDING: "actas_pending",
}
PROGRESS_COLUMNS = (*STATUS_COLUMNS.values(), "padron", "voters", "valid", "nulos", "blancos", "cast")
TallyKey = tuple[str, str, str, str]  # departamento, municipio, papeleta, partido
ProgressKey = tuple[str, str, str]  # departamento, municipio, papeleta
SedeKey = tuple[str, str, str]  # departamento, municipio, sede
SedePapeletaKey = tuple[str, str, str, str]  # departamento, municipio, sede, papeleta
Key = TypeVar("Key", bound=tuple[str, ...])


class ActaPlace(NamedTuple):
    """Where an acta is counted: its head's area, sede and papeleta."""

    departamento: str
    municipio: str
    sede: str
    papeleta: str

    @classmethod
    def of(cls, head: Acta) -> ActaPlace:
        return cls(head.departamento_id, head.municipio_id, head.sede, head.papeleta_id)


class NonZero(NamedTuple):
    """Each tally's rows that are not zero: what a recount and the stored tables must agree on."""

    votes: dict[TallyKey, int]
    progress: dict[ProgressKey, dict[str, int]]
    sedes: dict[SedePapeletaKey, int]
    sede_totals: dict[SedeKey, int]


class CountedNumbers(Protocol):
    """What the tallies read of a counted entry (an ActaEntry, or its columns read in bulk)."""

    @property
    def votes(self) -> Mapping[str, int]: ...
    @property
    def nulos(self) -> int: ...
    @property
    def blancos(self) -> int: ...
    @property
    def voters(self) -> int: ...
    @property
    def total_cast(self) -> int: ...


def progress_of(status: str | None, counted: CountedNumbers | None, padron: int) -> Counter[str]:
    """One acta's share of its ActaProgress row: one acta of its status and, when it counts,
    its mesa's padrón and its numbers. The one rule of the progress: the tallies add it up per
    municipio, the area view (election.results.areas) per sede and per mesa."""
    row: Counter[str] = Counter()
    if status is not None:
        row[STATUS_COLUMNS[ActaStatus(status)]] += 1
    if counted is None:
        return row
    valid = sum(counted.votes.values())
    row["padron"] += padron
    row["voters"] += counted.voters
    row["valid"] += valid
    row["nulos"] += counted.nulos
    row["blancos"] += counted.blancos
    row["cast"] += counted.total_cast
    return row


@dataclass
class Counts:
    """The acta tallies as deltas (or as whole tables, in a recount): ActaTally (votes),
    ActaProgress (progress), ActaSedeTally (sedes) and ActaSedeTotal (sede_totals)."""

    votes: Counter[TallyKey]
    progress: defaultdict[ProgressKey, Counter[str]]
    sedes: Counter[SedePapeletaKey]
    sede_totals: Counter[SedeKey]

    @classmethod
    def empty(cls) -> Counts:
        return cls(Counter(), defaultdict(Counter), Counter(), Counter())

    def add(
        self, place: ActaPlace, status: str | None, counted: CountedNumbers | None, padron: int, sign: int
    ) -> None:
        """Add (sign 1) or take away (-1) one acta of this status, counting `counted`'s numbers."""
        dep, mun, sede, papeleta = place
        key = (dep, mun, papeleta)
        delta = progress_of(status, counted, padron)
        if delta:
            row = self.progress[key]
            for column, n in delta.items():
                row[column] += sign * n
        if counted is None:
            return
        for sigla, votes in counted.votes.items():
            self.votes[(dep, mun, papeleta, sigla)] += sign * votes
        # The sedes are ranked by ballots, as the stream's are: valid, null and blank alike.
        ballots = delta["valid"] + counted.nulos + counted.blancos
        self.sedes[(dep, mun, sede, papeleta)] += sign * ballots
        self.sede_totals[(dep, mun, sede)] += sign * ballots

    def nonzero(self) -> NonZero:
        return NonZero(
            votes={key: n for key, n in self.votes.items() if n},
            progress={
                key: {c: row[c] for c in PROGRESS_COLUMNS}
                for key, row in self.progress.items()
                if any(row.values())
            },
            sedes={key: n for key, n in self.sedes.items() if n},
            sede_totals={key: n for key, n in self.sede_totals.items() if n},
        )


def tallies_move(counts: Counts) -> None:
    """Add `counts` to the tables, in the caller's transaction: one upsert per table, the
    tables always in the same order."""
    votes, progress, sedes, sede_totals = counts.nonzero()
    with connection.cursor() as cursor:
        _add(cursor, ActaTally, ("departamento", "municipio", "papeleta", "partido"), "votes", votes)
        _add(cursor, ActaSedeTally, ("departamento", "municipio", "sede", "papeleta"), "ballots", sedes)
        _add(cursor, ActaSedeTotal, ("departamento", "municipio", "sede"), "ballots", sede_totals)
        if progress:
            keys = sorted(progress)
            params: list[Any] = [
                value for key in keys for value in (*key, *(progress[key][c] for c in PROGRESS_COLUMNS))
            ]
            cursor.execute(
                _upsert_sql(
                    ActaProgress, ("departamento", "municipio", "papeleta"), PROGRESS_COLUMNS, len(keys)
                ),
                params,
            )


def _add(
    cursor: Any,
    model: type[ActaTally | ActaSedeTally | ActaSedeTotal],
    keys: Sequence[str],
    column: str,
    rows: Mapping[Key, int],
) -> None:
    """One upsert adding `rows` to the one counter `column` of `model` (nothing when empty)."""
    if rows:
        ordered = sorted(rows)
        params: list[Any] = [value for key in ordered for value in (*key, rows[key])]
        cursor.execute(_upsert_sql(model, keys, (column,), len(ordered)), params)


def _upsert_sql(
    model: type[ActaTally | ActaProgress | ActaSedeTally | ActaSedeTotal],
    keys: Sequence[str],
    columns: Sequence[str],
    rows: int,
) -> str:
    quote = connection.ops.quote_name
    names = [quote(model._meta.get_field(name).column) for name in (*keys, *columns)]  # type: ignore[arg-type, union-attr]
    added = [quote(name) for name in columns]
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    table = quote(model._meta.db_table)
    # identifiers come from the model; every value is a parameter
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES {', '.join([row] * rows)} "  # noqa: S608
    if connection.vendor == "mysql":
        return sql + "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = {c} + VALUES({c})" for c in added)
    conflict = ", ".join(names[: len(keys)])
    return (
        sql
        + f"ON CONFLICT ({conflict}) DO UPDATE SET "
        + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in added)
    )


# --- The recount, for the tests and reconcile -----------------------------------------------


def actas_recount() -> Counts:
    """The acta tallies as the stored versions and entries make them, without reading
    the heads' state: an acta's status is its latest decided version's, or its undecided
    latest version's when no earlier one counted; its numbers are those of the entry the latest
    decided version chose, when that version counted."""
    places = {a.pk: a for a in Acta.objects.only("mesa", "papeleta", "departamento", "municipio", "sede")}
    # No subquery: reconcile runs this under LOCK TABLES, which refuses a table's alias.
    mesas = {acta.mesa_id for acta in places.values()}
    padron = dict(Mesa.objects.filter(numero__in=mesas).values_list("numero", "padron"))
    latest: dict[int, ActaVersion] = {}
    decided: dict[int, ActaVersion] = {}
    for version in ActaVersion.objects.select_related("chosen_entry").order_by("acta", "number"):
        latest[version.acta_id] = version
        if version.decided_at is not None:
            decided[version.acta_id] = version
    counts = Counts.empty()
    for acta_id, acta in places.items():
        last, accepted = latest[acta_id], decided.get(acta_id)
        counted = accepted.chosen_entry if accepted and accepted.status == ActaStatus.COUNTED else None
        if last.decided_at is not None:
            status = last.status
        elif accepted is not None and accepted.status == ActaStatus.COUNTED:
            status = ActaStatus.COUNTED
        else:
            status, counted = last.status, None
        counts.add(ActaPlace.of(acta), status, counted, padron[acta.mesa_id], 1)
    return counts


def tallies_read() -> Counts:
    """The acta tallies as stored."""
    counts = Counts.empty()
    for t in ActaTally.objects.all():
        counts.votes[(t.departamento_id, t.municipio_id, t.papeleta_id, t.partido_id)] = t.votes
    for p in ActaProgress.objects.all():
        counts.progress[(p.departamento_id, p.municipio_id, p.papeleta_id)] = Counter(
            {c: getattr(p, c) for c in PROGRESS_COLUMNS}
        )
    for s in ActaSedeTally.objects.all():
        counts.sedes[(s.departamento_id, s.municipio_id, s.sede, s.papeleta_id)] = s.ballots
    for total in ActaSedeTotal.objects.all():
        counts.sede_totals[(total.departamento_id, total.municipio_id, total.sede)] = total.ballots
    return counts


def tallies_match_recount() -> bool:
    return tallies_read().nonzero() == actas_recount().nonzero()


def tallies_rebuild() -> None:
    """Make the tables hold the recount (reconcile; call inside a transaction)."""
    for model in (ActaTally, ActaProgress, ActaSedeTally, ActaSedeTotal):
        model.objects.all().delete()
    tallies_move(actas_recount())
