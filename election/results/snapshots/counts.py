"""A snapshot's `counts`: how much is in, nationally, per source and papeleta. They ride in the
manifest (so the chain itself carries the count over time) and in the Snapshot row, from which
the timeline is drawn without opening a file.

    {"votes_stored": n, "actas": {"counted": n, "expected": n},
     "national": {source: {papeleta: {"actas_counted", "actas_expected", "cast", "valid",
                                      "nulos", "blancos", "partidos": {sigla: n}}}}}

The progress (actas counted of expected) is the actas' in both sources, as on the site; the
ballots and partidos are the source's own. A dozen queries over the tallies, whatever the count.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Sum

from election.catalogue.index import catalogue_index
from election.models import ActaTally, AreaTally, Papeleta, RouteTally
from election.results import selectors
from election.results.actas import acta_progress

SOURCE_ACTAS, SOURCE_VOTES = "actas", "votes"
SOURCES = (SOURCE_ACTAS, SOURCE_VOTES)  # the preliminary count first, as on the site


def papeleta_codes() -> list[str]:
    return list(Papeleta.objects.order_by("code").values_list("code", flat=True))


def papeleta_partidos(papeleta: str) -> list[str]:
    """The valid partidos on `papeleta`'s ballot, by sigla (every one when the catalogue names none)."""
    index = catalogue_index()
    return sorted(index.papeleta_partidos.get(papeleta, index.valid_partidos))


def _valid_by_papeleta(rows: Any) -> dict[str, dict[str, int]]:
    """{papeleta: {sigla: votes}} of a tally, valid partidos only (NULO and BLANCO are ballots)."""
    not_valid = catalogue_index().partido_kinds
    grouped = rows.values("papeleta_id", "partido_id").annotate(total=Sum("votes"))
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for papeleta, sigla, total in grouped.values_list("papeleta_id", "partido_id", "total"):
        if sigla not in not_valid:
            found[papeleta][sigla] = int(total or 0)
    return found


def _partidos(papeleta: str, votes: dict[str, int]) -> dict[str, int]:
    """Every partido of the papeleta, zeros included, and any other that has votes."""
    siglas = sorted(set(papeleta_partidos(papeleta)) | {s for s, n in votes.items() if n})
    return {sigla: votes.get(sigla, 0) for sigla in siglas}


def snapshot_counts() -> dict[str, Any]:
    acta_votes = _valid_by_papeleta(ActaTally.objects.all())
    stream_votes = _valid_by_papeleta(AreaTally.objects.all())
    national: dict[str, dict[str, Any]] = {source: {} for source in SOURCES}
    counted = expected = 0
    for papeleta in papeleta_codes():
        progress = acta_progress(papeleta=papeleta)
        counted += progress.actas_counted
        expected += progress.actas_expected
        head = {"actas_counted": progress.actas_counted, "actas_expected": progress.actas_expected}
        national[SOURCE_ACTAS][papeleta] = head | {
            "cast": progress.cast,
            "valid": progress.valid,
            "nulos": progress.nulos,
            "blancos": progress.blancos,
            "partidos": _partidos(papeleta, acta_votes.get(papeleta, {})),
        }
        ballots = selectors.ballots_cast(papeleta=papeleta)
        national[SOURCE_VOTES][papeleta] = head | {
            "cast": ballots.cast,
            "valid": ballots.valid,
            "nulos": ballots.nulos,
            "blancos": ballots.blancos,
            "partidos": _partidos(papeleta, stream_votes.get(papeleta, {})),
        }
    votes_stored = int(RouteTally.objects.aggregate(total=Sum("votes"))["total"] or 0)
    return {
        "votes_stored": votes_stored,
        "actas": {"counted": counted, "expected": expected},
        "national": national,
    }
