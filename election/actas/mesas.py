"""The mesas an acta is checked against, in memory: validation never queries per acta.

A copy of the Mesa table (24,427 rows for 2023: about 3 MB), re-read after
CATALOGUE_CACHE_SECONDS, and at once (at most once a second) when an acta names a mesa the copy
lacks, so a catalogue loaded a moment ago is seen.
"""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

from django.conf import settings

MISS_RELOAD_SECONDS = 1.0


class MesaPlace(NamedTuple):
    departamento_code: str
    municipio_code: str
    sede: str
    padron: int


class _MesaCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mesas: dict[int, MesaPlace] | None = None
        self._read_at = -1e18

    def get(self, numero: int) -> MesaPlace | None:
        mesas = self._mesas
        age = time.monotonic() - self._read_at
        if mesas is None or age >= settings.CATALOGUE_CACHE_SECONDS:
            mesas = self._read()
        place = mesas.get(numero)
        if place is None and time.monotonic() - self._read_at >= MISS_RELOAD_SECONDS:
            place = self._read().get(numero)
        return place

    def _read(self) -> dict[int, MesaPlace]:
        from election.models import Mesa

        with self._lock:
            rows = Mesa.objects.values_list("numero", "departamento_id", "municipio_id", "sede", "padron")
            self._mesas = {
                numero: MesaPlace(dep, mun, sede, padron) for numero, dep, mun, sede, padron in rows
            }
            self._read_at = time.monotonic()
            return self._mesas

    def clear(self) -> None:
        with self._lock:
            self._mesas = None


_cache = _MesaCache()
mesa_place = _cache.get
mesa_cache_clear = _cache.clear
