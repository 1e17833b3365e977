"""Fixtures shared by the suite: committed data in the test database, real processes on free ports.

Unit tests use pytest-django's `db` (a transaction rolled back after the test). Tests that
start other processes (a gRPC server, a Celery worker, gunicorn) need data those processes
can see, so they use `committed_db`, which commits for real and empties the vote tables
before and after the test; the catalogue, loaded by the migrations, is left alone.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis as redis_lib
from django.db import connection

from election.models import Snapshot, Vote
from election.votes.tallies import TALLIES
from election.votes.types import ValidatedVote
from election.votes.validation import vote_validate
from scripts.devservices import free_port
from scripts.processes import ProcessGroup, Spawn

ROOT = Path(__file__).resolve().parent.parent
# The shared ingest token of the system under test (INGEST_TOKEN): every client sends it as
# `Authorization: Bearer ...` (gRPC: `authorization` metadata). tests/admission checks the rest.
INGEST_TOKEN = "test-ingest-token"  # a throwaway of the tests
AUTHORIZATION = f"Bearer {INGEST_TOKEN}"
# The per-sede rate limit stays on in tests but never binds: many tests send one sede's
# votes back to back. tests/admission sets real limits.
UNBOUND_RATE = {"INGEST_RATE_PER_SEDE": "1000000", "INGEST_RATE_BURST": "1000000"}
# The vote table and every tally the recording transaction keeps in step with it.
VOTE_TABLES = (Vote._meta.db_table, *(tally.model._meta.db_table for tally in TALLIES))
# Emptied around every test that commits: the votes, and the snapshot chain's rows (whose files
# live in a test's own directory, so a row left behind would name a manifest nobody can read).
COMMITTED_TABLES = (*VOTE_TABLES, Snapshot._meta.db_table)


def field_vote(
    departamento: str, municipio: str, sede: Any, papeleta: str, partido: str, *, received_at: datetime
) -> ValidatedVote:
    """A vote as a sede reports it, with a fresh vote_id, validated as the ingest does."""
    data = {"departamento": departamento, "municipio": municipio, "sede": sede}
    data |= {"papeleta": papeleta, "partido": partido, "vote_id": str(uuid.uuid4())}
    return vote_validate(data, received_at=received_at)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The test database, always: pytest-django would create it only for tests marked
    django_db, and tests that use just `committed_db` need it as much."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})  # type: ignore[arg-type]  # Django takes a set
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=0)


@pytest.fixture(autouse=True)
def _results_always_fresh(settings) -> None:  # type: ignore[no-untyped-def]
    """Results answers never come from a version an earlier test read (see RecentVersion)."""
    settings.RESULTS_MAX_AGE_MS = 0


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        _empty_vote_tables()
        yield
        _empty_vote_tables()


def _empty_vote_tables() -> None:
    with connection.cursor() as cursor:
        for table in COMMITTED_TABLES:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def database_url_of_test_db() -> str:
    """DATABASE_URL for a child process, pointing at the test database pytest-django made."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "root")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"])
    return f"mysql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 3306}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process of the system under test: the test database,
    the shared test token, a rate limit that never binds."""
    return {
        **os.environ,
        "DATABASE_URL": database_url_of_test_db(),
        "ESCRUTINIO_DEV": "1",
        "LOG_FORMAT": "plain",
        "PYTHONUNBUFFERED": "1",
        "RESULTS_MAX_AGE_MS": "0",  # tests compare answers right after storing votes
        "INGEST_TOKEN": INGEST_TOKEN,
        **UNBOUND_RATE,
        **extra,
    }


@pytest.fixture
def service_env(committed_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return child_env()


@pytest.fixture
def redis_client() -> Iterator[redis_lib.Redis]:
    """The test Redis (REDIS_URL), emptied before and after the test."""
    client = redis_lib.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@contextmanager
def process_group(request: pytest.FixtureRequest) -> Iterator[ProcessGroup]:
    """Processes stopped when the block ends, their output printed if a test failed meanwhile."""
    group = ProcessGroup()
    failed_before = request.session.testsfailed
    try:
        yield group
    finally:
        for child in group.stop_all():
            if request.session.testsfailed > failed_before:
                sys.stderr.write(f"\n----- {child.name} output -----\n{child.output()}\n")


@pytest.fixture
def spawn(request: pytest.FixtureRequest) -> Iterator[Spawn]:
    """Start processes that are stopped at the end of the test."""
    with process_group(request) as group:
        yield group.start


@pytest.fixture
def port() -> int:
    return free_port()
