"""Where a unary call's time goes on the gRPC route: the profile behind fraction_of_ceiling.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/grpc_profile.py [--rounds 2] [--seconds 6]

The product server, serial (`group`) and pipelined (`pipelined`, GROUP_COMMIT_PIPELINE on),
under the same 64 callers as bench/grpc_route.py, in turns with the ceiling. During each load
py-spy samples the server at 100 Hz for `--seconds` - 2 s, twice: once only the thread that
holds the interpreter lock (`--gil`), once every thread that is not idle. That gives, per
thread, the share of the time it holds the lock and the share it runs or waits for it. With
the server's own histograms (votes a transaction, the transaction's time, receipt to commit)
and the client's latency, it says how much of a call is spent in the committer and how much
in gRPC, the event loop and the load generator. Writes bench/results/grpc_profile.json.
Needs py-spy (requirements-bench.txt) and the right to ptrace the server (root, or
kernel.yama.ptrace_scope=0).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.grpc_route import (  # noqa: E402
    RESULTS,
    bench_env,
    grpc_server,
    metrics_sums,
    prepare_database,
    server_timings,
    unary_load,
)
from scripts.machine import machine  # noqa: E402
from scripts.processes import ChildProcess  # noqa: E402

SAMPLE_HZ = 100
SERVERS = ("ceiling", "group", "pipelined")


def thread_shares(pid: int, seconds: float, *, gil: bool) -> dict[str, float]:
    """py-spy's samples of each thread of `pid` over `seconds`, as a share of the ticks: of
    holding the interpreter lock (`gil`), or of running or waiting for it."""
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        argv = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--nonblocking"]
        argv += [
            "-r",
            str(SAMPLE_HZ),
            "-d",
            str(round(seconds)),
            "--format",
            "raw",
            "--threads",
            "-o",
            out.name,
        ]
        subprocess.run([*argv, "--gil"] if gil else argv, check=True, capture_output=True)
        samples: collections.Counter[str] = collections.Counter()
        for line in Path(out.name).read_text().splitlines():
            stack, count = line.rsplit(" ", 1)
            thread = stack.split(";")[0]  # "thread (0x7f..): group-commit-grpc" or the like
            samples[thread.split("): ")[-1].strip() or thread] += int(count)
    ticks = SAMPLE_HZ * round(seconds)
    return {thread: round(count / ticks, 3) for thread, count in samples.most_common()}


def profiled_load(child: ChildProcess, address: str, seconds: float, *, gil: bool) -> dict[str, Any]:
    """One 64-caller load, sampled by py-spy after a second of it."""
    result: dict[str, Any] = {}
    load = threading.Thread(target=lambda: result.update(asyncio.run(unary_load(address, 64, seconds, 1))))
    load.start()
    time.sleep(2)
    shares = thread_shares(child.popen.pid, seconds - 2, gil=gil)
    load.join()
    return {**result, "threads": shares}


def profile(rounds: int, seconds: float) -> dict[str, Any]:
    env = bench_env()
    log_dir = ROOT / "var" / "bench-profile"
    log_dir.mkdir(parents=True, exist_ok=True)
    prepare_database(env)
    servers = {store: grpc_server(store, env, log_dir) for store in SERVERS}
    runs: dict[str, list[dict[str, Any]]] = {store: [] for store in SERVERS}
    try:
        for round_number in range(rounds):
            for store, (child, address) in servers.items():
                before = metrics_sums(child) if store != "ceiling" else {}
                held = profiled_load(child, address, seconds, gil=True)
                running = profiled_load(child, address, seconds, gil=False)
                timings = server_timings(before, metrics_sums(child)) if store != "ceiling" else {}
                runs[store].append({"gil": held, "running": running, "server": timings})
                print(f"round {round_number + 1} {store}:", json.dumps(_line(runs[store][-1])), flush=True)
    finally:
        for child, _ in servers.values():
            child.stop()
    return {store: _summary(store_runs) for store, store_runs in runs.items()}


def _line(run: dict[str, Any]) -> dict[str, Any]:
    held = run["gil"]
    return {
        "votes_per_s": held["votes_per_s"],
        "p50_ms": held["latency_ms"]["p50"],
        "gil_held": round(sum(held["threads"].values()), 2),
        "gil_by_thread": dict(list(held["threads"].items())[:4]),
        "server": run["server"],
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds: rate, client latency, the lock's share by thread, server timings."""

    def median_of(key: str, part: str) -> dict[str, float]:
        names = {name for run in runs for name in run[part]["threads"]}
        return {
            name: round(statistics.median(run[part]["threads"].get(name, 0.0) for run in runs), 3)
            for name in sorted(names, key=lambda n: -runs[0][part]["threads"].get(n, 0.0))
        }

    return {
        "votes_per_s": round(statistics.median(run["gil"]["votes_per_s"] for run in runs)),
        "latency_ms_p50": round(statistics.median(run["gil"]["latency_ms"]["p50"] for run in runs), 1),
        "cores_busy": statistics.median(run["gil"].get("cores_busy", 0.0) for run in runs),
        "gil_held_by_thread": median_of("threads", "gil"),
        "gil_held": round(statistics.median(sum(run["gil"]["threads"].values()) for run in runs), 2),
        "running_or_waiting_by_thread": median_of("threads", "running"),
        "server": {
            key: statistics.median(run["server"][key] for run in runs) for key in (runs[0]["server"] or {})
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    report = {
        "bench": "grpc_profile",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "callers": 64,
        "rounds": args.rounds,
        "sample_hz": SAMPLE_HZ,
        "servers": profile(args.rounds, args.seconds),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "grpc_profile.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["servers"], indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
