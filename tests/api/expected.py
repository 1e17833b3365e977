"""Each endpoint's answer computed again, independently, from the vote table itself.

Nothing here reads a tally or calls a selector: names come from the catalogue tables and
counts from Vote rows, so a tally or a selector that drifts makes the tests fail.
"""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from typing import Any

from election.models import Departamento, Municipio, PartidoKind, Vote
from election.votes.tallies import latency_bucket, latency_bucket_upper_ms


def _names() -> tuple[dict[str, str], dict[str, str]]:
    return (
        dict(Departamento.objects.values_list("code", "nombre")),
        dict(Municipio.objects.values_list("code", "nombre")),
    )


def ballots(votes: Any) -> dict[str, Any]:
    """Valid, null and blank ballots among `votes` (a Vote queryset), by the partido's kind."""
    kinds = Counter(votes.values_list("partido__kind", flat=True))
    counts = [kinds[PartidoKind.VALID], kinds[PartidoKind.NULO], kinds[PartidoKind.BLANCO]]
    cast = sum(counts)
    valid, nulos, blancos = [h / 100 for h in _largest_remainder_hundredths(counts, cast)] or [0.0] * 3
    return {
        "valid": counts[0],
        "nulos": counts[1],
        "blancos": counts[2],
        "cast": cast,
        "percent": {"valid": valid, "nulos": nulos, "blancos": blancos},
    }


def top_departamentos(papeleta: str, limit: int) -> list[dict[str, Any]]:
    """Ranked by valid votes, as the TSE ranks them; every departamento with a ballot."""
    departamentos, _ = _names()
    on_papeleta = Vote.objects.filter(papeleta_id=papeleta)
    codes = set(on_papeleta.values_list("departamento_id", flat=True))
    rows: list[dict[str, Any]] = []
    for code in codes:
        counted = ballots(on_papeleta.filter(departamento_id=code))
        rows.append({"departamento": departamentos[code], "votes": counted["valid"], "ballots": counted})
    rows.sort(key=lambda r: r["departamento"])
    rows.sort(key=lambda r: r["votes"], reverse=True)  # stable: ties stay in name order
    return rows[:limit]


def partidos(departamento: str, municipio: str | None, papeleta: str | None) -> dict[str, Any]:
    votes = Vote.objects.filter(departamento_id=departamento)
    if municipio:
        votes = votes.filter(municipio_id=municipio)
    if papeleta:
        votes = votes.filter(papeleta_id=papeleta)
    # Null and blank ballots are not partidos: percents are of the valid votes, as the TSE's.
    counts = Counter(votes.filter(partido__kind=PartidoKind.VALID).values_list("partido_id", flat=True))
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    hundredths = _largest_remainder_hundredths([n for _, n in ordered], total)
    return {
        "total": total,
        "ballots": ballots(votes),
        "results": [
            {"partido": sigla, "votes": n, "percent": h / 100}
            for (sigla, n), h in zip(ordered, hundredths, strict=True)
        ],
    }


def _largest_remainder_hundredths(counts: list[int], total: int) -> list[int]:
    if not total:
        return []
    exact = [Fraction(10000 * n, total) for n in counts]
    floors = [math.floor(x) for x in exact]
    # The leftover hundredths go to the largest fractional parts; ties to the earlier row.
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[: 10000 - sum(floors)]:
        floors[i] += 1
    return floors


def on_papeleta(papeleta: str | None) -> Any:
    return Vote.objects.all() if papeleta is None else Vote.objects.filter(papeleta_id=papeleta)


def top_sedes(limit: int, papeleta: str | None) -> list[dict[str, Any]]:
    """Ranked by ballots cast: valid, null and blank alike."""
    departamentos, municipios = _names()
    votes = on_papeleta(papeleta)
    counts = Counter(votes.values_list("departamento_id", "municipio_id", "sede"))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [
        {"departamento": departamentos[d], "municipio": municipios[m], "sede": s, "votes": n}
        for (d, m, s), n in ordered[:limit]
    ]


def summary() -> dict[str, Any]:
    rows = list(Vote.objects.values_list("route", "papeleta_id", "received_at", "stored_at"))
    by_route: dict[str, Any] = {}
    for route in ("grpc", "redis"):
        latencies = sorted((s - r).total_seconds() * 1000 for rt, _, r, s in rows if rt == route)
        by_route[route] = {
            "votes": len(latencies),
            "latency_ms": {"p50": _percentile(latencies, 0.50), "p95": _percentile(latencies, 0.95)},
        }
    papeletas = Counter(p for _, p, _, _ in rows)
    return {
        "total": len(rows),
        "ballots": ballots(Vote.objects.all()),
        "by_route": by_route,
        "by_papeleta": {
            code: papeletas.get(code, 0)
            for code in ("diputados_distrital", "diputados_nacional", "municipal", "parlacen", "presidente")
        },
    }


def _percentile(sorted_ms: list[float], fraction: float) -> float | None:
    """Nearest rank, reported as the upper bound of its 10% latency bucket (as documented)."""
    if not sorted_ms:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_ms)))
    return round(latency_bucket_upper_ms(latency_bucket(sorted_ms[rank - 1])), 2)
