"""The results site in headless Chromium, against numbers recomputed here from the database.

The TREP sample's twenty mesas and their actas (counted, inconsistent, pending, in review) are
recorded through the real write path; two snapshots are written by the real command into a
directory served as static files; the API runs as `make run` starts it. The page must show:
the count's progress; each departamento on the map in its leading partido's colour; the drill-down
from the map to one mesa, its acta and every version and entry with who typed it; the open-data
downloads, whose bytes are the manifest's; and, read by a verifier written here, a snapshot chain
whose every file and link holds. The same page then reads only the snapshot files
(DASHBOARD_SOURCE=snapshots) and must show the same numbers without asking the API anything.
Desktop and phone screenshots go to var/, or to docs/ with SCREENSHOT_DOCS=1.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from election.models import Acta, ActaEntry, ActaVersion, Mesa, Snapshot
from scripts.devservices import free_port
from scripts.processes import Spawn
from scripts.system import System
from tests.conftest import ROOT
from tests.support.acta_counts import sample_actas_record
from tests.support.acta_routes import sample_mesas_committed
from tests.support.actas import CLEAN_MESA

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / ("docs" if os.environ.get("SCREENSHOT_DOCS") == "1" else "var")
WAIT_MS = 20_000  # generous: the machine may be busy; this is no speed assertion


# --- The snapshots, served as static files (as a bucket behind a CDN would) -----------


class _StaticFiles(SimpleHTTPRequestHandler):
    """A static server for the snapshot directory; the page's origin differs, hence CORS."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Site:
    system: System
    snapshots_url: str  # SNAPSHOT_PUBLIC_URL, with its trailing slash
    snapshot_dir: Path

    @property
    def url(self) -> str:
        return self.system.url("api")


