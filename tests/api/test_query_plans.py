"""Every filter the results API accepts reads an index: its query plan, on MariaDB, over many votes.

The API's own queries are captured as it runs them (real requests through DRF) and run again
under MariaDB's ANALYZE, which gives EXPLAIN's plan and the rows each step really read. A page
of the vote list must come straight off one index: never a full scan (`ALL`), never a sort of
the matching rows (`Using filesort`), never the primary key walked backwards past rows that do
not match, so at most a page (+1) of rows read whatever the filter. Every combination of the
six filters is tried: the ones the API serves, and a 400 for the rest. `pytest -s` prints each
plan (docs/api.md lists them).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from election.models import Partido
from election.results.selectors import VoteFiltersUnserved, vote_filter_index, votes_filtered
from tests.conftest import VOTE_TABLES

VOTES_LOADED = 200_000
PAGE_SIZE = 10  # the dashboard's
# As the field writes them; sede 7 of Flores (Petén) holds a page or two of the 200,000.
NAMES = {
    "departamento": "Peten",
    "municipio": "Flores",
    "sede": "7",
    "papeleta": "Blanca",
    "partido": "rare",  # replaced by the partido that holds 1 vote in 2,000
    "route": "redis",
}
FILTERS = list(NAMES)
# What the vote list serves: one group at a time (area; papeleta and partido; route), a sede
# only within its municipio. Everything else is refused.
SERVED = [
    (),
    ("departamento",),
    ("municipio",),
    ("departamento", "municipio"),
    ("municipio", "sede"),
    ("departamento", "municipio", "sede"),
    ("papeleta",),
    ("partido",),
    ("papeleta", "partido"),
    ("route",),
]
EVERY_COMBINATION = [combo for n in range(len(FILTERS) + 1) for combo in itertools.combinations(FILTERS, n)]

# Votes over the whole catalogue, made by the database itself (MariaDB's sequence engine):
# municipios, sedes 1..40, papeletas and routes evenly; partidos unevenly, the 25th by sigla in
# 1 vote in 2,000 and the 26th in none.
LOAD = f"""
INSERT INTO election_vote (vote_id, sede, route, received_at, stored_at,
                           departamento_id, municipio_id, papeleta_id, partido_id)
SELECT UUID(), CAST(1 + (s.h >> 8) % 40 AS CHAR), IF((s.h >> 3) % 2 = 0, 'grpc', 'redis'),
       NOW(6) - INTERVAL s.seq SECOND, NOW(6) - INTERVAL s.seq SECOND + INTERVAL 5 MICROSECOND,
       m.departamento_id, m.code, p.code, x.sigla
FROM (SELECT seq, (seq * 2654435761) % 4294967296 AS h FROM seq_1_to_{VOTES_LOADED}) s
JOIN (SELECT code, departamento_id, ROW_NUMBER() OVER (ORDER BY code) - 1 AS n
      FROM election_municipio) m ON m.n = (s.h >> 12) % 340
JOIN (SELECT code, ROW_NUMBER() OVER (ORDER BY code) - 1 AS n FROM election_papeleta) p
  ON p.n = (s.h >> 20) % 5
JOIN (SELECT sigla, ROW_NUMBER() OVER (ORDER BY sigla) - 1 AS n FROM election_partido) x
  ON x.n = IF(s.seq % 2000 = 0, 24, FLOOR(24 * POW(((s.seq * 7919) % 10007) / 10007, 3)))
"""
# The tallies, in step with the votes, as votes_record keeps them.
TALLIES = [
    "INSERT INTO election_areatally (departamento_id, municipio_id, papeleta_id, partido_id, votes)"
    " SELECT departamento_id, municipio_id, papeleta_id, partido_id, COUNT(*) FROM election_vote"
    " GROUP BY 1, 2, 3, 4",
    "INSERT INTO election_sedetally (departamento_id, municipio_id, sede, papeleta_id, votes)"
    " SELECT departamento_id, municipio_id, sede, papeleta_id, COUNT(*) FROM election_vote"
    " GROUP BY 1, 2, 3, 4",
    "INSERT INTO election_sedetotal (departamento_id, municipio_id, sede, votes)"
    " SELECT departamento_id, municipio_id, sede, COUNT(*) FROM election_vote GROUP BY 1, 2, 3",
    "INSERT INTO election_routetally (route, papeleta_id, latency_bucket, votes)"
    " SELECT route, papeleta_id, 0, COUNT(*) FROM election_vote GROUP BY 1, 2",
]


def _truncate() -> None:
    with connection.cursor() as cursor:
        for table in VOTE_TABLES:
            cursor.execute(f"TRUNCATE TABLE {connection.ops.quote_name(table)}")


@pytest.fixture(scope="module")
def many_votes(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """VOTES_LOADED votes and their tallies, committed and analysed; the names to filter by."""
    with django_db_blocker.unblock():
        if connection.vendor != "mysql":
            pytest.skip("query plans are MariaDB's")
        _truncate()
        try:
            with connection.cursor() as cursor:
                cursor.execute(LOAD)
                for statement in TALLIES:
                    cursor.execute(statement)
                cursor.execute(f"ANALYZE TABLE {', '.join(VOTE_TABLES)}")
                cursor.fetchall()
            siglas = list(Partido.objects.order_by("sigla").values_list("sigla", flat=True))
            yield {**NAMES, "partido": siglas[24], "empty_partido": siglas[25]}
        finally:
            _truncate()


@pytest.fixture
def with_db(many_votes: dict[str, str], django_db_blocker: Any) -> Iterator[dict[str, str]]:
    with django_db_blocker.unblock():
        yield many_votes


def analyzed(sql: str) -> list[dict[str, Any]]:
    """MariaDB's ANALYZE of a statement: EXPLAIN's columns, and r_rows, the rows really read."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {sql}")
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def plan_line(label: str, step: dict[str, Any]) -> str:
    return (
        f"{label:<46} {step['table']:<20} {step['type']:<6} {step['key']!s:<26} "
        f"read {float(step['r_rows'] or 0):>7.0f}  {step['Extra'] or ''}"
    )


