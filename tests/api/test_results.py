"""The results endpoints against MariaDB and Redis, each answer checked against a recount."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import expected
from tests.api.conftest import record

pytestmark = pytest.mark.django_db

TOP = "/api/results/top-departamentos"
PARTIDOS = "/api/results/partidos"
SEDES = "/api/results/top-sedes"
SUMMARY = "/api/results/summary"


def test_top_departamentos_by_valid_votes_then_name(known_ballots: list[str], get: Any) -> None:
    answer = get(TOP, papeleta="presidente", limit=22)
    assert answer["results"] == expected.top_departamentos("presidente", 22)
    assert answer["ballots"] == expected.ballots(expected.on_papeleta("presidente"))
    # Known by hand: Petén 7; Guatemala 4; Chimaltenango and Escuintla tie at 2, by name;
    # Sololá cast only a blank ballot. By ballots cast Chimaltenango (2 + 3 null) would tie
    # Guatemala (4 + 1 blank) and come first.
    assert [(r["departamento"], r["votes"], r["ballots"]["cast"]) for r in answer["results"]] == [
        ("Petén", 7, 9),
        ("Guatemala", 4, 5),
        ("Chimaltenango", 2, 5),
        ("Escuintla", 2, 2),
        ("Sololá", 0, 1),
    ]
    assert answer["results"][2]["ballots"] == {
        "valid": 2,
        "nulos": 3,
        "blancos": 0,
        "cast": 5,
        "percent": {"valid": 40.0, "nulos": 60.0, "blancos": 0.0},
    }


def test_top_departamentos_defaults_to_presidente_top_3_and_takes_colours(
    known_ballots: list[str], get: Any
) -> None:
    default = get(TOP)
    assert default == {
        "papeleta": "presidente",
        "ballots": expected.ballots(expected.on_papeleta("presidente")),
        "results": expected.top_departamentos("presidente", 3),
    }
    assert get(TOP, papeleta="amarilla", limit=1) == {
        "papeleta": "parlacen",
        "ballots": expected.ballots(expected.on_papeleta("parlacen")),
        "results": expected.top_departamentos("parlacen", 1),
    }


def test_partidos_percentages_sum_to_100_with_ties_by_sigla(known_ballots: list[str], get: Any) -> None:
    answer = get(PARTIDOS, departamento="peten", municipio="FLORES", papeleta="Blanca")
    want = expected.partidos("17", "1701", "presidente")
    assert answer == {"departamento": "Petén", "municipio": "Flores", "papeleta": "presidente", **want}
    # Of the 7 valid votes (the 2 null ballots are no partido's): 3, 3 and 1 of 7 are 4285.71,
    # 4285.71 and 1428.57 hundredths; the two spare hundredths go to the largest remainders.
    assert [(r["partido"], r["percent"]) for r in answer["results"]] == [
        ("UNE", 42.86),
        ("VAMOS", 42.86),
        ("SEMILLA", 14.28),
    ]
    assert answer["total"] == 7
    # Null and blank ballots as shares of all 9 cast: 7/9 and 2/9.
    assert answer["ballots"] == {
        "valid": 7,
        "nulos": 2,
        "blancos": 0,
        "cast": 9,
        "percent": {"valid": 77.78, "nulos": 22.22, "blancos": 0.0},
    }


def test_partidos_of_an_area_with_only_a_blank_ballot(known_ballots: list[str], get: Any) -> None:
    answer = get(PARTIDOS, departamento="Solola")
    assert answer == {
        "departamento": "Sololá",
        "municipio": None,
        "papeleta": None,
        **expected.partidos("07", None, None),
    }
    assert (answer["total"], answer["results"]) == (0, [])
    assert answer["ballots"]["percent"] == {"valid": 0.0, "nulos": 0.0, "blancos": 100.0}


def test_an_equal_split_gives_the_spare_hundredth_by_sigla(db: None, redis_client: Any, get: Any) -> None:
    record([("Jutiapa", "Jutiapa", 1, "Blanca", partido, "grpc", 1) for partido in ("VAMOS", "UNE", "CABAL")])
    answer = get(PARTIDOS, departamento="Jutiapa", municipio="Jutiapa")
    assert answer["results"] == expected.partidos("22", "2201", None)["results"]
    assert [(r["partido"], r["percent"]) for r in answer["results"]] == [
        ("CABAL", 33.34),
        ("UNE", 33.33),
        ("VAMOS", 33.33),
    ]


@pytest.mark.parametrize(
    ("params", "codes"),
    [
        ({"departamento": "Guatemala"}, ("01", None, None)),
        ({"departamento": "01", "municipio": "0108"}, ("01", "0108", None)),
        ({"departamento": "Petén", "papeleta": "municipal"}, ("17", None, "municipal")),
        ({"departamento": "Peten"}, ("17", None, None)),
    ],
)
def test_partidos_in_every_area(known_ballots: list[str], get: Any, params: dict, codes: tuple) -> None:
    answer = get(PARTIDOS, **params)
    want = expected.partidos(*codes)
    assert (answer["total"], answer["ballots"], answer["results"]) == (
        want["total"],
        want["ballots"],
        want["results"],
    )
    assert want["total"] > 0
    assert round(sum(r["percent"] for r in answer["results"]) * 100) == 10000


def test_partidos_of_an_area_without_votes_is_empty(known_ballots: list[str], get: Any) -> None:
    answer = get(PARTIDOS, departamento="Santa Rosa")
    assert answer == {
        "departamento": "Santa Rosa",
        "municipio": None,
        "papeleta": None,
        "total": 0,
        "ballots": {
            "valid": 0,
            "nulos": 0,
            "blancos": 0,
            "cast": 0,
            "percent": {"valid": 0.0, "nulos": 0.0, "blancos": 0.0},
        },
        "results": [],
    }


def test_top_sedes_all_papeletas_and_one(known_ballots: list[str], get: Any) -> None:
    everything = get(SEDES, limit=100)
    assert everything == {
        "papeleta": None,
        "ballots": expected.ballots(expected.on_papeleta(None)),
        "results": expected.top_sedes(100, None),
    }
    # By ballots cast: Flores' sede 1 holds 9 votes and 2 null ballots. "007" and 7 are the
    # same sede: Mixco's sede 7 holds 4 + 1 votes and a blank ballot. Patzún's sede 2 (2 votes,
    # 3 null) and Mixco's tie at 6 go in code order: Guatemala (01) before Chimaltenango (04).
    assert everything["results"][:4] == [
        {"departamento": "Petén", "municipio": "Flores", "sede": "1", "votes": 11},
        {"departamento": "Guatemala", "municipio": "Guatemala", "sede": "9", "votes": 9},
        {"departamento": "Guatemala", "municipio": "Mixco", "sede": "7", "votes": 6},
        {"departamento": "Chimaltenango", "municipio": "Patzún", "sede": "2", "votes": 5},
    ]
    assert get(SEDES) == {
        "papeleta": None,
        "ballots": expected.ballots(expected.on_papeleta(None)),
        "results": expected.top_sedes(5, None),
    }
    assert get(SEDES, papeleta="Blanca", limit=3) == {
        "papeleta": "presidente",
        "ballots": expected.ballots(expected.on_papeleta("presidente")),
        "results": expected.top_sedes(3, "presidente"),
    }


def test_summary_counts_routes_papeletas_and_latency(known_ballots: list[str], get: Any) -> None:
    answer = get(SUMMARY)
    assert answer["as_of"]
    del answer["as_of"]
    assert answer == expected.summary()
    assert answer["by_route"]["grpc"]["votes"] == 21
    assert answer["by_route"]["redis"]["votes"] == 13
    # 27 valid votes, 5 null and 2 blank ballots: 79.41, 14.71 and 5.88 % of the 34 cast.
    assert answer["ballots"] == {
        "valid": 27,
        "nulos": 5,
        "blancos": 2,
        "cast": 34,
        "percent": {"valid": 79.41, "nulos": 14.71, "blancos": 5.88},
    }


def test_summary_of_an_empty_count(db: None, get: Any) -> None:
    answer = get(SUMMARY)
    assert answer["total"] == 0
    assert answer["ballots"]["cast"] == 0
    assert answer["by_route"] == {
        "grpc": {"votes": 0, "latency_ms": {"p50": None, "p95": None}},
        "redis": {"votes": 0, "latency_ms": {"p50": None, "p95": None}},
    }
    assert get(TOP) == {"papeleta": "presidente", "ballots": answer["ballots"], "results": []}
    assert get(SEDES) == {"papeleta": None, "ballots": answer["ballots"], "results": []}


def test_latency_percentiles_follow_the_spread(db: None, redis_client: Any, get: Any) -> None:
    record([("Peten", "Flores", 1, "Blanca", "UNE", "redis", 40)], latency_ms=25)
    answer = get(SUMMARY)
    redis_latency = answer["by_route"]["redis"]["latency_ms"]
    assert redis_latency == expected.summary()["by_route"]["redis"]["latency_ms"]
    # Latencies run from 25 ms to 1 s: the median is near 500 ms, the 95th near 950 ms.
    assert 450 <= redis_latency["p50"] <= 600
    assert 900 <= redis_latency["p95"] <= 1150


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (TOP, {"papeleta": "Morada"}, "papeleta"),
        (TOP, {"limit": 0}, "limit"),
        (TOP, {"limit": 23}, "limit"),
        (TOP, {"limit": "tres"}, "limit"),
        (PARTIDOS, {}, "departamento"),
        (PARTIDOS, {"departamento": "Atlantida"}, "departamento"),
        (PARTIDOS, {"departamento": "Petén", "municipio": "Mixco"}, "municipio"),
        (PARTIDOS, {"departamento": "Petén", "papeleta": "x"}, "papeleta"),
        (SEDES, {"limit": 101}, "limit"),
        (SEDES, {"papeleta": "gobernador"}, "papeleta"),
        ("/api/votes/latest", {"limit": 0}, "limit"),
    ],
)
def test_bad_parameters_are_400_with_the_field(
    db: None, get: Any, path: str, params: dict, field: str
) -> None:
    answer = get(path, status=400, **params)
    assert list(answer["errors"]) == [field]
    assert all(isinstance(message, str) and message for message in answer["errors"][field])


def test_a_municipio_in_another_departamento_says_where_it_is(db: None, get: Any) -> None:
    answer = get(PARTIDOS, status=400, departamento="Petén", municipio="Mixco")
    assert answer["errors"]["municipio"] == [
        "municipio 'Mixco' is not in departamento 'Petén' (it is in 'Guatemala')."
    ]