@pytest.fixture
def site(spawn: Spawn, service_env: dict[str, str], redis_client, tmp_path: Path) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    snapshot_dir = tmp_path / "snapshots"
    snapshot_dir.mkdir()
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(_StaticFiles, directory=str(snapshot_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    snapshots_url = f"http://127.0.0.1:{port}/"
    env = {**service_env, "SNAPSHOT_DIR": str(snapshot_dir), "SNAPSHOT_PUBLIC_URL": snapshots_url}
    with sample_mesas_committed():
        try:
            sample_actas_record()
            for _ in range(2):  # a chain of two: the second names the first
                write = [sys.executable, "manage.py", "snapshots", "--once"]
                done = subprocess.run(write, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, done.stdout + done.stderr
            yield Site(System(spawn, env).start(parts=("api",)), snapshots_url, snapshot_dir)
        finally:
            server.shutdown()
            server.server_close()
            Snapshot.objects.all().delete()  # the chain's rows


# --- What the page must show, recomputed from the stored actas ------------------------


def pct(part: int, whole: int) -> str:
    """Two decimals, halves up, 0 of nothing: as the API rounds a share of a count."""
    if not whole:
        return "0.00"
    return str((Decimal(part * 100) / whole).quantize(Decimal("0.01"), ROUND_HALF_UP))


def progress(papeleta: str = "presidente") -> dict[str, str]:
    expected = Mesa.objects.count()
    counted = Acta.objects.filter(papeleta_id=papeleta, status="counted").count()
    return {"counted": str(counted), "expected": str(expected), "percent": pct(counted, expected)}


def leaders(papeleta: str = "presidente") -> dict[str, str]:
    """Each departamento's leading partido on the counted actas (votes, then sigla); '' for none."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for acta in Acta.objects.filter(papeleta_id=papeleta, status="counted").select_related("counted_entry"):
        assert acta.counted_entry is not None
        votes[acta.departamento_id].update(acta.counted_entry.votes)
    codes = [f"{n:02d}" for n in range(1, 23)]
    return {
        code: min(((-n, p) for p, n in votes[code].items() if n > 0), default=(0, ""))[1] for code in codes
    }


def acta_versions(mesa: int, papeleta: str = "presidente") -> list[dict[str, Any]]:
    acta = Acta.objects.get(mesa_id=mesa, papeleta_id=papeleta)
    return [
        {
            "number": str(version.number),
            "entered_by": sorted(e.entered_by for e in ActaEntry.objects.filter(version=version)),
        }
        for version in ActaVersion.objects.filter(acta=acta).order_by("number")
    ]


# --- Reading the page: numbers from data-* attributes and computed styles --------------

READ_PROGRESS = """() => { const e = document.querySelector('[data-testid="progress-figures"]');
    return e && {counted: e.dataset.counted, expected: e.dataset.expected, percent: e.dataset.percent}; }"""
READ_MAP = """() => Object.fromEntries([...document.querySelectorAll('svg.map path.area')]
    .map(p => [p.dataset.code, [p.dataset.leader, getComputedStyle(p).fill]]))"""
READ_LEGEND = """() => Object.fromEntries(
    [...document.querySelectorAll('[data-testid="map-legend"] li[data-partido]')]
    .map(li => [li.dataset.partido, getComputedStyle(li.querySelector('.swatch')).backgroundColor]))"""
READ_VERSIONS = """() => [...document.querySelectorAll('[data-testid="acta-presidente"] .version')]
    .map(v => ({number: v.dataset.version,
        entered_by: [...v.querySelectorAll('tr[data-entered-by]')].map(r => r.dataset.enteredBy).sort()}))"""


def wait_for(page: Any, read: Any, expected: Any, what: str) -> None:
    seen: Any = None
    for _ in range(WAIT_MS // 100):
        seen = read()
        if seen == expected:
            return
        page.wait_for_timeout(100)
    pytest.fail(f"{what}: the page shows {seen!r}, expected {expected!r}")


def check_map(page: Any, expected_leaders: dict[str, str], what: str) -> None:
    """Every departamento drawn, led by the recomputed partido, in that partido's legend colour."""
    wait_for(page, lambda: {c: v[0] for c, v in page.evaluate(READ_MAP).items()}, expected_leaders, what)
    legend = page.evaluate(READ_LEGEND)
    assert set(legend) == {p for p in expected_leaders.values()} | {""}, legend
    for code, (leader, fill) in page.evaluate(READ_MAP).items():
        assert fill == legend[leader], (code, leader, fill)
    fills = {legend[p] for p in set(expected_leaders.values())}
    assert len(fills) == len(set(expected_leaders.values())), "two partidos share a colour"


# --- A verifier of the snapshot chain, written here, trusting nothing of the server's --


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return bytes(answer.read())


def verify_chain(site: Site) -> list[dict[str, Any]]:
    """latest.json is the newest manifest, and head.json (what the site polls) points at it by
    path and hash; every file has its manifest's hash and size; each manifest names the SHA-256
    of the one before, the first names none. The manifests, oldest first."""
    listing = json.loads(fetch(site.url + "/api/snapshots/"))["results"]  # newest first
    manifests: list[bytes] = [fetch(row["url"]) for row in reversed(listing)]
    assert fetch(site.snapshots_url + "latest.json") == manifests[-1]
    head = json.loads(fetch(site.snapshots_url + "head.json"))
    assert hashlib.sha256(fetch(site.snapshots_url + head["manifest"])).hexdigest() == head["sha256"]
    assert head["sha256"] == hashlib.sha256(manifests[-1]).hexdigest()
    previous: str | None = None
    parsed = []
    for raw in manifests:
        manifest = json.loads(raw)
        assert manifest["previous"] == previous, manifest["id"]
        paths = [f["path"] for f in manifest["files"]]
        assert paths == sorted(paths) and len(paths) == len(set(paths))
        for entry in manifest["files"]:
            body = fetch(f"{site.snapshots_url}{manifest['id']}/{entry['path']}")
            assert (hashlib.sha256(body).hexdigest(), len(body)) == (entry["sha256"], entry["bytes"]), entry
        previous = hashlib.sha256(raw).hexdigest()
        parsed.append(manifest)
    assert [m["id"] for m in parsed] == sorted(m["id"] for m in parsed)
    return parsed


def test_the_results_site_shows_the_count_the_map_the_acta_and_the_verifiable_downloads(
    browser: Any, dashboard_dist: Path, site: Site
) -> None:
    chain = verify_chain(site)
    assert len(chain) == 2
    expected_progress = progress()
    expected_leaders = leaders()
    assert 0 < int(expected_progress["counted"]) < int(expected_progress["expected"])
    assert len({p for p in expected_leaders.values() if p}) >= 1 and "" in expected_leaders.values()

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-GT")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site.url + "/")
    wait_for(page, lambda: page.evaluate(READ_PROGRESS), expected_progress, "progress")
    check_map(page, expected_leaders, "map")
    wait_for(page, lambda: page.text_content('[data-testid="snapshot-id"]'), chain[-1]["id"], "snapshot id")

    # Both downloads are the newest snapshot's files, byte for byte as its manifest lists them
    # (in its detail generation's folder when it names one).
    hashes = {f["path"]: f["sha256"] for f in chain[-1]["files"]}
    detail_path = (chain[-1]["counts"].get("detail") or {}).get("path", "")
    downloads = {}
    for name, path in (("csv", "open/results.csv"), ("nist", "open/nist-1500-100.json")):
        href = page.get_attribute(f'a[data-download="{name}"]', "href")
        assert href == f"{site.snapshots_url}{chain[-1]['id']}/{detail_path}{path}"
        downloads[name] = fetch(href)
        # Listed by this manifest either way: in its own folder, or as ../detail/<id>/...
        assert hashlib.sha256(downloads[name]).hexdigest() == hashes[f"{detail_path}{path}"]
    # Their content is the database's: the clean mesa's counted votes, a partial count.
    clean = Acta.objects.select_related("counted_entry").get(mesa_id=CLEAN_MESA, papeleta_id="presidente")
    assert clean.counted_entry is not None
    results_csv = downloads["csv"].decode()
    rows = csv.DictReader(io.StringIO(results_csv))
    in_csv = {
        r["partido"]: int(r["votes"])
        for r in rows
        if (r["mesa"], r["papeleta"], r["line"]) == (str(CLEAN_MESA), "presidente", "partido")
    }
    assert {p: n for p, n in in_csv.items() if n} == {p: n for p, n in clean.counted_entry.votes.items() if n}
    report = json.loads(downloads["nist"])
    assert report["@type"].endswith("ElectionReport") and report["Status"] == "unofficial-partial"

    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "results-desktop.png"), full_page=True)

    # Drill down by clicking, from the map to the clean mesa's acta.
    mesa = Mesa.objects.get(numero=CLEAN_MESA)
    # The map from the keyboard: the departamento's shape takes the focus, Enter opens it.
    page.focus(f'svg.map path[data-code="{mesa.departamento_id}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/d/{mesa.departamento_id}")
    page.click(f'table[data-table="children"] tr[data-code="{mesa.municipio_id}"] a')
    page.wait_for_url(f"**/m/{mesa.municipio_id}")
    page.click(f'table[data-table="children"] tr[data-code="{mesa.sede}"] a')
    page.wait_for_url(f"**/s/{mesa.municipio_id}/{mesa.sede}")
    page.click(f'table[data-table="children"] tr[data-code="{CLEAN_MESA}"] a')
    page.wait_for_url(f"**/mesa/{mesa.municipio_id}/{mesa.sede}/{CLEAN_MESA}")

    acta = Acta.objects.select_related("counted_entry").get(mesa_id=CLEAN_MESA, papeleta_id="presidente")
    assert acta.status == "counted" and acta.counted_entry is not None
    panel = '[data-testid="acta-presidente"]'
    wait_for(page, lambda: page.get_attribute(panel, "data-status"), acta.status, "acta status")
    wait_for(page, lambda: page.evaluate(READ_VERSIONS), acta_versions(CLEAN_MESA), "versions and entries")
    assert page.text_content(f'{panel} [data-field="image_sha256"]') == acta.counted_entry.image_sha256
    number_rows = f'{panel} table[data-table="acta-numbers"] tr[data-partido]'
    shown = page.evaluate(
        f"""() => Object.fromEntries([...document.querySelectorAll('{number_rows}')]
        .map(r => [r.dataset.partido, r.dataset.counted]))"""
    )
    assert {p: int(n) for p, n in shown.items() if n != ""} == acta.counted_entry.votes
    assert errors == []
    page.close()

    # The same site reading only the snapshot files: the same numbers, and not one API request.
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="es-GT", is_mobile=True)
    config = {"apiUrl": "", "source": "snapshots", "snapshotsUrl": site.snapshots_url}
    page.route(
        "**/config.js",
        lambda route: route.fulfill(
            body=f"window.ESCRUTINIO_CONFIG = {json.dumps(config)};", content_type="text/javascript"
        ),
    )
    # head.json's detail generation made older than the snapshot: the site reads the sede files
    # through the generation's path and shows the detail's own time.
    detail = {"time": chain[0]["time"]}

    def head_with_detail(route: Any) -> None:
        head = json.loads(route.fetch().text())
        assert head["detail"] is not None, "the snapshot names its detail generation"
        route.fulfill(
            json={**head, "detail": {**head["detail"], **detail}},
            headers={"Access-Control-Allow-Origin": "*"},
        )

    page.route("**/head.json", head_with_detail)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site.url + "/")
    wait_for(page, lambda: page.evaluate(READ_PROGRESS), expected_progress, "progress from the snapshot")
    check_map(page, expected_leaders, "map from the snapshot")
    wait_for(
        page, lambda: page.get_attribute('[data-testid="detail-time"]', "data-time"), detail["time"], "detail"
    )
    assert "detalle por sede y mesa: datos de" in (page.text_content('[data-testid="detail-time"]') or "")
    page.goto(f"{site.url}/mesa/{mesa.municipio_id}/{mesa.sede}/{CLEAN_MESA}")
    wait_for(page, lambda: page.evaluate(READ_VERSIONS), acta_versions(CLEAN_MESA), "acta from the snapshot")
    assert [u for u in asked if u.startswith(site.url + "/api/")] == []
    assert any(u == site.snapshots_url + "head.json" for u in asked)
    assert not any(u.endswith("/latest.json") for u in asked)  # the 2.2 MB manifest is for verifiers
    sede_path = f"{chain[-1]['counts']['detail']['path']}sede/{mesa.municipio_id}-{mesa.sede}.json"
    assert (
        urljoin(f"{site.snapshots_url}{chain[-1]['id']}/", sede_path) in asked
    )  # "../" resolved by the browser

    # A phone: nothing wider than the screen but the tables' own scroll boxes.
    page.goto(site.url + "/")
    wait_for(page, lambda: page.evaluate(READ_PROGRESS), expected_progress, "progress on the phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "results-phone.png"))  # the first screen, as a reader sees it
    assert errors == []
    page.close()
