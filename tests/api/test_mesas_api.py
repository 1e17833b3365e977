"""GET /api/catalogue/mesas and /api/catalogue/mesas/<mesa>, over the demo catalogue of 2023."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from election.models import Mesa
from scripts.mesas_2023 import OUTPUT as DEMO

URL = "/api/catalogue/mesas"


@pytest.fixture(scope="module")
def demo_mesas(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The demo catalogue, committed once for the module (24,427 rows), removed after."""
    with django_db_blocker.unblock():
        call_command("load_mesas", str(DEMO), stdout=io.StringIO())
        yield
        Mesa.objects.all().delete()


@pytest.fixture
def api(demo_mesas: None, db: None) -> APIClient:
    return APIClient()


def get(api: APIClient, url: str, status: int = 200) -> Any:
    response = api.get(url)
    assert response.status_code == status, response.content
    return response.json()


def test_one_mesa_by_its_number(api: APIClient) -> None:
    assert get(api, f"{URL}/3678") == {
        "mesa": 3678,
        "departamento": "Guatemala",
        "municipio": "San Juan Sacatepéquez",
        "sede": "363",
        "padron": 380,
    }


@pytest.mark.parametrize("mesa", ["24428", "0", "abc", "-1", "99999999999999999999"])
def test_an_unknown_mesa_is_404_with_a_message(api: APIClient, mesa: str) -> None:
    assert get(api, f"{URL}/{mesa}", 404) == {"detail": f"Mesa '{mesa}' is not in the catalogue."}


def test_the_list_pages_through_every_mesa_in_order(api: APIClient) -> None:
    page = get(api, f"{URL}?page_size=1000")
    assert [m["mesa"] for m in page["results"]] == list(range(1, 1001))
    second = get(api, page["next"])
    assert [m["mesa"] for m in second["results"]] == list(range(1001, 2001))
    assert len(get(api, f"{URL}?page_size=99999")["results"]) == 1000  # bounded
    assert len(get(api, URL)["results"]) == 100


@pytest.mark.parametrize(
    "query",
    ["departamento=Peten", "departamento=17", "departamento=PETÉN&municipio=flores", "municipio=1701"],
)
def test_filters_by_area_take_codes_or_names(api: APIClient, query: str) -> None:
    expected = Mesa.objects.filter(departamento_id="17").order_by("numero")
    if "municipio" in query:
        expected = expected.filter(municipio_id="1701")
    answer = get(api, f"{URL}?{query}&page_size=1000")
    assert [m["mesa"] for m in answer["results"]] == list(expected.values_list("numero", flat=True)[:1000])
    assert {m["departamento"] for m in answer["results"]} == {"Petén"}


def test_a_sede_within_its_municipio(api: APIClient) -> None:
    answer = get(api, f"{URL}?departamento=Guatemala&municipio=Mixco&sede=007")
    expected = Mesa.objects.filter(municipio_id="0108", sede="7").values_list("numero", flat=True)
    assert [m["mesa"] for m in answer["results"]] == list(expected)
    assert answer["results"] and {m["sede"] for m in answer["results"]} == {"7"}
    assert get(api, f"{URL}?municipio=0110&sede=363")["results"][0]["mesa"] == 3678


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("departamento=Atlantida", {"departamento": ["Unknown departamento 'Atlantida'."]}),
        (
            "departamento=Guatemala&municipio=Flores",
            {"municipio": ["municipio 'Flores' is not in departamento 'Guatemala' (it is in 'Petén')."]},
        ),
        ("sede=7", {"sede": ["A sede is numbered within its municipio: give municipio too."]}),
        ("page_size=0", {"page_size": ["A positive integer is required."]}),
        ("cursor=nonsense", {"cursor": ["Invalid cursor."]}),
    ],
)
def test_bad_filters_are_400_by_field(api: APIClient, query: str, errors: dict[str, list[str]]) -> None:
    assert get(api, f"{URL}?{query}", 400) == {"errors": errors}


PAGE = 3


@pytest.mark.skipif(connection.vendor != "mysql", reason="MariaDB's query plans")
@pytest.mark.parametrize(
    "query",
    ["departamento=Guatemala", "departamento=Guatemala&municipio=Mixco", "municipio=Mixco&sede=7"],
)
def test_every_filter_reads_a_page_straight_off_an_index(api: APIClient, query: str) -> None:
    """Under MariaDB's ANALYZE, the first and the next page each read one index in mesa order,
    no more rows than the page (+1) and no sort. (The municipio filter may read the index
    InnoDB keeps for the municipio foreign key: the same order, as good.)"""
    with CaptureQueriesContext(connection) as first:
        page = get(api, f"{URL}?{query}&page_size={PAGE}")
    with CaptureQueriesContext(connection) as following:
        get(api, page["next"])
    for queries in (first, following):
        (sql,) = [q["sql"] for q in queries.captured_queries if "election_mesa" in q["sql"]]
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {sql}")
            columns = [c[0] for c in cursor.description]
            (plan,) = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        assert plan["key"] and plan["key"] != "PRIMARY", plan
        assert plan["type"] in {"ref", "range"}, plan
        assert "filesort" not in (plan["Extra"] or ""), plan
        assert float(plan["r_rows"]) <= PAGE + 1, plan
