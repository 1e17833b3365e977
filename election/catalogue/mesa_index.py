"""The in-memory index of mesas (JRV) that vote and acta validation and the results read.

A vote that names its mesa is checked against it without a query per vote, and the number of
mesas per area (what the acta progress expects) is counted once per read, not per request.
Kept like the catalogue's index (index._IndexCache): a per-process copy re-read after
CATALOGUE_CACHE_SECONDS, at once after a load or an edit in this process, the last good copy
kept when a re-read fails.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from election.catalogue.index import _IndexCache


@dataclass(frozen=True, slots=True)
class MesaPlace:
    departamento_code: str
    municipio_code: str
    sede: str  # canonical, as a vote's (catalogue/sedes.py)
    padron: int


@dataclass
class MesaIndex:
    mesas: dict[int, MesaPlace] = field(default_factory=dict)  # JRV number -> where it is
    per_departamento: Counter[str] = field(default_factory=Counter)  # code -> mesas
    per_municipio: Counter[str] = field(default_factory=Counter)  # code -> mesas
    # (municipio code, sede) -> its mesas' numbers, ascending: a sede's mesas without a query
    per_sede: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    # municipio code -> its sedes, in sede_order
    municipio_sedes: dict[str, list[str]] = field(default_factory=dict)

    def count(self, *, departamento: str | None = None, municipio: str | None = None) -> int:
        """How many mesas the area has (codes; nationwide when both are None)."""
        if municipio is not None:
            return self.per_municipio[municipio]
        if departamento is not None:
            return self.per_departamento[departamento]
        return len(self.mesas)


def build_mesa_index() -> MesaIndex:
    from election.models import Mesa

    index = MesaIndex()
    rows = Mesa.objects.order_by().values_list("numero", "departamento_id", "municipio_id", "sede", "padron")
    for numero, departamento, municipio, sede, padron in rows.iterator(chunk_size=5000):
        index.mesas[numero] = MesaPlace(departamento, municipio, sede, padron)
        index.per_departamento[departamento] += 1
        index.per_municipio[municipio] += 1
        index.per_sede.setdefault((municipio, sede), []).append(numero)
    for (municipio, sede), numbers in index.per_sede.items():
        numbers.sort()
        index.municipio_sedes.setdefault(municipio, []).append(sede)
    for sedes in index.municipio_sedes.values():
        sedes.sort(key=sede_order)
    return index


def sede_order(sede: str) -> tuple[int, int, str]:
    """Sedes as a reader counts them: numbered ones by number ("2" before "10"), then any other
    text (a sede is an integer or a string, catalogue/sedes.py)."""
    return (0, int(sede), "") if sede.isdecimal() else (1, 0, sede)


_cache: _IndexCache[MesaIndex] = _IndexCache(build_mesa_index, what="catalogue of mesas")
mesa_index = _cache.get
mesa_index_clear = _cache.clear

MISS_RELOAD_SECONDS = 1.0  # an unknown mesa asks for a re-read at most this often, per process
_last_miss_reload = -1e18
_miss_lock = threading.Lock()


def mesa_place(numero: int) -> MesaPlace | None:
    """Where mesa `numero` is, or None. An unknown number re-reads the copy at once (at most
    once a second), so an acta naming a mesa loaded a moment ago in another process is seen."""
    global _last_miss_reload
    place = mesa_index().mesas.get(numero)
    if place is None:
        with _miss_lock:
            due = time.monotonic() - _last_miss_reload >= MISS_RELOAD_SECONDS
            if due:
                _last_miss_reload = time.monotonic()
        if due:
            mesa_index_clear()
            place = mesa_index().mesas.get(numero)
    return place
