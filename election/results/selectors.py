"""Reads: the results, from the tallies that votes_record keeps in step with the vote table.

Every results function here reads a bounded number of tally rows (at most one per area, sede
or latency bucket), so its cost does not grow with the number of votes. The vote table is read
only by one-row probes (results_version) and the vote list (votes_filtered), whose every
filter combination is the whole of one index: a page is read straight off it.
Names come back as the catalogue writes them; codes in, names out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.mysql.compiler import SQLCompiler as MySQLCompiler
from django.db.models import Max, Model, QuerySet, Sum
from django.db.models.sql import Query
from django.utils import timezone

from election.catalogue.index import catalogue_index, name_key
from election.models import AreaTally, PartidoKind, Route, RouteTally, SedeTally, SedeTotal, Vote
from election.votes import tallies

PERCENT_DECIMALS = 2
PARTIDO_KINDS = tuple(PartidoKind.values)  # read once: the choices' `values` builds a list each time
M = TypeVar("M", bound=Model)


# --- The version of the results ---------------------------------------------


def results_version() -> str:
    """Changes whenever votes are stored: the ETag of every results answer.

    Votes are only ever added, so the number stored (the sum of RouteTally, a few thousand
    rows at most, in the same transaction as the votes) grows with every commit. The highest
    vote id (one index probe) tells apart a database emptied and refilled to the same count.
    """
    total = RouteTally.objects.aggregate(total=Sum("votes"))["total"] or 0
    last_id = Vote.objects.aggregate(last=Max("id"))["last"] or 0
    return f"{total}-{last_id}"


# --- Ballots: valid, null and blank -------------------------------------------


@dataclass(frozen=True, slots=True)
class Ballots:
    """Ballots cast in some scope, as the TSE's acta counts them: valid, null (nulos), blank.

    The percents are of all ballots cast, to PERCENT_DECIMALS, and sum to exactly 100.
    """

    valid: int
    nulos: int
    blancos: int

    @property
    def cast(self) -> int:
        return self.valid + self.nulos + self.blancos

    @property
    def percents(self) -> tuple[float, float, float]:
        valid, nulos, blancos = largest_remainder_percents([self.valid, self.nulos, self.blancos])
        return valid, nulos, blancos

    @classmethod
    def of(cls, votes_by_sigla: dict[str, int]) -> Ballots:
        """Split per-sigla counts by the catalogue's kinds (a sigla not NULO or BLANCO is valid)."""
        kinds = catalogue_index().partido_kinds
        by_kind = dict.fromkeys(PARTIDO_KINDS, 0)
        for sigla, votes in votes_by_sigla.items():
            by_kind[kinds.get(sigla, PartidoKind.VALID)] += votes
        return cls(by_kind[PartidoKind.VALID], by_kind[PartidoKind.NULO], by_kind[PartidoKind.BLANCO])


def ballots_answer(ballots: Ballots) -> dict[str, Any]:
    """Ballots as every results answer gives them (docs/api.md)."""
    valid, nulos, blancos = ballots.percents
    return {
        "valid": ballots.valid,
        "nulos": ballots.nulos,
        "blancos": ballots.blancos,
        "cast": ballots.cast,
        "percent": {"valid": valid, "nulos": nulos, "blancos": blancos},
    }


def ballots_cast(*, papeleta: str | None) -> Ballots:
    """Ballots cast nationwide on `papeleta` (None: every papeleta).

    Reads the null and blank rows of AreaTally (through its partido index: two siglas, at
    most 340 x 5 rows each) before the total (RouteTally), so that under READ COMMITTED a vote
    stored in between can only add to the total: valid is never negative.
    """
    not_valid = AreaTally.objects.filter(partido_id__in=list(catalogue_index().partido_kinds), votes__gt=0)
    routes = RouteTally.objects.all()
    if papeleta is not None:
        not_valid = not_valid.filter(papeleta_id=papeleta)
        routes = routes.filter(papeleta_id=papeleta)
    return _ballots_of_total(_by_partido(not_valid), routes.aggregate(total=Sum("votes"))["total"] or 0)


