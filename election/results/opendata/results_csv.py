"""results.csv: every acta's numbers, one row per mesa, papeleta and partido (docs/opendata.md).

The layout is OpenElections' (one flat table, a row per reporting unit, office and candidate,
the totals as rows of their own) with this election's units: departamento, municipio, sede and
mesa, the papeleta for the office, the partido for the candidate. `line` says what a row
counts: `partido` (that partido's votes), one of the acta's counts (`nulos`, `blancos`, ...,
the names of the acta's fields, as the API has them), or `padron` (the mesa's registered
voters). Only counted actas carry numbers; an acta received but not counted (inconsistent, in
review, pending) is one row with its status and empty `line`, `partido` and `votes`, so a reader
sees which mesas are missing and why, and no uncounted number is ever summed by mistake.
"""

from __future__ import annotations

from functools import lru_cache
from typing import BinaryIO

from election.actas.types import COUNT_FIELDS
from election.catalogue.index import catalogue_index
from election.results.consistent import consistent_read
from election.results.opendata.reading import ActaRow, actas_in_mesa_order

COLUMNS = (
    "departamento_code",
    "departamento",
    "municipio_code",
    "municipio",
    "sede",
    "mesa",
    "papeleta",
    "status",
    "line",
    "partido",
    "votes",
)
PARTIDO_LINE = "partido"
PADRON_LINE = "padron"
TOTAL_LINES = (*COUNT_FIELDS, PADRON_LINE)  # after the partidos, in this order
FLUSH_ACTAS = 256  # actas' rows joined and written at a time (some 9,000 rows, 0.7 MB)


@lru_cache(maxsize=4_096)
def quoted(text: str) -> str:
    """A CSV field (RFC 4180): in double quotes, doubled inside, when it holds a separator, a
    quote or a line break; as it is otherwise. Names and siglas repeat, hence the cache."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def acta_text(acta: ActaRow, departamento: str, municipio: str) -> str:
    """The rows of one acta, each ending in a newline: its partidos in sigla order, then its
    totals (TOTAL_LINES); or one row with its status when it is not counted."""
    head = ",".join(
        (
            acta.departamento,
            quoted(departamento),
            acta.municipio,
            quoted(municipio),
            quoted(acta.sede),
            str(acta.mesa),
            quoted(acta.papeleta),
            acta.status,
        )
    )
    if acta.counted is None:
        return f"{head},,,\n"
    counted = acta.counted
    partidos = [
        f"{head},{PARTIDO_LINE},{quoted(sigla)},{votes}\n"
        for sigla, votes in sorted(counted["votes"].items())
    ]
    totals = [f"{head},{name},,{counted[name]}\n" for name in COUNT_FIELDS]
    return "".join((*partidos, *totals, f"{head},{PADRON_LINE},,{acta.padron}\n"))


def write_results_csv(out: BinaryIO) -> None:
    """Write results.csv (UTF-8, a header row, `\\n` line ends) into `out`, streaming: a page of
    actas read at a time (reading.actas_in_mesa_order), `FLUSH_ACTAS` actas' rows written at a time."""
    index = catalogue_index()
    departamentos, municipios = index.departamento_names, index.municipio_names
    out.write((",".join(COLUMNS) + "\n").encode())
    pending: list[str] = []
    with consistent_read():
        for acta in actas_in_mesa_order():
            departamento = departamentos.get(acta.departamento, acta.departamento)
            pending.append(acta_text(acta, departamento, municipios.get(acta.municipio, acta.municipio)))
            if len(pending) >= FLUSH_ACTAS:
                out.write("".join(pending).encode())
                pending.clear()
    out.write("".join(pending).encode())
