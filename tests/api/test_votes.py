"""The vote list, the latest votes from Redis, the catalogue and the conditional GETs."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from election.models import Vote
from tests.api.conftest import record

pytestmark = pytest.mark.django_db

VOTES = "/api/votes/"


def walk(get: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of the vote list, following `next` links."""
    page = get(VOTES, **params)
    seen = list(page["results"])
    while page["next"]:
        page = get(page["next"])
        seen += page["results"]
    return seen


def test_every_vote_once_newest_first_across_pages(known_votes: list[str], get: Any) -> None:
    listed = walk(get, page_size=4)
    stored = list(Vote.objects.order_by("-id").values_list("vote_id", flat=True))
    assert [v["vote_id"] for v in listed] == [str(vote_id) for vote_id in stored]
    assert sorted(v["vote_id"] for v in listed) == sorted(known_votes)
    first = listed[0]
    assert set(first) == {
        "vote_id",
        "sede",
        "departamento",
        "municipio",
        "papeleta",
        "partido",
        "mesa",
        "route",
        "received_at",
        "stored_at",
    }
    assert first["mesa"] is None  # none of KNOWN_VOTES names its mesa
    # The newest vote is the last one recorded: Guatemala's parlacen vote for UNE.
    assert (first["departamento"], first["municipio"], first["papeleta"], first["partido"]) == (
        "Guatemala",
        "Guatemala",
        "parlacen",
        "UNE",
    )


@pytest.mark.parametrize(
    ("params", "filters"),
    [
        ({"departamento": "peten"}, {"departamento_id": "17"}),
        (
            {"departamento": "Guatemala", "municipio": "MIXCO", "sede": "007"},
            {"municipio_id": "0108", "sede": "7"},
        ),
        ({"municipio": "Patzun"}, {"municipio_id": "0407"}),
        ({"papeleta": "Rosada"}, {"papeleta_id": "municipal"}),
        ({"partido": "FCN"}, {"partido_id": "FCN-NACION"}),
        ({"route": "REDIS"}, {"route": "redis"}),
        ({"papeleta": "presidente", "partido": "une"}, {"papeleta_id": "presidente", "partido_id": "UNE"}),
        ({"municipio": "Flores", "sede": "001"}, {"municipio_id": "1701", "sede": "1"}),
        ({"departamento": "Jutiapa"}, {"departamento_id": "22"}),
        ({"departamento": "", "route": ""}, {}),
    ],
)
def test_filters_accept_every_spelling(known_votes: list[str], get: Any, params: dict, filters: dict) -> None:
    listed = walk(get, **params)
    want = Vote.objects.filter(**filters).order_by("-id").values_list("vote_id", flat=True)
    assert [v["vote_id"] for v in listed] == [str(vote_id) for vote_id in want]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"departamento": "Narnia"}, "departamento"),
        ({"municipio": "San José"}, "municipio"),  # in several departamentos: ambiguous alone
        ({"partido": "PARTIDO X"}, "partido"),
        ({"route": "carrier-pigeon"}, "route"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"sede": "x" * 40}, "sede"),
        # Combinations no index serves (tests/api/test_query_plans.py tries every one).
        ({"sede": "7"}, "sede"),
        ({"departamento": "Peten", "sede": "7"}, "sede"),
        ({"departamento": "Peten", "papeleta": "Blanca"}, "papeleta"),
        ({"papeleta": "Blanca", "route": "grpc"}, "route"),
    ],
)
def test_bad_filters_are_400(db: None, get: Any, params: dict, field: str) -> None:
    assert list(get(VOTES, status=400, **params)["errors"]) == [field]


def test_a_combination_no_index_serves_is_refused_with_the_ways_that_are(db: None, get: Any) -> None:
    errors = get(VOTES, status=400, municipio="Mixco", partido="UNE", route="grpc", sede="7")["errors"]
    groups = "by area (departamento, municipio, sede), by papeleta and partido, or by route, one at a time."
    assert errors == {
        "partido": [f"Not together with municipio, sede: the vote list filters {groups}"],
        "route": [f"Not together with municipio, sede: the vote list filters {groups}"],
    }
    assert get(VOTES, status=400, sede="7")["errors"] == {
        "sede": ["A sede is numbered within its municipio: give municipio too."]
    }


def test_links_hold_only_the_parameters_the_list_reads(known_votes: list[str], get: Any) -> None:
    """An unknown parameter changes nothing in the answer: the microcache keys on the known ones."""
    page = get(VOTES, page_size=2, zzz="1", route="grpc", n="7")
    assert page["next"].startswith("http://testserver/api/votes/?cursor=")
    assert page["next"].endswith("&page_size=2&route=grpc")
    assert page == get(VOTES, route="grpc", page_size=2)


def test_page_size_is_capped_at_500(db: None, redis_client: Any, get: Any) -> None:
    record([("Peten", "Flores", 1, "Blanca", "UNE", "grpc", 501)])
    assert len(get(VOTES, page_size=1000)["results"]) == 500
    assert len(get(VOTES)["results"]) == 50


def test_latest_votes_come_from_redis_newest_first(known_votes: list[str], get: Any) -> None:
    latest = get("/api/votes/latest")["results"]
    assert [v["vote_id"] for v in latest] == known_votes[::-1][:5]
    assert latest[0]["route"] == "grpc" and latest[0]["municipio"] == "Guatemala"
    assert len(get("/api/votes/latest", limit=100)["results"]) == len(known_votes)


def test_latest_votes_when_redis_is_empty(db: None, redis_client: Any, get: Any) -> None:
    assert get("/api/votes/latest") == {"results": []}


def test_the_catalogue_lists_every_area(db: None, get: Any) -> None:
    catalogue = get("/api/catalogue/")
    assert len(catalogue["departamentos"]) == 22
    assert sum(len(d["municipios"]) for d in catalogue["departamentos"]) == 340
    peten = next(d for d in catalogue["departamentos"] if d["code"] == "17")
    assert peten["nombre"] == "Petén" and {"code": "1701", "nombre": "Flores"} in peten["municipios"]
    assert any(p["code"] == "presidente" and p["color"] == "Blanca" for p in catalogue["papeletas"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/results/summary",
        "/api/results/top-departamentos",
        "/api/results/partidos?departamento=Peten",
        "/api/results/top-sedes",
        "/api/votes/",
        "/api/votes/latest",
    ],
)
def test_etag_answers_304_until_votes_are_stored(known_votes: list[str], api: APIClient, path: str) -> None:
    first = api.get(path, HTTP_ACCEPT="application/json")
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=1"
    etag = first["ETag"]
    again = api.get(path, HTTP_ACCEPT="application/json", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    record([("Peten", "Flores", 1, "Blanca", "UNE", "grpc", 1)])
    changed = api.get(path, HTTP_ACCEPT="application/json", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_the_schema_describes_every_endpoint(db: None, api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert {
        "/api/catalogue/",
        "/api/votes/",
        "/api/votes/latest",
        "/api/results/top-departamentos",
        "/api/results/partidos",
        "/api/results/top-sedes",
        "/api/results/summary",
    } <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/api/votes/"]["get"]["parameters"]}
    assert {"departamento", "municipio", "sede", "papeleta", "partido", "route", "cursor"} <= parameters


def test_the_browsable_api_renders(known_votes: list[str], api: APIClient) -> None:
    page = api.get("/api/results/summary", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b"<html" in page.content.lower()