def _by_partido(area: QuerySet[AreaTally]) -> dict[str, int]:
    rows = area.values("partido_id").annotate(total=Sum("votes")).values_list("partido_id", "total")
    return {sigla: int(total) for sigla, total in rows}


def _ballots_of_total(not_valid_by_sigla: dict[str, int], cast: int) -> Ballots:
    not_valid = Ballots.of(not_valid_by_sigla)
    return Ballots(
        valid=cast - not_valid.nulos - not_valid.blancos, nulos=not_valid.nulos, blancos=not_valid.blancos
    )


# --- Top departamentos --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepartamentoVotes:
    departamento: str
    votes: int  # valid votes: what departamentos are ranked by, as the TSE ranks them
    ballots: Ballots


@dataclass(frozen=True, slots=True)
class TopDepartamentos:
    results: list[DepartamentoVotes]
    ballots: Ballots  # nationwide on the papeleta: every departamento's, not only the top


def top_departamentos(*, papeleta: str, limit: int) -> TopDepartamentos:
    """Departamentos by valid votes on `papeleta`, descending, ties by name; only those with
    ballots cast (a departamento with only null or blank ballots comes last, with 0 votes)."""
    names = catalogue_index().departamento_names
    # Held to the papeleta's index: else MariaDB walks every area's rows in departamento order.
    area = read_through_index(
        AreaTally.objects.filter(papeleta_id=papeleta, votes__gt=0), "area_tally_papeleta_idx"
    )
    rows = (
        area.values("departamento_id", "partido_id")
        .annotate(total=Sum("votes"))
        .values_list("departamento_id", "partido_id", "total")
    )
    per_departamento: dict[str, dict[str, int]] = {}
    for code, sigla, total in rows:
        per_departamento.setdefault(code, {})[sigla] = int(total)
    ranked = sorted(
        (
            DepartamentoVotes(names.get(code, code), ballots.valid, ballots)
            for code, ballots in ((code, Ballots.of(counts)) for code, counts in per_departamento.items())
        ),
        key=lambda row: (-row.votes, name_key(row.departamento), row.departamento),
    )
    nationwide = Ballots(
        valid=sum(row.ballots.valid for row in ranked),
        nulos=sum(row.ballots.nulos for row in ranked),
        blancos=sum(row.ballots.blancos for row in ranked),
    )
    return TopDepartamentos(results=ranked[:limit], ballots=nationwide)


# --- Shares per partido -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartidoShare:
    partido: str
    votes: int
    percent: float


@dataclass(frozen=True, slots=True)
class AreaShares:
    partidos: list[PartidoShare]
    ballots: Ballots


def partido_shares(*, departamento: str, municipio: str | None, papeleta: str | None) -> AreaShares:
    """Each partido's votes and percentage of the area's valid votes, by votes descending then
    sigla, and the area's ballots (valid, null, blank).

    Null and blank ballots are not partidos: they are left out of the shares, as the TSE
    reports them, and given in `ballots` as shares of all ballots cast.
    `departamento` and `municipio` are codes; `papeleta` None means every papeleta.
    Percentages have PERCENT_DECIMALS decimals and sum to exactly 100 (largest remainder).
    """
    area = AreaTally.objects.filter(departamento_id=departamento, votes__gt=0)
    if municipio is not None:
        area = area.filter(municipio_id=municipio)
    if papeleta is not None:
        area = area.filter(papeleta_id=papeleta)
    by_sigla = _by_partido(area)
    not_valid = catalogue_index().partido_kinds
    counts = sorted(
        ((sigla, votes) for sigla, votes in by_sigla.items() if sigla not in not_valid),
        key=lambda row: (-row[1], row[0]),
    )
    percents = largest_remainder_percents([votes for _, votes in counts])
    shares = [PartidoShare(sigla, votes, pct) for (sigla, votes), pct in zip(counts, percents, strict=True)]
    return AreaShares(partidos=shares, ballots=Ballots.of(by_sigla))


