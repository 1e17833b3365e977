"""GET /api/actas/<mesa>/<papeleta> and /api/actas/, source=actas on the results, and the
per-mesa comparison of the streamed ballots with the counted acta."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from election.actas.recording import actas_record
from election.models import Acta, ActaEntry, ActaTally, AreaTally, Departamento, Mesa, Municipio
from election.votes.recording import votes_record
from election.votes.validation import vote_validate
from tests.support.acta_counts import AGREEING, DISAGREEING, SINGLE, entry
from tests.support.actas import CLEAN_MESA

pytestmark = pytest.mark.usefixtures("sample_actas")

ACTA_KEYS = {
    "mesa",
    "papeleta",
    "status",
    "failed_rules",
    "differing_fields",
    "image_sha256",
    "counted",
    "versions",
    "stream",
    "discrepancy",
}


def get(path: str, expect: int = 200, **params: Any) -> Any:
    response = APIClient().get(path, params, HTTP_ACCEPT="application/json")
    assert response.status_code == expect, response.content
    return response.json()


def mesa_of(fate: str, sample_actas: dict[int, str], status: str | None = None) -> int:
    for mesa, its_fate in sample_actas.items():
        head = Acta.objects.get(mesa_id=mesa, papeleta_id="presidente")
        if its_fate == fate and (status is None or head.status == status):
            return mesa
    raise AssertionError(f"no sample mesa is {fate} {status or ''}")


# --- One acta ---------------------------------------------------------------------------


def test_a_counted_acta_shows_its_numbers_versions_and_both_entries(sample_actas: dict[int, str]) -> None:
    assert sample_actas[CLEAN_MESA] == AGREEING
    acta = get(f"/api/actas/{CLEAN_MESA}/Blanca")  # the papeleta by its colour too
    assert set(acta) == ACTA_KEYS
    assert (acta["mesa"], acta["papeleta"], acta["status"]) == (CLEAN_MESA, "presidente", "counted")
    assert acta["failed_rules"] == [] and acta["differing_fields"] == []
    [version] = acta["versions"]
    assert version["number"] == 1 and version["status"] == "counted" and version["decided_by"] is None
    assert [e["entered_by"] for e in version["entries"]] == ["ana", "beto"]
    assert [e["route"] for e in version["entries"]] == ["grpc", "redis"]
    stored = ActaEntry.objects.filter(mesa_id=CLEAN_MESA).order_by("id")
    assert [e["acta_id"] for e in version["entries"]] == [str(e.acta_id) for e in stored]
    chosen = ActaEntry.objects.get(acta_id=version["chosen_entry"])
    assert acta["counted"] == {
        "votes": dict(sorted(chosen.votes.items())),
        **{name: getattr(chosen, name) for name in acta["counted"] if name != "votes"},
    }
    assert acta["image_sha256"] == chosen.image_sha256
    assert acta["stream"] == {} and acta["discrepancy"] is None  # no ballot streamed with this mesa


def test_a_pending_acta_counts_nothing(sample_actas: dict[int, str]) -> None:
    acta = get(f"/api/actas/{mesa_of(SINGLE, sample_actas)}/presidente")
    assert acta["status"] == "pending" and acta["counted"] is None
    assert len(acta["versions"][0]["entries"]) == 1 and acta["image_sha256"]


def test_an_acta_in_review_lists_the_fields_that_differ(sample_actas: dict[int, str]) -> None:
    acta = get(f"/api/actas/{mesa_of(DISAGREEING, sample_actas)}/presidente")
    assert acta["status"] == "in_review" and acta["differing_fields"] == ["nulos"]
    assert acta["counted"] is None and acta["versions"][0]["differing_fields"] == ["nulos"]


def test_an_inconsistent_acta_names_its_failed_rules(sample_actas: dict[int, str]) -> None:
    mesa = mesa_of(AGREEING, sample_actas, status="inconsistent")
    acta = get(f"/api/actas/{mesa}/presidente")
    assert acta["failed_rules"] and acta["counted"] is None
    assert acta["failed_rules"] == list(Acta.objects.get(mesa_id=mesa, papeleta_id="presidente").failed_rules)


@pytest.mark.parametrize(
    "path", ["/api/actas/99999/presidente", "/api/actas/abc/presidente", "/api/actas/1/Rosada"]
)
def test_no_such_acta_is_404(path: str) -> None:
    assert "detail" in get(path, 404)


def test_an_unknown_papeleta_is_404() -> None:
    assert get(f"/api/actas/{CLEAN_MESA}/Morada", 404) == {
        "detail": "Unknown papeleta (code or ballot colour) 'Morada'."
    }


# --- The list -------------------------------------------------------------------------------


def walk(**params: Any) -> list[dict[str, Any]]:
    page = get("/api/actas/", **params)
    seen = page["results"]
    while page["next"]:
        page = get(page["next"])
        seen += page["results"]
    return seen


def test_the_list_pages_through_every_acta_in_mesa_order(sample_actas: dict[int, str]) -> None:
    listed = walk(page_size=3)
    assert [a["mesa"] for a in listed] == sorted(sample_actas)
    heads = {a.mesa_id: a for a in Acta.objects.all()}
    for row in listed:
        head = heads[row["mesa"]]
        assert (row["status"], row["failed_rules"]) == (head.status, list(head.failed_rules))


@pytest.mark.parametrize("status", ["counted", "inconsistent", "in_review", "pending"])
def test_the_list_by_status_and_area(status: str) -> None:
    heads = Acta.objects.filter(status=status)
    assert [a["mesa"] for a in walk(status=status, page_size=2)] == sorted(h.mesa_id for h in heads)
    for departamento in {h.departamento_id for h in heads}:
        wanted = sorted(h.mesa_id for h in heads if h.departamento_id == departamento)
        assert [
            a["mesa"] for a in walk(status=status, departamento=departamento, papeleta="Blanca")
        ] == wanted
        municipio = next(h.municipio_id for h in heads if h.departamento_id == departamento)
        in_municipio = sorted(h.mesa_id for h in heads if h.municipio_id == municipio)
        listed = walk(status=status, departamento=departamento, municipio=municipio)
        assert [a["mesa"] for a in listed] == in_municipio


@pytest.mark.parametrize(
    "params", [{"departamento": "01"}, {"papeleta": "presidente"}, {"municipio": "Mixco"}]
)
def test_an_area_or_papeleta_without_status_is_refused(params: dict[str, str]) -> None:
    assert set(get("/api/actas/", 400, **params)["errors"]) == {"status"}


def test_an_unknown_status_is_refused() -> None:
    assert set(get("/api/actas/", 400, status="lost")["errors"]) == {"status"}


# --- Two counts, never added ----------------------------------------------------------------


def stream(mesa: int, by_sigla: dict[str, int], papeleta: str = "presidente") -> None:
    """Ballots naming `mesa`, as its sede streams them, stored through the real write path."""
    place = Mesa.objects.get(numero=mesa)
    fields = {"departamento": place.departamento_id, "municipio": place.municipio_id, "sede": place.sede}
    votes = [
        vote_validate(
            {**fields, "papeleta": papeleta, "partido": sigla, "mesa": mesa}, received_at=timezone.now()
        )
        for sigla, count in by_sigla.items()
        for _ in range(count)
    ]
    votes_record(votes=votes, route="grpc")


def counted_as_stream(mesa: int) -> dict[str, int]:
    counted = get(f"/api/actas/{mesa}/presidente")["counted"]
    return {**counted["votes"], "NULO": counted["nulos"], "BLANCO": counted["blancos"]}


def test_the_stream_that_matches_its_counted_acta_is_no_discrepancy() -> None:
    stream(CLEAN_MESA, counted_as_stream(CLEAN_MESA))
    acta = get(f"/api/actas/{CLEAN_MESA}/presidente")
    assert acta["stream"] == {sigla: n for sigla, n in counted_as_stream(CLEAN_MESA).items() if n}
    assert acta["discrepancy"] is False
    [listed] = [a for a in walk(status="counted") if a["mesa"] == CLEAN_MESA]
    assert listed["discrepancy"] is False


@pytest.mark.parametrize("change", ["one vote moved", "a nulo missing", "a partido the acta lacks"])
def test_a_stream_that_differs_from_its_counted_acta_is_a_discrepancy(change: str) -> None:
    ballots = counted_as_stream(CLEAN_MESA)
    top = max((s for s in ballots if s not in ("NULO", "BLANCO")), key=lambda s: ballots[s])
    if change == "one vote moved":
        other = next(s for s in ballots if s not in (top, "NULO", "BLANCO"))
        ballots[top] -= 1
        ballots[other] += 1
    elif change == "a nulo missing":
        assert ballots["NULO"] > 0
        ballots["NULO"] -= 1
    else:
        ballots["CAMBIO"] = 1  # on the vote's papeleta, absent from the acta's
    stream(CLEAN_MESA, ballots)
    assert get(f"/api/actas/{CLEAN_MESA}/presidente")["discrepancy"] is True
    [listed] = [a for a in walk(status="counted") if a["mesa"] == CLEAN_MESA]
    assert listed["discrepancy"] is True


def test_a_stream_beside_an_acta_not_counted_is_not_compared(sample_actas: dict[int, str]) -> None:
    mesa = mesa_of(SINGLE, sample_actas)
    stream(mesa, {"UNE": 2})
    acta = get(f"/api/actas/{mesa}/presidente")
    assert acta["stream"] == {"UNE": 2} and acta["discrepancy"] is None


def _votes(answer: dict[str, Any]) -> dict[str, int]:
    return {row["partido"]: row["votes"] for row in answer["results"]}


def test_source_actas_and_source_votes_are_never_added() -> None:
    stream(CLEAN_MESA, {"UNE": 5, "VAMOS": 2, "NULO": 1})  # Tiquisate (Escuintla), like the acta
    acta_votes = Counter(
        {(t.partido_id): t.votes for t in ActaTally.objects.filter(departamento_id="05") if t.votes}
    )
    vote_votes = Counter({t.partido_id: t.votes for t in AreaTally.objects.filter(departamento_id="05")})
    assert acta_votes and vote_votes

    from_votes = get("/api/results/partidos", departamento="05")
    from_actas = get("/api/results/partidos", departamento="05", source="actas")
    assert _votes(from_votes) == {"UNE": 5, "VAMOS": 2}
    assert _votes(get("/api/results/partidos", departamento="05", source="votes")) == _votes(from_votes)
    assert _votes(from_actas) == dict(acta_votes)
    assert from_votes["ballots"]["nulos"] == 1
    counted = get(f"/api/actas/{CLEAN_MESA}/presidente")["counted"]
    assert from_actas["ballots"]["nulos"] == counted["nulos"]

    summary_votes = get("/api/results/summary")
    summary_actas = get("/api/results/summary", source="actas")
    assert summary_votes["total"] == 8
    progress = get("/api/results/progress")
    assert summary_actas["total"] == progress["cast"] and summary_actas["by_route"] == {}
    assert summary_actas["by_papeleta"]["presidente"] == progress["cast"]

    top_actas = get("/api/results/top-departamentos", source="actas", limit=22)
    assert sum(row["votes"] for row in top_actas["results"]) == progress["valid"]
    top_votes = get("/api/results/top-departamentos", limit=22)
    assert [(row["departamento"], row["votes"]) for row in top_votes["results"]] == [("Escuintla", 7)]


def counted_by_sede(papeleta: str | None = None) -> list[dict[str, Any]]:
    """top-sedes?source=actas recounted here from the stored rows: each counted acta's chosen
    entry (valid, nulos and blancos) at its mesa's sede, by ballots then INE codes."""
    ballots: Counter[tuple[str, str, str]] = Counter()
    heads = Acta.objects.filter(status="counted").select_related("counted_entry")
    for head in heads.filter(papeleta_id=papeleta) if papeleta else heads:
        mesa, entry = Mesa.objects.get(numero=head.mesa_id), head.counted_entry
        assert entry is not None
        ballots[(mesa.departamento_id, mesa.municipio_id, mesa.sede)] += (
            sum(entry.votes.values()) + entry.nulos + entry.blancos
        )
    ranked = sorted(ballots.items(), key=lambda row: (-row[1], row[0]))
    names = dict(Departamento.objects.values_list("code", "nombre"))
    towns = dict(Municipio.objects.values_list("code", "nombre"))
    return [
        {"departamento": names[dep], "municipio": towns[mun], "sede": sede, "votes": n}
        for (dep, mun, sede), n in ranked
        if n
    ]


