"""The fault-injection suite (bench/faults.py) at a small, fixed size: no vote lost, none doubled.

It runs as its own process, with its own MariaDB (behind a proxy that can partition or slow
it) and Redis (which it kills, restarts and pauses) and its own gRPC server, gateway,
publisher and Celery worker, so it touches none of the shared services and none of the test
database. Every fault runs for 6 s (the full bench: 20 s) while both routes carry half of the
capacity the run measured first: a real load, not a trickle.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

FAULTS = (
    "baseline",
    "worker-sigkill",
    "grpc-sigkill",
    "redis-restart",
    "mariadb-stop",
    "resend",
    "partition",
    "slow-db",
    "worker-restart-db-down",
    "catalogue-ambiguous",
    "retry-unpublishable",
    "overload",
)
# Each of these faults makes clients retry: a row without retries means the fault missed the
# votes in flight, and then the row proves nothing.
FAULTS_CLIENTS_FEEL = (
    "grpc-sigkill",
    "redis-restart",
    "mariadb-stop",
    "partition",
    "worker-restart-db-down",
    "retry-unpublishable",
    "overload",
)
# What an overloaded entry point must answer: "not now, retry after", never a queue that grows.
OVERLOAD_REFUSALS = ("503", "429", "RESOURCE_EXHAUSTED")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_every_fault_under_load_loses_no_vote_and_doubles_none(tmp_path: Path) -> None:
    results = tmp_path / "faults.json"
    command = ["bench/faults.py", "--quick", "--load", "0.5", "--no-doc", "--results", str(results)]
    done = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1140,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-20000:]

    report = json.loads(results.read_text())
    assert report["load"] >= 0.5
    assert all(report["capacity"][route]["votes_per_second"] > 0 for route in ("redis", "grpc"))
    rows = {row["fault"]: row for row in report["rows"]}
    assert tuple(rows) == FAULTS
    for fault, row in rows.items():
        assert row["sent"] > 0, fault
        assert row["acknowledged"] == row["sent"] == row["stored"], (fault, row)
        assert (row["lost"], row["duplicated"], row["altered"], row["unexpected"]) == (0, 0, 0, 0), row
        assert row["latest_duplicated"] == 0 and row["tally_differences"] == 0, row
        assert row["unacknowledged"] == 0, row
    for fault in FAULTS_CLIENTS_FEEL:
        assert rows[fault]["retries"] > 0, (fault, "the fault did not reach the clients", output[-5000:])
    assert rows["slow-db"]["fault_stats"]["requests_delayed"] > 0, rows["slow-db"]
    assert rows["catalogue-ambiguous"]["fault_stats"]["processes_noticed"], rows["catalogue-ambiguous"]
    unpublishable = rows["retry-unpublishable"]
    assert unpublishable["fault_stats"]["worker_retries_logged"] > 0, unpublishable
    refusals = {
        kind: n for kind, n in rows["overload"]["retries_by_kind"].items() if kind.endswith(OVERLOAD_REFUSALS)
    }
    assert refusals, ("overload was never refused with 503/429/RESOURCE_EXHAUSTED", rows["overload"])
    assert rows["resend"]["sends"] == 2 * rows["resend"]["sent"]
    assert report["reconcile_command"]["exit"] == 0, report["reconcile_command"]
