"""Reads of the actas: one acta with its versions and entries, the list by status and area,
the progress of the count, and the per-mesa comparison of an acta with the streamed ballots.

Every read here is bounded: one acta's rows, a page of the list read straight off one index of
Acta (`ACTA_FILTER_INDEXES`), the ActaProgress rows of an area (at most 340 per papeleta), and
a mesa's MesaTally rows (at most one per partido). Nothing here adds the acta tallies to the
vote tallies: they are two counts, compared, never summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from election.actas.types import COUNT_FIELDS
from election.catalogue.index import catalogue_index
from election.catalogue.mesa_index import mesa_index
from election.models import Acta, ActaEntry, ActaProgress, ActaVersion, MesaTally, PartidoKind
from election.results.selectors import PERCENT_DECIMALS, read_through_index

# --- One acta -------------------------------------------------------------------------


def entry_numbers(entry: ActaEntry) -> dict[str, Any]:
    """The numbers an entry carries: its votes per partido, then every count."""
    return {
        "votes": dict(sorted(entry.votes.items())),
        **{name: getattr(entry, name) for name in COUNT_FIELDS},
    }


def acta_detail(*, mesa: int, papeleta: str) -> dict[str, Any] | None:
    """The acta of `mesa` on `papeleta` (a code) with every version and entry, or None.

    `counted` is the counted entry's numbers (null while the acta is not counted); `stream`
    the ballots streamed with this mesa (MesaTally), and `discrepancy` whether they differ from
    the counted numbers (null when there is nothing to compare: no counted acta, or no ballot
    streamed with this mesa).
    """
    acta = Acta.objects.select_related("counted_entry").filter(mesa_id=mesa, papeleta_id=papeleta).first()
    if acta is None:
        return None
    versions = list(ActaVersion.objects.filter(acta=acta).order_by("number"))
    # Through the entries' (mesa, papeleta) index, oldest first.
    entries = list(ActaEntry.objects.filter(mesa_id=mesa, papeleta_id=papeleta).order_by("id"))
    return acta_detail_shaped(acta, versions, entries, mesa_stream(mesa=mesa, papeleta=papeleta))


def acta_detail_shaped(
    acta: Acta, versions: Sequence[ActaVersion], entries: Sequence[ActaEntry], stream: dict[str, int]
) -> dict[str, Any]:
    """The answer of acta_detail from its rows: the head (its counted entry joined), its
    versions by number, its entries oldest first, and the mesa's stream on its papeleta. The
    one shape of an acta's detail: the API's, and the bulk reads' (election.results.mesa_actas)."""
    acta_id_of = {entry.pk: str(entry.acta_id) for entry in entries}
    counted = entry_numbers(acta.counted_entry) if acta.counted_entry is not None else None
    shown = acta.counted_entry or (entries[-1] if entries else None)
    return {
        "mesa": acta.mesa_id,
        "papeleta": acta.papeleta_id,
        "status": acta.status,
        "failed_rules": list(acta.failed_rules),
        "differing_fields": list(acta.differing_fields),
        "image_sha256": shown.image_sha256 if shown is not None else None,
        "counted": counted,
        "versions": [
            {
                "number": version.number,
                "status": version.status,
                "failed_rules": list(version.failed_rules),
                "differing_fields": list(version.differing_fields),
                "opened_at": version.opened_at.isoformat(),
                "decided_at": version.decided_at.isoformat() if version.decided_at else None,
                "decided_by": version.decided_by or None,
                "reason": version.reason,
                "chosen_entry": acta_id_of.get(version.chosen_entry_id) if version.chosen_entry_id else None,
                "entries": [_entry(entry) for entry in entries if entry.version_id == version.pk],
            }
            for version in versions
        ],
        "stream": stream,
        "discrepancy": discrepancy(stream, counted),
    }


