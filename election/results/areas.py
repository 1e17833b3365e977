"""The area view: one area's results on one papeleta from one source (the counted actas or
the streamed ballots), the progress of its actas, and each of its children's summary, as
`GET /api/results/area` answers it and the snapshots store it (docs/api.md).

`area_view` reads one area (per request); `area_views` every area of the country (pais, the
22 departamentos, every municipio and sede) in a handful of queries, for the snapshot writer.
Both read their numbers through election.results.area_counts and shape them with `_view`, so
the bulk answers are the per-request ones (tests/results/test_areas.py checks every key).

For a consistent snapshot, call area_views inside `consistent.consistent_read()`: its queries, and any
others made in the block, then see the database at one moment (the API's connection reads
committed rows, so two queries may otherwise see two moments).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from django.utils import timezone

from election.catalogue.index import catalogue_index, papeleta_partidos
from election.catalogue.mesa_index import mesa_index, sede_order
from election.results.actas import percent, progress_answer
from election.results.area_counts import (
    SOURCE_ACTAS,
    SOURCE_VOTES,
    AreaCount,
    PlaceCounts,
    SedeKey,
    place_counts,
    sedes_with_votes,
    tally_counts,
)
from election.results.selectors import ballots_answer, largest_remainder_percents

SOURCES = (SOURCE_ACTAS, SOURCE_VOTES)
PAIS, DEPARTAMENTO, MUNICIPIO, SEDE = "pais", "departamento", "municipio", "sede"


class AreaKey(NamedTuple):
    """Which area a view is of: its level and codes (the sede as stored, catalogue/sedes.py)."""

    level: str
    departamento: str | None = None
    municipio: str | None = None
    sede: str | None = None


class Child(NamedTuple):
    code: str
    nombre: str
    numbers: AreaCount
    status: str | None = None  # a mesa's acta status on the papeleta


# --- Per request -------------------------------------------------------------------------


def area_view(
    source: str,
    papeleta: str,
    departamento: str | None = None,
    municipio: str | None = None,
    sede: str | None = None,
) -> dict[str, Any]:
    """The view of one area (codes; the level is the narrowest given). A municipio implies its
    departamento (INE codes: DDMM); a sede needs its municipio."""
    assert source in SOURCES, source
    assert sede is None or municipio is not None, "a sede is numbered within its municipio"
    if municipio is not None:
        departamento = municipio[:2]
    as_of = timezone.now()
    if municipio is None and departamento is None:
        children = tally_counts(source, papeleta, by=DEPARTAMENTO)
        return _pais(source, papeleta, children, as_of)
    if municipio is None:
        assert departamento is not None
        children = tally_counts(source, papeleta, by=MUNICIPIO, departamento=departamento)
        return _departamento(source, papeleta, departamento, children, as_of)
    places = place_counts(source, papeleta, departamento=departamento, municipio=municipio, sede=sede)
    if sede is None:
        own = tally_counts(source, papeleta, by=MUNICIPIO, departamento=departamento, municipio=municipio)
        sedes = _sedes_by_municipio(sedes_with_votes(departamento=departamento, municipio=municipio), places)
        return _municipio(source, papeleta, municipio, own.get(municipio, AreaCount()), places, sedes, as_of)
    return _sede(source, papeleta, (municipio, sede), places, as_of)


# --- In bulk -------------------------------------------------------------------------------


def area_views(source: str, papeleta: str, *, sedes: bool = True) -> Iterator[tuple[AreaKey, dict[str, Any]]]:
    """Every area's view: pais, then the departamentos, then each municipio followed by its
    sedes, in code order (sedes in sede_order); `sedes=False` stops at the municipios (the
    regular snapshot: the sedes' views go to the detail tier). The municipios' children are
    their sedes' counts, so the per-sede reads stay either way; only the sede views are skipped.
    Six queries, whatever the count: the tallies
    per municipio, every acta head of the papeleta, the sedes with votes, and for the votes the
    vote table grouped by sede and MesaTally. Memory: a few numbers per mesa, sede and partido."""
    assert source in SOURCES, source
    as_of = timezone.now()
    municipios = tally_counts(source, papeleta, by=MUNICIPIO)
    places = place_counts(source, papeleta)
    with_votes = _sedes_by_municipio(sedes_with_votes(), places)
    names = catalogue_index().municipio_names
    departamentos = {code: AreaCount() for code in catalogue_index().departamento_names}
    for code, count in municipios.items():
        departamentos.setdefault(code[:2], AreaCount()).add(count)
    yield AreaKey(PAIS), _pais(source, papeleta, departamentos, as_of)
    for departamento in sorted(departamentos):
        within = {code: count for code, count in municipios.items() if code[:2] == departamento}
        yield (
            AreaKey(DEPARTAMENTO, departamento),
            _departamento(source, papeleta, departamento, within, as_of),
        )
    for municipio in sorted(set(names) | set(municipios)):
        departamento = municipio[:2]
        own = municipios.get(municipio, AreaCount())
        view = _municipio(source, papeleta, municipio, own, places, with_votes, as_of)
        yield AreaKey(MUNICIPIO, departamento, municipio), view
        if not sedes:
            continue
        for child in view["children"]:
            key = (municipio, child["code"])
            yield (
                AreaKey(SEDE, departamento, municipio, child["code"]),
                _sede(source, papeleta, key, places, as_of),
            )


# --- The levels ------------------------------------------------------------------------------


def _pais(source: str, papeleta: str, departamentos: dict[str, AreaCount], as_of: datetime) -> dict[str, Any]:
    names = catalogue_index().departamento_names
    children = [
        Child(code, names[code], _expecting(departamentos.get(code), mesa_index().count(departamento=code)))
        for code in sorted(names)
    ]
    return _view(
        source, papeleta, AreaKey(PAIS), AreaCount.total(c.numbers for c in children), children, as_of
    )


def _departamento(
    source: str, papeleta: str, departamento: str, municipios: dict[str, AreaCount], as_of: datetime
) -> dict[str, Any]:
    names = catalogue_index().municipio_names
    codes = sorted({code for code in names if code[:2] == departamento} | set(municipios))
    children = [
        Child(
            code, names.get(code, code), _expecting(municipios.get(code), mesa_index().count(municipio=code))
        )
        for code in codes
    ]
    own = AreaCount.total(c.numbers for c in children)
    return _view(source, papeleta, AreaKey(DEPARTAMENTO, departamento), own, children, as_of)


def _municipio(
    source: str,
    papeleta: str,
    municipio: str,
    own: AreaCount,
    places: PlaceCounts,
    sedes_by_municipio: dict[str, set[str]],
    as_of: datetime,
) -> dict[str, Any]:
    index = mesa_index()
    own = _expecting(own, index.count(municipio=municipio))
    sedes = set(index.municipio_sedes.get(municipio, [])) | sedes_by_municipio.get(municipio, set())
    children = [
        Child(
            sede,
            f"Sede {sede}",
            _expecting(places.sedes.get((municipio, sede)), len(index.per_sede.get((municipio, sede), []))),
        )
        for sede in sorted(sedes, key=sede_order)
    ]
    key = AreaKey(MUNICIPIO, municipio[:2], municipio)
    return _view(source, papeleta, key, own, children, as_of)


def _sedes_by_municipio(with_votes: set[SedeKey], places: PlaceCounts) -> dict[str, set[str]]:
    """The sedes a municipio lists beside the catalogue's: those a vote named, on any papeleta
    (so that every source and papeleta lists the same), and those its actas were read for."""
    found: dict[str, set[str]] = {}
    for municipio, sede in with_votes | places.sedes.keys():
        found.setdefault(municipio, set()).add(sede)
    return found


def _sede(source: str, papeleta: str, key: SedeKey, places: PlaceCounts, as_of: datetime) -> dict[str, Any]:
    municipio, sede = key
    mesas = mesa_index().per_sede.get(key, [])
    own = _expecting(places.sedes.get(key), len(mesas))
    children = [
        Child(
            str(mesa),
            f"Mesa {mesa}",
            _expecting(places.mesas.get(mesa), 1),
            places.status.get(mesa, "pending"),
        )
        for mesa in mesas
    ]
    return _view(source, papeleta, AreaKey(SEDE, municipio[:2], municipio, sede), own, children, as_of)


def _expecting(count: AreaCount | None, expected: int) -> AreaCount:
    """`count` (zeros when the area has no number yet) expecting the catalogue's actas: one per mesa."""
    count = count if count is not None else AreaCount()
    count.expected = expected
    return count


# --- The one shape -----------------------------------------------------------------------------


def _view(
    source: str, papeleta: str, key: AreaKey, own: AreaCount, children: list[Child], as_of: datetime
) -> dict[str, Any]:
    index = catalogue_index()
    ranked = _ranked(papeleta, own)
    departamento = key.departamento
    municipio = key.municipio
    return {
        "source": source,
        "papeleta": papeleta,
        "level": key.level,
        "departamento": None
        if departamento is None
        else {"code": departamento, "nombre": index.departamento_names.get(departamento, departamento)},
        "municipio": None
        if municipio is None
        else {"code": municipio, "nombre": index.municipio_names.get(municipio, municipio)},
        "sede": key.sede,
        "progress": progress_answer(own.progress_read),
        "ballots": ballots_answer(own.ballots),
        "total": sum(votes for _, votes, _ in ranked),
        "results": [
            {
                "partido": sigla,
                "nombre": index.partido_names.get(sigla, sigla),
                "votes": votes,
                "percent": pct,
            }
            for sigla, votes, pct in ranked
        ],
        "children": [_child(papeleta, child) for child in children],
        "as_of": as_of.isoformat(),
    }


def _ranked(papeleta: str, count: AreaCount) -> list[tuple[str, int, float]]:
    """Every partido of the papeleta (and any other with votes), by votes descending then
    sigla, with its percent of the valid votes (largest remainder, as /api/results/partidos).
    Kept on `count`: a sede's ranking serves its municipio's children and its own view."""
    kept = count.ranked.get(papeleta)
    if kept is not None:
        return kept
    on_ballot = _in_order(papeleta_partidos(papeleta))
    partidos = count.partidos
    others = [sigla for sigla, votes in partidos.items() if votes and sigla not in on_ballot[1]]
    siglas = sorted([*on_ballot[0], *others]) if others else on_ballot[0]
    if not any(partidos.values()):  # nothing yet: every partido at zero, by sigla
        ranked = [(sigla, 0, 0.0) for sigla in siglas]
    else:
        rows = sorted(((sigla, partidos.get(sigla, 0)) for sigla in siglas), key=lambda r: (-r[1], r[0]))
        percents = largest_remainder_percents([votes for _, votes in rows])
        ranked = [(sigla, votes, pct) for (sigla, votes), pct in zip(rows, percents, strict=True)]
    count.ranked[papeleta] = ranked
    return ranked


@lru_cache(maxsize=32)
def _in_order(siglas: frozenset[str]) -> tuple[list[str], frozenset[str]]:
    """A papeleta's partidos by sigla (once per catalogue copy: the set is the index's own)."""
    return sorted(siglas), siglas


def _child(papeleta: str, child: Child) -> dict[str, Any]:
    """A child's summary: its leader (the first of its ranking: a tie goes to the sigla first in
    order), the runner-up when it has votes, and the margin between them as a percent of the
    child's valid votes (0 on a tie; null without a leader)."""
    ranked = _ranked(papeleta, child.numbers)
    total = sum(votes for _, votes, _ in ranked)
    leader = ranked[0] if total else None
    runner_up = ranked[1] if leader is not None and len(ranked) > 1 and ranked[1][1] else None
    counted, expected = child.numbers.progress["actas_counted"], child.numbers.expected
    summary: dict[str, Any] = {
        "code": child.code,
        "nombre": child.nombre,
        "total": total,
        "cast": child.numbers.ballots.cast,
        "leader": leader[0] if leader else None,
        "leader_votes": leader[1] if leader else 0,
        "leader_percent": leader[2] if leader else None,
        "runner_up": runner_up[0] if runner_up else None,
        "margin_percent": percent(leader[1] - (runner_up[1] if runner_up else 0), total) if leader else None,
        "actas_expected": expected,
        "actas_counted": counted,
        "percent_counted": percent(counted, expected),  # as Progress.percent_counted
    }
    if child.status is not None:
        summary["status"] = child.status
    return summary
