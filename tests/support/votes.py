"""Votes for tests that need a known batch, and the check that the tallies match a recount."""

from __future__ import annotations

import uuid
from collections import Counter

from election.models import AreaTally, MesaTally, RouteTally, SedeTally, SedeTotal, Vote
from election.votes.types import ValidatedVote
from election.votes.validation import vote_validate

MUNICIPIOS = [
    ("Chimaltenango", "Patzun"),
    ("Guatemala", "Mixco"),
    ("Peten", "Flores"),
    ("Escuintla", "San José"),
]
PAPELETAS = ["Blanca", "Verde", "Celeste", "Rosada", "Amarilla"]
PARTIDOS = ["UNE", "SEMILLA", "VAMOS", "FCN", "CABAL"]


def make_votes(n: int, seed: int = 0) -> list[ValidatedVote]:
    votes = []
    for i in range(seed, seed + n):
        departamento, municipio = MUNICIPIOS[i % len(MUNICIPIOS)]
        data = {
            "vote_id": str(uuid.uuid4()),
            "sede": i % 7,
            "departamento": departamento,
            "municipio": municipio,
            "papeleta": PAPELETAS[i % 5],
            "partido": PARTIDOS[(i // 5) % 5],
        }
        votes.append(vote_validate(data))
    return votes


def recount_matches_tallies() -> None:
    """Every tally equals a recount from the vote table."""
    votes = list(
        Vote.objects.values_list("departamento", "municipio", "sede", "papeleta", "partido", "route")
    )
    by_mesa = Counter(Vote.objects.filter(mesa__isnull=False).values_list("mesa", "papeleta", "partido"))
    assert {(t.mesa, t.papeleta_id, t.partido_id): t.votes for t in MesaTally.objects.all()} == by_mesa
    area = Counter((d, m, p, q) for d, m, _, p, q, _ in votes)
    sede = Counter((d, m, s, p) for d, m, s, p, _, _ in votes)
    sede_total = Counter((d, m, s) for d, m, s, _, _, _ in votes)
    route = Counter((r, p) for _, _, _, p, _, r in votes)
    assert {
        (t.departamento_id, t.municipio_id, t.papeleta_id, t.partido_id): t.votes
        for t in AreaTally.objects.all()
    } == area
    assert {
        (t.departamento_id, t.municipio_id, t.sede, t.papeleta_id): t.votes for t in SedeTally.objects.all()
    } == sede
    assert {
        (t.departamento_id, t.municipio_id, t.sede): t.votes for t in SedeTotal.objects.all()
    } == sede_total
    by_route: Counter[tuple[str, str]] = Counter()
    for t in RouteTally.objects.all():
        by_route[(t.route, t.papeleta_id)] += t.votes
    assert by_route == route