def test_top_sedes_from_the_counted_actas_only() -> None:
    # CLEAN_MESA's acta is counted on a second papeleta too: every papeleta differs from one.
    actas_record(
        actas=[
            entry(CLEAN_MESA, "ana", papeleta="municipal"),
            entry(CLEAN_MESA, "beto", papeleta="municipal"),
        ],
        route="grpc",
    )
    assert Acta.objects.get(mesa_id=CLEAN_MESA, papeleta_id="municipal").status == "counted"
    everywhere = counted_by_sede()
    assert len(everywhere) > 1, "the sample counts actas at several sedes"
    assert everywhere != counted_by_sede("presidente")
    answers = {
        papeleta: get("/api/results/top-sedes", source="actas", limit=100, papeleta=papeleta or "")
        for papeleta in (None, "presidente", "municipal")
    }
    for papeleta, answer in answers.items():
        assert answer["papeleta"] == papeleta
        assert answer["results"] == counted_by_sede(papeleta)
        # every sede listed, so they add up to the nationwide ballots of the counted actas
        assert sum(row["votes"] for row in answer["results"]) == answer["ballots"]["cast"]
    assert get("/api/results/top-sedes", source="actas", limit=1)["results"] == everywhere[:1]
    assert get("/api/results/top-sedes", source="actas", papeleta="parlacen")["results"] == []

    # Ballots streamed at a counted acta's mesa and at a mesa not counted: never in the actas' answer.
    stream(CLEAN_MESA, {"UNE": 40, "NULO": 2})
    pending = next(a.mesa_id for a in Acta.objects.exclude(status="counted"))
    stream(pending, {"VAMOS": 50})
    assert get("/api/results/top-sedes", source="actas", limit=100) == answers[None]
    from_votes = get("/api/results/top-sedes", limit=100)
    assert [row["votes"] for row in from_votes["results"]] == [50, 42]
    assert from_votes["ballots"]["cast"] == 92


