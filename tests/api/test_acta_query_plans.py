"""Every filter set of the acta list reads a page off one index: its query plan, on MariaDB,
over the full demo catalogue's actas (24,427 mesas x 5 papeletas).

As tests/api/test_query_plans.py does for the votes: the API's own queries are captured and run
again under MariaDB's ANALYZE, which gives the plan and the rows each step really read. A page
must come straight off the index that holds exactly its filters: never a full scan, never a
sort of the matching rows, at most a page (+1, + the ties of one mesa a cursor skips) read.
`pytest -s` prints each plan.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from election.catalogue.mesa_index import mesa_index_clear
from election.models import Acta, ActaProgress, ActaSedeTally, ActaSedeTotal, Mesa
from election.results.actas import ACTA_FILTER_INDEXES
from scripts.mesas_2023 import OUTPUT as DEMO
from tests.api.test_query_plans import analyzed, api_queries, plan_line

PAGE_SIZE = 10
PAPELETAS = 5
# A municipio of Guatemala with many mesas (Mixco), and a status a quarter of the actas hold.
NAMES = {"status": "in_review", "departamento": "01", "municipio": "0108", "papeleta": "Blanca"}
# Every acta of the demo catalogue, its status spread evenly by a hash of its key.
LOAD = """
INSERT INTO election_acta (mesa_id, papeleta_id, departamento_id, municipio_id, sede, status,
                           failed_rules, differing_fields, updated_at)
SELECT m.numero, p.code, m.departamento_id, m.municipio_id, m.sede,
       ELT(1 + ((m.numero * 2654435761 + p.n * 40503) % 4294967296 >> 8) % 4,
           'counted', 'pending', 'in_review', 'inconsistent'),
       '[]', '[]', NOW(6)
FROM election_mesa m
JOIN (SELECT code, ROW_NUMBER() OVER (ORDER BY code) AS n FROM election_papeleta) p
"""
PROGRESS = """
INSERT INTO election_actaprogress (departamento_id, municipio_id, papeleta_id, actas_counted,
    actas_inconsistent, actas_in_review, actas_pending, padron, voters, valid, nulos, blancos, cast)
SELECT departamento_id, municipio_id, papeleta_id, SUM(status = 'counted'), SUM(status = 'inconsistent'),
       SUM(status = 'in_review'), SUM(status = 'pending'), 0, 0, 0, 0, 0, 0
FROM election_acta GROUP BY 1, 2, 3
"""
# The counted actas' ballots per sede: as many as their mesas' padrón, for a spread of sizes.
SEDES = [
    """
INSERT INTO election_actasedetally (departamento_id, municipio_id, sede, papeleta_id, ballots)
SELECT a.departamento_id, a.municipio_id, a.sede, a.papeleta_id, SUM(m.padron)
FROM election_acta a JOIN election_mesa m ON m.numero = a.mesa_id
WHERE a.status = 'counted' GROUP BY 1, 2, 3, 4
""",
    """
