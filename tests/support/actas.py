"""The TREP sample's mesas in the test database, and typed actas for tests."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from election.actas.trep import trep_acta_json, trep_sample_read
from election.catalogue.index import CATALOGUE_DIR
from election.catalogue.mesa_index import mesa_index_clear
from election.models import Mesa

SAMPLE = trep_sample_read()
SAMPLE_BY_MESA = {acta["mesa"]: acta for acta in SAMPLE}
# Mesa 7791 (Tiquisate, Escuintla): its sample acta passes every rule.
CLEAN_MESA = 7791


def sample_mesas_load(demo: Path = CATALOGUE_DIR / "mesas_2023.csv") -> dict[int, Mesa]:
    """The 20 sample mesas, as the demo catalogue has them, in the database (the test's transaction)."""
    wanted = set(SAMPLE_BY_MESA)
    with open(demo, newline="", encoding="utf-8") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        rows = [row for row in csv.DictReader(lines) if int(row["mesa"]) in wanted]
    mesas = [
        Mesa(
            numero=int(row["mesa"]),
            departamento_id=row["departamento_code"],
            municipio_id=row["municipio_code"],
            sede=row["sede"],
            padron=int(row["padron"]),
        )
        for row in rows
    ]
    Mesa.objects.bulk_create(mesas)
    mesa_index_clear()
    return {mesa.numero: mesa for mesa in mesas}


def typed(mesa: int = CLEAN_MESA, *, entered_by: str = "ana", **changes: Any) -> dict[str, Any]:
    """A sample acta as a digitador types it (POST /actas JSON)."""
    return trep_acta_json(SAMPLE_BY_MESA[mesa], entered_by=entered_by, **changes)
