"""For the actas' route tests (tests/grpc/test_actas.py, tests/pubsub/test_actas.py): the
sample mesas committed for real processes, the acta tables emptied around a test, tokens issued
as an operator does, and what the domain computes for an acta, to check the routes against."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.db import connection

from election.actas.checks import acta_failed_rules
from election.actas.validation import acta_validate
from election.catalogue.mesa_index import mesa_index_clear
from election.models import IngestToken, Mesa
from scripts.devservices import wait_until
from tests.conftest import ROOT, child_env
from tests.support.actas import SAMPLE_BY_MESA, sample_mesas_load, typed

# Every table of the actas' domain (entries, versions, heads, tallies, progress, decisions).
ACTA_TABLES = tuple(
    model._meta.db_table
    for model in apps.get_app_config("election").get_models()
    if model.__name__.startswith("Acta") and not model._meta.proxy
)


def _sede_of(mesa: int) -> tuple[int, int, int]:
    acta = SAMPLE_BY_MESA[mesa]
    return acta["departamento_trep"], acta["municipio_trep"], acta["centro"]


# The sample's first mesa and a mesa of another sede, for the access tests.
OWN_MESA = min(SAMPLE_BY_MESA)
OTHER_MESA = next(mesa for mesa in sorted(SAMPLE_BY_MESA) if _sede_of(mesa) != _sede_of(OWN_MESA))


def acta_tables_empty() -> None:
    """DELETE every acta table; the heads and versions point at each other, so without FK checks."""
    with connection.constraint_checks_disabled(), connection.cursor() as cursor:
        for table in ACTA_TABLES:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


@contextmanager
def sample_mesas_committed() -> Iterator[None]:
    """The 20 sample mesas in the test database for the block (committed: processes read them)."""
    loaded = not Mesa.objects.filter(numero__in=SAMPLE_BY_MESA).exists()
    if loaded:
        sample_mesas_load()
    try:
        yield
    finally:
        acta_tables_empty()
        IngestToken.objects.all().delete()
        if loaded:
            Mesa.objects.filter(numero__in=SAMPLE_BY_MESA).delete()
            mesa_index_clear()


def sample_bodies(entered_by: str) -> list[dict[str, Any]]:
    """The 20 sample actas as POST /actas JSON, in mesa order, each with a fresh acta_id."""
    return [typed(mesa, entered_by=entered_by, acta_id=str(uuid.uuid4())) for mesa in sorted(SAMPLE_BY_MESA)]


def domain_failed_rules(body: dict[str, Any]) -> list[str]:
    """The rules the domain finds broken in this acta (election.actas.checks), from the database's mesa."""
    acta = acta_validate(body)
    return list(acta_failed_rules(acta, Mesa.objects.get(numero=acta.mesa).padron))


def single_entry_status(failed_rules: list[str]) -> str:
    """The status of an acta's one entry when one entry is enough (ACTA_ENTRIES_REQUIRED=1)."""
    return "inconsistent" if failed_rules else "counted"


def ingest_tokens(*args: str) -> str:
    """`manage.py ingest_tokens ...` as an operator runs it; its last line (the token, for issue)."""
    command = [sys.executable, "manage.py", "ingest_tokens", *args]
    done = subprocess.run(command, env=child_env(), cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def sede_token_issue(mesa: int) -> str:
    acta = SAMPLE_BY_MESA[mesa]
    body = typed(mesa)
    return ingest_tokens(
        "issue",
        "--departamento",
        body["departamento"],
        "--municipio",
        body["municipio"],
        "--sede",
        str(acta["centro"]),
    )


def until_known(answer: Callable[[], int], known: int, what: str) -> None:
    """Wait until the running processes know a token just issued: a first use is refused 401 and
    asks for their refresh (election.admission.tokens); then `answer()` is `known`."""
    wait_until(lambda: answer() == known, 15, what)


def post(url: str, body: Any, token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST JSON with a bearer token: (status, JSON body, headers with lower-case names)."""
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, json.loads(answer.read()), {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), {k.lower(): v for k, v in error.headers.items()}
