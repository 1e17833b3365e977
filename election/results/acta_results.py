"""The results as the counted actas give them (`source=actas`): the same answers as
election.results.selectors, read from ActaTally (votes per partido), ActaProgress (ballots) and
ActaSedeTally / ActaSedeTotal (ballots per sede) instead of the vote tallies. Never the two added
together: each answer reads one source.

ActaTally holds a row per area, papeleta and partido, ActaProgress one per area and papeleta,
the sede tallies one per sede (and papeleta), so each read is bounded as the vote tallies' are.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from election.catalogue.index import catalogue_index, name_key
from election.models import ActaProgress, ActaSedeTally, ActaSedeTotal, ActaTally
from election.results.selectors import (
    AreaShares,
    Ballots,
    DepartamentoVotes,
    PartidoShare,
    ResultsSummary,
    SedeVotes,
    TopDepartamentos,
    largest_remainder_percents,
    sedes_ranked,
)


def _ballots(rows: QuerySet[ActaProgress]) -> Ballots:
    sums = rows.aggregate(valid=Sum("valid"), nulos=Sum("nulos"), blancos=Sum("blancos"))
    return Ballots(
        valid=int(sums["valid"] or 0), nulos=int(sums["nulos"] or 0), blancos=int(sums["blancos"] or 0)
    )


def _valid_by_partido(rows: QuerySet[ActaTally]) -> dict[str, int]:
    """Votes per valid partido (should the tally hold NULO or BLANCO rows, they are ballots, not partidos)."""
    not_valid = catalogue_index().partido_kinds
    grouped = rows.filter(votes__gt=0).values("partido_id").annotate(total=Sum("votes"))
    return {
        sigla: int(total)
        for sigla, total in grouped.values_list("partido_id", "total")
        if sigla not in not_valid
    }


def top_departamentos(*, papeleta: str, limit: int) -> TopDepartamentos:
    """selectors.top_departamentos from the counted actas: departamentos by valid votes."""
    names = catalogue_index().departamento_names
    per_departamento = (
        ActaProgress.objects.filter(papeleta_id=papeleta)
        .values("departamento_id")
        .annotate(valid=Sum("valid"), nulos=Sum("nulos"), blancos=Sum("blancos"))
        .values_list("departamento_id", "valid", "nulos", "blancos")
    )
    ranked = sorted(
        (
            DepartamentoVotes(
                names.get(code, code), int(valid), Ballots(int(valid), int(nulos), int(blancos))
            )
            for code, valid, nulos, blancos in per_departamento
            if valid or nulos or blancos
        ),
        key=lambda row: (-row.votes, name_key(row.departamento), row.departamento),
    )
    nationwide = Ballots(
        valid=sum(row.ballots.valid for row in ranked),
        nulos=sum(row.ballots.nulos for row in ranked),
        blancos=sum(row.ballots.blancos for row in ranked),
    )
    return TopDepartamentos(results=ranked[:limit], ballots=nationwide)


def partido_shares(*, departamento: str, municipio: str | None, papeleta: str | None) -> AreaShares:
    """selectors.partido_shares from the counted actas."""
    tally = ActaTally.objects.filter(departamento_id=departamento)
    progress = ActaProgress.objects.filter(departamento_id=departamento)
    if municipio is not None:
        tally, progress = tally.filter(municipio_id=municipio), progress.filter(municipio_id=municipio)
    if papeleta is not None:
        tally, progress = tally.filter(papeleta_id=papeleta), progress.filter(papeleta_id=papeleta)
    counts = sorted(_valid_by_partido(tally).items(), key=lambda row: (-row[1], row[0]))
    percents = largest_remainder_percents([votes for _, votes in counts])
    shares = [PartidoShare(sigla, votes, pct) for (sigla, votes), pct in zip(counts, percents, strict=True)]
    return AreaShares(partidos=shares, ballots=_ballots(progress))


def top_sedes(*, limit: int, papeleta: str | None) -> list[SedeVotes]:
    """selectors.top_sedes from the counted actas: sedes by their counted actas' ballots (valid,
    null and blank alike), descending, ties in (departamento, municipio, sede) code order.

    Both orders are an index's order (see ActaSedeTally and ActaSedeTotal), so this reads `limit` rows.
    """
    rows: QuerySet[Any] = (
        ActaSedeTotal.objects.all()
        if papeleta is None
        else ActaSedeTally.objects.filter(papeleta_id=papeleta)
    )
    return sedes_ranked(rows, "ballots", limit)


def ballots_cast(*, papeleta: str | None) -> Ballots:
    """Ballots of the counted actas nationwide on `papeleta` (None: every papeleta)."""
    rows = (
        ActaProgress.objects.all() if papeleta is None else ActaProgress.objects.filter(papeleta_id=papeleta)
    )
    return _ballots(rows)


def results_summary() -> ResultsSummary:
    """selectors.results_summary from the counted actas: their ballots in all and per papeleta.
    Actas have no route to compare, so `by_route` is empty."""
    by_papeleta = dict.fromkeys(sorted(set(catalogue_index().papeletas.values())), 0)
    rows = ActaProgress.objects.values("papeleta_id").annotate(
        v=Sum("valid"), n=Sum("nulos"), b=Sum("blancos")
    )
    per_papeleta = [
        (papeleta, Ballots(int(valid or 0), int(nulos or 0), int(blancos or 0)))
        for papeleta, valid, nulos, blancos in rows.values_list("papeleta_id", "v", "n", "b")
    ]
    for papeleta, on_it in per_papeleta:
        by_papeleta[papeleta] = on_it.cast
    ballots = Ballots(
        valid=sum(on_it.valid for _, on_it in per_papeleta),
        nulos=sum(on_it.nulos for _, on_it in per_papeleta),
        blancos=sum(on_it.blancos for _, on_it in per_papeleta),
    )
    return ResultsSummary(
        total=ballots.cast, by_route={}, by_papeleta=by_papeleta, as_of=timezone.now(), ballots=ballots
    )
