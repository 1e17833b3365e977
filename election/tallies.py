"""Running tallies, incremented by the same transaction that stores the votes.

Each tally is one multi-row upsert per batch (`votes = votes + n`), with rows sorted by key
so that concurrent batches lock rows in the same order and cannot deadlock each other.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connection, models

from election.models import AreaTally, RouteTally, SedeTally, SedeTotal

if TYPE_CHECKING:
    from election.services import ValidatedVote

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


def tallies_add(*, votes: Sequence[ValidatedVote], route: str, stored_at: datetime) -> None:
    area = Counter((v.departamento_code, v.municipio_code, v.papeleta, v.partido) for v in votes)
    sede = Counter((v.departamento_code, v.municipio_code, v.sede, v.papeleta) for v in votes)
    sede_total = Counter((v.departamento_code, v.municipio_code, v.sede) for v in votes)
    by_route = Counter(
        (route, v.papeleta, latency_bucket((stored_at - v.received_at).total_seconds() * 1000)) for v in votes
    )
    _increment(AreaTally, ("departamento", "municipio", "papeleta", "partido"), area)
    _increment(SedeTally, ("departamento", "municipio", "sede", "papeleta"), sede)
    _increment(SedeTotal, ("departamento", "municipio", "sede"), sede_total)
    _increment(RouteTally, ("route", "papeleta", "latency_bucket"), by_route)


def _increment(model: type[models.Model], key_fields: Sequence[str], counts: Counter[Hashable]) -> None:
    if not counts:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(model._meta.get_field(name).column) for name in key_fields]
    votes = quote("votes")
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    params: list[object] = []
    for key in sorted(counts):  # type: ignore[type-var]
        params.extend(key)  # type: ignore[arg-type]
        params.append(counts[key])
    sql = f"INSERT INTO {table} ({', '.join(columns)}, {votes}) VALUES {', '.join([row] * len(counts))} "  # noqa: S608
    if connection.vendor == "mysql":
        sql += f"ON DUPLICATE KEY UPDATE {votes} = {votes} + VALUES({votes})"
    else:  # SQLite and PostgreSQL
        sql += (
            f"ON CONFLICT ({', '.join(columns)}) DO UPDATE SET {votes} = {table}.{votes} + excluded.{votes}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # identifiers come from the model; every value is a parameter
