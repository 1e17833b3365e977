"""The counted tallies of actas (ActaTally, ActaProgress), moved by the transaction that
changes an acta's status or its counted numbers, and recounted from the stored entries.

An acta moves them by the difference between what it counted (and its status) before the
transaction and after it. The move is one multi-row upsert per tally and batch
(`col = col + VALUES(col)`), rows sorted by key so that concurrent batches lock rows in the
same order, as election.votes.tallies does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from election.actas.types import ActaStatus
from election.models import Acta, ActaEntry, ActaProgress, ActaTally, ActaVersion, Mesa

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


@dataclass
class Counts:
    """ActaTally and ActaProgress as deltas (or as whole tables, in a recount)."""

    votes: Counter[TallyKey]
    progress: defaultdict[ProgressKey, Counter[str]]

    @classmethod
    def empty(cls) -> Counts:
        return cls(Counter(), defaultdict(Counter))

    def add(
        self, key: ProgressKey, status: str | None, counted: ActaEntry | None, padron: int, sign: int
    ) -> None:
        """Add (sign 1) or take away (-1) one acta of this status, counting `counted`'s numbers."""
        if status is not None:
            self.progress[key][STATUS_COLUMNS[ActaStatus(status)]] += sign
        if counted is None:
            return
        for sigla, votes in counted.votes.items():
            self.votes[(*key[:2], key[2], sigla)] += sign * votes
        row = self.progress[key]
        row["padron"] += sign * padron
        row["voters"] += sign * counted.voters
        row["valid"] += sign * sum(counted.votes.values())
        row["nulos"] += sign * counted.nulos
        row["blancos"] += sign * counted.blancos
        row["cast"] += sign * counted.total_cast

    def nonzero(self) -> tuple[dict[TallyKey, int], dict[ProgressKey, dict[str, int]]]:
        votes = {key: n for key, n in self.votes.items() if n}
        progress = {
            key: {c: row[c] for c in PROGRESS_COLUMNS}
            for key, row in self.progress.items()
            if any(row.values())
        }
        return votes, progress


def tallies_move(counts: Counts) -> None:
    """Add `counts` to the tables, in the caller's transaction: one upsert per table."""
    votes, progress = counts.nonzero()
    with connection.cursor() as cursor:
        if votes:
            keys = sorted(votes)
            params: list[Any] = [value for key in keys for value in (*key, votes[key])]
            cursor.execute(
                _upsert_sql(
                    ActaTally, ("departamento", "municipio", "papeleta", "partido"), ("votes",), len(keys)
                ),
                params,
            )
        if progress:
            keys2 = sorted(progress)
            params = [
                value for key in keys2 for value in (*key, *(progress[key][c] for c in PROGRESS_COLUMNS))
            ]
            cursor.execute(
                _upsert_sql(
                    ActaProgress, ("departamento", "municipio", "papeleta"), PROGRESS_COLUMNS, len(keys2)
                ),
                params,
            )


def _upsert_sql(
    model: type[ActaTally] | type[ActaProgress], keys: Sequence[str], columns: Sequence[str], rows: int
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
    """ActaTally and ActaProgress as the stored versions and entries make them, without reading
    the heads' state: an acta's status is its latest decided version's, or its undecided
    latest version's when no earlier one counted; its numbers are those of the entry the latest
    decided version chose, when that version counted."""
    padron = dict(Mesa.objects.filter(numero__in=Acta.objects.values("mesa")).values_list("numero", "padron"))
    places = {a.pk: a for a in Acta.objects.only("mesa", "papeleta", "departamento", "municipio")}
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
        key = (acta.departamento_id, acta.municipio_id, acta.papeleta_id)
        counts.add(key, status, counted, padron[acta.mesa_id], 1)
    return counts


def tallies_read() -> Counts:
    """ActaTally and ActaProgress as stored."""
    counts = Counts.empty()
    for t in ActaTally.objects.all():
        counts.votes[(t.departamento_id, t.municipio_id, t.papeleta_id, t.partido_id)] = t.votes
    for p in ActaProgress.objects.all():
        counts.progress[(p.departamento_id, p.municipio_id, p.papeleta_id)] = Counter(
            {c: getattr(p, c) for c in PROGRESS_COLUMNS}
        )
    return counts


def tallies_match_recount() -> bool:
    return tallies_read().nonzero() == actas_recount().nonzero()


def tallies_rebuild() -> None:
    """Make the tables hold the recount (reconcile; call inside a transaction)."""
    ActaTally.objects.all().delete()
    ActaProgress.objects.all().delete()
    tallies_move(actas_recount())
