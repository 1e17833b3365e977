"""The dashboard in headless Chromium against the real API (gunicorn) on the test database.

A known set of votes is stored through the real write path (vote_validate, votes_record,
live_publish), with chosen receipt times; every chart and table must show the numbers
computed here from the stored votes, independently of the API. More votes are then sent
through both real ingest routes (POST /votes on the gRPC gateway and on the Redis
publisher, with the gRPC server and a Celery worker behind them) while the page stays
open, and the page must show them without being reloaded. The final state is saved as
var/dashboard.png, or as the README's docs/dashboard.png with SCREENSHOT_DOCS=1 (every run's
picture differs, so a plain test run leaves the tracked one alone).
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from election.models import Vote
from election.votes import tallies
from election.votes.recording import votes_record
from election.writer import live_feed
from scripts.devservices import wait_until
from scripts.processes import Spawn
from scripts.system import System
from tests.conftest import AUTHORIZATION, ROOT, field_vote

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = ROOT / ("docs" if os.environ.get("SCREENSHOT_DOCS") == "1" else "var") / "dashboard.png"
WAIT_MS = 20_000  # generous: the machine may be busy; this is no speed assertion

# (departamento, municipio, sede, papeleta, partido, route, how many): sedes with distinct
# totals (7, 6, 5, 4, 3, 2, 1) and departamentos with distinct presidente totals, so each
# ordering is decided by the counts alone.
KNOWN: list[tuple[str, str, int, str, str, str, int]] = [
    ("Guatemala", "Mixco", 1, "presidente", "UNE", "grpc", 3),
    ("Guatemala", "Mixco", 1, "presidente", "SEMILLA", "redis", 2),
    ("Guatemala", "Mixco", 1, "diputados_nacional", "UNE", "grpc", 2),
    ("Petén", "Flores", 4, "presidente", "UNE", "redis", 2),
    ("Petén", "Flores", 4, "presidente", "VAMOS", "grpc", 1),
    ("Petén", "Flores", 4, "municipal", "UNE", "redis", 3),
    ("Chimaltenango", "Patzún", 7, "presidente", "CABAL", "grpc", 2),
    ("Chimaltenango", "Patzún", 7, "parlacen", "CABAL", "redis", 3),
    ("Guatemala", "Guatemala", 3, "presidente", "SEMILLA", "redis", 3),
    ("Guatemala", "Guatemala", 3, "presidente", "VAMOS", "grpc", 1),
    ("Escuintla", "San José", 1, "presidente", "UNE", "grpc", 1),
    ("Escuintla", "San José", 1, "diputados_distrital", "UNE", "grpc", 2),
    ("Guatemala", "Villa Nueva", 2, "presidente", "VAMOS", "redis", 2),
    ("Quetzaltenango", "Quetzaltenango", 9, "presidente", "UNE", "grpc", 1),
]
# Sent through the ingest routes while the page is open: Petén overtakes Guatemala,
# Flores/4 becomes the top sede, and Mixco gains a third partido.
MORE: list[tuple[str, str, int, str, str, str, int]] = [
    ("Petén", "Flores", 4, "presidente", "SEMILLA", "grpc", 10),
    ("Guatemala", "Mixco", 1, "presidente", "VAMOS", "redis", 1),
]
LATENCY_MS = {"grpc": 1500.0, "redis": 300.0}  # receipt-to-storage of the known votes


def record(rows: list[tuple[str, str, int, str, str, str, int]]) -> list[str]:
    """Store `rows` as an ingest route does, one batch per route; returns vote_ids in storing order."""
    stored: list[str] = []
    for route in ("grpc", "redis"):
        received_at = timezone.now() - timedelta(milliseconds=LATENCY_MS[route])
        votes = [
            field_vote(departamento, municipio, sede, papeleta, partido, received_at=received_at)
            for departamento, municipio, sede, papeleta, partido, r, count in rows
            if r == route
            for _ in range(count)
        ]
        if votes:
            live_feed.live_publish(results=votes_record(votes=votes, route=route), route=route)
            stored += [str(v.vote_id) for v in votes]
    return stored


# --- What the page must show, computed from the stored votes -------------------------


def stored_votes() -> list[dict[str, Any]]:
    return [
        {
            "vote_id": str(v.vote_id),
            "departamento": v.departamento.nombre,
            "municipio": v.municipio.nombre,
            "sede": v.sede,
            "papeleta": v.papeleta_id,
            "partido": v.partido_id,
            "route": v.route,
            "latency_ms": (v.stored_at - v.received_at).total_seconds() * 1000,
        }
        for v in Vote.objects.select_related("departamento", "municipio")
    ]


def top_departamentos(votes: list[dict[str, Any]]) -> list[list[Any]]:
    counts = Counter(v["departamento"] for v in votes if v["papeleta"] == "presidente")
    return [[name, n] for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


def top_sedes(votes: list[dict[str, Any]]) -> list[list[Any]]:
    counts = Counter(f"{v['departamento']}|{v['municipio']}|{v['sede']}" for v in votes)
    return [[key, n] for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]


def partido_shares(votes: list[dict[str, Any]], **area: str) -> list[list[Any]]:
    """[partido, votes, percent] by votes then sigla; percents by largest remainder, summing to 100."""
    counts = Counter(
        v["partido"]
        for v in votes
        if v["papeleta"] == "presidente" and all(v[k] == a for k, a in area.items())
    )
    total = sum(counts.values())
    hundredths = {p: Decimal(n * 10000) / total for p, n in counts.items()}
    floors = {p: h.to_integral_value(rounding=ROUND_FLOOR) for p, h in hundredths.items()}
    short = 10000 - int(sum(floors.values()))
    for p in sorted(counts, key=lambda p: (-(hundredths[p] - floors[p]), p))[:short]:
        floors[p] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [[p, n, f"{floors[p] / 100:.2f}"] for p, n in ordered]


# --- Reading the page: numbers from data-* attributes, never pixels -----------------

READ_BARS = """name => [...document.querySelectorAll(`[data-chart="${name}"] [data-value]`)]
    .map(e => [e.dataset.key, Number(e.dataset.value)])"""
READ_PIE = """name => [...document.querySelectorAll(`[data-chart="${name}"] li[data-value]`)]
    .map(e => [e.dataset.label, Number(e.dataset.value), e.dataset.percent])"""
READ_ROWS = """name => [...document.querySelectorAll(`table[data-table="${name}"] tbody tr`)]
    .map(tr => Object.fromEntries([["vote_id", tr.dataset.voteId],
        ...[...tr.querySelectorAll("td[data-field]")].map(td =>
            [td.dataset.field, td.dataset.code ?? td.textContent])]))"""
READ_ROUTES = """() => Object.fromEntries([...document.querySelectorAll('table[data-table="routes"] td')]
    .map(td => [`${td.dataset.route}.${td.dataset.field}`, td.dataset.value]))"""


def wait_for(page: Any, read: Callable[[], Any], expected: Any, what: str) -> None:
    """Poll the page until `read()` equals `expected`; fail showing the last value seen."""
    seen: Any = None
    for _ in range(WAIT_MS // 100):
        seen = read()
        if seen == expected:
            return
        page.wait_for_timeout(100)
    pytest.fail(f"{what}: the page shows {seen!r}, expected {expected!r}")


@pytest.fixture
def system(spawn: Spawn, service_env: dict[str, str], redis_client) -> System:  # type: ignore[no-untyped-def]
    """The API and both ingest routes, as `make run` starts them, on free ports."""
    return System(spawn, service_env).start()


def send(system: System, rows: list[tuple[str, str, int, str, str, str, int]]) -> list[str]:
    """POST each vote to its route's /votes; returns the vote_ids, all acknowledged."""
    sent: list[str] = []
    for departamento, municipio, sede, papeleta, partido, route, count in rows:
        url = system.url("gateway" if route == "grpc" else "publisher")
        for _ in range(count):
            vote_id = str(uuid.uuid4())
            body: dict[str, Any] = {"vote_id": vote_id, "departamento": departamento, "municipio": municipio}
            body |= {"sede": sede, "papeleta": papeleta, "partido": partido}
            request = urllib.request.Request(
                f"{url}/votes",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Authorization": AUTHORIZATION},
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status in (200, 201, 202), answer.read()
            sent.append(vote_id)
    return sent


def test_the_dashboard_shows_the_votes_and_follows_new_ones_without_reload(
    browser: Any, dashboard_dist: Path, system: System
) -> None:
    first = record(KNOWN)
    votes = stored_votes()
    assert len(votes) == sum(row[-1] for row in KNOWN)

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-GT")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(system.url("api") + "/votos")  # the original panels, under "Votos transmitidos"
    page.evaluate("window.__notReloaded = true")  # gone if the page ever reloads

    def text(selector: str, attribute: str) -> Any:
        return page.get_attribute(selector, attribute)

    wait_for(page, lambda: text('[data-testid="total"]', "data-value"), str(len(votes)), "total")
    wait_for(page, lambda: page.evaluate(READ_BARS, "top-departamentos"), top_departamentos(votes), "top 3")
    wait_for(page, lambda: page.evaluate(READ_BARS, "top-sedes"), top_sedes(votes), "top 5 sedes")
    assert top_departamentos(votes) == [["Guatemala", 11], ["Petén", 3], ["Chimaltenango", 2]]

    # Pies: Guatemala (SEMILLA 5, UNE 3, VAMOS 3 of 11: 45.46 by largest remainder) and Mixco.
    page.select_option('[data-testid="partidos"] select[name="departamento"]', "Guatemala")
    page.select_option('[data-testid="partidos"] select[name="municipio"]', "Mixco")
    page.select_option('[data-testid="partidos"] select[name="papeleta"]', "presidente")
    expected_dep = partido_shares(votes, departamento="Guatemala")
    assert expected_dep == [["SEMILLA", 5, "45.46"], ["UNE", 3, "27.27"], ["VAMOS", 3, "27.27"]]
    wait_for(page, lambda: page.evaluate(READ_PIE, "partidos-departamento"), expected_dep, "pie departamento")
    wait_for(
        page,
        lambda: page.evaluate(READ_PIE, "partidos-municipio"),
        partido_shares(votes, departamento="Guatemala", municipio="Mixco"),
        "pie municipio",
    )

    # The latest five, newest first: the last ones stored, as each batch pushed them.
    by_id = {v["vote_id"]: v for v in votes}
    fields = ("departamento", "municipio", "sede", "papeleta", "partido", "route")
    latest = [{"vote_id": i, **{f: by_id[i][f] for f in fields}} for i in reversed(first[-5:])]
    wait_for(
        page,
        lambda: [{k: r[k] for k in ("vote_id", *fields)} for r in page.evaluate(READ_ROWS, "latest")],
        latest,
        "latest",
    )

    # Routes: votes per route; time to storage within the API's 10% latency bucket of the truth.
    routes = page.evaluate(READ_ROUTES)
    for route in ("grpc", "redis"):
        mine = [v for v in votes if v["route"] == route]
        assert routes[f"{route}.votes"] == str(len(mine))
        true_ms = sorted(v["latency_ms"] for v in mine)
        bucket_of = tallies.latency_bucket_upper_ms
        for quantile in ("p50", "p95"):
            shown = float(routes[f"{route}.{quantile}"])
            assert true_ms[0] <= shown <= bucket_of(tallies.latency_bucket(true_ms[-1])) + 0.01, (
                route,
                quantile,
            )

    check_votes_table(page, votes)

    # More votes, through the ingest routes, while the page is open: it must change by itself.
    more = send(system, MORE)
    wait_until(lambda: Vote.objects.filter(vote_id__in=more).count() == len(more), 60, "the new votes stored")
    votes = stored_votes()
    wait_for(page, lambda: text('[data-testid="total"]', "data-value"), str(len(votes)), "total after")
    wait_for(
        page, lambda: page.evaluate(READ_BARS, "top-departamentos"), top_departamentos(votes), "top 3 after"
    )
    assert top_departamentos(votes)[0] == ["Petén", 13]
    wait_for(page, lambda: page.evaluate(READ_BARS, "top-sedes"), top_sedes(votes), "top sedes after")
    wait_for(
        page,
        lambda: page.evaluate(READ_PIE, "partidos-municipio"),
        [["UNE", 3, "50.00"], ["SEMILLA", 2, "33.33"], ["VAMOS", 1, "16.67"]],
        "pie municipio after",
    )
    assert partido_shares(votes, departamento="Guatemala", municipio="Mixco") == [
        ["UNE", 3, "50.00"], ["SEMILLA", 2, "33.33"], ["VAMOS", 1, "16.67"],
    ]  # fmt: skip

    # The routes commit in their own batches and order, and push to the list just after the
    # commit: once all are listed, the Redis list itself says which came last.
    def all_listed() -> bool:
        return set(more) <= {v["vote_id"] for v in live_feed.latest_votes(limit=100)}

    wait_until(all_listed, 30, "the new votes in the latest-votes list")
    newest = [v["vote_id"] for v in live_feed.latest_votes(limit=5)]
    assert set(newest) <= set(more)
    wait_for(page, lambda: [r["vote_id"] for r in page.evaluate(READ_ROWS, "latest")], newest, "latest after")
    wait_for(
        page,
        lambda: page.evaluate(READ_ROUTES)["grpc.votes"],
        str(sum(v["route"] == "grpc" for v in votes)),
        "grpc votes after",
    )
    wait_for(page, lambda: float(page.evaluate(READ_ROUTES)["grpc.rate"] or 0) > 0, True, "grpc rate after")
    newest_first_page = [r["vote_id"] for r in page.evaluate(READ_ROWS, "votes")]
    assert set(newest) <= set(newest_first_page), "the first page of all votes shows the newest"
    assert page.evaluate("window.__notReloaded") is True, "the page reloaded"
    assert errors == []

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Readable on a phone: nothing wider than the screen but the tables' own scroll boxes.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()


def check_votes_table(page: Any, votes: list[dict[str, Any]]) -> None:
    """Every vote once across the pages; each filter shows exactly the matching votes."""
    seen: list[str] = []
    wait_for(page, lambda: len(page.evaluate(READ_ROWS, "votes")), 10, "first page of votes")
    while True:
        rows = page.evaluate(READ_ROWS, "votes")
        seen += [r["vote_id"] for r in rows]
        next_button = page.locator('[data-testid="votes"] button[name="next"]')
        if next_button.is_disabled():
            break
        next_button.click()
        before = set(seen)

        def next_page_shown(before: set[str] = before) -> bool:
            return page.evaluate(READ_ROWS, "votes")[0]["vote_id"] not in before

        wait_for(page, next_page_shown, True, "next page")
    assert sorted(seen) == sorted(v["vote_id"] for v in votes)

    # One group of filters at a time (area; papeleta and partido; route), as the API serves
    # them; the last one is chosen over another group's and must replace it.
    filters = [
        {"departamento": "Quetzaltenango"},
        {"papeleta": "presidente", "partido": "VAMOS"},
        {"departamento": "Guatemala", "municipio": "Guatemala", "sede": "3"},
        {"departamento": "Petén", "papeleta": "municipal"},
    ]
    panel = '[data-testid="votes"]'
    for chosen in filters:
        page.click(f'{panel} button:has-text("Quitar filtros")')
        for field, value in chosen.items():
            if field == "sede":
                page.fill(f'{panel} input[name="sede"]', value)
            else:
                page.select_option(f'{panel} select[name="{field}"]', value)
        applied = {"papeleta": "municipal"} if "municipal" in chosen.values() else chosen
        if applied is not chosen:
            assert page.input_value(f'{panel} select[name="departamento"]') == ""
        expected = sorted(v["vote_id"] for v in votes if all(v[k] == x for k, x in applied.items()))
        assert 0 < len(expected) <= 10
        wait_for(
            page,
            lambda: sorted(r["vote_id"] for r in page.evaluate(READ_ROWS, "votes")),
            expected,
            f"filter {chosen}",
        )
    page.click(f'{panel} button:has-text("Quitar filtros")')
