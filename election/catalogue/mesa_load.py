"""Loading the catalogue of mesas (JRV) from a CSV file: every row checked, then one transaction.

The file: a header `departamento_code,municipio_code,sede,mesa,padron` (any order), one mesa
a row; lines starting with `#` are comments. Codes are INE codes (a departamento "01", a
municipio "0101"); a code that lost its leading zeros in a spreadsheet ("1", "101") is read
padded back. Every bad row is reported with its line number, and a file with any bad row
writes nothing.

Loading makes the table equal to the file (a sync, not an add): mesas absent from the file are
deleted, changed ones updated, new ones inserted, unchanged ones left alone. So loading the same
file twice gives the same table and the second load writes nothing; a file of another election
replaces the last one instead of mixing with it; and rows that do not change are never touched,
so anything that comes to refer to a mesa keeps it. Inserts are batched (bulk_create in
chunks, never ignore_conflicts: on MariaDB that is INSERT IGNORE, which hides bad rows).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from django.db import transaction

from election.catalogue.mesa_index import mesa_index_clear
from election.catalogue.mesa_selectors import MESA_NUMBER_MAX
from election.catalogue.sedes import sede_canonical
from election.models import SEDE_MAX_LENGTH, Mesa, Municipio

COLUMNS = ("departamento_code", "municipio_code", "sede", "mesa", "padron")
CHUNK = 2000
INTEGER_MAX = MESA_NUMBER_MAX  # a mesa's number and padrón: MariaDB's signed INT

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class MesaRow:
    numero: int
    departamento_code: str
    municipio_code: str
    sede: str
    padron: int


@dataclass(frozen=True, slots=True)
class LoadResult:
    inserted: int
    updated: int
    deleted: int
    unchanged: int


class MesasFileInvalid(ValueError):
    """The file has bad rows; `errors` holds (line number, message), every one of them."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} bad row(s)")


def mesas_load(path: Path, *, progress: Progress | None = None) -> LoadResult:
    """Check every row of the file at `path`, then make the Mesa table equal to it.

    Raises MesasFileInvalid, having written nothing, when any row is bad.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:  # -sig: a spreadsheet's BOM
        rows = mesas_read(handle)
    return mesas_sync(rows, progress=progress)


def mesas_read(handle: TextIO) -> list[MesaRow]:
    """Every row of the file, checked against the catalogue; MesasFileInvalid lists all the bad ones."""
    municipio_homes = dict(Municipio.objects.values_list("code", "departamento_id"))
    departamentos = set(municipio_homes.values())
    errors: list[tuple[int, str]] = []
    rows: list[MesaRow] = []
    first_line_of: dict[int, int] = {}
    lines = _data_lines(csv.reader(handle))
    header = next(lines, None)
    if header is None:
        raise MesasFileInvalid([(1, f"Empty file: expected the header {','.join(COLUMNS)}.")])
    header_line, names = header
    names = [name.strip() for name in names]
    missing = [column for column in COLUMNS if column not in names]
    unknown = [name for name in names if name not in COLUMNS]
    if missing or unknown or len(set(names)) != len(names):
        raise MesasFileInvalid([(header_line, f"The header must name the columns {', '.join(COLUMNS)}.")])
    position = {name: names.index(name) for name in COLUMNS}
    for line, fields in lines:
        if len(fields) != len(names):
            errors.append((line, f"Expected {len(names)} fields, found {len(fields)}."))
            continue
        row_errors: list[str] = []
        value = {name: fields[position[name]].strip() for name in COLUMNS}
        departamento = _code(value["departamento_code"], 2)
        municipio = _code(value["municipio_code"], 4)
        if departamento not in departamentos:
            row_errors.append(f"Unknown departamento_code '{value['departamento_code']}'.")
        if municipio not in municipio_homes:
            row_errors.append(f"Unknown municipio_code '{value['municipio_code']}'.")
        elif departamento in departamentos and municipio_homes[municipio] != departamento:
            row_errors.append(
                f"municipio_code '{municipio}' is not in departamento '{departamento}' "
                f"(it is in '{municipio_homes[municipio]}')."
            )
        sede = value["sede"]
        if not sede:
            row_errors.append("sede is empty.")
        elif len(sede) > SEDE_MAX_LENGTH or not sede.isprintable():
            row_errors.append(f"sede must be printable text of at most {SEDE_MAX_LENGTH} characters.")
        numero = _positive(value["mesa"], "mesa", row_errors)
        padron = _positive(value["padron"], "padron", row_errors)
        if numero is not None:
            if numero in first_line_of:
                row_errors.append(f"mesa {numero} is repeated (first on line {first_line_of[numero]}).")
            else:
                first_line_of[numero] = line
        if row_errors:
            errors.append((line, " ".join(row_errors)))
        elif numero is not None and padron is not None:
            rows.append(MesaRow(numero, departamento, municipio, sede_canonical(sede), padron))
    if errors:
        raise MesasFileInvalid(errors)
    return rows


def _data_lines(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each line of a csv.reader that is neither blank nor a comment."""
    for fields in reader:
        if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
            continue
        yield reader.line_num, fields  # the file's line, counting comments and quoted newlines


def _code(text: str, width: int) -> str:
    return text.zfill(width) if text.isascii() and text.isdigit() else text


def _positive(text: str, name: str, errors: list[str]) -> int | None:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        errors.append(f"{name} must be a positive integer, not '{text}'.")
        return None
    if int(text) > INTEGER_MAX:
        errors.append(f"{name} must be at most {INTEGER_MAX}.")
        return None
    return int(text)


def mesas_sync(rows: list[MesaRow], *, progress: Progress | None = None) -> LoadResult:
    """Make the Mesa table equal to `rows` (checked, numbers unique), in one transaction."""
    say = progress or (lambda message: None)
    wanted = {
        row.numero: Mesa(
            numero=row.numero,
            departamento_id=row.departamento_code,
            municipio_id=row.municipio_code,
            sede=row.sede,
            padron=row.padron,
        )
        for row in rows
    }
    with transaction.atomic():
        current = {
            mesa.numero: mesa for mesa in Mesa.objects.select_for_update().order_by("numero").iterator(CHUNK)
        }
        gone = sorted(set(current) - set(wanted))
        new = [mesa for numero, mesa in wanted.items() if numero not in current]
        changed = [
            mesa for numero, mesa in wanted.items() if numero in current and _differs(current[numero], mesa)
        ]
        for start in range(0, len(gone), CHUNK):
            Mesa.objects.filter(numero__in=gone[start : start + CHUNK]).delete()
        if gone:
            say(f"deleted {len(gone)} mesas that are not in the file")
        for start in range(0, len(changed), CHUNK):
            Mesa.objects.bulk_update(
                changed[start : start + CHUNK], ["departamento", "municipio", "sede", "padron"]
            )
            say(f"updated {min(start + CHUNK, len(changed))}/{len(changed)} mesas")
        for start in range(0, len(new), CHUNK):
            Mesa.objects.bulk_create(new[start : start + CHUNK])
            say(f"inserted {min(start + CHUNK, len(new))}/{len(new)} mesas")
    mesa_index_clear()  # this process validates against the new table from its next vote
    return LoadResult(
        inserted=len(new),
        updated=len(changed),
        deleted=len(gone),
        unchanged=len(wanted) - len(new) - len(changed),
    )


def _differs(stored: Mesa, wanted: Mesa) -> bool:
    return (stored.departamento_id, stored.municipio_id, stored.sede, stored.padron) != (
        wanted.departamento_id,
        wanted.municipio_id,
        wanted.sede,
        wanted.padron,
    )