def largest_remainder_percents(counts: list[int], decimals: int = PERCENT_DECIMALS) -> list[float]:
    """Percentages of sum(counts) rounded to `decimals` that add up to exactly 100.

    Each share is floored to the unit (0.01 %), and the units left over go one each to the
    largest remainders; equal remainders go in list order, so the answer is deterministic.
    """
    total = sum(counts)
    if total == 0:
        return [0.0] * len(counts)
    units = 100 * 10**decimals
    floors = [count * units // total for count in counts]
    remainders = [count * units % total for count in counts]
    left = units - sum(floors)
    for position in sorted(range(len(counts)), key=lambda i: -remainders[i])[:left]:
        floors[position] += 1
    return [round(unit / 10**decimals, decimals) for unit in floors]


# --- Top sedes ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SedeVotes:
    departamento: str
    municipio: str
    sede: str
    votes: int


def top_sedes(*, limit: int, papeleta: str | None) -> list[SedeVotes]:
    """Sedes by ballots cast (valid, null and blank alike), descending, ties by (departamento,
    municipio, sede) code order.

    Unlike departamentos, sedes are ranked by ballots cast: the sede tallies count ballots
    (a sede's load), not partidos. The nationwide split is ballots_cast(papeleta=...).

    Both orders are an index's order (see SedeTally and SedeTotal), so this reads `limit` rows.
    """
    rows: QuerySet = (
        SedeTotal.objects.all() if papeleta is None else SedeTally.objects.filter(papeleta_id=papeleta)
    )
    return sedes_ranked(rows, "votes", limit)


def sedes_ranked(rows: QuerySet[Any], count: str, limit: int) -> list[SedeVotes]:
    """The first `limit` sede tally rows by `count` descending, ties in code order, named."""
    rows = rows.filter(**{f"{count}__gt": 0}).order_by(f"-{count}", "departamento_id", "municipio_id", "sede")
    index = catalogue_index()
    return [
        SedeVotes(
            departamento=index.departamento_names.get(dep, dep),
            municipio=index.municipio_names.get(mun, mun),
            sede=sede,
            votes=int(votes),
        )
        for dep, mun, sede, votes in rows.values_list("departamento_id", "municipio_id", "sede", count)[
            :limit
        ]
    ]


# --- Summary: the two routes side by side --------------------------------------


@dataclass(frozen=True, slots=True)
class RouteSummary:
    votes: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True, slots=True)
class ResultsSummary:
    total: int
    by_route: dict[str, RouteSummary]
    by_papeleta: dict[str, int]
    as_of: datetime
    ballots: Ballots


def results_summary() -> ResultsSummary:
    """Total votes (ballots cast), per route (with receipt-to-storage p50/p95), per papeleta,
    and split into valid, null and blank."""
    # Read first, as in ballots_cast: a vote stored meanwhile only adds to the total.
    not_valid = _by_partido(
        AreaTally.objects.filter(partido_id__in=list(catalogue_index().partido_kinds), votes__gt=0)
    )
    by_papeleta = dict.fromkeys(sorted(set(catalogue_index().papeletas.values())), 0)
    buckets: dict[str, dict[int, int]] = {route.value: {} for route in Route}
    for route, papeleta, bucket, votes in RouteTally.objects.filter(votes__gt=0).values_list(
        "route", "papeleta_id", "latency_bucket", "votes"
    ):
        by_papeleta[papeleta] = by_papeleta.get(papeleta, 0) + votes
        per_bucket = buckets.setdefault(route, {})
        per_bucket[bucket] = per_bucket.get(bucket, 0) + votes
    by_route = {
        route: RouteSummary(
            votes=sum(counts.values()),
            p50_ms=latency_percentile_ms(counts, 0.50),
            p95_ms=latency_percentile_ms(counts, 0.95),
        )
        for route, counts in buckets.items()
    }
    total = sum(by_papeleta.values())
    return ResultsSummary(
        total=total,
        by_route=by_route,
        by_papeleta=by_papeleta,
        as_of=timezone.now(),
        ballots=_ballots_of_total(not_valid, total),
    )