def _entry(entry: ActaEntry) -> dict[str, Any]:
    return {
        "acta_id": str(entry.acta_id),
        **entry_numbers(entry),
        "image_sha256": entry.image_sha256,
        "entered_by": entry.entered_by,
        "credential": entry.credential,
        "corrects": entry.corrects,
        "reason": entry.reason,
        "route": entry.route,
        "failed_rules": list(entry.failed_rules),
        "received_at": entry.received_at.isoformat(),
        "stored_at": entry.stored_at.isoformat(),
    }


# --- The stream beside the acta ---------------------------------------------------------


def mesa_stream(*, mesa: int, papeleta: str) -> dict[str, int]:
    """Ballots streamed naming `mesa`, on `papeleta`, per sigla (NULO and BLANCO included):
    the MesaTally rows under one prefix of its primary key."""
    rows = MesaTally.objects.filter(mesa=mesa, papeleta_id=papeleta, votes__gt=0)
    return dict(sorted(rows.values_list("partido_id", "votes")))


def mesas_stream(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], dict[str, int]]:
    """mesa_stream for many (mesa, papeleta) at once (a page of the list): one query."""
    wanted = set(keys)
    if not wanted:
        return {}
    found: dict[tuple[int, str], dict[str, int]] = {}
    rows = MesaTally.objects.filter(mesa__in={mesa for mesa, _ in wanted}, votes__gt=0)
    for mesa, papeleta, sigla, votes in rows.values_list("mesa", "papeleta_id", "partido_id", "votes"):
        if (mesa, papeleta) in wanted:
            found.setdefault((mesa, papeleta), {})[sigla] = votes
    return found


def as_stream(counted: dict[str, Any]) -> dict[str, int]:
    """A counted acta's numbers as the stream counts them: votes per sigla, its nulos and
    blancos under the catalogue's NULO and BLANCO rows."""
    kinds = catalogue_index().partido_kinds
    sigla_of = {kind: sigla for sigla, kind in kinds.items()}
    return {
        **counted["votes"],
        sigla_of.get(PartidoKind.NULO, "NULO"): counted["nulos"],
        sigla_of.get(PartidoKind.BLANCO, "BLANCO"): counted["blancos"],
    }


def discrepancy(stream: dict[str, int], counted: dict[str, Any] | None) -> bool | None:
    """Whether the streamed ballots of a mesa differ, for some partido (or nulos, or blancos),
    from its counted acta; None when there is nothing to compare."""
    if counted is None or not stream:
        return None
    acta = as_stream(counted)
    return any(stream.get(sigla, 0) != acta.get(sigla, 0) for sigla in stream.keys() | acta.keys())


# --- The list -----------------------------------------------------------------------------

# Each filter set the list serves, and the index of Acta that holds exactly it (then the mesa
# and papeleta, the list's order). A status comes first in every one; without a status, only
# the whole list, in the unique (mesa, papeleta) key's order.
ACTA_FILTER_INDEXES = {
    frozenset({"status"}): "acta_status_idx",
    frozenset({"status", "papeleta"}): "acta_status_pap_idx",
    frozenset({"status", "departamento"}): "acta_dep_idx",
    frozenset({"status", "departamento", "papeleta"}): "acta_dep_pap_idx",
    frozenset({"status", "departamento", "municipio"}): "acta_mun_idx",
    frozenset({"status", "departamento", "municipio", "papeleta"}): "acta_mun_pap_idx",
}
ACTA_LIST_ORDER = ("mesa_id", "papeleta_id")
# With one papeleta the mesa orders alone; naming the papeleta too would make MariaDB sort the
# rows of an index that leads with it (status, papeleta, mesa): tests/api/test_acta_query_plans.py.
ACTA_LIST_ORDER_ONE_PAPELETA = ("mesa_id",)


class ActaFiltersUnserved(ValueError):
    """A combination no index of Acta serves: reading it would walk the table."""


