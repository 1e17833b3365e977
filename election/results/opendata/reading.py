"""How the open-data files read the count: one consistent state of the database, in pages.

Each page is one query bounded by the catalogue, never by the size of the count: the actas of
`PAGE_MESAS` mesas (at most that many times the papeletas) read off Acta's unique (mesa,
papeleta) key, or `PAGE_ACTAS` counted actas of one papeleta read off `acta_status_pap_idx`
(status, papeleta, mesa) from the last mesa seen. At the demo scale (24,427 mesas, 5 papeletas)
a file is about thirty queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from election.actas.types import COUNT_FIELDS
from election.models import Acta, ActaStatusChoice, Mesa
from election.results.actas import actas_filtered

PAGE_MESAS = 1_000
PAGE_ACTAS = 5_000
COUNTED = ActaStatusChoice.COUNTED.value


@contextmanager
def consistent_read() -> Iterator[None]:
    """Every query inside sees the database as of one moment, so a file read in pages while
    actas are being counted never mixes two states (a municipio's sum off by an acta that
    arrived between two pages).

    The project's MariaDB sessions run READ COMMITTED (settings.py: no gap locks between the
    routes' writers), where each statement sees the latest commit; this opens one read-only
    REPEATABLE READ transaction instead, whose snapshot InnoDB takes at its first read and
    which locks nothing, so writers never wait for it. SQLite's transactions are snapshots
    already. Inside a transaction of the caller's (the snapshot writer may hold one around all
    its files), that transaction is used as it is.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "mysql":
            with connection.cursor() as cursor:
                # Applies to the transaction the next statement starts: none has run yet.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


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
PLACE_FIELDS = ("mesa_id", "papeleta_id", "departamento_id", "municipio_id", "sede", "mesa__padron")
ACTA_FIELDS = (*PLACE_FIELDS, "status", *ENTRY_FIELDS)


def mesa_numbers() -> list[int]:
    """Every mesa's number, ascending (the primary key's order)."""
    return list(Mesa.objects.order_by("numero").values_list("numero", flat=True))


def actas_in_mesa_order() -> Iterator[ActaRow]:
    """Every acta (any status) in (mesa, papeleta) order, a page of mesas per query, with its
    counted entry's numbers when it is counted (one join on the entry's primary key)."""
    numbers = mesa_numbers()
    for first in range(0, len(numbers), PAGE_MESAS):
        page = numbers[first : first + PAGE_MESAS]
        rows = (
            Acta.objects.filter(mesa_id__gte=page[0], mesa_id__lte=page[-1])
            .order_by("mesa_id", "papeleta_id")
            .values_list(*ACTA_FIELDS)
        )
        for mesa, papeleta, departamento, municipio, sede, padron, status, *entry in rows:
            counted = None
            if status == COUNTED and entry[0] is not None:
                counted = dict(zip(("votes", *COUNT_FIELDS), entry, strict=True))
            yield ActaRow(mesa, papeleta, departamento, municipio, sede, padron, status, counted)


# --- The counted actas of one papeleta: nist-1500-100.json ------------------------------------


@dataclass(frozen=True, slots=True)
class CountedActa:
    mesa: int
    votes: dict[str, int]  # sigla -> votes
    nulos: int
    blancos: int


def counted_actas(papeleta: str) -> Iterator[CountedActa]:
    """The counted actas of `papeleta`, in mesa order, `PAGE_ACTAS` a query from the last mesa
    seen (a seek on acta_status_pap_idx, however far the pages go)."""
    after = 0
    while True:
        rows = list(
            actas_filtered(status=COUNTED, papeleta=papeleta)
            .filter(mesa_id__gt=after, counted_entry__isnull=False)
            .order_by("mesa_id")
            .values_list("mesa_id", "counted_entry__votes", "counted_entry__nulos", "counted_entry__blancos")[
                :PAGE_ACTAS
            ]
        )
        for mesa, votes, nulos, blancos in rows:
            yield CountedActa(mesa, votes, nulos, blancos)
        if len(rows) < PAGE_ACTAS:
            return
        after = rows[-1][0]
