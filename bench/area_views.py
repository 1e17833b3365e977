"""What the snapshot writer's reads cost: every area view (election.results.areas.area_views)
of each source and papeleta, and every acta of every sede (election.results.mesa_actas.
sedes_actas), at 1,000,000 votes and the demo catalogue's actas (24,427 mesas x 5 papeletas).

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/area_views.py            # full
    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/area_views.py --quick    # 50,000 votes

The database is loaded as bench/results_api.py loads it (its `load`, and bench/actas_seed.py),
into AREA_BENCH_DATABASE_URL; one already at the size is reused. Each read runs inside
areas.consistent_read(), as a snapshot would, and is timed with its query count and the
bytes of its answers as compact JSON. Prints the figures; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results_api import database_create, django_setup, load  # noqa: E402


def timed(read: Any) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from election.results.consistent import consistent_read

    started, cpu = time.perf_counter(), time.process_time()
    with consistent_read(), CaptureQueriesContext(connection) as queries:
        items, size = 0, 0
        for item in read():
            items += 1
            size += len(json.dumps(item[-1], separators=(",", ":"), default=str))
    return {
        "seconds": round(time.perf_counter() - started, 2),
        # this process's CPU (shaping, decoding rows, and the JSON above): the part that does not
        # wait on MariaDB or on other processes for the machine's cores
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "items": items,
        "queries": len(queries),
        "json_mb": round(size / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50,000 votes and 2,000 mesas' actas")
    args = parser.parse_args()
    votes = 50_000 if args.quick else 1_000_000
    database_url = os.environ.get(
        "AREA_BENCH_DATABASE_URL",
        f"mysql://root@127.0.0.1:3306/esc_bench_area{'_quick' if args.quick else ''}",
    )
    database_create(database_url)
    django_setup(database_url, os.environ.get("AREA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"loading {votes:,} votes into {database_url}")
    load(votes)
    from bench.actas_seed import actas_load, mesas_ensure

    mesas = mesas_ensure()
    print(f"loading the counted actas of {2_000 if args.quick else mesas:,} mesas (5 papeletas each)")
    actas_load(2_000 if args.quick else mesas)

    from election.catalogue.index import catalogue_index
    from election.results.areas import area_views
    from election.results.mesa_actas import sedes_actas

    papeletas = sorted(set(catalogue_index().papeletas.values()))
    figures: dict[str, Any] = {}
    for source in ("actas", "votes"):
        for papeleta in papeletas:
            name = f"area_views {source} {papeleta}"
            figures[name] = timed(lambda s=source, p=papeleta: area_views(s, p))
            print(f"{name:<44} {figures[name]}", flush=True)
    figures["sedes_actas"] = timed(sedes_actas)
    print(f"{'sedes_actas':<44} {figures['sedes_actas']}")
    total = sum(f["seconds"] for f in figures.values())
    print(f"all the reads of one snapshot: {total:.1f} s")
    per_request()


def per_request(repeat: int = 20) -> None:
    """One area_view per level, as the API computes it (no microcache): the median of `repeat`."""
    import statistics

    from election.results.areas import area_view

    areas = {
        "pais": (),
        "departamento 01": ("01",),
        "municipio 0101": ("01", "0101"),
        "sede 0101/1": ("01", "0101", "1"),
    }
    for source in ("actas", "votes"):
        for name, area in areas.items():
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                area_view(source, "presidente", *area)
                times.append(time.perf_counter() - started)
            print(f"area_view {source} {name:<16} median {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
