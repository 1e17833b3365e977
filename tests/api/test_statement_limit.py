"""The API's statement time limit: a read that runs too long is ended by MariaDB and answered 503.

The API starts from its Procfile line (scripts.part api), which sets DB_STATEMENT_TIMEOUT_MS
from API_STATEMENT_TIMEOUT_MS; every other process has no limit unless told. A statement is made
slow for real: another session holds a write lock on the table it reads, as a long write or a
stalled database would, and the API's statement waits in MariaDB until its limit ends it.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from django.db import connection

from scripts.system import start_part
from tests.api.conftest import KNOWN_VOTES, record
from tests.api.test_http import fetch
from tests.conftest import child_env

pytestmark = pytest.mark.skipif(connection.vendor != "mysql", reason="max_statement_time is MariaDB's")

LIMIT_MS = 300


def test_a_statement_over_the_limit_is_503_with_retry_after_and_the_next_request_is_served(
    service_env: dict[str, str], redis_client: Any, spawn: Any, port: int
) -> None:
    env = {**service_env, "API_PORT": str(port), "API_WORKERS": "1"}
    env["API_STATEMENT_TIMEOUT_MS"] = str(LIMIT_MS)
    start_part(spawn, "api", env).wait_for_port(port)
    summary_url = f"http://127.0.0.1:{port}/api/results/summary"
    record(KNOWN_VOTES)
    total = sum(row[-1] for row in KNOWN_VOTES)
    assert fetch(summary_url)[2]["total"] == total  # the worker holds its connection

    with connection.cursor() as other_session:
        other_session.execute("LOCK TABLES election_routetally WRITE")  # the summary reads it
        try:
            status, headers, body = fetch(summary_url, Accept="application/json")
        finally:
            other_session.execute("UNLOCK TABLES")

    assert status == 503, body
    assert headers["Retry-After"] == "1"
    assert body == {"detail": "Reading the results took longer than the API allows: try again in a moment."}
    status, _, summary = fetch(summary_url)  # the same worker, its connection still usable
    assert status == 200 and summary["total"] == total


@pytest.mark.parametrize(("env", "seconds"), [({}, 0.0), ({"DB_STATEMENT_TIMEOUT_MS": "1500"}, 1.5)])
def test_no_limit_unless_the_process_is_told(committed_db: None, env: dict[str, str], seconds: float) -> None:
    """The default, 0, is every process's but the API's: a worker's commit is never cut short."""
    script = (
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('SELECT @@max_statement_time'); "
        "print(cursor.fetchone()[0])"
    )
    base = {k: v for k, v in child_env().items() if k != "DB_STATEMENT_TIMEOUT_MS"}
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={**base, "DJANGO_SETTINGS_MODULE": "election.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert float(run.stdout.strip()) == seconds
