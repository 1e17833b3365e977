"""The numbers behind the area view (election.results.areas): for each area, the valid
partidos' votes and the ballots of one source, and the progress of the actas (always the
actas, whichever the source), read for one area's children (per request) or for the whole
country (the snapshots' bulk form), by the same functions, so that both agree.

Where they come from:
- pais, departamento, municipio: the tallies, a row per municipio at most (AreaTally for the
  votes; ActaTally and ActaProgress for the actas; ActaProgress for the progress);
- sede: the counted actas of its mesas (each head and its counted entry, through the same rule
  as ActaProgress, election.actas.tallies.progress_of), and for the votes the vote table
  through its sede index. There is no tally per sede and partido: SedeTally counts a sede's
  ballots, not its partidos, and keeping one more row per sede and partido in step would add
  an upsert to every vote's transaction, on the table both routes write to. A sede holds a
  few hundred ballots, which vote_sede_idx finds at once; the whole country's sedes are one
  grouped read of the vote table, which the snapshot writer makes once a minute per papeleta;
- mesa: its acta's head and counted entry; for the votes MesaTally (the ballots that named it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db.models import Count, Sum

from election.actas.tallies import progress_of
from election.catalogue.index import catalogue_index
from election.catalogue.mesa_index import mesa_index
from election.models import Acta, ActaProgress, ActaTally, AreaTally, MesaTally, SedeTotal, Vote
from election.results.actas import PROGRESS_SUMS, Progress
from election.results.consistent import read_once
from election.results.selectors import Ballots, read_through_index

SOURCE_VOTES, SOURCE_ACTAS = "votes", "actas"
SedeKey = tuple[str, str]  # municipio code, sede


@dataclass
class AreaCount:
    """One area's numbers: `partidos` (valid partidos' votes) and `ballots` from the source,
    `progress` (PROGRESS_SUMS) from the actas, `expected` actas (one per mesa)."""

    partidos: Counter[str] = field(default_factory=Counter)
    ballots: Ballots = field(default_factory=lambda: Ballots(0, 0, 0))
    progress: Counter[str] = field(default_factory=Counter)
    expected: int = 0
    # papeleta -> the ranking of `partidos` (election.results.areas), kept while they stay as they are
    ranked: dict[str, list[tuple[str, int, float]]] = field(default_factory=dict, repr=False, compare=False)

    def add(self, other: AreaCount) -> None:
        self.ranked.clear()
        self.partidos.update(other.partidos)
        self.ballots = Ballots(
            self.ballots.valid + other.ballots.valid,
            self.ballots.nulos + other.ballots.nulos,
            self.ballots.blancos + other.ballots.blancos,
        )
        self.progress.update(other.progress)
        self.expected += other.expected

    @property
    def progress_read(self) -> Progress:
        return Progress(actas_expected=self.expected, **{name: self.progress[name] for name in PROGRESS_SUMS})

    @classmethod
    def total(cls, parts: Iterable[AreaCount]) -> AreaCount:
        whole = cls()
        for part in parts:
            whole.add(part)
        return whole


def _of_votes(by_sigla: dict[str, int]) -> tuple[Counter[str], Ballots]:
    """A stream's counts per sigla (NULO and BLANCO included) as valid partidos and ballots."""
    return _valid(by_sigla), Ballots.of(by_sigla)


def _valid(by_sigla: dict[str, int]) -> Counter[str]:
    """The valid partidos' counts (should an acta's votes name NULO or BLANCO, they are ballots)."""
    kinds = catalogue_index().partido_kinds
    return Counter({sigla: n for sigla, n in by_sigla.items() if n and sigla not in kinds})


def _of_progress(row: Counter[str]) -> Ballots:
    return Ballots(row["valid"], row["nulos"], row["blancos"])


# --- pais, departamento, municipio: the tallies -----------------------------------------