INSERT INTO election_actasedetotal (departamento_id, municipio_id, sede, ballots)
SELECT departamento_id, municipio_id, sede, SUM(ballots) FROM election_actasedetally GROUP BY 1, 2, 3
""",
]
SERVED = [(), *(tuple(sorted(columns)) for columns in ACTA_FILTER_INDEXES)]
EVERY_COMBINATION = [combo for n in range(len(NAMES) + 1) for combo in itertools.combinations(NAMES, n)]


def _empty() -> None:
    for model in (Acta, ActaProgress, ActaSedeTally, ActaSedeTotal):
        model.objects.all().delete()


@pytest.fixture(scope="module")
def many_actas(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        if connection.vendor != "mysql":
            pytest.skip("query plans are MariaDB's")
        call_command("load_mesas", str(DEMO), stdout=io.StringIO())
        _empty()
        try:
            with connection.cursor() as cursor:
                cursor.execute(LOAD)
                for statement in (PROGRESS, *SEDES):
                    cursor.execute(statement)
                cursor.execute(
                    "ANALYZE TABLE election_acta, election_actaprogress,"
                    " election_actasedetally, election_actasedetotal"
                )
                cursor.fetchall()
            assert Acta.objects.count() == Mesa.objects.count() * PAPELETAS
            yield
        finally:
            _empty()
            Mesa.objects.all().delete()
            mesa_index_clear()


@pytest.fixture
def with_db(many_actas: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        yield


def _acta_step(sql: str) -> dict[str, Any]:
    return next(step for step in analyzed(sql) if step["table"] == "election_acta")


@pytest.mark.parametrize("combo", EVERY_COMBINATION, ids=lambda combo: "+".join(combo) or "none")
def test_every_filter_set_reads_a_page_off_its_index_or_is_refused(
    with_db: None, combo: tuple[str, ...]
) -> None:
    params = "&".join(f"{name}={NAMES[name]}" for name in combo)
    response, queries = api_queries(f"/api/actas/?page_size={PAGE_SIZE}&{params}", "election_acta")
    columns = tuple(sorted({*combo, *(("departamento",) if "municipio" in combo else ())}))
    if columns not in SERVED:
        assert response.status_code == 400, response.content
        assert set(response.json()["errors"]) == {"status"} and queries == []
        return
    assert response.status_code == 200, response.content
    first = response.json()
    assert first["next"], "every filter set holds more than a page here: the cursor's plans too"
    following, next_page = api_queries(first["next"], "election_acta")
    _, previous_page = api_queries(following.json()["previous"], "election_acta")
    wanted = ACTA_FILTER_INDEXES.get(frozenset(columns)) if columns else "acta_mesa_papeleta_unique"
    label = f"actas {'+'.join(combo) or '(none)'}"
    for page, sql in (("first page", queries), ("next page", next_page), ("previous page", previous_page)):
        [page_query] = [q for q in sql if "ORDER BY" in q]
        step = _acta_step(page_query)
        print(plan_line(f"{label} {page}", step))
        extra = step["Extra"] or ""
        assert step["key"] == wanted, (label, page, step)
        assert "filesort" not in extra and "temporary" not in extra, (label, page, step)
        assert float(step["r_rows"] or 0) <= PAGE_SIZE + PAPELETAS, (label, page, step)


def test_one_acta_and_the_progress_read_by_key(with_db: None) -> None:
    mesa = Acta.objects.filter(departamento_id="01").values_list("mesa_id", flat=True).first()
    response, [sql, *_] = api_queries(f"/api/actas/{mesa}/presidente", "election_acta")
    assert response.status_code == 200, response.content
    step = _acta_step(sql)
    print(plan_line("acta by mesa and papeleta", step))
    assert step["type"] in ("const", "eq_ref", "ref") and float(step["r_rows"] or 0) <= 1, step
    for url in (
        "/api/results/progress?departamento=01",
        "/api/results/progress?departamento=01&municipio=0108",
    ):
        response, [sql] = api_queries(url, "election_actaprogress")
        assert response.status_code == 200 and response.json()["actas_expected"] > 0
        for step in analyzed(sql):
            print(plan_line(url.removeprefix("/api/results/"), step))
            assert step["type"] in ("ref", "range", "const") and step["key"] is not None, (url, step)


@pytest.mark.parametrize(
    ("url", "table", "index"),
    [
        (
            "/api/results/top-sedes?source=actas&limit=100",
            "election_actasedetotal",
            "acta_sede_total_top_idx",
        ),
        (
            "/api/results/top-sedes?source=actas&limit=100&papeleta=Blanca",
            "election_actasedetally",
            "acta_sede_tally_top_idx",
        ),
    ],
)
def test_the_top_sedes_of_the_counted_actas_read_a_page_off_the_index(
    with_db: None, url: str, table: str, index: str
) -> None:
    """As the stream's top sedes (tests/api/test_query_plans.py): `limit` rows in the index's order."""
    assert ActaSedeTotal.objects.count() > 100, "more sedes than a page: the ranking must stop early"
    response, [sql] = api_queries(url, table)
    assert response.status_code == 200 and len(response.json()["results"]) == 100, response.content
    [step] = analyzed(sql)
    print(plan_line(url.removeprefix("/api/results/"), step))
    assert step["key"] == index and step["type"] in ("ref", "range", "index"), step
    assert "filesort" not in (step["Extra"] or "") and "temporary" not in (step["Extra"] or ""), step
    assert float(step["r_rows"] or 0) <= 100, step
