"""bench/figures.py against the committed results: every figure found where the registry looks.

No database and no benchmark run: the committed bench/results/*.json are the real shapes, and
a quick file has the same shape as its full one.
"""

from __future__ import annotations

import json
import re

import pytest

from bench.figures import BENCHES, FIGURES, Figure, Goal, figures_of
from bench.summary import RESULTS
from tests.conftest import ROOT

BENCH_SH = (ROOT / "scripts" / "bench.sh").read_text()


def _committed(figure: Figure) -> dict:
    return json.loads((RESULTS / BENCHES[figure.bench].full_file).read_text())


@pytest.mark.parametrize("figure", FIGURES, ids=lambda f: f"{f.bench}: {f.label}")
def test_every_figure_is_a_number_in_the_committed_result(figure: Figure) -> None:
    value = figure.read(_committed(figure))
    assert isinstance(value, float), f"{BENCHES[figure.bench].full_file} has no {figure.label}"


@pytest.mark.parametrize("bench", sorted(BENCHES))
def test_every_bench_has_one_to_ten_figures_and_its_committed_file(bench: str) -> None:
    assert 1 <= len(figures_of(bench)) <= 10  # headline figures, not every number of the run
    assert (RESULTS / BENCHES[bench].full_file).is_file()


def test_every_bench_make_bench_runs_is_registered_with_a_quick_file_git_ignores() -> None:
    quick_benches = re.search(r"else benches=\(([^)]*)\)", BENCH_SH)
    assert quick_benches is not None, "scripts/bench.sh's list of quick benches moved"
    for bench in quick_benches.group(1).split():
        quick = BENCHES[bench].quick_file
        assert quick is not None and "quick" in quick  # .gitignore: bench/results/*quick*.json


def test_the_goals_agree_with_those_the_benches_record() -> None:
    def goal(bench: str, label: str) -> Goal | None:
        return next(f.goal for f in figures_of(bench) if f.label == label)

    grpc = json.loads((RESULTS / "grpc_route.json").read_text())["goals"]
    assert str(goal("grpc_route", "fraction_of_ceiling")) == grpc["fraction_of_ceiling"]
    assert str(goal("grpc_route", "speedup_vs_naive")) == grpc["speedup_vs_naive"]
    assert str(goal("grpc_route", "gateway p99")) == grpc["gateway_p99_ms"]
    assert (
        str(goal("grpc_route", "gateway fraction of http ceiling"))
        == grpc["gateway_fraction_of_http_ceiling"]
    )
    assert goal("grpc_route", "streaming_votes_per_s") == Goal(">=", float(grpc["streaming_votes_per_s"][3:]))
    compare = json.loads((RESULTS / "compare_routes.json").read_text())["goal"]
    assert goal("compare_routes", "split end to end") == Goal(">=", compare["split_votes_per_s_at_least"])
    assert goal("compare_routes", "split p99") == Goal("<", compare["split_p99_ms_below"])
    api = json.loads((RESULTS / "results_api.json").read_text())
    assert goal("results_api", "worst endpoint p95, 16 readers") == Goal("<", api["goal_p95_ms"])


def test_faults_counts_the_lost_and_duplicated_votes_of_every_row() -> None:
    lost, duplicated = (
        next(f for f in figures_of("faults") if f.label == label)
        for label in ("votes lost", "votes duplicated")
    )
    result = {
        "rows": [{"lost": 0, "duplicated": 1, "whole": False}, {"lost": 2, "duplicated": 0, "whole": True}]
    }
    assert (lost.read(result), duplicated.read(result)) == (2.0, 1.0)
    assert lost.read({"rows": [{"duplicated": 0}]}) is None  # a row without the key is not 0
