"""Every acta of a sede's mesas at once, each exactly as `GET /api/actas/<mesa>/<papeleta>`
answers it (election.results.actas.acta_detail_shaped, the one shape), for the snapshots'
sede files: per sede, and for every sede of the country.

Four queries for any number of mesas (the heads with their counted entries, their versions,
their entries, the mesas' stream), where the API's detail makes four per acta: the snapshot
writer reads all 122,135 actas of the demo catalogue every minute. The country is read in
chunks of whole municipios of about `chunk_mesas` mesas, so memory holds one chunk's rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from election.catalogue.mesa_index import mesa_index
from election.models import Acta, ActaEntry, ActaVersion, MesaTally
from election.results.actas import acta_detail_shaped

# A sede's actas: mesa number -> papeleta code -> the acta's detail. Every mesa of the sede in
# the catalogue is there, {} while none of its actas has been typed.
SedeActas = dict[int, dict[str, dict[str, Any]]]
CHUNK_MESAS = 1_000  # mesas a chunk of the all-sedes read (about 5 actas and 10 entries each)


def mesa_actas(municipio_code: str, sede: str) -> SedeActas:
    """Every acta of the mesas of sede `sede` (canonical, catalogue/sedes.py) of a municipio."""
    mesas = mesa_index().per_sede.get((municipio_code, sede), [])
    return actas_of_mesas(mesas)


def sedes_actas(chunk_mesas: int = CHUNK_MESAS) -> Iterator[tuple[str, str, SedeActas]]:
    """(municipio code, sede, its actas) for every sede of the catalogue of mesas, municipios
    in code order and each one's sedes in sede_order; four queries per chunk of municipios."""
    index = mesa_index()
    chunk: list[tuple[str, str, list[int]]] = []
    size = 0
    for municipio in sorted(index.municipio_sedes):
        for sede in index.municipio_sedes[municipio]:
            mesas = index.per_sede[(municipio, sede)]
            chunk.append((municipio, sede, mesas))
            size += len(mesas)
        if size >= chunk_mesas:
            yield from _chunk_read(chunk)
            chunk, size = [], 0
    yield from _chunk_read(chunk)


def _chunk_read(chunk: list[tuple[str, str, list[int]]]) -> Iterator[tuple[str, str, SedeActas]]:
    if not chunk:
        return
    found = actas_of_mesas([mesa for _, _, mesas in chunk for mesa in mesas])
    for municipio, sede, mesas in chunk:
        yield municipio, sede, {mesa: found[mesa] for mesa in mesas}


def actas_of_mesas(mesas: Sequence[int]) -> SedeActas:
    """mesa -> papeleta -> acta detail for `mesas` (each listed, {} when it has no acta): the
    heads through the unique (mesa, papeleta) key, the entries through acta_entry_mesa_idx,
    the versions through their acta, MesaTally through its primary key."""
    found: SedeActas = {mesa: {} for mesa in mesas}
    if not mesas:
        return found
    wanted = sorted(set(mesas))
    heads = list(Acta.objects.filter(mesa_id__in=wanted))
    versions: defaultdict[int, list[ActaVersion]] = defaultdict(list)
    for version in ActaVersion.objects.filter(acta__mesa_id__in=wanted).order_by("acta_id", "number"):
        versions[version.acta_id].append(version)
    entries: defaultdict[tuple[int, str], list[ActaEntry]] = defaultdict(list)
    by_id: dict[int, ActaEntry] = {}
    for entry in ActaEntry.objects.filter(mesa_id__in=wanted).order_by("id"):
        entries[(entry.mesa_id, entry.papeleta_id)].append(entry)
        by_id[entry.pk] = entry
    streams: defaultdict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    rows = MesaTally.objects.filter(mesa__in=wanted, votes__gt=0).order_by("mesa", "papeleta", "partido")
    for mesa, papeleta, sigla, votes in rows.values_list("mesa", "papeleta_id", "partido_id", "votes"):
        streams[(mesa, papeleta)][sigla] = votes
    # Papeletas and siglas in Python's order, as acta_detail's (the collation's may differ).
    for head in sorted(heads, key=lambda head: (head.mesa_id, head.papeleta_id)):
        key = (head.mesa_id, head.papeleta_id)
        if head.counted_entry_id in by_id:  # one of its entries, read above: not read again
            head.counted_entry = by_id[head.counted_entry_id]
        stream = dict(sorted(streams.get(key, {}).items()))
        found[head.mesa_id][head.papeleta_id] = acta_detail_shaped(
            head, versions[head.pk], entries[key], stream
        )
    return found
