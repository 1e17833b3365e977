"""The area views of a snapshot and the sedes' files of a detail generation (detail.py;
election/results/areas.py computes them):

    area/<source>/<papeleta>/pais.json, departamento/<code>.json, municipio/<code>.json  (regular)
    sede/<municipio code>-<sede>.json (detail): {"areas": {source: {papeleta: the sede's view}},
                                        "actas": {"<mesa>": {papeleta: acta detail}}}

A sede's file gathers ten views (two sources, five papeletas) that the bulk reader hands out one
(source, papeleta) at a time, so each view is spooled to a temporary file as it comes and the
sede's file is put together from those bytes at the end: memory holds offsets, not views.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from typing import IO, Any

from election.results.areas import area_views
from election.results.mesa_actas import sedes_actas
from election.results.snapshots.counts import SOURCES, papeleta_codes
from election.results.snapshots.files import SnapshotContext, SnapshotFile, json_file
from election.results.snapshots.manifest import json_bytes

SedeKey = tuple[str, str]  # (municipio code, sede)


class SedeSpool:
    """Each sede's views, as JSON bytes in one temporary file, by (sede, source, papeleta)."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self.where: dict[SedeKey, dict[str, dict[str, tuple[int, int]]]] = defaultdict(
            lambda: defaultdict(dict)
        )

    def add(self, sede: SedeKey, source: str, papeleta: str, view: dict[str, Any]) -> None:
        encoded = json_bytes(view)
        self.where[sede][source][papeleta] = (self.file.tell(), len(encoded))
        self.file.write(encoded)

    def write_areas(self, sede: SedeKey, out: IO[bytes]) -> None:
        """`{source: {papeleta: view}}` of one sede, copied from the spool."""
        out.write(b"{")
        for i, (source, papeletas) in enumerate(self.where.get(sede, {}).items()):
            out.write(b"," * bool(i) + json_bytes(source) + b":{")
            for j, (papeleta, (offset, length)) in enumerate(papeletas.items()):
                out.write(b"," * bool(j) + json_bytes(papeleta) + b":")
                end = self.file.tell()
                self.file.seek(offset)
                out.write(self.file.read(length))
                self.file.seek(end)
            out.write(b"}")
        out.write(b"}")

    def close(self) -> None:
        self.file.close()


def area_files(context: SnapshotContext) -> Iterator[SnapshotFile]:
    """pais, departamento and municipio views: the regular snapshot's, every interval."""
    for source in SOURCES:
        for papeleta in papeleta_codes():
            for _key, view in area_views(source, papeleta, sedes=False):
                level, prefix = view["level"], f"area/{source}/{papeleta}"
                if level == "pais":
                    yield json_file(f"{prefix}/pais.json", view)
                elif level == "departamento":
                    yield json_file(f"{prefix}/departamento/{view['departamento']['code']}.json", view)
                else:
                    yield json_file(f"{prefix}/municipio/{view['municipio']['code']}.json", view)


def sede_files(context: SnapshotContext) -> Iterator[SnapshotFile]:
    """Every sede's file: its views and its mesas' actas (the detail generation's)."""
    spool = SedeSpool()
    try:
        for source in SOURCES:
            for papeleta in papeleta_codes():
                for _key, view in area_views(source, papeleta):
                    if view["level"] == "sede":
                        spool.add((view["municipio"]["code"], str(view["sede"])), source, papeleta, view)
        written: set[SedeKey] = set()
        for municipio, sede, actas in sedes_actas():  # every sede of the catalogue, in chunks
            written.add((municipio, sede))
            yield SnapshotFile(f"sede/{municipio}-{sede}.json", _sede_writer(spool, (municipio, sede), actas))
        for municipio, sede in sorted(set(spool.where) - written):  # votes name it, the catalogue does not
            yield SnapshotFile(f"sede/{municipio}-{sede}.json", _sede_writer(spool, (municipio, sede), {}))
    finally:
        spool.close()


def _sede_writer(spool: SedeSpool, sede: SedeKey, actas: dict[int, dict[str, Any]]) -> Any:
    def write(out: IO[bytes]) -> None:
        out.write(b'{"areas":')
        spool.write_areas(sede, out)
        out.write(
            b',"actas":' + json_bytes({str(mesa): detail for mesa, detail in sorted(actas.items())}) + b"}"
        )

    return write
