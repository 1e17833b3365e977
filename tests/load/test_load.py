"""`make load` end to end: a short headless Locust run against the whole running system,
bad votes and digitadores included, then the reconciliation (every acknowledged vote and acta
stored exactly once, API counts equal to the ledger's, each acta's status as its typings make
it, the counted tallies equal to the ledger's and to their recount, no unexpected Locust failure)."""

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from election.catalogue.index import CATALOGUE_DIR
from election.catalogue.mesa_index import mesa_index_clear
from election.catalogue.mesa_load import mesas_load
from election.models import IngestToken, Mesa
from scripts.processes import Spawn
from scripts.system import System
from tests.support.acta_routes import acta_tables_empty


@pytest.fixture
def demo_mesas(committed_db: None) -> Iterator[None]:
    """The demo catalogue's mesas, committed (the system's processes read them), as `make run` loads them."""
    loaded = not Mesa.objects.exists()
    if loaded:
        mesas_load(CATALOGUE_DIR / "mesas_2023.csv")
    mesa_index_clear()
    try:
        yield
    finally:
        acta_tables_empty()
        IngestToken.objects.filter(label="make load").delete()
        if loaded:
            Mesa.objects.all().delete()
        mesa_index_clear()


@pytest.mark.slow
def test_a_short_locust_run_reconciles(
    spawn: Spawn, service_env: dict[str, str], demo_mesas: None, redis_client: redis.Redis, tmp_path: Path
) -> None:
    system = System(spawn, service_env).start()
    command = [
        sys.executable, "-m", "scripts.load", "--users", "12", "--spawn-rate", "12", "--run-time", "6s",
        "--bad-share", "0.1", "--api-url", system.url("api"), "--gateway-url", system.url("gateway"),
        "--publisher-url", system.url("publisher"), "--out", str(tmp_path), "--drain-timeout", "60",
        # Shares large enough that a short run surely has actas in review and inconsistent ones.
        "--acta-typo-share", "0.25", "--acta-rule-share", "0.25",
    ]  # fmt: skip
    result = subprocess.run(command, env=system.env, capture_output=True, text=True, timeout=300)
    print(result.stdout[-3000:])  # the reconciliation's table, shown with -rP or on failure
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "RESULT: whole" in result.stdout
    ledger = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    routes = {entry["route"] for entry in ledger if entry["status"] in (201, 202)}
    assert routes == {"grpc", "redis"}  # both routes carried votes
    assert any(entry["bad"] and entry["status"] == 400 for entry in ledger)
    typings = [json.loads(line) for line in (tmp_path / "acta-ledger.jsonl").read_text().splitlines()]
    assert {t["route"] for t in typings if t["status"] in (201, 202)} == {"grpc", "redis"}
    assert {t["kind"] for t in typings} == {"clean", "typo", "rule"}
    # Every acta's two typings were sent; the reconciliation found each status as expected.
    assert set(Counter((t["mesa"], t["papeleta"]) for t in typings).values()) <= {1, 2}
    for status in ("counted", "in_review", "inconsistent"):
        assert f"actas {status}" in result.stdout
