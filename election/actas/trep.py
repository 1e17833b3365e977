"""A TREP sample acta (shared/data/trep_2023_sample/actas.json) as the POST /actas JSON.

Plain Python, no Django: the routes' replay and the tests share it. The TREP's geography
is read as the catalogue's README says (departamento 0, the Distrito Central, is municipio
0101; departamento 1 is the rest of Guatemala; otherwise the TREP's numbers are the INE
codes'); its centro is the sede. The acta's lines map to the fields below; "Total Votos"
(total_cast + invalidos, as printed) has no field of its own and is dropped. The sample has
no scans, so `image_sha256` is the SHA-256 of the acta's source path: a stable stand-in.
"""

from __future__ import annotations

import csv
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

PAPELETA = "presidente"  # the sample's actas are presidential
TOTALS = {
    "Total Votos Válidos": "total_valid",
    "Votos Nulos": "nulos",
    "Votos en Blanco": "blancos",
    "Total Votos Válidamente Emitidos": "total_cast",
    "Votos Inválidos": "invalidos",
    "Impugnaciones": "impugnados",
    "Cantidad de papeletas recibidas": "ballots_received",
    "Cantidad de papeletas no usadas": "ballots_unused",
    "Ciudadanos que se presentaron a votar": "voters",
}
DROPPED = frozenset({"Total Votos"})
TREP_SAMPLE = Path(__file__).resolve().parent / "data" / "trep_2023_sample.json"  # see data/README.md
MUNICIPIOS_CSV = Path(__file__).resolve().parent.parent / "catalogue" / "data" / "municipios.csv"


def trep_codes(departamento_trep: int, municipio_trep: int) -> tuple[str, str]:
    """The INE departamento and municipio codes of a TREP geography."""
    if departamento_trep == 0:
        return "01", "0101"
    departamento = 1 if departamento_trep == 1 else departamento_trep
    return f"{departamento:02d}", f"{departamento:02d}{municipio_trep:02d}"


@cache
def _names() -> dict[str, tuple[str, str]]:
    """municipio code -> (departamento name, municipio name), from the catalogue's file."""
    with open(MUNICIPIOS_CSV, newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return {row["municipio_code"]: (row["departamento"], row["municipio"]) for row in rows}


def trep_acta_json(
    acta: dict[str, Any], *, entered_by: str, acta_id: str | None = None, **changes: Any
) -> dict[str, Any]:
    """The POST /actas body of one sample acta, typed by `entered_by`; `changes` override fields."""
    _, municipio_code = trep_codes(acta["departamento_trep"], acta["municipio_trep"])
    departamento, municipio = _names()[municipio_code]
    body: dict[str, Any] = {
        "mesa": acta["mesa"],
        "departamento": departamento,
        "municipio": municipio,
        "sede": acta["centro"],
        "papeleta": PAPELETA,
        "votes": {},
    }
    for row in acta["rows"]:
        name, count = row["partido"], row["votos"]
        if name in TOTALS:
            body[TOTALS[name]] = count
        elif name not in DROPPED:
            body["votes"][name] = count
    body["image_sha256"] = hashlib.sha256(acta["source_path"].encode("utf-8")).hexdigest()
    body |= {"entered_by": entered_by, "corrects": False, "reason": None}
    if acta_id is not None:
        body["acta_id"] = acta_id
    return body | changes


def trep_sample_read(path: Path = TREP_SAMPLE) -> list[dict[str, Any]]:
    """The sample's actas, by mesa."""
    with open(path, encoding="utf-8") as handle:
        return sorted(json.load(handle), key=lambda acta: acta["mesa"])
