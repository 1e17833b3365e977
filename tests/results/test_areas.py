"""The area view (election.results.areas) against a recount made here from the stored rows:
the votes one by one, the acta heads and their counted entries, the mesas. Both sources, every
level; the bulk form (area_views) against the per-request one for every key; the actas of a
sede in bulk against the acta detail of the API.

The data: the twenty sample actas (counted, inconsistent, pending, in review), two more mesas
in the clean mesa's sede (one counted, one pending), and ballots streamed through the real
recording path, some naming their mesa, nulos and blancos among them, a tie for the lead in
one sede, and sedes the catalogue of mesas does not hold.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from election.actas.recording import actas_record
from election.actas.types import ValidatedActa
from election.actas.validation import acta_validate
from election.catalogue.mesa_index import mesa_index_clear
from election.models import Acta, Departamento, Mesa, Municipio, Papeleta, PapeletaPartido, Partido, Vote
from election.results.actas import acta_detail
from election.results.areas import AreaKey, area_view, area_views
from election.results.consistent import consistent_read
from election.results.mesa_actas import mesa_actas, sedes_actas
from election.votes.recording import votes_record
from election.votes.validation import vote_validate
from tests.api.conftest import KNOWN_VOTES, NULL_AND_BLANK, record
from tests.support.actas import CLEAN_MESA, typed

SOURCES = ("actas", "votes")
CLEAN_SEDE = ("05", "0506", "881")  # Tiquisate, Escuintla: CLEAN_MESA's sede
EXTRA_MESAS = (7792, 7793)  # added to that sede: one counted, one pending
# (departamento, municipio, sede, partido, mesa, how many) on presidente, as the field writes them.
MESA_VOTES = [
    ("Escuintla", "Tiquisate", 881, "UNE", CLEAN_MESA, 2),
    ("Escuintla", "Tiquisate", 881, "VAMOS", 7792, 2),  # a tie with UNE for the sede's lead
    ("Escuintla", "Tiquisate", 881, "Votos nulos", CLEAN_MESA, 1),
    ("Guatemala", "Guatemala", 1, "SEMILLA", 1, 3),
    ("Guatemala", "Guatemala", 86, "en blanco", None, 1),
    ("Guatemala", "Guatemala", 86, "CABAL", None, 1),
]


def clean_acta_at(mesa: int, entered_by: str) -> ValidatedActa:
    """CLEAN_MESA's sample acta as `entered_by` types it for another mesa of its sede."""
    typed_json = typed(CLEAN_MESA, entered_by=entered_by, acta_id=str(uuid.uuid4())) | {"mesa": mesa}
    return replace(acta_validate(typed_json), credential=f"token:{entered_by}")


@pytest.fixture
def area_data(sample_actas: dict[int, str], redis_client: Any) -> None:
    dep, mun, sede = CLEAN_SEDE
    Mesa.objects.bulk_create(
        Mesa(numero=n, departamento_id=dep, municipio_id=mun, sede=sede, padron=350) for n in EXTRA_MESAS
    )
    mesa_index_clear()
    counted, pending = EXTRA_MESAS
    actas_record(actas=[clean_acta_at(counted, "ana")], route="grpc")
    actas_record(actas=[clean_acta_at(counted, "beto")], route="redis")
    actas_record(actas=[clean_acta_at(pending, "ana")], route="grpc")
    record(KNOWN_VOTES + NULL_AND_BLANK)
    for departamento, municipio, its_sede, partido, mesa, n in MESA_VOTES:
        vote = {"departamento": departamento, "municipio": municipio, "sede": its_sede}
        vote |= {"papeleta": "presidente", "partido": partido, **({"mesa": mesa} if mesa else {})}
        batch = [
            vote_validate(vote | {"vote_id": str(uuid.uuid4())}, received_at=timezone.now()) for _ in range(n)
        ]
        votes_record(votes=batch, route="grpc")


# --- The recount ---------------------------------------------------------------------------------


