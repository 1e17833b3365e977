"""The count over time, drawn from the chain's counts (each snapshot carries its own): the
percentage of actas counted, ballots per minute and each partido's votes, one point per
snapshot, oldest first, at most TIMELINE_POINTS (a day at the default interval).

The same answer is a file of every snapshot (timeline/<source>/<papeleta>.json, the chain up to
and including it) and `GET /api/snapshots/timeline`, both from the Snapshot rows: one bounded
query, never a scan of the votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from election.models import Snapshot
from election.results.actas import percent
from election.results.snapshots.manifest import iso_time

TIMELINE_POINTS = 1440
BALLOTS_PER_MINUTE_DECIMALS = 2


@dataclass(frozen=True, slots=True)
class ChainCounts:
    id: str
    time: datetime
    counts: dict[str, Any]


def chain_counts(limit: int = TIMELINE_POINTS) -> list[ChainCounts]:
    """The newest `limit` snapshots' counts, oldest first (the primary key, read backwards)."""
    rows = Snapshot.objects.order_by("-id").values_list("id", "time", "counts")[:limit]
    return [ChainCounts(id, time, counts) for id, time, counts in reversed(list(rows))]


def chain_national(source: str, papeleta: str, limit: int = TIMELINE_POINTS) -> list[ChainCounts]:
    """chain_counts with only `source` and `papeleta`'s national counts, extracted by the database
    (JSON_EXTRACT): the API's timeline reads about a tenth of each row's counts."""
    rows = Snapshot.objects.order_by("-id").values_list(
        "id", "time", f"counts__national__{source}__{papeleta}"
    )
    return [
        ChainCounts(id, time, {"national": {source: {papeleta: national}}} if national is not None else {})
        for id, time, national in reversed(list(rows[:limit]))
    ]


def timeline_answer(source: str, papeleta: str, chain: Sequence[ChainCounts]) -> dict[str, Any]:
    points: list[dict[str, Any]] = []
    before: tuple[datetime, int] | None = None
    for link in chain[-TIMELINE_POINTS:]:
        national = link.counts.get("national", {}).get(source, {}).get(papeleta)
        if national is None:  # a papeleta added to the catalogue after this snapshot
            continue
        cast = int(national["cast"])
        per_minute = None
        if before is not None and link.time > before[0]:
            minutes = (link.time - before[0]).total_seconds() / 60
            per_minute = round((cast - before[1]) / minutes, BALLOTS_PER_MINUTE_DECIMALS)
        before = (link.time, cast)
        points.append(
            {
                "id": link.id,
                "time": iso_time(link.time),
                "actas_counted": national["actas_counted"],
                "actas_expected": national["actas_expected"],
                "percent_counted": percent(national["actas_counted"], national["actas_expected"]),
                "cast": cast,
                "ballots_per_minute": per_minute,
                "valid": national["valid"],
                "nulos": national["nulos"],
                "blancos": national["blancos"],
                "partidos": national["partidos"],
            }
        )
    return {"source": source, "papeleta": papeleta, "points": points}
