"""How the open-data files read the count: one consistent state of the database, in pages.

Each page is one query bounded by the catalogue, never by the size of the count: the actas of
`PAGE_MESAS` mesas (at most that many times the papeletas), a range of Acta's unique (mesa,
papeleta) key, with their counted entries joined on the entry's primary key. At the demo scale
(24,427 mesas, 5 papeletas) a file is 25 such queries and a few of the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from election.actas.types import COUNT_FIELDS
from election.models import Acta, ActaStatusChoice, Mesa
from election.results.selectors import read_through_index

PAGE_MESAS = 1_000
UNIQUE_KEY = "acta_mesa_papeleta_unique"  # Acta's (mesa, papeleta): each page is a range of it
COUNTED_FIELDS = (
    "mesa_id", "papeleta_id", "counted_entry__votes", "counted_entry__nulos", "counted_entry__blancos",
)  # fmt: skip
COUNTED = ActaStatusChoice.COUNTED.value


# --- Every acta, in (mesa, papeleta) order: results.csv ---------------------------------------


@dataclass(frozen=True, slots=True)
class ActaRow:
    mesa: int
    papeleta: str
    departamento: str  # code
    municipio: str  # code
    sede: str
    padron: int  # the mesa's, from the catalogue
    status: str
    counted: dict[str, Any] | None  # the counted entry: "votes" (sigla -> votes) and COUNT_FIELDS


ENTRY_FIELDS = tuple(f"counted_entry__{name}" for name in ("votes", *COUNT_FIELDS))
PLACE_FIELDS = ("mesa_id", "papeleta_id", "departamento_id", "municipio_id", "sede")
ACTA_FIELDS = (*PLACE_FIELDS, "status", *ENTRY_FIELDS)


def mesa_pages(padrones: dict[int, int] | None = None) -> Iterator[tuple[int, int]]:
    """(first, last) mesa numbers of each page of `PAGE_MESAS` mesas, ascending; fills
    `padrones` (mesa -> padrón) from the same query when given."""
    mesas = list(Mesa.objects.order_by("numero").values_list("numero", "padron"))
    if padrones is not None:
        padrones.update(mesas)
    for first in range(0, len(mesas), PAGE_MESAS):
        page = mesas[first : first + PAGE_MESAS]
        yield page[0][0], page[-1][0]


def actas_in_mesa_order() -> Iterator[ActaRow]:
    """Every acta (any status) in (mesa, papeleta) order, a page of mesas per query, with its
    counted entry's numbers when it is counted (one join on the entry's primary key). The
    padrón comes from the query of the pages: joining Mesa in each page made MariaDB read the
    mesas first and sort every page (EXPLAIN: Using temporary; Using filesort)."""
    padrones: dict[int, int] = {}
    for first, last in mesa_pages(padrones):
        rows = (
            read_through_index(Acta.objects.filter(mesa_id__gte=first, mesa_id__lte=last), UNIQUE_KEY)
            .order_by("mesa_id", "papeleta_id")
            .values_list(*ACTA_FIELDS)
        )
        for mesa, papeleta, departamento, municipio, sede, status, *entry in rows:
            counted = None
            if status == COUNTED and entry[0] is not None:
                counted = dict(zip(("votes", *COUNT_FIELDS), entry, strict=True))
            yield ActaRow(mesa, papeleta, departamento, municipio, sede, padrones[mesa], status, counted)


# --- The counted actas' votes, in (mesa, papeleta) order: nist-1500-100.json ------------------


@dataclass(frozen=True, slots=True)
class CountedActa:
    mesa: int
    papeleta: str
    votes: dict[str, int]  # sigla -> votes
    nulos: int
    blancos: int


def counted_actas() -> Iterator[CountedActa]:
    """The counted actas of every papeleta, in (mesa, papeleta) order, a page of mesas per
    query. One pass for all papeletas, not one per papeleta: the entries a page joins lie
    together, so the entry table is read once (at the demo scale it is larger than MariaDB's
    default buffer pool, and five passes read it from disk five times: 9 of 17 s, measured)."""
    for first, last in mesa_pages():
        # Held to the unique key: offered `counted_entry IS NOT NULL` or the status, MariaDB may
        # take the entry's foreign key or a status index and read every counted acta per page.
        counted = Acta.objects.filter(mesa_id__gte=first, mesa_id__lte=last, status=COUNTED)
        rows = (
            read_through_index(counted, UNIQUE_KEY)
            .order_by("mesa_id", "papeleta_id")
            .values_list(*COUNTED_FIELDS)
        )
        for mesa, papeleta, votes, nulos, blancos in rows:
            if votes is not None:  # a counted acta has its entry; this file never assumes it
                yield CountedActa(mesa, papeleta, votes, nulos, blancos)
