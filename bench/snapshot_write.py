"""What one results snapshot costs to write, at 1,000,000 votes and the demo catalogue's 122,135
counted actas (24,427 mesas x 5 papeletas).

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/snapshot_write.py           # full
    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/snapshot_write.py --quick   # seconds

1. The database of bench/results_api.py (RESULTS_BENCH_DATABASE_URL, the same loader: votes in
   bulk with their tallies, then every papeleta's acta of each mesa counted,
   bench/actas_seed.py), so both benchmarks measure the same data; reused when it holds them.
2. Each run is a fresh process that writes one snapshot, as `python manage.py snapshots --once`
   does (election.results.snapshots.writer.snapshot_take with the command's sources), to its own
   empty SNAPSHOT_DIR. Inside it: the snapshot's wall time, CPU time (this process: building,
   serialising, hashing, writing; MariaDB's own CPU is the server's) and resident memory before
   and at its peak (VmRSS, VmHWM). Each source is wrapped so that the time from one file to the
   next (building it, then storing it) is charged to that file's part: the area views, the sede
   files, the open data, the panels and the timeline; what comes before the first file (the
   counts, the chain) and after the last (manifest, latest.json, the Snapshot row) apart.
3. Files and bytes per part from the snapshot's own manifest.
4. Prints a table and writes bench/results/snapshot_write.json (--quick: snapshot_write_quick.json).
   The first run reads the tables cold (MariaDB's buffer pool), the next ones warm: each is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.machine import machine  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PARTS = ("area", "sede", "open", "panels", "timeline")  # by the first folder of a file's path


def part_of(path: str) -> str:
    folder = path.split("/", 1)[0]
    return folder if folder in PARTS else "other"


def memory_kib(field: str) -> int:
    """VmRSS (now) or VmHWM (the peak so far) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


# --- The child: one snapshot, timed by part --------------------------------------------


class PartClock:
    """Wall and CPU seconds charged to each part, and when the first and last file came."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.first: tuple[float, float] | None = None
        self.last: tuple[float, float] | None = None

    @staticmethod
    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def timed(self, source: Callable[[Any], Iterable[Any]]) -> Callable[[Any], Iterator[Any]]:
        def files(context: Any) -> Iterator[Any]:
            mark = self.now()
            self.first = self.first or mark
            for file in source(context):
                yield file  # the writer stores it, then asks for the next
                now = self.now()
                self.wall[part_of(file.path)] += now[0] - mark[0]
                self.cpu[part_of(file.path)] += now[1] - mark[1]
                mark = now
            self.last = self.now()
            self.wall["other"] += self.last[0] - mark[0]  # a source's work after its last file
            self.cpu["other"] += self.last[1] - mark[1]

        return files


def child(out: Path) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    django.setup()
    from election.management.commands.snapshots import SNAPSHOT_SOURCES
    from election.results.snapshots.writer import snapshot_take

    clock = PartClock()
    sources = [clock.timed(source) for source in SNAPSHOT_SOURCES]
    rss_before, peak_before = memory_kib("VmRSS"), memory_kib("VmHWM")
    start = clock.now()
    snapshot = snapshot_take(sources=sources)
    end = clock.now()
    if snapshot is None:
        raise SystemExit("another writer holds the chain's lease: wait for it to expire and run again")
    first, last = clock.first or end, clock.last or end
    wall = {part: round(seconds, 3) for part, seconds in clock.wall.items()}
    cpu = {part: round(seconds, 3) for part, seconds in clock.cpu.items()}
    wall["counts_and_chain"], cpu["counts_and_chain"] = (
        round(first[0] - start[0], 3),
        round(first[1] - start[1], 3),
    )
    wall["manifest"], cpu["manifest"] = round(end[0] - last[0], 3), round(end[1] - last[1], 3)
    out.write_text(
        json.dumps(
            {
                "id": snapshot.id,
                "seconds": round(end[0] - start[0], 3),
                "cpu_seconds": round(end[1] - start[1], 3),
                "rss_before_mib": round(rss_before / 1024, 1),
                "peak_rss_before_mib": round(peak_before / 1024, 1),
                "peak_rss_mib": round(memory_kib("VmHWM") / 1024, 1),
                "wall_by_part": wall,
                "cpu_by_part": cpu,
            }
        )
    )


# --- The parent: the data, then one process per snapshot --------------------------------


def snapshot_env(directory: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of a process that writes snapshots of that database into `directory`."""
    return dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ESCRUTINIO_DEV="1",
        LOG_LEVEL="WARNING",
        SNAPSHOT_STORAGE="file",
        SNAPSHOT_DIR=str(directory),
    )


