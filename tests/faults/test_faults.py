"""The fault-injection suite (bench/faults.py) at a small, fixed size: no vote lost, none doubled.

It runs as its own process, with its own MariaDB and Redis (which it kills and restarts) and
its own gRPC server, gateway, publisher and Celery worker, so it touches none of the shared
services and none of the test database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

VOTES_PER_FAULT = 60
# Each of these faults makes clients retry: a row without retries means the fault missed the
# votes in flight, and then the row proves nothing.
FAULTS_CLIENTS_FEEL = ("grpc-sigkill", "redis-restart", "mariadb-stop")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_fault_loses_no_vote_and_doubles_none(tmp_path: Path) -> None:
    results = tmp_path / "faults.json"
    done = subprocess.run(
        [
            sys.executable,
            "bench/faults.py",
            "--votes",
            str(VOTES_PER_FAULT),
            "--window",
            "5",
            "--results",
            str(results),
            "--no-doc",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-20000:]

    report = json.loads(results.read_text())
    rows = {row["fault"]: row for row in report["rows"]}
    assert list(rows) == ["worker-sigkill", "grpc-sigkill", "redis-restart", "mariadb-stop", "resend"]
    for fault, row in rows.items():
        assert row["sent"] == VOTES_PER_FAULT, fault
        assert row["acknowledged"] == row["sent"] == row["stored"], (fault, row)
        assert (row["lost"], row["duplicated"], row["altered"], row["unexpected"]) == (0, 0, 0, 0), row
        assert row["latest_duplicated"] == 0 and row["tally_differences"] == 0, row
    for fault in FAULTS_CLIENTS_FEEL:
        assert rows[fault]["retries"] > 0, (fault, "the fault did not reach the clients", output[-5000:])
    assert rows["resend"]["sends"] == 2 * VOTES_PER_FAULT
    assert report["reconcile_command"]["exit"] == 0, report["reconcile_command"]
