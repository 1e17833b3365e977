"""schemathesis against the results API as deployed: gunicorn on a free port, its own /api/schema/.

For every operation of the OpenAPI schema, schemathesis generates valid and invalid query
parameters and headers (hypothesis underneath) and runs its checks on each answer: never a
5xx, the status, content type, headers and body as the schema documents them, invalid input
refused. The database holds votes through both routes, SQL and markup in sedes among them,
so the answers are not empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from scripts.devservices import free_port, wait_until
from tests.api.conftest import KNOWN_VOTES, record
from tests.conftest import _empty_vote_tables, child_env, process_group
from tests.properties.conftest import INPUTS_TRIED
from tests.properties.strategies import SQL_AND_HTML

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "60"))  # per operation


# An over-long parameter is refused by gunicorn (414, its request-line limit) before the API:
# a rejection too, which schemathesis' default list for invalid requests does not hold.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 414, 415, 422, 428, 429]
"""


def hostile_votes() -> list[tuple[str, str, Any, str, str, str, int]]:
    routes = ("grpc", "redis")
    return [
        ("Peten", "Flores", text, "Blanca", "UNE", routes[i % 2], 1) for i, text in enumerate(SQL_AND_HTML)
    ]


@pytest.fixture(scope="module")
def api_url(request, django_db_setup, django_db_blocker) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The Procfile's API command (gunicorn) on a free port, over a database with votes."""
    port = free_port()
    broker = redis_lib.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    with django_db_blocker.unblock():
        _empty_vote_tables()
        broker.flushdb()
        record(KNOWN_VOTES + hostile_votes())
        argv = [sys.executable, "-m", "gunicorn", "election.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        argv += ["--workers", "2"]
        try:
            with process_group(request) as group:
                group.start("api", argv, child_env()).wait_for_port(port)
                base = f"http://127.0.0.1:{port}"
                wait_until(lambda: _answers(f"{base}/readyz"), 30, "the API's readiness")
                yield base
        finally:
            _empty_vote_tables()
            broker.flushdb()
            broker.close()


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_the_api_answers_every_generated_request_as_its_schema_says(api_url: str, tmp_path: Path) -> None:
    report = tmp_path / "schemathesis.json"
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    argv = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{api_url}/api/schema/?format=json",
        "--checks",
        "all",
        # Not this one: any string is a schema-valid name, yet a name the catalogue does not
        # know is refused (400, documented); OpenAPI cannot say "a name in the catalogue".
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "2",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    if os.environ.get("SCHEMATHESIS_SEED"):  # replay a run: its seed is in its output
        argv += ["--seed", os.environ["SCHEMATHESIS_SEED"]]
    # From tmp_path: the CLI keeps a cache (.schemathesis/) in its working directory.
    run = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    print(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    summary = json.loads(report.read_text())
    INPUTS_TRIED["schemathesis: every /api/ operation, positive and negative"] += summary["test_cases"][
        "generated"
    ]
    assert summary["operations"]["tested"] == summary["operations"]["selected"] >= 7
    assert summary["test_cases"]["generated"] > 0 and not summary["failures"] and not summary["errors"]
