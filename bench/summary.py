"""The one table `make bench` ends with: each headline figure of this run's quick forms, its goal
and the committed full run's value.

    python bench/summary.py [--since EPOCH] [bench ...]     quick files against the full ones
    python bench/summary.py --full [bench ...]              the full files alone, against their goals

Reads bench/results/ (the figures, their goals and their files: bench/figures.py). For each
figure, the verdict says whether it meets its goal, and whether the quick value is worse than
the committed full one by more than NOISE_BAND. A quick file missing (or older than --since, the
start of this `make bench`) shows "not run"; a figure missing from a file shows "—". The table
also goes to bench/results/summary.quick.json (quick mode; not committed).

It informs and does not gate: the exit code is 0 whatever the verdicts, 2 only when the results
directory cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import BENCHES, FIGURES, Figure  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# The machine's speed drifts by about a fifth within minutes and quick forms run smaller and
# shorter, so only a quick value worse than the full one by more than this says something.
NOISE_BAND = 0.25
MISSING = "—"


@dataclass
class Row:
    bench: str
    figure: str
    unit: str
    goal: str
    quick: float | None
    full: float | None
    verdict: str


class Unreadable(Exception):
    pass


def result_read(path: Path, since: float | None = None) -> dict[str, Any] | str:
    """The result JSON at `path`, or why there is none: "not run" or "unreadable: ..."."""
    try:
        if since is not None and path.stat().st_mtime < since:
            when = datetime.fromtimestamp(path.stat().st_mtime).strftime("%m-%d %H:%M")
            return f"not run (file from {when})"
        result = json.loads(path.read_text())
    except FileNotFoundError:
        return "not run"
    except (OSError, ValueError) as error:
        return f"unreadable: {error}"
    return result if isinstance(result, dict) else "unreadable: not a JSON object"


def figure_read(figure: Figure, result: dict[str, Any]) -> float | None:
    """The figure, or None when the file lacks it in any way (a bench's shape may change)."""
    try:
        return figure.read(result)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def compared(figure: Figure, quick: float, full: float | None) -> str:
    """quick against the committed full value, within NOISE_BAND or not."""
    if full is None:
        return "no full value"
    if figure.scales_with_size:
        return "smaller run: not compared"
    worse = quick - full if figure.better == "lower" else full - quick
    if worse <= 0:
        return "as full or better" if quick != full else "as full"
    if full == 0:
        return "WORSE than full (was 0)"
    share = worse / abs(full)
    if share > NOISE_BAND:
        return f"WORSE than full by {share:.0%}"
    return f"within {NOISE_BAND:.0%} of full"


def verdict(figure: Figure, value: float | None, full: float | None, *, against_full: bool) -> str:
    if value is None:
        return MISSING
    parts = []
    if figure.goal is not None:
        parts.append("meets goal" if figure.goal.met(value) else "MISSES GOAL")
    if against_full:
        parts.append(compared(figure, value, full))
    return "; ".join(parts)


def rows_build(
    benches: list[str], results: Path, *, full_mode: bool = False, since: float | None = None
) -> list[Row]:
    """One Row per figure of `benches`. Raises Unreadable when `results` is no directory."""
    if not results.is_dir():
        raise Unreadable(f"{results} is not a directory")
    rows: list[Row] = []
    for name in benches:
        bench = BENCHES[name]
        full = result_read(results / bench.full_file)
        if full_mode:
            this: dict[str, Any] | str = full
        elif bench.quick_file is None:
            this = "no quick form"
        else:
            this = result_read(results / bench.quick_file, since)
        for figure in (f for f in FIGURES if f.bench == name):
            full_value = figure_read(figure, full) if isinstance(full, dict) else None
            if isinstance(this, dict):
                value = figure_read(figure, this)
                said = verdict(figure, value, full_value, against_full=not full_mode)
            else:
                value, said = None, this
            goal = "" if figure.goal is None else str(figure.goal)
            label = f"{figure.label}, {figure.unit}" if figure.unit else figure.label
            rows.append(Row(name, label, figure.unit, goal, value, full_value, said))
    return rows


def shown(value: float | None) -> str:
    if value is None:
        return MISSING
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row], *, full_mode: bool = False) -> str:
    """The rows as one plain-text table; in full mode without the quick column."""
    header = ["bench", "figure", "goal", "full", "verdict"]
    if not full_mode:
        header[3:3] = ["quick"]
        header[4] = "full (committed)"
    lines = []
    for row in rows:
        cells = [row.bench, row.figure, row.goal or MISSING]
        if not full_mode:
            cells.append("not run" if row.verdict.startswith("not run") else shown(row.quick))
        cells += [shown(row.full), row.verdict]
        lines.append(cells)
    widths = [max(len(c) for c in column) for column in zip(header, *lines, strict=False)]
    numeric = {header.index(h) for h in ("quick", "full", "full (committed)") if h in header}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(c) for c in lines)])


def main(argv: list[str] | None = None, results: Path = RESULTS) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "benches", nargs="*", help="default: every bench with a quick form (--full: every bench)"
    )
    parser.add_argument(
        "--full", action="store_true", help="the full files alone (after make bench ARGS=--full)"
    )
    parser.add_argument(
        "--since", type=float, help="quick files older than this (epoch seconds) were not run now"
    )
    parser.add_argument("--results", type=Path, default=results, help="default: bench/results")
    args = parser.parse_args(argv)
    benches = args.benches or [b.name for b in BENCHES.values() if args.full or b.quick_file]
    unknown = [b for b in benches if b not in BENCHES]
    if unknown:
        print(f"no figures registered for {', '.join(unknown)} (bench/figures.py)", file=sys.stderr)
    benches = [b for b in benches if b in BENCHES]
    try:
        rows = rows_build(benches, args.results, full_mode=args.full, since=args.since)
    except Unreadable as error:
        print(f"summary: {error}", file=sys.stderr)
        return 2
    print(table(rows, full_mode=args.full))
    if not args.full:
        print(f"(worse than full: beyond a {NOISE_BAND:.0%} noise band; goals and figures: bench/figures.py)")
        report = {"noise_band": NOISE_BAND, "rows": [asdict(row) for row in rows]}
        (args.results / "summary.quick.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
