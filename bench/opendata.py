"""What the open-data files of one snapshot cost at the demo scale: 24,427 mesas x 5 papeletas
= 122,135 counted actas (bench/actas_seed.py), written by election.results.opendata.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/opendata.py           # the demo scale
    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/opendata.py --quick   # 2,000 mesas
    .venv/bin/python bench/opendata.py --profile   # and where the time goes (pyinstrument)

Loads the actas into its own MariaDB database (OPENDATA_BENCH_DATABASE_URL, default
esc_bench_opendata, `_quick` for --quick; created and migrated here, the actas reused when it
already holds exactly them), then writes results.csv and
nist-1500-100.json into var/opendata-bench/ in turn, each in a fresh child process so that its
peak memory (resource.getrusage's ru_maxrss) is its own, and prints wall and CPU seconds, bytes
and peak RSS. The CPU seconds are the writer's own (MariaDB's are not in them); the wall
seconds move with whatever else the machine runs, so the load average is printed beside them.
Writes bench/results/opendata.json (--quick or --mesas: opendata_quick.json), with each file's
SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results_api import database_create, django_setup  # noqa: E402
from scripts.machine import machine  # noqa: E402

OUT = ROOT / "var" / "opendata-bench"
FILES = {"results.csv": "write_results_csv", "nist-1500-100.json": "write_nist_report"}


class _Hashing:
    """A binary sink that hashes and counts what it is given, as the snapshot writer does."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("wb")
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.file.write(data)


def _write_one(name: str, database_url: str, redis_url: str, profile: bool, answer: Any) -> None:
    django_setup(database_url, redis_url)
    from election.results import opendata

    writer = getattr(opendata, FILES[name])
    kwargs = {"generated": datetime.now(UTC)} if name.endswith(".json") else {}
    sink = _Hashing(OUT / name)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    start = time.perf_counter()
    writer(sink, **kwargs)
    seconds = time.perf_counter() - start
    sink.file.close()
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    answer.put(
        {
            "seconds": round(seconds, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu_before, 2),
            "bytes": sink.bytes,
            "sha256": sink.sha256.hexdigest(),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "load_average_1m": os.getloadavg()[0],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the actas of 2,000 mesas")
    parser.add_argument("--mesas", type=int, help="mesas whose 5 actas are counted (default: all 24,427)")
    parser.add_argument("--profile", action="store_true", help="print where the time goes (pyinstrument)")
    args = parser.parse_args()
    if args.quick:
        args.mesas = args.mesas or 2_000
    suffix = "" if args.mesas is None else "_quick"
    database_url = os.environ.get(
        "OPENDATA_BENCH_DATABASE_URL", f"mysql://root@127.0.0.1:3306/esc_bench_opendata{suffix}"
    )
    redis_url = os.environ.get("OPENDATA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    database_create(database_url)
    django_setup(database_url, redis_url)
    from django.core.management import call_command
    from django.db import connection

    from bench.actas_seed import actas_load, mesas_ensure

    call_command("migrate", verbosity=0)
    mesas_ensure()
    loaded = actas_load(args.mesas)
    connection.close()
    OUT.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    figures: dict[str, Any] = {}
    for name in FILES:
        answer = context.Queue()
        child = context.Process(target=_write_one, args=(name, database_url, redis_url, args.profile, answer))
        child.start()
        figures[name] = answer.get()
        child.join()
        print(
            f"{name:<20}{figures[name]['seconds']:>7} s wall{figures[name]['cpu_seconds']:>7} s CPU"
            f"{figures[name]['bytes'] / 1e6:>8.1f} MB{figures[name]['peak_rss_mb']:>8} MB peak RSS"
            f"  (load {figures[name]['load_average_1m']:.1f})"
        )
    report = {
        "benchmark": "opendata",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "counted_actas": loaded["actas"],
        "files": figures,
    }
    (ROOT / "bench" / "results" / f"opendata{suffix}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
