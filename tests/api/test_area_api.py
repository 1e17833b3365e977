"""GET /api/results/area over HTTP (Django's test client): the answer is the area view
(election.results.areas, recounted from the stored rows in tests/results/test_areas.py) for
the area the query names in any spelling, the level the query implies, its defaults, its ETag,
and 400 with a message per field for what names nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from election.results.areas import area_view
from tests.support.actas import CLEAN_MESA

URL = "/api/results/area"
pytestmark = pytest.mark.usefixtures("sample_actas", "known_ballots")


def without_time(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "as_of"}


def test_nationwide_from_the_actas_on_presidente_by_default(get: Callable[..., Any]) -> None:
    answer = get(URL)
    assert (answer["source"], answer["papeleta"], answer["level"]) == ("actas", "presidente", "pais")
    assert answer["departamento"] is None and answer["municipio"] is None and answer["sede"] is None
    assert without_time(answer) == without_time(area_view("actas", "presidente"))
    assert answer["progress"]["actas_counted"] > 0 and answer["total"] > 0  # the sample's counted actas
    assert len(answer["children"]) == 22
    # A blank parameter counts as absent, the source's too.
    assert without_time(get(URL, source="", papeleta="", departamento="")) == without_time(answer)


@pytest.mark.parametrize(
    ("params", "area"),
    [
        ({"departamento": "escuintla"}, ("05", None, None)),
        ({"departamento": "Escuintla", "municipio": "Tiquisate"}, ("05", "0506", None)),
        ({"municipio": "tiquisate"}, ("05", "0506", None)),  # unambiguous: its departamento implied
        ({"departamento": "05", "municipio": "0506", "sede": "0881"}, ("05", "0506", "881")),
        ({"municipio": "Flores", "departamento": "Peten", "sede": 1}, ("17", "1701", "1")),
    ],
)
@pytest.mark.parametrize("source", ["actas", "votes"])
def test_the_area_named_in_any_spelling(
    get: Callable[..., Any], params: dict[str, Any], area: tuple[str, ...], source: str
) -> None:
    answer = get(URL, source=source, papeleta="Blanca", **params)
    departamento, municipio, sede = area
    assert without_time(answer) == without_time(
        area_view(source, "presidente", departamento, municipio, sede)
    )
    level = "sede" if sede else "municipio" if municipio else "departamento"
    assert answer["level"] == level and answer["departamento"]["code"] == departamento
    assert answer["sede"] == sede


def test_a_sedes_children_are_its_mesas_with_their_status(get: Callable[..., Any]) -> None:
    answer = get(URL, departamento="Escuintla", municipio="Tiquisate", sede="881")
    [mesa] = answer["children"]
    assert (mesa["code"], mesa["nombre"], mesa["status"]) == (
        str(CLEAN_MESA),
        f"Mesa {CLEAN_MESA}",
        "counted",
    )
    assert (mesa["actas_expected"], mesa["actas_counted"], mesa["percent_counted"]) == (1, 1, 100.0)
    assert mesa["total"] == answer["total"] > 0 and mesa["leader"] == answer["results"][0]["partido"]


def test_the_votes_source_reads_the_stream(get: Callable[..., Any]) -> None:
    answer = get(URL, source="votes", departamento="Peten", municipio="Flores")
    stream = get("/api/results/partidos", departamento="Peten", municipio="Flores", papeleta="presidente")
    assert answer["ballots"] == stream["ballots"] and answer["total"] == stream["total"]
    assert [r for r in answer["results"] if r["votes"]] == [
        {**r, "nombre": answer["results"][i]["nombre"]} for i, r in enumerate(stream["results"])
    ]


def test_tagged_by_its_content_and_answered_304(api: APIClient) -> None:
    first = api.get(URL, {"departamento": "Guatemala"}, HTTP_ACCEPT="application/json")
    assert first.status_code == 200 and first["ETag"].startswith('W/"')
    assert first["Cache-Control"] == "public, max-age=1"
    again = api.get(
        URL, {"departamento": "01"}, HTTP_ACCEPT="application/json", HTTP_IF_NONE_MATCH=first["ETag"]
    )
    assert again.status_code == 304  # computed again (another as_of), the same numbers
    other = api.get(URL, {"departamento": "01", "source": "votes"}, HTTP_ACCEPT="application/json")
    assert other["ETag"] != first["ETag"]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"sede": "7"}, {"sede": ["A sede is numbered within its municipio: give municipio too."]}),
        ({"departamento": "Narnia"}, {"departamento": ["Unknown departamento 'Narnia'."]}),
        (
            {"departamento": "Petén", "municipio": "Mixco"},
            {"municipio": ["municipio 'Mixco' is not in departamento 'Petén' (it is in 'Guatemala')."]},
        ),
        ({"papeleta": "Morada"}, {"papeleta": ["Unknown papeleta (code or ballot colour) 'Morada'."]}),
        (
            {"sede": "7", "departamento": "Narnia"},
            {
                "sede": ["A sede is numbered within its municipio: give municipio too."],
                "departamento": ["Unknown departamento 'Narnia'."],
            },
        ),
    ],
)
def test_what_names_nothing_is_400_with_a_message_per_field(
    get: Callable[..., Any], params: dict[str, str], errors: dict[str, list[str]]
) -> None:
    assert get(URL, 400, **params) == {"errors": errors}


def test_an_unknown_source_is_400(get: Callable[..., Any]) -> None:
    errors = get(URL, 400, source="rumours")["errors"]
    assert set(errors) == {"source"} and "rumours" in errors["source"][0]  # DRF's words, in Spanish


def test_a_municipio_name_in_several_departamentos_needs_one(get: Callable[..., Any]) -> None:
    errors = get(URL, 400, municipio="San José")["errors"]
    assert set(errors) == {"municipio"} and "give departamento too" in errors["municipio"][0]


def test_the_schema_documents_it(get: Callable[..., Any]) -> None:
    schema = get("/api/schema/", format="json")
    operation = schema["paths"]["/api/results/area"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {
        "source",
        "papeleta",
        "departamento",
        "municipio",
        "sede",
    }
    assert "400" in operation["responses"] and "200" in operation["responses"]
    assert get("/api/")["area"].endswith(URL)