def snapshot_process(directory: Path, database_url: str, redis_url: str) -> dict[str, Any]:
    """One snapshot written into `directory` by a fresh process (as `manage.py snapshots --once`),
    with what it measured of itself and its resource usage as the kernel counted it."""
    report = directory.parent / f"{directory.name}-child.json"
    env = snapshot_env(directory, database_url, redis_url)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    process = subprocess.Popen([sys.executable, __file__, "--child", str(report)], env=env, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the snapshot process failed ({os.waitstatus_to_exitcode(status)})")
    measured: dict[str, Any] = json.loads(report.read_text())
    report.unlink()
    return {
        **measured,
        # The machine's 1-minute load average before and after: the wall time is only the
        # snapshot's own when nothing else runs (CPU time is, either way).
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "process_seconds": round(time.perf_counter() - started, 2),  # Django's start-up included
        "process_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "process_peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def run_once(database_url: str, redis_url: str) -> dict[str, Any]:
    """One snapshot into an empty directory, measured; its files and bytes by part."""
    with tempfile.TemporaryDirectory(prefix="snapshot-bench-") as scratch:
        directory = Path(scratch) / "snapshots"
        measured = snapshot_process(directory, database_url, redis_url)
        manifest_path = directory / measured["id"] / "manifest.json"
        manifest = json.loads(manifest_path.read_bytes())
        files: dict[str, int] = defaultdict(int)
        sizes: dict[str, int] = defaultdict(int)
        for entry in manifest["files"]:
            files[part_of(entry["path"])] += 1
            sizes[part_of(entry["path"])] += entry["bytes"]
        manifest_bytes = manifest_path.stat().st_size
        on_disk = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
    return {
        **measured,
        "files": sum(files.values()) + 1,  # and the manifest
        "bytes": sum(sizes.values()) + manifest_bytes,
        "bytes_on_disk_with_latest": on_disk,
        "files_by_part": dict(files) | {"manifest": 1},
        "bytes_by_part": dict(sizes) | {"manifest": manifest_bytes},
    }


def bench_data(*, quick: bool, votes: int | None, actas_mesas: int | None) -> dict[str, Any]:
    """bench/results_api.py's database, loaded (or reused): its URLs and what was loaded."""
    votes = votes or (50_000 if quick else 1_000_000)
    suffix = "_quick" if quick else ""
    database_url = os.environ.get(
        "RESULTS_BENCH_DATABASE_URL", f"mysql://root@127.0.0.1:3306/esc_bench_api{suffix}"
    )
    redis_url = os.environ.get("RESULTS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

    from bench.results_api import database_create, django_setup, load

    database_create(database_url)
    django_setup(database_url, redis_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"loading {votes:,} votes into {database_url}")
    loaded = load(votes)
    from bench.actas_seed import actas_load, mesas_ensure

    mesas = mesas_ensure()
    actas_mesas = actas_mesas or (2_000 if quick else mesas)
    print(f"loading the counted actas of {actas_mesas:,} mesas (5 papeletas each)")
    loaded["actas"] = actas_load(actas_mesas)
    from django.db import connection

    connection.close()  # the children open their own
    return {"database_url": database_url, "redis_url": redis_url, "votes": votes, "load": loaded}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50,000 votes and 2,000 mesas' actas, one run")
    parser.add_argument("--votes", type=int, help="votes in the database (default 1,000,000)")
    parser.add_argument("--actas-mesas", type=int, help="mesas whose 5 actas are counted (all 24,427)")
    parser.add_argument("--runs", type=int, help="snapshots written, each by a fresh process (default 2)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    runs_wanted = args.runs or (1 if args.quick else 2)
    data = bench_data(quick=args.quick, votes=args.votes, actas_mesas=args.actas_mesas)
    runs = []
    for n in range(runs_wanted):
        print(f"snapshot {n + 1} of {runs_wanted} ...", flush=True)
        runs.append(run_once(data["database_url"], data["redis_url"]))
    report = {
        "benchmark": "snapshot_write",
        "quick": args.quick,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "votes": data["votes"],
        "counted_actas": data["load"]["actas"]["actas"],
        "load": data["load"],
        "storage": "SNAPSHOT_STORAGE=file: a local directory, each file fsynced and renamed into place",
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"snapshot_write{'_quick' if args.quick else ''}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(runs)
    print(f"written to {out}")


def print_table(runs: list[dict[str, Any]]) -> None:
    for n, run in enumerate(runs, 1):
        print(
            f"\nsnapshot {n} ({run['id']}): {run['seconds']} s wall, {run['cpu_seconds']} s CPU, "
            f"peak RSS {run['peak_rss_mib']} MiB (from {run['rss_before_mib']}), "
            f"{run['files']:,} files, {run['bytes'] / 1e6:,.1f} MB; load average {run['load_average']}"
        )
        print(f"  {'part':<18}{'wall s':>9}{'CPU s':>9}{'files':>9}{'MB':>10}")
        for part in ("counts_and_chain", *PARTS, "other", "manifest"):
            print(
                f"  {part:<18}{run['wall_by_part'].get(part, 0):>9}{run['cpu_by_part'].get(part, 0):>9}"
                f"{run['files_by_part'].get(part, 0):>9,}{run['bytes_by_part'].get(part, 0) / 1e6:>10,.2f}"
            )


if __name__ == "__main__":
    main()