def actas_filtered(
    *,
    status: str | None = None,
    departamento: str | None = None,
    municipio: str | None = None,
    papeleta: str | None = None,
) -> QuerySet[Acta]:
    """Actas matching every filter given (codes), read through the index that holds exactly
    those columns (a municipio brings its departamento, the index's second column)."""
    assert municipio is None or departamento is not None, "a municipio is read with its departamento"
    filters = {"status": status, "departamento_id": departamento, "municipio_id": municipio}
    filters["papeleta_id"] = papeleta
    given = {name: value for name, value in filters.items() if value is not None}
    actas = Acta.objects.filter(**given)
    if not given:
        return actas
    index = ACTA_FILTER_INDEXES.get(frozenset(name.removesuffix("_id") for name in given))
    if index is None:
        raise ActaFiltersUnserved(f"no index of Acta holds exactly {sorted(given)}")
    return read_through_index(actas, index)


def actas_listed(actas: Sequence[Acta]) -> list[dict[str, Any]]:
    """A page of the list: each acta's status and failed rules, and its comparison with the
    stream (one query for the page's MesaTally rows; the counted entries come with the page)."""
    streams = mesas_stream((acta.mesa_id, acta.papeleta_id) for acta in actas)
    index = catalogue_index()
    listed = []
    for acta in actas:
        counted = entry_numbers(acta.counted_entry) if acta.counted_entry is not None else None
        listed.append(
            {
                "mesa": acta.mesa_id,
                "papeleta": acta.papeleta_id,
                "departamento": index.departamento_names.get(acta.departamento_id, acta.departamento_id),
                "municipio": index.municipio_names.get(acta.municipio_id, acta.municipio_id),
                "status": acta.status,
                "failed_rules": list(acta.failed_rules),
                "differing_fields": list(acta.differing_fields),
                "discrepancy": discrepancy(streams.get((acta.mesa_id, acta.papeleta_id), {}), counted),
            }
        )
    return listed


# --- Progress -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    actas_expected: int
    actas_counted: int
    actas_inconsistent: int
    actas_in_review: int
    actas_pending: int
    padron: int  # of the counted actas' mesas
    voters: int  # who voted at those mesas, as their actas say
    valid: int
    nulos: int
    blancos: int
    cast: int

    @property
    def percent_counted(self) -> float:
        return percent(self.actas_counted, self.actas_expected)

    @property
    def turnout_percent(self) -> float:
        return percent(self.voters, self.padron)


def progress_answer(progress: Progress) -> dict[str, Any]:
    """The count's progress and the turnout, as /api/results/progress and the area view give them."""
    return {
        "actas_expected": progress.actas_expected,
        "actas_counted": progress.actas_counted,
        "actas_inconsistent": progress.actas_inconsistent,
        "actas_in_review": progress.actas_in_review,
        "actas_pending": progress.actas_pending,
        "percent_counted": progress.percent_counted,
        "padron": progress.padron,
        "voters": progress.voters,
        "turnout_percent": progress.turnout_percent,
    }


PROGRESS_SUMS = (
    "actas_counted",
    "actas_inconsistent",
    "actas_in_review",
    "actas_pending",
    "padron",
    "voters",
    "valid",
    "nulos",
    "blancos",
    "cast",
)


def acta_progress(
    *, papeleta: str, departamento: str | None = None, municipio: str | None = None
) -> Progress:
    """How far the count of `papeleta`'s actas has gone in an area (codes; nationwide when
    both are None): the ActaProgress rows of the area (its primary key, or its papeleta index),
    and as many actas expected as the area has mesas (one acta per mesa and papeleta)."""
    rows = ActaProgress.objects.filter(papeleta_id=papeleta)
    if departamento is not None:
        rows = rows.filter(departamento_id=departamento)
    if municipio is not None:
        rows = rows.filter(municipio_id=municipio)
    sums = rows.aggregate(**{name: Sum(name) for name in PROGRESS_SUMS})
    expected = mesa_index().count(departamento=departamento, municipio=municipio)
    return Progress(actas_expected=expected, **{name: int(sums[name] or 0) for name in PROGRESS_SUMS})


def percent(part: int, whole: int, decimals: int = PERCENT_DECIMALS) -> float:
    """100 * part / whole to `decimals`, halves rounded up; 0.0 of nothing."""
    if whole == 0:
        return 0.0
    exact = Decimal(100 * part) / Decimal(whole)
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