def latency_percentile_ms(counts: dict[int, int], fraction: float) -> float | None:
    """The upper bound of the latency bucket holding the `fraction` quantile, or None.

    Buckets are 10% wide, so this overstates the true percentile by less than 10%.
    """
    total = sum(counts.values())
    if total == 0:
        return None
    rank = fraction * total
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return round(tallies.latency_bucket_upper_ms(bucket), 2)
    raise AssertionError("unreachable: the last bucket holds the whole count")


# --- Votes ----------------------------------------------------------------------


# The vote list filters by one of these groups at a time, a sede only within its municipio
# (election/api/filters.vote_filters_refused says so to the client).
VOTE_FILTER_GROUPS = (("departamento", "municipio", "sede"), ("papeleta", "partido"), ("route",))


class VoteFiltersUnserved(ValueError):
    """A combination no index of the vote table serves: reading it would walk the table."""


def votes_filtered(
    *,
    departamento: str | None = None,
    municipio: str | None = None,
    sede: str | None = None,
    papeleta: str | None = None,
    partido: str | None = None,
    route: str | None = None,
) -> QuerySet[Vote]:
    """Stored votes matching every filter given (codes, as resolved from the query).

    The columns compared must be exactly those of one index of Vote (vote_filter_index), so
    the matching rows come in primary-key order and a page, newest first from any cursor, is
    the next rows of that index. A municipio drops its departamento (implied by it); a sede
    takes it (the sede index leads with it).
    """
    filters = {
        "departamento": departamento,
        "municipio": municipio,
        "sede": sede,
        "papeleta": papeleta,
        "partido": partido,
        "route": route,
    }
    if municipio is not None and sede is None:
        filters["departamento"] = None
    columns = frozenset(name for name, value in filters.items() if value is not None)
    votes = Vote.objects.filter(**{name: filters[name] for name in columns})  # codes: foreign key values
    if not columns:
        return votes  # the primary key's own order
    index = vote_filter_index(columns)
    if index is None:
        raise VoteFiltersUnserved(f"no index of the vote table holds exactly {sorted(columns)}")
    return read_through_index(votes, index)


def vote_filter_index(columns: frozenset[str]) -> str | None:
    """The index of Vote that holds exactly `columns` (field names), or None."""
    return next((index.name for index in Vote._meta.indexes if frozenset(index.fields) == columns), None)


class _ForcedIndexCompiler(MySQLCompiler):
    def get_from_clause(self) -> tuple[list[str], tuple[str | int, ...]]:
        clauses, params = super().get_from_clause()
        index = self.connection.ops.quote_name(self.query.forced_index)  # type: ignore[attr-defined]
        return [f"{clauses[0]} FORCE INDEX ({index})", *clauses[1:]], params


class _ForcedIndexQuery(Query):
    forced_index = ""

    def get_compiler(self, using: str | None = None, connection: Any = None, elide_empty: bool = True) -> Any:
        connection = connection or connections[using or DEFAULT_DB_ALIAS]
        if connection.vendor != "mysql":  # SQLite seeks the index's rowids itself
            return super().get_compiler(using, connection, elide_empty)
        return _ForcedIndexCompiler(self, connection, using, elide_empty)


def read_through_index(queryset: QuerySet[M], index: str) -> QuerySet[M]:
    """`queryset` read through `index` on MariaDB (FORCE INDEX).

    Given `col = x AND id < cursor ORDER BY id DESC`, MariaDB 10.11 may choose `ref` on the col
    index, start at its newest row and skip every row above the cursor (a page of 11 read
    50,011 rows, measured); held to the index it seeks the cursor (a range on the index's
    columns and the id that InnoDB ends it with). tests/api/test_query_plans.py shows each plan.
    """
    forced = queryset.all()
    forced.query = queryset.query.chain(klass=_ForcedIndexQuery)
    forced.query.forced_index = index  # type: ignore[attr-defined]
    return forced
