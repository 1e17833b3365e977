"""Where the CPU goes in the route comparison: cores used by each part in each scenario.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/cpu_share.py [-- --quick --seconds 20]

Runs bench/compare_routes.py (with the arguments after `--`; default `--quick --seconds 20`:
20 s a scenario is plenty for CPU shares, and the full comparison's files stay as they are)
while it reads every process's CPU time from /proc once a second. Then, for each scenario's
Locust window (from the run's Locust stats in var/bench-compare/), it sums the CPU by part
(Locust, gateway, gRPC server, publisher, worker, MariaDB, Redis, ...) and prints the cores
each used and the CPU milliseconds per vote. Writes bench/results/cpu_share.json. Linux only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "var" / "bench-compare"
SCENARIOS = ("grpc", "redis", "split", "http_ceiling", "load_generator_ceiling")
TICKS = os.sysconf("SC_CLK_TCK")
PARTS = {  # a process belongs to the first part whose marker is in its command line
    "locust": ("locust",),
    "gateway": ("ingest_grpc.gateway", "part gateway"),
    "grpc server": ("ingest_grpc.server", "part grpc"),
    "publisher": ("ingest_pubsub.asgi", "part publisher"),
    "worker": ("celery", "part worker", "ingest_pubsub.workers"),
    "plain view": ("get_wsgi_application",),
    "null app": ("bench.null_app",),
    "mariadb": ("mariadbd", "mysqld"),
    "redis": ("redis-server",),
}
Snapshot = tuple[float, dict[str, tuple[int, str]]]


def snapshot() -> Snapshot:
    processes: dict[str, tuple[int, str]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        processes[pid] = (int(fields[11]) + int(fields[12]), command)  # utime + stime
    return time.time(), processes


def part_of(command: str) -> str:
    return next((part for part, marks in PARTS.items() if any(m in command for m in marks)), "other")


def cores_by_part(start: Snapshot, end: Snapshot) -> dict[str, float]:
    seconds = end[0] - start[0]
    cores: dict[str, float] = {}
    for pid, (ticks, command) in end[1].items():
        before = start[1].get(pid, (0, ""))[0]
        share = (ticks - before) / TICKS / seconds
        if share > 0.005:
            cores[part_of(command)] = cores.get(part_of(command), 0.0) + share
    return {part: round(share, 2) for part, share in sorted(cores.items(), key=lambda kv: -kv[1])}


def locust_window(name: str) -> tuple[float, float]:
    entries = json.loads((RUN_DIR / f"{name}.json").read_text())
    return min(e["start_time"] for e in entries), max(e["last_request_timestamp"] for e in entries)


def nearest(snapshots: list[Snapshot], at: float) -> Snapshot:
    return min(snapshots, key=lambda snap: abs(snap[0] - at))


def main() -> None:
    compare_args = (
        sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else ["--quick", "--seconds", "20"]
    )
    snapshots: list[Snapshot] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            snapshots.append(snapshot())
            done.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    command = [sys.executable, str(ROOT / "bench" / "compare_routes.py"), *compare_args]
    result = subprocess.run(command, cwd=ROOT, check=False)
    done.set()
    sampler.join()
    if result.returncode != 0:
        sys.exit(f"compare_routes.py failed ({result.returncode})")
    suffix = ".quick" if "--quick" in compare_args else ""
    compared = json.loads((ROOT / "bench" / "results" / f"compare_routes{suffix}.json").read_text())
    report: dict[str, Any] = {"compare_routes_args": compare_args, "scenarios": {}}
    for name in SCENARIOS:
        started, ended = locust_window(name)
        # Skip the first and last second: users starting and stopping.
        cores = cores_by_part(nearest(snapshots, started + 2), nearest(snapshots, ended - 1))
        figures = compared[name]
        rate = figures.get("votes_per_s") or figures.get("requests_per_s")
        total = round(sum(cores.values()), 2)
        report["scenarios"][name] = {
            "per_s": rate,
            "cores_total": total,
            "cores": cores,
            "cpu_ms_per_vote": round(total / rate * 1000, 2) if rate else None,
            "cpu_ms_per_vote_without_locust": round((total - cores.get("locust", 0)) / rate * 1000, 2)
            if rate
            else None,
        }
        row = report["scenarios"][name]
        print(f"{name:<24}{rate:>8} /s  {total:.2f} cores  {row['cpu_ms_per_vote']} ms CPU each  {cores}")
    out = ROOT / "bench" / "results" / "cpu_share.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