def tally_counts(
    source: str, papeleta: str, *, by: str, departamento: str | None = None, municipio: str | None = None
) -> dict[str, AreaCount]:
    """AreaCount per departamento or municipio (`by`) with any number in the tallies, within
    the area given (codes; nationwide when None): one query per tally."""
    column = f"{by}_id"
    scope: dict[str, Any] = {"papeleta_id": papeleta}
    if departamento is not None:
        scope["departamento_id"] = departamento
    if municipio is not None:
        scope["municipio_id"] = municipio
    counts: defaultdict[str, AreaCount] = defaultdict(AreaCount)
    progress = _through(ActaProgress.objects.filter(**scope), "acta_progress_papeleta_idx", departamento)
    sums = progress.values(column).annotate(**{name: Sum(name) for name in PROGRESS_SUMS})
    for row in sums.values_list(column, *PROGRESS_SUMS):
        code, values = row[0], row[1:]
        counts[code].progress = Counter({n: int(v or 0) for n, v in zip(PROGRESS_SUMS, values, strict=True)})
    if source == SOURCE_ACTAS:
        for count in counts.values():
            count.ballots = _of_progress(count.progress)
        tally = _through(
            ActaTally.objects.filter(**scope, votes__gt=0), "acta_tally_papeleta_idx", departamento
        )
        kinds = catalogue_index().partido_kinds
        for code, sigla, votes in _by(tally, column):
            if sigla not in kinds:
                counts[code].partidos[sigla] += votes
    else:
        area = _through(
            AreaTally.objects.filter(**scope, votes__gt=0), "area_tally_papeleta_idx", departamento
        )
        by_sigla: defaultdict[str, dict[str, int]] = defaultdict(dict)
        for code, sigla, votes in _by(area, column):
            by_sigla[code][sigla] = votes
        for code, counted in by_sigla.items():
            counts[code].partidos, counts[code].ballots = _of_votes(counted)
    index = mesa_index()
    for code, count in counts.items():
        count.expected = index.count(**{by: code})
    return dict(counts)


def _through(rows: Any, index: str, departamento: str | None) -> Any:
    """Nationwide, a tally is read through its (papeleta, departamento) index; otherwise MariaDB
    walks every area's rows in primary-key order (selectors.top_departamentos)."""
    return read_through_index(rows, index) if departamento is None else rows


def _by(rows: Any, column: str) -> Iterable[tuple[str, str, int]]:
    grouped = rows.values(column, "partido_id").annotate(total=Sum("votes"))
    return (
        (code, sigla, int(total)) for code, sigla, total in grouped.values_list(column, "partido_id", "total")
    )


# --- sede and mesa: the actas one by one, the vote table, MesaTally --------------------------


class Counted(NamedTuple):
    """A counted entry's numbers as progress_of reads them, from columns read in bulk."""

    votes: dict[str, int]
    nulos: int
    blancos: int
    voters: int
    total_cast: int


@dataclass
class PlaceCounts:
    """The sedes' and mesas' numbers of some part of the country, and each mesa's acta status."""

    sedes: defaultdict[SedeKey, AreaCount] = field(default_factory=lambda: defaultdict(AreaCount))
    mesas: defaultdict[int, AreaCount] = field(default_factory=lambda: defaultdict(AreaCount))
    status: dict[int, str] = field(default_factory=dict)


def place_counts(
    source: str,
    papeleta: str,
    *,
    departamento: str | None = None,
    municipio: str | None = None,
    sede: str | None = None,
) -> PlaceCounts:
    """The sedes and mesas of one sede, of one municipio (with its departamento) or of the
    whole country (all None): each mesa's acta, and for the votes the vote table and MesaTally.
    Three queries at most, whatever the area."""
    index = mesa_index()
    if sede is not None:
        assert municipio is not None, "a sede is numbered within its municipio"
        mesas: list[int] | None = index.per_sede.get((municipio, sede), [])
    elif municipio is not None:
        mesas = [n for s in index.municipio_sedes.get(municipio, []) for n in index.per_sede[(municipio, s)]]
    else:
        mesas = None  # the country
    found = PlaceCounts()
    heads = Acta.objects.filter(papeleta_id=papeleta)
    if mesas is not None:
        heads = heads.filter(mesa_id__in=mesas)
    columns = ("mesa_id", "municipio_id", "sede", "status", "mesa__padron", "counted_entry_id")
    numbers = ("votes", "nulos", "blancos", "voters", "total_cast")
    rows = heads.values_list(*columns, *(f"counted_entry__{name}" for name in numbers))
    mesas_kept = municipio is None or sede is not None  # a municipio's view lists sedes, not mesas
    for mesa, mun, its_sede, status, padron, counted_id, *counted in rows.iterator(chunk_size=5000):
        entry = Counted(*counted) if counted_id is not None else None
        progress = progress_of(status, entry, padron)
        partidos = _valid(entry.votes) if source == SOURCE_ACTAS and entry is not None else None
        place = found.sedes[(mun, its_sede)]
        place.progress.update(progress)
        if partidos:
            place.partidos.update(partidos)
        found.status[mesa] = status
        if mesas_kept:
            count = found.mesas[mesa]
            count.progress, count.partidos = progress, partidos or Counter()
            if source == SOURCE_ACTAS:
                count.ballots = _of_progress(progress)
    if source == SOURCE_ACTAS:  # a sede's ballots: its counted actas', as ActaProgress sums them
        for place in found.sedes.values():
            place.ballots = _of_progress(place.progress)
    if source == SOURCE_VOTES:
        _stream_add(
            found,
            papeleta,
            mesas if mesas_kept else [],
            departamento=departamento,
            municipio=municipio,
            sede=sede,
        )
    # Every mesa and sede of the catalogue in the area, read or not; the actas expected are
    # the catalogue's: one per mesa.
    for number in index.mesas if mesas is None else mesas:
        if mesas_kept:
            found.mesas[number].expected = 1
        where = index.mesas.get(number)
        if where is not None:
            found.sedes.setdefault((where.municipio_code, where.sede), AreaCount())  # listed, even if empty
    for key, count in found.sedes.items():
        count.expected = len(index.per_sede.get(key, []))
    return found


