"""The catalogue: loading it from CSV files, and the in-memory index validation reads.

Names are matched by `name_key`: case-, accent- and punctuation-insensitive, so field data
written as `Patzun`, `PATZÚN` or `patzún` all find `Patzún`.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DatabaseError

logger = logging.getLogger(__name__)

CATALOGUE_DIR = Path(__file__).resolve().parent / "data"
BALLOT_KINDS_FILE = "votos_nulos_blancos.csv"  # sigla, kind (nulo or blanco), nombre
PAPELETA_PARTIDOS_FILE = "papeletas_partidos.csv"  # papeleta, sigla: the partidos on its ballot

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@functools.lru_cache(maxsize=8192)  # pure; field data repeats the same few hundred names all night
def name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", stripped.casefold()).strip()


class CatalogueError(Exception):
    """The catalogue files contradict themselves (an ambiguous name, a dangling code)."""


# --- Loading ----------------------------------------------------------------


def _read_csv(directory: Path, name: str) -> list[dict[str, str]]:
    with open(directory / name, newline="", encoding="utf-8") as handle:
        return [{k: v.strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def load_catalogue(apps: Any, directory: Path = CATALOGUE_DIR) -> dict[str, int]:
    """Upsert the catalogue from `directory` using `apps` (real or a migration's).

    Returns how many rows each table holds afterwards. Never deletes: a vote may refer to
    any entry, and catalogue rows are PROTECTed by the votes that use them.
    """
    departamento = apps.get_model("election", "Departamento")
    municipio = apps.get_model("election", "Municipio")
    municipio_alias = apps.get_model("election", "MunicipioAlias")
    papeleta = apps.get_model("election", "Papeleta")
    partido = apps.get_model("election", "Partido")
    partido_alias = apps.get_model("election", "PartidoAlias")

    municipios = _read_csv(directory, "municipios.csv")
    for row in municipios:
        departamento.objects.update_or_create(
            code=row["departamento_code"], defaults={"nombre": row["departamento"]}
        )
    for row in municipios:
        if not row["municipio_code"].startswith(row["departamento_code"]):
            raise CatalogueError(f"municipio {row['municipio_code']} outside its departamento")
        municipio.objects.update_or_create(
            code=row["municipio_code"],
            defaults={"nombre": row["municipio"], "departamento_id": row["departamento_code"]},
        )
    for row in _read_csv(directory, "municipios_aliases.csv"):
        municipio_alias.objects.get_or_create(municipio_id=row["municipio_code"], alias=row["alias"])
    for row in _read_csv(directory, "papeletas.csv"):
        papeleta.objects.update_or_create(
            code=row["code"], defaults={"color": row["color"], "nombre": row["nombre"]}
        )
    for row in _read_csv(directory, "partidos_2023.csv"):
        partido.objects.update_or_create(sigla=row["sigla"], defaults={"nombre": row["nombre"]})
    # The rows null and blank ballots are recorded against. Migration 0002 runs this before
    # Partido had `kind`; the migration that added it runs it again to set it.
    has_kind = any(f.name == "kind" for f in partido._meta.get_fields())
    ballot_kinds = directory / BALLOT_KINDS_FILE
    for row in _read_csv(directory, BALLOT_KINDS_FILE) if ballot_kinds.exists() else []:
        defaults = {"nombre": row["nombre"], **({"kind": row["kind"]} if has_kind else {})}
        partido.objects.update_or_create(sigla=row["sigla"], defaults=defaults)
    on_papeletas = directory / PAPELETA_PARTIDOS_FILE
    if on_papeletas.exists() and _has_model(apps, "PapeletaPartido"):  # from migration 0011 on
        papeleta_partido = apps.get_model("election", "PapeletaPartido")
        for row in _read_csv(directory, PAPELETA_PARTIDOS_FILE):
            papeleta_partido.objects.get_or_create(papeleta_id=row["papeleta"], partido_id=row["sigla"])
    aliases_file = directory / "partidos_aliases.csv"
    if aliases_file.exists():
        for row in _read_csv(directory, aliases_file.name):
            partido_alias.objects.update_or_create(alias=row["alias"], defaults={"partido_id": row["sigla"]})
    return {
        model._meta.model_name: model.objects.count()
        for model in (departamento, municipio, municipio_alias, papeleta, partido, partido_alias)
    }


def _has_model(apps: Any, name: str) -> bool:
    try:
        apps.get_model("election", name)
    except LookupError:
        return False
    return True


# --- The index validation reads ---------------------------------------------


@dataclass(frozen=True)
class Area:
    code: str
    nombre: str


@dataclass
class CatalogueIndex:
    departamentos: dict[str, Area] = field(default_factory=dict)  # key -> departamento
    municipios: dict[tuple[str, str], Area] = field(default_factory=dict)  # (dep code, key)
    municipio_homes: dict[str, list[str]] = field(default_factory=dict)  # key -> dep names
    papeletas: dict[str, str] = field(default_factory=dict)  # key -> code
    partidos: dict[str, str] = field(default_factory=dict)  # key -> sigla
    partido_kinds: dict[str, str] = field(default_factory=dict)  # sigla -> kind, null and blank rows only
    # papeleta code -> the valid partidos on its ballot; a papeleta not here lists every one
    papeleta_partidos: dict[str, frozenset[str]] = field(default_factory=dict)
    valid_partidos: frozenset[str] = frozenset()
    departamento_names: dict[str, str] = field(default_factory=dict)  # code -> nombre
    municipio_names: dict[str, str] = field(default_factory=dict)  # code -> nombre
    partido_names: dict[str, str] = field(default_factory=dict)  # sigla -> nombre

    def add(self, table: dict[Any, Any], key: Any, value: Any, what: str) -> None:
        if key in table and table[key] != value:
            raise CatalogueError(f"{what} {key!r} is ambiguous: {table[key]} or {value}")
        table[key] = value


def build_index() -> CatalogueIndex:
    from election.models import (
        Departamento,
        Municipio,
        MunicipioAlias,
        Papeleta,
        PapeletaPartido,
        Partido,
        PartidoKind,
    )

    index = CatalogueIndex()
    for dep in Departamento.objects.all():
        area = Area(dep.code, dep.nombre)
        index.departamento_names[dep.code] = dep.nombre
        index.add(index.departamentos, name_key(dep.nombre), area, "departamento")
        index.add(index.departamentos, dep.code, area, "departamento")
    homes: dict[str, set[str]] = defaultdict(set)
    for mun in Municipio.objects.all():
        area = Area(mun.code, mun.nombre)
        index.municipio_names[mun.code] = mun.nombre
        for key in (name_key(mun.nombre), mun.code):
            index.add(index.municipios, (mun.departamento_id, key), area, "municipio")
            homes[key].add(index.departamento_names[mun.departamento_id])
    for alias in MunicipioAlias.objects.select_related("municipio"):
        mun = alias.municipio
        key = name_key(alias.alias)
        index.add(index.municipios, (mun.departamento_id, key), Area(mun.code, mun.nombre), "alias")
        homes[key].add(index.departamento_names[mun.departamento_id])
    index.municipio_homes = {key: sorted(names) for key, names in homes.items()}
    for pap in Papeleta.objects.all():
        for key in (name_key(pap.code), name_key(pap.color)):
            index.add(index.papeletas, key, pap.code, "papeleta")
    for par in Partido.objects.prefetch_related("aliases"):
        index.partido_names[par.sigla] = par.nombre
        if par.kind != PartidoKind.VALID:
            index.partido_kinds[par.sigla] = par.kind
        keys = [name_key(par.sigla), name_key(par.nombre)]
        keys += [name_key(alias.alias) for alias in par.aliases.all()]
        for key in keys:
            index.add(index.partidos, key, par.sigla, "partido")
    index.valid_partidos = frozenset(
        Partido.objects.filter(kind=PartidoKind.VALID).values_list("sigla", flat=True)
    )
    on_ballot: dict[str, set[str]] = defaultdict(set)
    for papeleta, sigla in PapeletaPartido.objects.values_list("papeleta_id", "partido_id"):
        if sigla in index.valid_partidos:
            on_ballot[papeleta].add(sigla)
    index.papeleta_partidos = {code: frozenset(siglas) for code, siglas in on_ballot.items()}
    return index


def papeleta_partidos(papeleta: str, index: CatalogueIndex | None = None) -> frozenset[str]:
    """The valid partidos on a papeleta's ballot (every one, when the catalogue lists none)."""
    index = index or catalogue_index()
    return index.papeleta_partidos.get(papeleta, index.valid_partidos)


def partido_alias_clash(alias: str, sigla: str) -> str | None:
    """The sigla of another partido that `alias` names already, or None: the check the admin
    makes before saving an alias, as CatalogueIndex.add would refuse it."""
    from election.models import Partido

    key = name_key(alias)
    for par in Partido.objects.exclude(sigla=sigla).prefetch_related("aliases"):
        names = [par.sigla, par.nombre, *(other.alias for other in par.aliases.all())]
        if key in {name_key(name) for name in names}:
            return str(par.sigla)
    return None


def municipio_alias_clash(alias: str, municipio_code: str, departamento_code: str) -> Area | None:
    """Another municipio of the same departamento that `alias` names already, or None (as
    partido_alias_clash; the same name in two departamentos is allowed)."""
    from election.models import Municipio

    key = name_key(alias)
    others = Municipio.objects.filter(departamento_id=departamento_code).exclude(code=municipio_code)
    for mun in others.prefetch_related("aliases"):
        keys = {name_key(mun.nombre), mun.code, *(name_key(other.alias) for other in mun.aliases.all())}
        if key in keys:
            return Area(mun.code, mun.nombre)
    return None


Index = TypeVar("Index")


class _IndexCache(Generic[Index]):
    """A per-process copy of an index (the catalogue's, `build_index`, unless `build` says
    otherwise), re-read after CATALOGUE_CACHE_SECONDS or on edit.

    The first read, and the one after an edit in this process (`clear`), happen in the caller.
    A re-read that is merely due happens in a thread of its own while callers go on with the
    copy they have: a validation never waits on the database once a copy exists, so a database
    partition (connections that hang rather than fail) does not stall the routes' hot paths.

    A re-read that fails keeps the last good copy: the database is away (DatabaseError), or
    the catalogue was made ambiguous past the admin's check, by a script or a migration
    (CatalogueError). Validation goes on against the copy, the failure is logged as an error,
    and the re-read is tried again RETRY_SECONDS after that attempt ended. Only a process that
    never read a good copy raises: its callers answer "unavailable" (or a worker's task
    retries), never guess.
    """

    RETRY_SECONDS = 5.0

    def __init__(self, build: Callable[[], Index] | None = None, what: str = "catalogue") -> None:
        self._build = build  # None: this module's build_index, looked up at each read
        self._what = what
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._read_after = 0.0  # time.monotonic() at which the copy is re-read
        self._read_now = False  # an edit in this process: the next caller re-reads, and waits
        self._rereading = False  # a background re-read is under way

    def get(self) -> Index:
        index = self._index
        if index is not None and not self._read_now and time.monotonic() < self._read_after:
            return index
        with self._lock:
            if self._index is None or self._read_now:
                self._read_now = False
                self._install(self._read())  # nothing to go on with, or an edit to see: read it here
            elif time.monotonic() >= self._read_after and not self._rereading:
                self._rereading = True
                threading.Thread(target=self._reread_behind, name="catalogue-reread", daemon=True).start()
            assert self._index is not None
            return self._index

    def _reread_behind(self) -> None:
        """A due re-read, off the callers' path: the lock is held only to install the result."""
        from django.db import connection

        try:
            read = self._read()
            with self._lock:
                self._install(read)
        finally:
            self._rereading = False
            connection.close()  # this thread's own: never kept between re-reads

    def _read(self) -> Index | Exception:
        try:
            return self._build() if self._build is not None else build_index()  # type: ignore[return-value]
        except (DatabaseError, CatalogueError) as exc:
            return exc

    def _install(self, read: Index | Exception) -> None:
        """(Under the lock.) Take a new index; after a failure keep the copy, or raise if there is none."""
        if not isinstance(read, Exception):
            self._index = read
            self._read_after = time.monotonic() + settings.CATALOGUE_CACHE_SECONDS
            return
        self._read_after = time.monotonic() + self.RETRY_SECONDS  # from the end of the attempt
        if self._index is None:
            raise read
        logger.error(
            "the %s could not be re-read; validating against the last good copy",
            self._what,
            extra={"error": f"{type(read).__name__}: {read}", "retry_in_seconds": self.RETRY_SECONDS},
        )

    def clear(self) -> None:
        """Re-read at the next use, in the caller; the copy stays the fallback should that fail."""
        with self._lock:
            self._read_now = True


_cache: _IndexCache[CatalogueIndex] = _IndexCache()
catalogue_index = _cache.get
catalogue_index_clear = _cache.clear


# --- Resolving a name as written in the field -------------------------------
# vote_validate and the results API's query parameters both resolve names through these,
# so a name the ingest accepts is accepted everywhere, and refused with the same words.


class NameUnknown(ValueError):
    """The text names nothing in the catalogue; the message says so readably."""


def departamento_resolve(text: str, index: CatalogueIndex | None = None) -> Area:
    area = (index or catalogue_index()).departamentos.get(name_key(text))
    if area is None:
        raise NameUnknown(f"Unknown departamento '{text}'.")
    return area


def municipio_resolve(text: str, departamento: Area, index: CatalogueIndex | None = None) -> Area:
    index = index or catalogue_index()
    key = name_key(text)
    area = index.municipios.get((departamento.code, key))
    if area is not None:
        return area
    homes = index.municipio_homes.get(key)
    if homes:
        where = ", ".join(f"'{home}'" for home in homes)
        raise NameUnknown(
            f"municipio '{text}' is not in departamento '{departamento.nombre}' (it is in {where})."
        )
    raise NameUnknown(f"Unknown municipio '{text}'.")


def papeleta_resolve(text: str, index: CatalogueIndex | None = None) -> str:
    code = (index or catalogue_index()).papeletas.get(name_key(text))
    if code is None:
        raise NameUnknown(f"Unknown papeleta (code or ballot colour) '{text}'.")
    return code


def partido_resolve(text: str, index: CatalogueIndex | None = None) -> str:
    sigla = (index or catalogue_index()).partidos.get(name_key(text))
    if sigla is None:
        raise NameUnknown(f"Unknown partido '{text}'.")
    return sigla
