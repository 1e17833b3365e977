"""Counted actas in bulk, for bench/results_api.py: the demo catalogue's mesas, and each mesa's
acta of each papeleta counted as double entry leaves it (two agreeing entries, a decided
version, the head), with the counted tallies moved to match.

Straight into the tables, as results_api loads its votes: multi-row INSERTs with the ids set
here (the head, its version and its entries point at each other), unique and foreign-key
checks off for the loading session only, and ActaTally/ActaProgress through
election.actas.tallies.tallies_move, the upserts actas_record runs, so that they equal the
recount from the stored entries. The sheets are bench/simulation.py ActaGenerator's.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast

CHUNK = 2_000  # actas per statement group
ACTA_COUNTS = (
    "nulos", "blancos", "invalidos", "impugnados", "total_valid", "total_cast", "voters",
    "ballots_received", "ballots_unused",
)  # fmt: skip


def mesas_ensure() -> int:
    """The demo catalogue's mesas in the database; how many there are."""
    from election.catalogue.index import CATALOGUE_DIR
    from election.catalogue.mesa_load import mesas_load
    from election.models import Mesa

    if Mesa.objects.count() < 24_427:
        mesas_load(CATALOGUE_DIR / "mesas_2023.csv")
    return Mesa.objects.count()


def actas_empty() -> None:
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET SESSION foreign_key_checks = 0")
        for model in apps.get_app_config("election").get_models():
            if model.__name__.startswith("Acta"):
                cursor.execute(f"TRUNCATE TABLE {connection.ops.quote_name(model._meta.db_table)}")
        cursor.execute("SET SESSION foreign_key_checks = 1")


def actas_load(mesas: int | None) -> dict[str, Any]:
    """Every papeleta's acta of the first `mesas` mesas (all: None), counted; reused when the
    database holds exactly those already."""
    from django.db import connection, transaction

    from bench.simulation import ActaGenerator
    from election.actas.tallies import ActaPlace, Counts, tallies_move
    from election.models import Acta

    generator = ActaGenerator(seed=22)
    numbers = sorted(generator.mesas)[:mesas]
    papeletas = sorted(generator.colours)
    target = len(numbers) * len(papeletas)
    have = Acta.objects.filter(status="counted").count()
    if have == target == Acta.objects.count():
        print(f"database already holds {have:,} counted actas: reusing them")
        return {"reused": True, "actas": have, "seconds": 0.0}
    actas_empty()
    start = time.perf_counter()
    keys = [(mesa, papeleta) for mesa in numbers for papeleta in papeletas]
    decided = (datetime.now(UTC) - timedelta(hours=5)).replace(tzinfo=None)
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
    for first in range(0, len(keys), CHUNK):
        rows = _rows(generator, keys[first : first + CHUNK], first, decided)
        counts = Counts.empty()
        for mesa, papeleta, entry in rows["counted"]:
            place = generator.mesas[mesa]
            key = ActaPlace(place.municipio_code[:2], place.municipio_code, str(place.sede), papeleta)
            counts.add(key, "counted", cast(Any, entry), place.padron, 1)  # the numbers add() reads
        with transaction.atomic(), connection.cursor() as cursor:
            for table, columns, values in rows["tables"]:
                marks = ", ".join(["%s"] * len(columns))
                # identifiers are this module's; every value is a parameter
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                cursor.executemany(sql, values)
            tallies_move(counts)
        done = first + len(rows["counted"])
        if done % 20_000 < CHUNK:
            print(f"  {done:,} counted actas loaded ({time.perf_counter() - start:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION unique_checks = 1, foreign_key_checks = 1")
        cursor.execute(
            "ANALYZE TABLE election_acta, election_actaentry, election_actatally, election_actaprogress, "
            "election_actasedetally, election_actasedetotal"
        )
    return {"reused": False, "actas": len(keys), "seconds": round(time.perf_counter() - start, 1)}


class _Numbers:
    """A sheet's numbers under the names ActaEntry has (what Counts.add reads)."""

    def __init__(self, sheet: dict[str, Any]) -> None:
        self.votes = sheet["votes"]
        for name in ACTA_COUNTS:
            setattr(self, name, sheet[name])


def _rows(generator: Any, keys: list[tuple[int, str]], offset: int, decided: datetime) -> dict[str, Any]:
    """One chunk's rows: ids from `offset` (acta i: head i, version i, entries 2i-1 and 2i)."""
    import uuid

    heads, versions, entries, counted = [], [], [], []
    for i, (mesa, papeleta) in enumerate(keys, start=offset + 1):
        sheet = generator.sheet(mesa, papeleta)
        place = generator.mesas[mesa]
        votes = json.dumps(dict(sorted(sheet["votes"].items())))
        for n, who in ((2 * i - 1, "A"), (2 * i, "B")):
            entries.append(
                (n, uuid.UUID(int=generator.random.getrandbits(128), version=4).hex, i, mesa, papeleta, votes,
                 *(sheet[c] for c in ACTA_COUNTS), "0" * 64, f"bench digitador {who}", f"token:{who}",
                 False, None, "grpc" if n % 2 else "redis", "[]", decided, decided)
            )  # fmt: skip
        versions.append((i, i, 1, "counted", "[]", "[]", decided, decided, "", None, 2 * i - 1))
        heads.append(
            (i, mesa, papeleta, place.municipio_code[:2], place.municipio_code, str(place.sede), "counted",
             "[]", "[]", i, 2 * i - 1, decided)
        )  # fmt: skip
        counted.append((mesa, papeleta, _Numbers(sheet)))
    return {
        "counted": counted,
        "tables": [
            ("election_acta", ("id", "mesa_id", "papeleta_id", "departamento_id", "municipio_id", "sede",
              "status", "failed_rules", "differing_fields", "current_version_id", "counted_entry_id",
              "updated_at"),
             heads),
            ("election_actaversion", ("id", "acta_id", "number", "status", "failed_rules", "differing_fields",
              "opened_at", "decided_at", "decided_by", "reason", "chosen_entry_id"), versions),
            ("election_actaentry", ("id", "acta_id", "version_id", "mesa_id", "papeleta_id", "votes",
              *ACTA_COUNTS, "image_sha256", "entered_by", "credential", "corrects", "reason", "route",
              "failed_rules", "received_at", "stored_at"), entries),
        ],
    }  # fmt: skip