def test_an_unknown_source_is_refused() -> None:
    assert set(get("/api/results/summary", 400, source="both")["errors"]) == {"source"}


def test_a_correction_accepted_moves_the_actas_count_and_nothing_of_the_votes() -> None:
    before = get("/api/results/partidos", departamento="05", source="actas")
    semilla = _votes(before)["SEMILLA"]
    fixed = dict(entry(CLEAN_MESA, "ana").votes)
    fixed["SEMILLA"] += 2
    fixed_total = sum(fixed.values())
    base = entry(CLEAN_MESA, "ana")
    changes = {
        "votes": fixed,
        "total_valid": fixed_total,
        "total_cast": fixed_total + base.nulos + base.blancos,
        "voters": fixed_total + base.nulos + base.blancos + base.invalidos,
        "ballots_unused": base.ballots_received - (fixed_total + base.nulos + base.blancos + base.invalidos),
        "corrects": True,
        "reason": "SEMILLA mal leído",
    }
    actas_record(
        actas=[entry(CLEAN_MESA, "carla", **changes), entry(CLEAN_MESA, "dora", **changes)], route="grpc"
    )
    acta = get(f"/api/actas/{CLEAN_MESA}/presidente")
    assert [v["number"] for v in acta["versions"]] == [1, 2] and acta["status"] == "counted"
    assert acta["counted"]["votes"]["SEMILLA"] == fixed["SEMILLA"]
    assert _votes(get("/api/results/partidos", departamento="05", source="actas"))["SEMILLA"] == semilla + 2
    assert get("/api/results/partidos", departamento="05")["results"] == []  # no vote streamed


def test_a_mesas_actas_of_several_papeletas_page_in_papeleta_order(sample_actas: dict[int, str]) -> None:
    for papeleta in ("municipal", "parlacen"):
        actas_record(actas=[entry(CLEAN_MESA, "ana", papeleta=papeleta)], route="grpc")
    listed = [(a["mesa"], a["papeleta"]) for a in walk(page_size=1)]
    assert listed == sorted(Acta.objects.values_list("mesa_id", "papeleta_id"))
    assert [(m, p) for m, p in listed if m == CLEAN_MESA] == [
        (CLEAN_MESA, "municipal"),
        (CLEAN_MESA, "parlacen"),
        (CLEAN_MESA, "presidente"),
    ]
    pending = [(a["mesa"], a["papeleta"]) for a in walk(status="pending", page_size=1)]
    assert pending == sorted(Acta.objects.filter(status="pending").values_list("mesa_id", "papeleta_id"))