def pct(part: int, whole: int) -> float:
    return float((Decimal(part * 100) / whole).quantize(Decimal("0.01"), ROUND_HALF_UP)) if whole else 0.0


def largest_remainder(counts: list[int]) -> list[float]:
    total = sum(counts)
    if not total:
        return [0.0] * len(counts)
    shares = [(count * 10_000 // total, count * 10_000 % total) for count in counts]
    extra = sorted(range(len(counts)), key=lambda i: -shares[i][1])[: 10_000 - sum(s for s, _ in shares)]
    return [(shares[i][0] + (i in extra)) / 100 for i in range(len(counts))]


def numbers(source: str, papeleta: str, mesas: list[Mesa], votes: Q) -> dict[str, Any]:
    """An area's numbers from the rows: its mesas' acta heads (progress; the actas' counts) and,
    for the votes, the stored votes matching `votes`."""
    kinds = dict(Partido.objects.exclude(kind="valid").values_list("sigla", "kind"))
    heads = list(
        Acta.objects.filter(papeleta_id=papeleta, mesa_id__in=[m.numero for m in mesas]).select_related(
            "counted_entry"
        )
    )
    padron = {m.numero: m.padron for m in mesas}
    counted = [h.counted_entry for h in heads if h.status == "counted" and h.counted_entry is not None]
    assert len(counted) == sum(h.status == "counted" for h in heads)
    statuses = Counter(h.status for h in heads)
    voters = sum(e.voters for e in counted)
    counted_padron = sum(padron[e.mesa_id] for e in counted)
    progress = {
        "actas_expected": len(mesas),
        "actas_counted": len(counted),
        "actas_inconsistent": statuses["inconsistent"],
        "actas_in_review": statuses["in_review"],
        "actas_pending": statuses["pending"],
        "percent_counted": pct(len(counted), len(mesas)),
        "padron": counted_padron,
        "voters": voters,
        "turnout_percent": pct(voters, counted_padron),
    }
    if source == "actas":
        partidos = Counter[str]()
        for e in counted:
            partidos.update(e.votes)
        nulos, blancos = sum(e.nulos for e in counted), sum(e.blancos for e in counted)
    else:
        by_sigla = Counter(
            Vote.objects.filter(votes, papeleta_id=papeleta).values_list("partido_id", flat=True)
        )
        partidos = Counter({s: n for s, n in by_sigla.items() if s not in kinds})
        nulos = sum(n for s, n in by_sigla.items() if kinds.get(s) == "nulo")
        blancos = sum(n for s, n in by_sigla.items() if kinds.get(s) == "blanco")
    on_ballot = set(PapeletaPartido.objects.filter(papeleta_id=papeleta).values_list("partido_id", flat=True))
    on_ballot = on_ballot or set(Partido.objects.filter(kind="valid").values_list("sigla", flat=True))
    ranked = sorted(
        ((s, partidos[s]) for s in on_ballot | {s for s, n in partidos.items() if n}),
        key=lambda r: (-r[1], r[0]),
    )
    valid = sum(partidos.values())
    return {"progress": progress, "ranked": ranked, "valid": valid, "nulos": nulos, "blancos": blancos}


def summary(code: str, nombre: str, n: dict[str, Any]) -> dict[str, Any]:
    ranked, total = n["ranked"], n["valid"]
    percents = largest_remainder([v for _, v in ranked])
    leader = ranked[0] if total else None
    runner = ranked[1] if leader and ranked[1][1] else None
    return {
        "code": code,
        "nombre": nombre,
        "total": total,
        "cast": total + n["nulos"] + n["blancos"],
        "leader": leader[0] if leader else None,
        "leader_votes": leader[1] if leader else 0,
        "leader_percent": percents[0] if leader else None,
        "runner_up": runner[0] if runner else None,
        "margin_percent": pct(leader[1] - (runner[1] if runner else 0), total) if leader else None,
        "actas_expected": n["progress"]["actas_expected"],
        "actas_counted": n["progress"]["actas_counted"],
        "percent_counted": n["progress"]["percent_counted"],
    }


def area_numbers(source: str, papeleta: str, **area: str) -> dict[str, Any]:
    """numbers() of an area given by codes (departamento, municipio, sede, or mesa)."""
    if "mesa" in area:
        mesa = Mesa.objects.get(numero=area["mesa"])
        return numbers(source, papeleta, [mesa], Q(mesa=mesa.numero))
    columns = {f"{k}_id" if k != "sede" else k: v for k, v in area.items()}
    return numbers(source, papeleta, list(Mesa.objects.filter(**columns)), Q(**columns))


def sede_key(sede: str) -> tuple[int, int, str]:
    return (0, int(sede), "") if sede.isdecimal() else (1, 0, sede)


def recount(source: str, papeleta: str, key: AreaKey) -> dict[str, Any]:
    """The view of `key` as the rows make it (as_of aside)."""
    area = {k: v for k, v in key._asdict().items() if k != "level" and v is not None}
    own = area_numbers(source, papeleta, **area)
    children: list[dict[str, Any]]
    if key.level == "pais":
        children = [
            summary(d.code, d.nombre, area_numbers(source, papeleta, departamento=d.code))
            for d in Departamento.objects.order_by("code")
        ]
    elif key.level == "departamento":
        children = [
            summary(
                m.code,
                m.nombre,
                area_numbers(source, papeleta, departamento=m.departamento_id, municipio=m.code),
            )
            for m in Municipio.objects.filter(departamento_id=key.departamento).order_by("code")
        ]
    elif key.level == "municipio":
        within = {"departamento_id": key.departamento, "municipio_id": key.municipio}
        sedes = set(Mesa.objects.filter(**within).values_list("sede", flat=True))
        sedes |= set(Vote.objects.filter(**within).values_list("sede", flat=True))
        children = [
            summary(s, f"Sede {s}", area_numbers(source, papeleta, **area, sede=s))
            for s in sorted(sedes, key=sede_key)
        ]
    else:
        statuses = dict(Acta.objects.filter(papeleta_id=papeleta).values_list("mesa_id", "status"))
        children = [
            summary(str(m.numero), f"Mesa {m.numero}", area_numbers(source, papeleta, mesa=str(m.numero)))
            | {"status": statuses.get(m.numero, "pending")}
            for m in Mesa.objects.filter(
                departamento_id=key.departamento, municipio_id=key.municipio, sede=key.sede
            ).order_by("numero")
        ]
    percents = largest_remainder([v for _, v in own["ranked"]])
    names = dict(Partido.objects.values_list("sigla", "nombre"))
    cast = own["valid"] + own["nulos"] + own["blancos"]
    ballot_percents = largest_remainder([own["valid"], own["nulos"], own["blancos"]])
    return {
        "source": source,
        "papeleta": papeleta,
        "level": key.level,
        "departamento": {
            "code": key.departamento,
            "nombre": Departamento.objects.get(code=key.departamento).nombre,
        }
        if key.departamento
        else None,
        "municipio": {"code": key.municipio, "nombre": Municipio.objects.get(code=key.municipio).nombre}
        if key.municipio
        else None,
        "sede": key.sede,
        "progress": own["progress"],
        "ballots": {
            "valid": own["valid"],
            "nulos": own["nulos"],
            "blancos": own["blancos"],
            "cast": cast,
            "percent": dict(zip(("valid", "nulos", "blancos"), ballot_percents, strict=True)),
        },
        "total": own["valid"],
        "results": [
            {"partido": s, "nombre": names[s], "votes": v, "percent": p}
            for (s, v), p in zip(own["ranked"], percents, strict=True)
        ],
        "children": children,
    }


def without_time(view: dict[str, Any]) -> dict[str, Any]:
    assert view["as_of"]
    return {k: v for k, v in view.items() if k != "as_of"}


# --- Per request, every level, both sources -------------------------------------------------------

KEYS = [
    AreaKey("pais"),
    AreaKey("departamento", "05"),
    AreaKey("departamento", "01"),
    AreaKey("departamento", "17"),  # Petén: votes only, no mesa in the test's catalogue
    AreaKey("municipio", "05", "0506"),
    AreaKey("municipio", "01", "0101"),
    AreaKey("municipio", "17", "1701"),  # Flores: a sede with votes and no mesa
    AreaKey("sede", *CLEAN_SEDE),
    AreaKey("sede", "01", "0101", "1"),
    AreaKey("sede", "01", "0101", "86"),
    AreaKey("sede", "17", "1701", "1"),
]


@pytest.mark.usefixtures("area_data")
@pytest.mark.parametrize("source", SOURCES)
def test_each_level_is_the_recount_of_the_stored_rows(source: str) -> None:
    for key in KEYS:
        view = area_view(source, "presidente", key.departamento, key.municipio, key.sede)
        assert without_time(view) == recount(source, "presidente", key), key


@pytest.mark.usefixtures("area_data")
def test_the_data_reaches_every_case() -> None:
    """The recount above is tested on something: counted and uncounted actas in one sede, a
    tie, a sede outside the catalogue, nulos and blancos from both sources."""
    sede = area_view("votes", "presidente", *CLEAN_SEDE)
    assert sede["results"][:2] == [
        {"partido": "UNE", "nombre": sede["results"][0]["nombre"], "votes": 2, "percent": 50.0},
        {"partido": "VAMOS", "nombre": sede["results"][1]["nombre"], "votes": 2, "percent": 50.0},
    ]
    municipio = area_view("votes", "presidente", "05", "0506")
    [child] = [c for c in municipio["children"] if c["code"] == "881"]
    assert (child["leader"], child["runner_up"], child["margin_percent"]) == ("UNE", "VAMOS", 0.0)
    actas = area_view("actas", "presidente", *CLEAN_SEDE)
    assert [c["status"] for c in actas["children"]] == ["counted", "counted", "pending"]
    assert actas["progress"]["actas_counted"] == 2 and actas["total"] > 0
    flores = area_view("votes", "presidente", "17", "1701")
    assert [c["code"] for c in flores["children"]] == ["1"] and flores["children"][0]["actas_expected"] == 0
    pais = area_view("actas", "presidente")
    assert pais["ballots"]["nulos"] and pais["ballots"]["blancos"]
    assert (
        min(pais["progress"][f"actas_{s}"] for s in ("counted", "inconsistent", "in_review", "pending")) >= 1
    )


@pytest.mark.usefixtures("area_data")
@pytest.mark.parametrize("source", SOURCES)
def test_an_area_without_a_ballot_lists_every_partido_at_zero(source: str) -> None:
    papeleta = Papeleta.objects.get(color="Celeste").code  # no ballot nor acta in the data
    view = area_view(source, papeleta)
    assert without_time(view) == recount(source, papeleta, AreaKey("pais"))
    on_ballot = (
        PapeletaPartido.objects.filter(papeleta_id=papeleta).count()
        or Partido.objects.filter(kind="valid").count()
    )
    assert len(view["results"]) == on_ballot and {r["votes"] for r in view["results"]} == {0}
    assert [r["partido"] for r in view["results"]] == sorted(r["partido"] for r in view["results"])
    assert len(view["children"]) == Departamento.objects.count() == 22
    assert all(c["leader"] is None and c["margin_percent"] is None for c in view["children"])


@pytest.mark.usefixtures("area_data")
def test_the_progress_is_the_progress_endpoints() -> None:
    from election.results.actas import acta_progress, progress_answer

    for key in KEYS[:7]:
        view = area_view("votes", "presidente", key.departamento, key.municipio)
        expected = acta_progress(
            papeleta="presidente", departamento=key.departamento, municipio=key.municipio
        )
        assert view["progress"] == progress_answer(expected)


# --- In bulk ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("area_data")
@pytest.mark.parametrize("source", SOURCES)
def test_the_bulk_views_are_the_per_request_ones(source: str, django_assert_max_num_queries: Any) -> None:
    area_view(source, "presidente")  # the catalogue's and the mesas' in-memory copies are read
    with django_assert_max_num_queries(6):
        bulk = list(area_views(source, "presidente"))
    keys = [key for key, _ in bulk]
    assert len(keys) == len(set(keys))
    municipios = list(Municipio.objects.order_by("code").values_list("departamento_id", "code"))
    assert [k for k in keys if k.level != "sede"] == [
        AreaKey("pais"),
        *(
            AreaKey("departamento", d)
            for d in Departamento.objects.order_by("code").values_list("code", flat=True)
        ),
        *(AreaKey("municipio", d, m) for d, m in municipios),
    ]
    sedes = {(m.departamento_id, m.municipio_id, m.sede) for m in Mesa.objects.all()}
    sedes |= set(Vote.objects.values_list("departamento_id", "municipio_id", "sede"))
    assert {(k.departamento, k.municipio, k.sede) for k in keys if k.level == "sede"} == sedes
    for key, view in bulk:
        per_request = area_view(source, "presidente", key.departamento, key.municipio, key.sede)
        assert without_time(view) == without_time(per_request), key


# --- The actas of a sede ---------------------------------------------------------------------------


@pytest.mark.usefixtures("area_data")
def test_a_sedes_actas_are_the_acta_details(django_assert_max_num_queries: Any) -> None:
    _, municipio, sede = CLEAN_SEDE
    with django_assert_max_num_queries(4):
        actas = mesa_actas(municipio, sede)
    assert sorted(actas) == [CLEAN_MESA, *EXTRA_MESAS]
    for mesa, by_papeleta in actas.items():
        assert set(by_papeleta) == set(
            Acta.objects.filter(mesa_id=mesa).values_list("papeleta_id", flat=True)
        )
        for papeleta, detail in by_papeleta.items():
            assert detail == acta_detail(mesa=mesa, papeleta=papeleta)
    assert actas[CLEAN_MESA]["presidente"]["stream"]  # votes named the mesa: compared with its acta


@pytest.mark.usefixtures("area_data")
def test_every_sedes_actas_in_chunks(django_assert_max_num_queries: Any) -> None:
    mesas = Mesa.objects.count()
    with django_assert_max_num_queries(4 * 3):  # three chunks of about ten mesas
        every = list(sedes_actas(chunk_mesas=mesas // 3 + 1))
    assert {(m, s) for m, s, _ in every} == set(Mesa.objects.values_list("municipio_id", "sede"))
    for municipio, sede, actas in every:
        assert actas == mesa_actas(municipio, sede)
    listed = {mesa for _, _, actas in every for mesa in actas}
    assert listed == set(Mesa.objects.values_list("numero", flat=True))


def test_a_mesa_without_any_acta_is_listed_empty(sample_mesas: dict[int, Mesa]) -> None:
    mesa = next(iter(sample_mesas.values()))
    assert mesa_actas(mesa.municipio_id, mesa.sede) == {mesa.numero: {}}


def test_consistent_reads_see_one_moment(committed_db: None, redis_client: Any) -> None:
    """Votes committed meanwhile by another connection are not seen inside the block (the API's
    connection reads committed rows: without the block, the second read would see them)."""
    record([("Peten", "Flores", 1, "Blanca", "UNE", "grpc", 1)])

    def more_votes() -> None:
        try:
            record([("Peten", "Flores", 1, "Blanca", "VAMOS", "redis", 2)])
        finally:
            connection.close()  # this thread's own

    with consistent_read():
        before = area_view("votes", "presidente", "17")
        writer = threading.Thread(target=more_votes)
        writer.start()
        writer.join()
        assert without_time(area_view("votes", "presidente", "17")) == without_time(before)
    assert area_view("votes", "presidente", "17")["total"] == before["total"] + 2 == 3
