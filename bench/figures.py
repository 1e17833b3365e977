"""The headline figures of every benchmark, and their goals: the one place either is defined.

Each Figure says which bench's result file it comes from, how to read it from that JSON, its
unit, which direction is better and its goal when the project states one (docs/architecture.md
and docs/performance.md quote these goals; a bench that records its own goal in its JSON, as
grpc_route, redis_route, compare_routes and results_api do, states the same one).
bench/summary.py prints them after `make bench`; tests/bench/test_figures.py reads every
committed result file through them. Importing this module reads nothing.
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

Result = dict[str, Any]
Reader = Callable[[Result], float | None]

GOAL_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Goal:
    op: str  # one of GOAL_OPERATORS
    value: float

    def met(self, figure: float) -> bool:
        return GOAL_OPERATORS[self.op](figure, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:,g}"


@dataclass(frozen=True)
class Bench:
    name: str
    full_file: str  # in bench/results/, committed
    quick_file: str | None  # its --quick form's file (not committed); None: no quick form


@dataclass(frozen=True)
class Figure:
    bench: str
    label: str
    read: Reader  # the figure from the result JSON; None when the file lacks it
    unit: str
    better: Literal["higher", "lower"]
    goal: Goal | None = None
    # True when the figure grows with the run's size (wall seconds of a whole snapshot): the
    # quick form's smaller run then says nothing against the full one.
    scales_with_size: bool = False


def number(value: Any) -> float | None:
    """A JSON number as a float; anything else (absent, null, a string) as None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def at(*keys: str) -> Reader:
    """A reader of the number at a key path, e.g. at("unary_64", "group", "cores_busy")."""

    def read(result: Result) -> float | None:
        value: Any = result
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return number(value)

    return read


def ratio(numerator: Reader, denominator: Reader) -> Reader:
    def read(result: Result) -> float | None:
        top, bottom = numerator(result), denominator(result)
        return None if top is None or not bottom else top / bottom

    return read


def worst(key: str, *, section: str, better: str = "lower", name_has: str = "") -> Reader:
    """The worst `key` over the entries of `section` (results_api's endpoints, snapshot_readers'
    readers), only those whose name contains `name_has`."""

    def read(result: Result) -> float | None:
        entries = result.get(section)
        if not isinstance(entries, dict):
            return None
        values = [at(key)(entry) for name, entry in entries.items() if name_has in name]
        found = [v for v in values if v is not None]
        if not found:
            return None
        return max(found) if better == "lower" else min(found)

    return read


def total(values: Iterable[float | None]) -> float | None:
    found = list(values)
    return None if not found or None in found else sum(v for v in found if v is not None)


def _rows_sum(key: str) -> Reader:
    """faults: the sum of `key` over every fault's row."""

    def read(result: Result) -> float | None:
        rows = result.get("rows")
        return total(at(key)(row) for row in rows) if isinstance(rows, list) else None

    return read