def api_queries(url: str, table: str = "election_vote") -> tuple[Any, list[str]]:
    """GET url through the API; its answer and the SELECTs it ran that read `table`."""
    with CaptureQueriesContext(connection) as captured:
        response = APIClient().get(url, HTTP_ACCEPT="application/json")
    return response, [q["sql"] for q in captured.captured_queries if f"`{table}`" in q["sql"]]


def assert_page_read_off_an_index(label: str, sql: str, served: tuple[str, ...]) -> None:
    [step] = analyzed(sql)
    print(plan_line(label, step))
    extra = step["Extra"] or ""
    assert step["type"] != "ALL" and step["key"] is not None, (label, step)
    assert "filesort" not in extra and "temporary" not in extra, (label, step)
    if served:  # the primary key walked backwards reads every newer vote that does not match
        assert step["key"] != "PRIMARY", (label, step)
    assert float(step["r_rows"] or 0) <= PAGE_SIZE + 1, (label, step)


@pytest.mark.parametrize("combo", EVERY_COMBINATION, ids=lambda combo: "+".join(combo) or "none")
def test_every_filter_combination_reads_a_page_off_an_index_or_is_refused(
    with_db: dict[str, str], combo: tuple[str, ...]
) -> None:
    params = "&".join(f"{name}={with_db[name]}" for name in combo)
    response, queries = api_queries(f"/api/votes/?page_size={PAGE_SIZE}&{params}")
    if combo not in SERVED:
        assert response.status_code == 400, response.content
        assert set(response.json()["errors"]) <= set(combo) and queries == []
        return
    assert response.status_code == 200, response.content
    first = response.json()
    assert first["next"], "every served filter holds more than a page here: the cursor's plans too"
    following, next_page = api_queries(first["next"])  # votes below the cursor
    _, previous_page = api_queries(following.json()["previous"])  # and above it, back up
    label = f"votes {'+'.join(combo) or '(none)'}"
    for page, sql in (("first page", queries), ("next page", next_page), ("previous page", previous_page)):
        [page_query] = [q for q in sql if "ORDER BY" in q]
        assert_page_read_off_an_index(f"{label} {page}", page_query, combo)


def test_a_partido_with_no_votes_reads_no_row(with_db: dict[str, str]) -> None:
    """The worst case for a walk backwards: nothing matches, so it would read the whole table."""
    response, queries = api_queries(f"/api/votes/?partido={with_db['empty_partido']}")
    assert response.status_code == 200 and response.json()["results"] == []
    [sql] = [q for q in queries if "ORDER BY" in q]
    [step] = analyzed(sql)
    print(plan_line("votes partido=(none stored)", step))
    assert step["key"] == "vote_partido_idx" and float(step["r_rows"] or 0) == 0


def test_a_combination_no_index_holds_is_never_read() -> None:
    assert vote_filter_index(frozenset({"papeleta", "route"})) is None
    with pytest.raises(VoteFiltersUnserved):
        votes_filtered(papeleta="presidente", route="grpc")


@pytest.mark.parametrize(
    ("url", "table"),
    [
        ("/api/results/top-departamentos?papeleta=Blanca&limit=22", "election_areatally"),
        ("/api/results/partidos?departamento=Peten", "election_areatally"),
        ("/api/results/partidos?departamento=Peten&municipio=Flores", "election_areatally"),
        ("/api/results/partidos?departamento=Peten&municipio=Flores&papeleta=Blanca", "election_areatally"),
        ("/api/results/partidos?departamento=Peten&papeleta=Blanca", "election_areatally"),
        ("/api/results/top-sedes?limit=100", "election_sedetotal"),
        ("/api/results/top-sedes?limit=100&papeleta=Blanca", "election_sedetally"),
        # The null and blank ballots: the NULO and BLANCO rows, through the partido index.
        ("/api/results/summary", "election_areatally"),
        ("/api/results/top-sedes?limit=100&papeleta=Blanca", "election_areatally"),
    ],
)
def test_every_results_filter_reads_an_index(with_db: dict[str, str], url: str, table: str) -> None:
    """The tallies hold at most a row per area, sede or bucket; still, each filter finds its
    rows through an index, and the top sedes read `limit` rows in the index's order."""
    response, [sql] = api_queries(url, table)
    assert response.status_code == 200, response.content
    for step in analyzed(sql):
        print(plan_line(url.removeprefix("/api/results/"), step))
        assert step["type"] in ("ref", "range") and step["key"] is not None, (url, step)
        if table in ("election_sedetotal", "election_sedetally"):  # the ranking itself
            assert "filesort" not in (step["Extra"] or "") and float(step["r_rows"]) <= 100, (url, step)
