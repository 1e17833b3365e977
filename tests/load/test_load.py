"""`make load` end to end: a short headless Locust run against the whole running system,
bad votes included, then the reconciliation (every acknowledged vote stored exactly once,
API counts equal to the ledger's, no unexpected Locust failure)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from scripts.processes import Spawn
from scripts.system import System


@pytest.mark.slow
def test_a_short_locust_run_reconciles(
    spawn: Spawn, service_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path
) -> None:
    system = System(spawn, service_env).start()
    command = [
        sys.executable, "-m", "scripts.load", "--users", "12", "--spawn-rate", "12", "--run-time", "6s",
        "--bad-share", "0.1", "--api-url", system.url("api"), "--gateway-url", system.url("gateway"),
        "--publisher-url", system.url("publisher"), "--out", str(tmp_path), "--drain-timeout", "60",
    ]  # fmt: skip
    result = subprocess.run(command, env=system.env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "RESULT: whole" in result.stdout
    ledger = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    routes = {entry["route"] for entry in ledger if entry["status"] in (201, 202)}
    assert routes == {"grpc", "redis"}  # both routes carried votes
    assert any(entry["bad"] and entry["status"] == 400 for entry in ledger)
