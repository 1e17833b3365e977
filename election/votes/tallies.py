"""Running tallies, incremented by the same transaction that stores the votes.

Each tally is declared once in TALLIES: its table, its key columns, and how a vote maps to
its key. The same declaration drives the per-batch increment and the recount from the vote
table (`reconcile`), so the two can never disagree about what a tally means.

A tally may count only the votes that name something (`only_with`): MesaTally counts the
votes that name their mesa, and a batch with none of them adds no statement.

The increment is one multi-row upsert per tally and batch (`votes = votes + n`), with rows
sorted by key so that concurrent batches lock rows in the same order and cannot deadlock.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.db import connection, models

from election.models import AreaTally, MesaTally, RouteTally, SedeTally, SedeTotal, Vote
from election.votes.transaction import Statement
from election.votes.types import ValidatedVote

# Receipt-to-storage latency is tallied in logarithmic buckets 10% wide:
# bucket b holds latencies in (1.1**(b-1), 1.1**b] milliseconds; bucket 0 is <= 1 ms.
LATENCY_GROWTH = 1.1
LATENCY_MAX_BUCKET = 250


def latency_bucket(milliseconds: float) -> int:
    if milliseconds <= 1:
        return 0
    return min(math.ceil(math.log(milliseconds) / math.log(LATENCY_GROWTH)), LATENCY_MAX_BUCKET)


def latency_bucket_upper_ms(bucket: int) -> float:
    return float(LATENCY_GROWTH**bucket)


class Counted(NamedTuple):
    """What a tally can key on, from a vote being stored or from a stored row."""

    departamento: str
    municipio: str
    sede: str
    papeleta: str
    partido: str
    route: str
    latency_bucket: int
    mesa: int | None


@dataclass(frozen=True)
class Tally:
    """A tally table, keyed by model fields that are also attributes of Counted; when
    `only_with` names one of them, only the votes where it is not None are counted."""

    model: type[models.Model]
    key_fields: tuple[str, ...]  # two or more: the key is always a tuple
    only_with: str | None = None
    key: Callable[[Counted], tuple[Hashable, ...]] = field(init=False, repr=False, compare=False)

    def counts(self, rows: Iterable[Counted]) -> Counter[tuple[Hashable, ...]]:
        if self.only_with is None:
            return Counter(map(self.key, rows))
        return Counter(self.key(row) for row in rows if getattr(row, self.only_with) is not None)

    def __post_init__(self) -> None:
        # attrgetter builds the key tuple in C: this runs once per tally and vote stored
        object.__setattr__(self, "key", operator.attrgetter(*self.key_fields))

    @property
    def name(self) -> str:
        return self.model.__name__


TALLIES = (
    Tally(AreaTally, ("departamento", "municipio", "papeleta", "partido")),
    Tally(SedeTally, ("departamento", "municipio", "sede", "papeleta")),
    Tally(SedeTotal, ("departamento", "municipio", "sede")),
    Tally(RouteTally, ("route", "papeleta", "latency_bucket")),
    Tally(MesaTally, ("mesa", "papeleta", "partido"), only_with="mesa"),
)


def _counted(
    dep: str,
    mun: str,
    sede: str,
    pap: str,
    par: str,
    route: str,
    received: datetime,
    stored: datetime,
    mesa: int | None,
) -> Counted:
    milliseconds = (stored - received).total_seconds() * 1000
    return Counted(dep, mun, sede, pap, par, route, latency_bucket(milliseconds), mesa)


def tallies_statements(*, votes: Sequence[ValidatedVote], route: str, stored_at: datetime) -> list[Statement]:
    """The upserts that add a batch of newly stored votes to every tally: one per tally."""
    if not votes:
        return []
    counted = [
        _counted(
            v.departamento_code,
            v.municipio_code,
            v.sede,
            v.papeleta,
            v.partido,
            route,
            v.received_at,
            stored_at,
            v.mesa,
        )
        for v in votes
    ]
    increments = ((tally, tally.counts(counted)) for tally in TALLIES)
    return [_increment(tally, counts) for tally, counts in increments if counts]


def tallies_count(rows: Iterable[Counted]) -> dict[str, Counter[tuple[Hashable, ...]]]:
    counts: dict[str, Counter[tuple[Hashable, ...]]] = {tally.name: Counter() for tally in TALLIES}
    for row in rows:
        for tally in TALLIES:
            if tally.only_with is None or getattr(row, tally.only_with) is not None:
                counts[tally.name][tally.key(row)] += 1
    return counts


def stored_votes_counted(chunk_size: int = 20_000) -> Iterable[Counted]:
    """Every stored vote, as the tallies see it, streamed from the vote table."""
    rows = Vote.objects.values_list(
        "departamento_id",
        "municipio_id",
        "sede",
        "papeleta_id",
        "partido_id",
        "route",
        "received_at",
        "stored_at",
        "mesa",
    ).order_by()
    for row in rows.iterator(chunk_size=chunk_size):
        yield _counted(*row)


def tally_rows(tally: Tally) -> Counter[tuple[Hashable, ...]]:
    """A tally table's non-zero rows, keyed like `tally.key`."""
    columns = [_field(tally, name).attname for name in tally.key_fields]
    rows = tally.model._default_manager.filter(votes__gt=0).values_list(*columns, "votes").order_by()
    return Counter({tuple(row[:-1]): row[-1] for row in rows.iterator(chunk_size=20_000)})


def tallies_replace(counts: dict[str, Counter[tuple[Hashable, ...]]]) -> None:
    """Make every tally table hold exactly `counts` (call inside a transaction)."""
    for tally in TALLIES:
        tally.model._default_manager.all().delete()
        wanted = counts[tally.name]
        keys = sorted(wanted)  # type: ignore[type-var]
        for start in range(0, len(keys), 2000):
            chunk = Counter({key: wanted[key] for key in keys[start : start + 2000]})
            statements_run([_increment(tally, chunk)])


def statements_run(statements: Sequence[Statement]) -> None:
    """Execute in the current transaction (the caller's)."""
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def _increment(tally: Tally, counts: Counter[tuple[Hashable, ...]]) -> Statement:
    """One multi-row upsert adding `counts` (not empty) to the tally's rows."""
    params: list[object] = []
    for key in sorted(counts):  # type: ignore[type-var]
        params.extend(key)
        params.append(counts[key])
    return _upsert_sql(tally, connection.vendor, len(counts)), params


def _field(tally: Tally, name: str) -> models.Field:  # type: ignore[type-arg]
    model_field = tally.model._meta.get_field(name)
    assert isinstance(model_field, models.Field)  # a column of the table, not a reverse relation
    return model_field


@functools.lru_cache(maxsize=512)  # a busy process sends the same few row counts all night
def _upsert_sql(tally: Tally, vendor: str, rows: int) -> str:
    quote = connection.ops.quote_name
    table = quote(tally.model._meta.db_table)
    columns = [quote(_field(tally, name).column or name) for name in tally.key_fields]
    votes = quote("votes")
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    # identifiers come from the model; every value is a parameter
    sql = f"INSERT INTO {table} ({', '.join(columns)}, {votes}) VALUES {', '.join([row] * rows)} "  # noqa: S608
    if vendor == "mysql":
        return sql + f"ON DUPLICATE KEY UPDATE {votes} = {votes} + VALUES({votes})"
    # SQLite and PostgreSQL
    conflict = ", ".join(columns)
    return sql + f"ON CONFLICT ({conflict}) DO UPDATE SET {votes} = {table}.{votes} + excluded.{votes}"