def _stream_add(
    found: PlaceCounts,
    papeleta: str,
    mesas: list[int] | None,
    *,
    departamento: str | None,
    municipio: str | None,
    sede: str | None,
) -> None:
    """The sedes' partidos and ballots from the vote table, the mesas' from MesaTally."""
    if municipio is None:  # the country: one scan for every papeleta, shared within a consistent read
        by_sede = read_once("votes_by_papeleta_sede", _country_votes_by_sede).get(papeleta, {})
    else:
        scope = {
            "departamento_id": departamento,
            "municipio_id": municipio,
            **({"sede": sede} if sede else {}),
        }
        votes = read_through_index(Vote.objects.filter(papeleta_id=papeleta, **scope), "vote_sede_idx")
        by_sede = defaultdict(dict)
        grouped = votes.values("municipio_id", "sede", "partido_id").annotate(n=Count("id")).order_by()
        for mun, its_sede, sigla, n in grouped.values_list("municipio_id", "sede", "partido_id", "n"):
            by_sede[(mun, its_sede)][sigla] = n
    for key, counted in by_sede.items():
        count = found.sedes[key]
        count.partidos, count.ballots = _of_votes(counted)
    if mesas == []:  # no mesa wanted (a municipio's view) or none in the area
        return
    tally = MesaTally.objects.filter(papeleta_id=papeleta, votes__gt=0)
    if mesas is not None:
        tally = tally.filter(mesa__in=mesas)
    by_mesa: defaultdict[int, dict[str, int]] = defaultdict(dict)
    for mesa, sigla, n in tally.values_list("mesa", "partido_id", "votes"):
        by_mesa[mesa][sigla] = n
    for mesa, counted in by_mesa.items():
        count = found.mesas[mesa]
        count.partidos, count.ballots = _of_votes(counted)


def _country_votes_by_sede() -> dict[str, dict[SedeKey, dict[str, int]]]:
    """Every papeleta's ballots per sede and partido, in one grouped read of the vote table.
    Measured at 1M votes: five per-papeleta reads cost 13.7 s each (docs/snapshots.md)."""
    found: defaultdict[str, defaultdict[SedeKey, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    grouped = (
        Vote.objects.values("papeleta_id", "municipio_id", "sede", "partido_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for papeleta, mun, its_sede, sigla, n in grouped.values_list(
        "papeleta_id", "municipio_id", "sede", "partido_id", "n"
    ).iterator(chunk_size=20_000):
        found[papeleta][(mun, its_sede)][sigla] = n
    return {papeleta: dict(sedes) for papeleta, sedes in found.items()}


def sedes_with_votes(*, departamento: str | None = None, municipio: str | None = None) -> set[SedeKey]:
    """The sedes that have had ballots on any papeleta (SedeTotal): a vote may name a sede the
    catalogue of mesas does not hold, and the area view lists it beside the catalogue's."""
    rows = SedeTotal.objects.filter(votes__gt=0)
    if municipio is not None:
        rows = rows.filter(departamento_id=departamento, municipio_id=municipio)
    return set(rows.values_list("municipio_id", "sede"))
