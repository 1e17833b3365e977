"""bench/summary.py's verdicts, on small synthetic result files in tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import summary
from bench.figures import BENCHES

GRPC = BENCHES["grpc_route"]


def _write(directory: Path, name: str | None, result: dict) -> Path:
    assert name is not None, "a bench without a quick form"
    path = directory / name
    path.write_text(json.dumps(result))
    return path


def _rows(tmp_path: Path, since: float | None = None) -> dict[str, summary.Row]:
    return {row.figure: row for row in summary.rows_build(["grpc_route"], tmp_path, since=since)}


def test_meets_and_misses_goal_and_worse_beyond_the_band(tmp_path: Path) -> None:
    _write(
        tmp_path, GRPC.full_file, {"fraction_of_ceiling": 0.8, "speedup_vs_naive": 3.0, "gateway_p99_ms": 10}
    )
    _write(
        tmp_path,
        GRPC.quick_file,
        {"fraction_of_ceiling": 0.75, "speedup_vs_naive": 1.5, "gateway_p99_ms": 30},
    )
    rows = _rows(tmp_path)
    assert rows["fraction_of_ceiling"].verdict == "meets goal; within 25% of full"
    assert rows["speedup_vs_naive, x"].verdict == "MISSES GOAL; WORSE than full by 50%"
    assert rows["gateway p99, ms"].verdict == "MISSES GOAL; WORSE than full by 200%"
    assert (rows["gateway p99, ms"].quick, rows["gateway p99, ms"].full) == (30.0, 10.0)


def test_a_quick_file_missing_is_not_run_and_a_figure_missing_is_a_dash(tmp_path: Path) -> None:
    _write(tmp_path, GRPC.full_file, {"fraction_of_ceiling": 0.8})
    assert {row.verdict for row in _rows(tmp_path).values()} == {"not run"}
    _write(tmp_path, GRPC.quick_file, {"fraction_of_ceiling": 0.9, "unary_64": {"group": {}}})
    rows = _rows(tmp_path)
    assert rows["fraction_of_ceiling"].verdict == "meets goal; as full or better"
    assert rows["cores_busy, group, cores"].quick is None
    assert rows["cores_busy, group, cores"].verdict == summary.MISSING
    assert rows["speedup_vs_naive, x"].full is None
    text = summary.table(list(rows.values()))
    assert "not run" not in text and summary.MISSING in text


def test_a_quick_file_older_than_this_run_is_not_run(tmp_path: Path) -> None:
    quick = _write(tmp_path, GRPC.quick_file, {"fraction_of_ceiling": 0.9})
    os.utime(quick, (1_000_000, 1_000_000))
    assert _rows(tmp_path, since=2_000_000)["fraction_of_ceiling"].verdict.startswith("not run (file from ")
    assert _rows(tmp_path, since=500_000)["fraction_of_ceiling"].verdict.startswith("meets goal")


def test_a_figure_that_grows_with_the_run_is_not_compared(tmp_path: Path) -> None:
    bench = BENCHES["snapshot_write"]
    _write(tmp_path, bench.full_file, {"runs": [{"seconds": 100.0}]})
    _write(tmp_path, bench.quick_file, {"runs": [{"seconds": 300.0}]})
    rows = {r.figure: r for r in summary.rows_build(["snapshot_write"], tmp_path)}
    assert rows["one snapshot, wall, s"].verdict == "smaller run: not compared"


def test_main_prints_one_table_writes_its_json_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, GRPC.full_file, {"fraction_of_ceiling": 0.8})
    _write(tmp_path, GRPC.quick_file, {"fraction_of_ceiling": 0.5})
    _write(tmp_path, BENCHES["faults"].quick_file, {}).write_text("{not json")
    assert summary.main(["grpc_route", "faults", "no_such_bench"], results=tmp_path) == 0
    out = capsys.readouterr()
    assert "no_such_bench" in out.err
    lines = out.out.splitlines()
    assert lines[0].split() == ["bench", "figure", "goal", "quick", "full", "(committed)", "verdict"]
    assert any("MISSES GOAL; WORSE than full by 38%" in line for line in lines)
    assert any(line.startswith("faults") and "unreadable" in line for line in lines)
    written = json.loads((tmp_path / "summary.quick.json").read_text())
    assert written["noise_band"] == summary.NOISE_BAND
    assert {row["bench"] for row in written["rows"]} == {"grpc_route", "faults"}


def test_full_mode_judges_the_full_files_alone_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, GRPC.full_file, {"fraction_of_ceiling": 0.5})
    assert summary.main(["--full", "grpc_route"], results=tmp_path) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "quick" not in lines[0]
    assert any("fraction_of_ceiling" in line and line.endswith("MISSES GOAL") for line in lines)
    assert not (tmp_path / "summary.quick.json").exists()


def test_a_results_directory_that_cannot_be_read_exits_2(tmp_path: Path) -> None:
    assert summary.main(["grpc_route"], results=tmp_path / "absent") == 2