def _rows_not_whole(result: Result) -> float | None:
    rows = result.get("rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "whole" in r for r in rows):
        return None
    return float(sum(1 for r in rows if r["whole"] is not True))


def _compare_failures(result: Result) -> float | None:
    """compare_routes' unexpected failures: its goal sums them over the three route scenarios."""
    return total(at(name, "failures")(result) for name in ("grpc", "redis", "split"))


def _snapshot_runs(key: str) -> Reader:
    """snapshot_write: the median of `key` over its runs (each a fresh process)."""

    def read(result: Result) -> float | None:
        runs = result.get("runs")
        found = [at(key)(run) for run in runs] if isinstance(runs, list) else []
        values = [v for v in found if v is not None]
        return statistics.median(values) if values else None

    return read


def _answers_differing(result: Result) -> float | None:
    same = result.get("same_answers")
    return float(sum(1 for v in same.values() if v is not True)) if isinstance(same, dict) else None


def _per_counted_acta_us(file: str) -> Reader:
    """opendata: a file's CPU in µs per counted acta, so the quick form's 2,000 mesas compare."""
    return ratio(lambda r: _times(at("files", file, "cpu_seconds")(r), 1e6), at("counted_actas"))


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


BENCHES: dict[str, Bench] = {
    b.name: b
    for b in (
        Bench("access_overhead", "access_overhead.json", "access_overhead.quick.json"),
        Bench("grpc_route", "grpc_route.json", "grpc_route.quick.json"),
        Bench("redis_route", "redis_route.json", "redis_route.quick.json"),
        Bench("actas_route", "actas.json", "actas_quick.json"),
        Bench("compare_routes", "compare_routes.json", "compare_routes.quick.json"),
        Bench("cpu_share", "cpu_share.json", None),
        Bench("gateway_stream", "gateway_stream.json", None),
        Bench("grpc_profile", "grpc_profile.json", None),
        Bench("results_api", "results_api.json", "results_api_quick.json"),
        Bench("opendata", "opendata.json", "opendata_quick.json"),
        Bench("snapshot_write", "snapshot_write.json", "snapshot_write_quick.json"),
        Bench("snapshot_readers", "snapshot_readers.json", "snapshot_readers_quick.json"),
        Bench("faults", "faults.json", "faults.quick.json"),
    )
}

_F = Figure
FIGURES: tuple[Figure, ...] = (
    _F("access_overhead", "check's cost, shared token", at("overhead_shared_us"), "µs/vote", "lower"),
    _F("access_overhead", "check's cost, sede token", at("overhead_sede_token_us"), "µs/vote", "lower"),
    _F("grpc_route", "fraction_of_ceiling", at("fraction_of_ceiling"), "", "higher", Goal(">=", 0.7)),
    _F("grpc_route", "speedup_vs_naive", at("speedup_vs_naive"), "x", "higher", Goal(">=", 2)),
    _F("grpc_route", "streaming_votes_per_s", at("streaming_votes_per_s"), "votes/s", "higher",
       Goal(">=", 20_000)),
    _F("grpc_route", "gateway p99", at("gateway_p99_ms"), "ms", "lower", Goal("<", 20)),
    _F("grpc_route", "gateway fraction of http ceiling", at("gateway_fraction_of_http_ceiling"), "",
       "higher", Goal(">=", 0.5)),
    # Issue 24 is judged on how busy each server keeps the two cores (see performance.md).
    *(
        _F("grpc_route", f"cores_busy, {server}", at("unary_64", server, "cores_busy"), "cores", "higher")
        for server in ("ceiling", "naive", "group", "pipelined")
    ),
    # GROUP_COMMIT_PIPELINE on: the same server with two groups in flight (off by default).
    _F("grpc_route", "pipelined fraction_of_ceiling", at("pipelined_fraction_of_ceiling"), "", "higher"),
    _F("redis_route", "batching over one vote per task", at("speedup_vs_one_per_task"), "x", "higher",
       Goal(">=", 3)),
    _F("redis_route", "batching drain over accept",
       ratio(at("drain", "batching", "votes_per_second"), at("accept", "accept_votes_per_second")), "x",
       "higher", Goal(">", 1)),
    _F("redis_route", "end to end", at("accept", "end_to_end_votes_per_second"), "votes/s", "higher"),
    _F("redis_route", "pipelined drain over serial", at("pipelined_over_serial_drain"), "x", "higher"),
    _F("actas_route", "gRPC end to end", at("routes", "grpc", "end_to_end_typings_per_second"),
       "typings/s", "higher"),
    _F("actas_route", "Redis end to end", at("routes", "redis", "end_to_end_typings_per_second"),
       "typings/s", "higher"),
    _F("actas_route", "counted acta, batch 100",
       at("recording_in_process", "batches", "100", "acta_second_typing_counted", "ms_per_item"),
       "ms/acta", "lower"),
    _F("actas_route", "tally upserts, acta over vote", at("tally_upserts_alone", "acta_over_vote"), "x",
       "lower"),
    _F("compare_routes", "split end to end", at("split", "votes_per_s"), "votes/s", "higher",
       Goal(">=", 2000)),
    _F("compare_routes", "split p99", at("split", "p99_ms"), "ms", "lower", Goal("<", 200)),
    _F("compare_routes", "unexpected failures", _compare_failures, "", "lower", Goal("==", 0)),
    _F("compare_routes", "split over http ceiling", at("fraction_of_http_ceiling"), "", "higher"),
    _F("cpu_share", "split, CPU a vote without Locust",
       at("scenarios", "split", "cpu_ms_per_vote_without_locust"), "ms", "lower"),
    _F("gateway_stream", "stream over unary", at("stream_over_unary"), "x", "higher"),
    # Where a unary call's time goes (the profile behind fraction_of_ceiling).
    _F("grpc_profile", "interpreter lock held, serial server", at("servers", "group", "gil_held"), "",
       "lower"),
    _F("grpc_profile", "receipt to commit, serial server",
       at("servers", "group", "server", "receipt_to_storage_ms"), "ms", "lower"),
    _F("results_api", "worst endpoint p95, 16 readers", worst("p95_ms", section="endpoints"), "ms", "lower",
       Goal("<", 20)),
    _F("results_api", "worst endpoint p95, one reader", worst("p95_ms_one_reader", section="endpoints"),
       "ms", "lower"),
    _F("results_api", "slowest endpoint",
       worst("requests_per_s", section="endpoints", better="higher"), "req/s", "higher"),
    _F("opendata", "results.csv CPU", _per_counted_acta_us("results.csv"), "µs/acta", "lower"),
    _F("opendata", "NIST report CPU", _per_counted_acta_us("nist-1500-100.json"), "µs/acta", "lower"),
    _F("snapshot_write", "one snapshot, wall", _snapshot_runs("seconds"), "s", "lower",
       scales_with_size=True),
    _F("snapshot_write", "one snapshot, CPU", _snapshot_runs("cpu_seconds"), "s", "lower",
       scales_with_size=True),
    _F("snapshot_write", "one snapshot, peak RSS", _snapshot_runs("peak_rss_mib"), "MiB", "lower",
       scales_with_size=True),
    _F("snapshot_readers", "worst static p95, 16 readers",
       worst("p95_ms", section="readers", name_has="static"), "ms", "lower"),
    _F("snapshot_readers", "nation static over API",
       ratio(at("readers", "pais static", "requests_per_s"), at("readers", "pais api", "requests_per_s")),
       "x", "higher"),
    # A file that answers otherwise than the API it stands for is wrong, not slow.
    _F("snapshot_readers", "answers differing from the API", _answers_differing, "", "lower",
       Goal("==", 0)),
    # faults measures correctness: any vote lost or doubled fails it (faults.py exits 1).
    _F("faults", "votes lost", _rows_sum("lost"), "", "lower", Goal("==", 0)),
    _F("faults", "votes duplicated", _rows_sum("duplicated"), "", "lower", Goal("==", 0)),
    _F("faults", "faults not whole", _rows_not_whole, "", "lower", Goal("==", 0)),
    _F("faults", "manage.py reconcile exit", at("reconcile_command", "exit"), "", "lower", Goal("==", 0)),
)  # fmt: skip


def figures_of(bench: str) -> list[Figure]:
    return [f for f in FIGURES if f.bench == bench]
