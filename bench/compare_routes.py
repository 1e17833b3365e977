"""The two ingest routes compared under the same Locust load: each alone, then split 50/50.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/compare_routes.py [--quick]

Starts the system's parts from their Procfile lines (scripts.part: gRPC server, gateway,
publisher, Celery worker) against a database of its own (COMPARE_BENCH_DATABASE_URL, created,
migrated and emptied here) and a Redis of its own (a throwaway server with AOF, appendfsync
always, as production runs), then runs the very same headless Locust (locustfile.py,
FastHttpUser, `--users` closed-loop users, no think time, good votes only) four times:

- grpc:  every vote to the gateway (`--grpc-weight 100`)
- redis: every vote to the publisher (`--grpc-weight 0`)
- split: half and half (`--grpc-weight 50`), the shape of election night
- http_ceiling: the same Locust against a plain Django view that stores nothing
  (bench/plain_view.py, gunicorn with two sync workers)
- load_generator_ceiling: the same Locust against a server that does nothing at all
  (bench/null_app.py under uvicorn): what Locust itself can send on this machine

For each route scenario: the end-to-end rate (votes stored in MySQL divided by the time from
the first receipt to the last commit, so a queue that drains slower than it fills counts
against its route), the accept rate Locust saw, the client's p50/p95/p99 (Locust's stats),
the server's receipt-to-storage p50/p95 from the parts' /metrics histograms (and exactly,
from the vote rows), and Locust's unexpected failures. `fraction_of_http_ceiling` is the
split's end-to-end rate over the plain view's request rate. Writes
bench/results/compare_routes.json and docs/compare_routes.png (`--quick`: a few seconds per
scenario, written to compare_routes.quick.json and var/bench-compare/compare_routes.quick.png).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from scripts.devservices import RedisServer, free_port  # noqa: E402
from scripts.machine import load_average, machine  # noqa: E402
from scripts.processes import ChildProcess  # noqa: E402

RESULTS = ROOT / "bench" / "results"
RUN_DIR = ROOT / "var" / "bench-compare"
DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/esc_bench_compare"
VOTE_TABLES = (
    "election_vote",
    "election_areatally",
    "election_sedetally",
    "election_sedetotal",
    "election_routetally",
)
ROUTE_SCENARIOS = {"grpc": 100, "redis": 0, "split": 50}  # name: --grpc-weight
LATENCY = "escrutinio_receipt_to_storage_seconds"
GOAL_VOTES_PER_S = 2000
GOAL_P99_MS = 200
# A sync worker answers one request at a time: two use both cores (issue 3's plain view).
PLAIN_VIEW_WORKERS = 2


# --- processes ------------------------------------------------------------------


def started(name: str, argv: list[str], env: dict[str, str], port: int) -> ChildProcess:
    """A process with its output in RUN_DIR and its pid there too (to attach py-spy), serving on `port`."""
    part = ChildProcess(name, argv, env, RUN_DIR / f"{name}.log")
    (RUN_DIR / f"{name}.pid").write_text(f"{part.popen.pid}\n")
    try:
        part.wait_for_port(port)
    except BaseException:
        part.stop()  # never leave a part behind
        raise
    return part


def start_part(name: str, env: dict[str, str], port: int) -> ChildProcess:
    return started(name, [sys.executable, "-m", "scripts.part", name], env, port)


def start_null_app(env: dict[str, str], port: int) -> ChildProcess:
    argv = [sys.executable, "-m", "uvicorn", "bench.null_app:app", "--port", str(port), "--no-access-log"]
    return started("null-app", [*argv, "--log-level", "warning"], env, port)


def start_plain_view(env: dict[str, str], port: int, workers: int) -> ChildProcess:
    argv = [sys.executable, "-m", "gunicorn", "django.core.wsgi:get_wsgi_application()"]
    argv += ["--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--no-control-socket"]
    argv += ["--log-level", "warning"]
    return started("plain-view", argv, {**env, "DJANGO_SETTINGS_MODULE": "bench.plain_view"}, port)


# --- database -------------------------------------------------------------------


def mysql_connect(database_url: str, database: bool = True) -> Any:
    import MySQLdb

    url = urlsplit(database_url)
    options: dict[str, Any] = {"host": url.hostname or "127.0.0.1", "port": url.port or 3306}
    options["user"] = url.username or "root"
    if url.password:
        options["password"] = url.password
    if database:
        options["database"] = url.path.lstrip("/")
    return MySQLdb.connect(**options, autocommit=True)


def database_prepare(env: dict[str, str]) -> None:
    """Create and migrate the bench's database, and load the catalogue."""
    name = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
    with mysql_connect(env["DATABASE_URL"], database=False) as db:
        db.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    for command in (["migrate", "--noinput", "-v0"], ["load_catalogue"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
        )


def votes_empty(database_url: str) -> None:
    with mysql_connect(database_url) as db:
        cursor = db.cursor()
        for table in VOTE_TABLES:
            cursor.execute(f"DELETE FROM `{table}`")


def votes_stored(database_url: str) -> int:
    with mysql_connect(database_url) as db:
        cursor = db.cursor()
        cursor.execute("SELECT COUNT(*) FROM election_vote")
        return int(cursor.fetchone()[0])


def stored_figures(database_url: str) -> dict[str, Any]:
    """End-to-end rate and exact receipt-to-storage percentiles, per route, from the vote rows."""
    with mysql_connect(database_url) as db:
        cursor = db.cursor()
        cursor.execute(
            "SELECT route, TIMESTAMPDIFF(MICROSECOND, received_at, stored_at), received_at, stored_at "
            "FROM election_vote"
        )
        rows = cursor.fetchall()
    figures: dict[str, Any] = {}
    for route in [*sorted({row[0] for row in rows}), "all"]:
        mine = [row for row in rows if route in ("all", row[0])]
        span = (max(row[3] for row in mine) - min(row[2] for row in mine)).total_seconds()
        latencies = sorted(row[1] / 1000 for row in mine)
        transactions = len({(row[0], row[3]) for row in mine})  # each commit stamps one stored_at
        figures[route] = {
            "stored": len(mine),
            "votes_per_transaction": round(len(mine) / transactions, 1),
            "span_s": round(span, 2),
            "votes_per_s": round(len(mine) / span, 1) if span > 0 else None,
            "receipt_to_storage_ms": {
                f"p{q}": round(latencies[min(len(latencies) - 1, int(len(latencies) * q / 100))], 1)
                for q in (50, 95, 99)
            },
        }
    return figures


def wait_drained(database_url: str, broker: Any, timeout: float) -> float:
    """Wait until the queue is empty, nothing is held unacknowledged and the count is still."""
    started = time.monotonic()
    last, still_since = -1, time.monotonic()
    while time.monotonic() - started < timeout:
        stored = votes_stored(database_url)
        busy = broker.llen("votes") or broker.hlen("unacked")
        if stored != last or busy:
            last, still_since = stored, time.monotonic()
        elif time.monotonic() - still_since >= 2:
            return time.monotonic() - started - 2
        time.sleep(0.25)
    raise TimeoutError(f"votes still arriving after {timeout:.0f}s ({last} stored)")


# --- metrics --------------------------------------------------------------------


Buckets = dict[tuple[str, float], float]  # (route, upper bound) -> cumulative count


def latency_buckets(urls: list[str]) -> Buckets:
    buckets: Buckets = {}
    for url in urls:
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
        for family in text_string_to_metric_families(text):
            if family.name != LATENCY:
                continue
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    key = (sample.labels["route"], float(sample.labels["le"]))
                    buckets[key] = buckets.get(key, 0.0) + sample.value
    return buckets


def histogram_quantile(q: float, before: Buckets, after: Buckets, route: str) -> float | None:
    """Prometheus' histogram_quantile over the observations made between two scrapes, in ms."""
    bounds = sorted(le for (r, le) in after if r == route)
    counts = [after[(route, le)] - before.get((route, le), 0.0) for le in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return round(lower_bound * 1000, 1)
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return round((lower_bound + (bound - lower_bound) * share) * 1000, 1)
        lower_bound, lower_count = bound, count
    return None


# --- Locust ---------------------------------------------------------------------


def locust_run(
    args: argparse.Namespace,
    name: str,
    weight: int,
    urls: tuple[str, str],
    env: dict[str, str],
    seconds: int | None = None,
) -> dict[str, Any]:
    """One headless Locust run, summed over its request names from its final JSON stats
    (a retried 503 counts as a request)."""
    gateway, publisher = urls
    prefix = RUN_DIR / name
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--headless",
        "--users", str(args.users), "--spawn-rate", str(args.users),
        "--run-time", f"{seconds or args.seconds}s",
        "--ingest", "local", "--grpc-weight", str(weight), "--bad-share", "0",
        "--gateway-url", gateway, "--publisher-url", publisher,
        "--json-file", str(prefix), "--stop-timeout", "10", "--loglevel", "WARNING",
        "FieldSede",  # votes only: the routes compared on the vote, as before the digitadores
    ]  # fmt: skip
    if args.processes > 1:
        command += ["--processes", str(args.processes)]
    with open(RUN_DIR / f"locust-{name}.log", "wb") as log:
        code = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    entries = json.loads(Path(f"{prefix}.json").read_text())
    times: Counter[float] = Counter()
    for entry in entries:
        times.update({float(ms): count for ms, count in entry["response_times"].items()})
    requests = sum(entry["num_requests"] for entry in entries)
    span = max(e["last_request_timestamp"] or 0 for e in entries) - min(e["start_time"] for e in entries)
    return {
        "locust_exit_code": code.returncode,
        "requests": requests,
        "failures": sum(entry["num_failures"] for entry in entries),
        "accepted_per_s": round(requests / span, 1) if span > 0 else 0.0,
        "client_ms": {f"p{q}": percentile(times, q) for q in (50, 95, 99)},
    }


def percentile(times: Counter[float], q: int) -> float:
    """The q-th percentile of Locust's response times (ms, counted by rounded value)."""
    rank, seen = sum(times.values()) * q / 100, 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= rank:
            return ms
    return 0.0


# --- the run --------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    redis_server = RedisServer(RUN_DIR / "redis").start()
    ports = {name: free_port() for name in ("grpc", "gateway", "publisher", "grpc_metrics", "worker_metrics")}
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("COMPARE_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": "",
        "ESCRUTINIO_DEV": "1",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "plain",
        "BIND_HOST": "127.0.0.1",
        "INGEST_TOKEN": os.environ.get("INGEST_TOKEN") or secrets.token_urlsafe(24),
        "GRPC_ADDRESS": f"127.0.0.1:{ports['grpc']}",
        "GATEWAY_PORT": str(ports["gateway"]),
        "PUBLISHER_PORT": str(ports["publisher"]),
        "GRPC_METRICS_PORT": str(ports["grpc_metrics"]),
        "CELERY_METRICS_PORT": str(ports["worker_metrics"]),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    workers = {
        "gateway": int(env.setdefault("GATEWAY_WORKERS", "1")),
        "publisher": int(env.setdefault("PUBLISHER_WORKERS", "1")),
        "worker_processes": int(env.setdefault("CELERY_WORKER_PROCESSES", "2")),  # the Procfile's defaults
        "worker_threads": int(env.setdefault("CELERY_WORKER_CONCURRENCY", "32")),
    }
    database_url = env["DATABASE_URL"]
    import redis

    broker = redis.Redis.from_url(redis_server.url)
    parts: list[ChildProcess] = []
    results: dict[str, Any] = {}
    try:
        database_prepare(env)
        parts.append(start_part("grpc", env, ports["grpc"]))
        parts.append(start_part("gateway", env, ports["gateway"]))
        parts.append(start_part("publisher", env, ports["publisher"]))
        parts.append(start_part("worker", env, ports["worker_metrics"]))
        urls = (f"http://127.0.0.1:{ports['gateway']}", f"http://127.0.0.1:{ports['publisher']}")
        metric_urls = [f"http://127.0.0.1:{ports[p]}/metrics" for p in ("grpc_metrics", "worker_metrics")]
        locust_run(args, "warmup", 50, urls, env, seconds=3)  # connections, catalogue caches
        wait_drained(database_url, broker, 120)
        for name, weight in ROUTE_SCENARIOS.items():
            votes_empty(database_url)
            before = latency_buckets(metric_urls)
            load = locust_run(args, name, weight, urls, env)
            drain_s = wait_drained(database_url, broker, 600)
            after = latency_buckets(metric_urls)
            stored = stored_figures(database_url)
            results[name] = scenario_figures(load, stored, before, after, drain_s)
            print(name, json.dumps(results[name]), flush=True)
        for part in reversed(parts):
            part.stop()  # the ceiling runs alone, as the routes did
        parts.clear()
        ceilings = {
            "http_ceiling": lambda port: start_plain_view(env, port, PLAIN_VIEW_WORKERS),
            "load_generator_ceiling": lambda port: start_null_app(env, port),
        }
        for name, start in ceilings.items():
            results[name] = ceiling_run(args, name, start, env)
            print(name, json.dumps(results[name]), flush=True)
        results["http_ceiling"]["gunicorn_sync_workers"] = PLAIN_VIEW_WORKERS
    finally:
        for part in reversed(parts):
            part.stop()
        redis_server.stop()
    results["processes"] = workers
    return results


def ceiling_run(
    args: argparse.Namespace, name: str, start: Callable[[int], ChildProcess], env: dict[str, str]
) -> dict[str, Any]:
    """The same Locust against a server that stores nothing, alone on the machine."""
    port = free_port()
    server = start(port)
    try:
        url = f"http://127.0.0.1:{port}"
        load = locust_run(args, name, 100, (url, url), env)
    finally:
        server.stop()
    return {"requests_per_s": load["accepted_per_s"], **{k: load[k] for k in ("client_ms", "failures")}}


def scenario_figures(
    load: dict[str, Any], stored: dict[str, Any], before: Buckets, after: Buckets, drain_s: float
) -> dict[str, Any]:
    routes = [route for route in ("grpc", "redis") if route in stored]
    return {
        "votes_per_s": stored["all"]["votes_per_s"],
        "stored": stored["all"]["stored"],
        "accepted_per_s": load["accepted_per_s"],
        "drain_after_load_s": round(drain_s, 1),
        "p50_ms": load["client_ms"]["p50"],
        "p95_ms": load["client_ms"]["p95"],
        "p99_ms": load["client_ms"]["p99"],
        "requests": load["requests"],
        "failures": load["failures"],
        "locust_exit_code": load["locust_exit_code"],
        "receipt_to_storage_ms": {
            route: {
                "p50": histogram_quantile(0.5, before, after, route),
                "p95": histogram_quantile(0.95, before, after, route),
                "exact_from_vote_rows": stored[route]["receipt_to_storage_ms"],
            }
            for route in routes
        },
        "per_route": {
            route: {k: stored[route][k] for k in ("stored", "votes_per_s", "votes_per_transaction")}
            for route in routes
        },
    }


# --- report ---------------------------------------------------------------------


def summary(results: dict[str, Any]) -> dict[str, Any]:
    split, failures = results["split"], sum(results[name]["failures"] for name in ROUTE_SCENARIOS)

    def fraction_of(ceiling: str) -> float | None:
        rate = results[ceiling]["requests_per_s"]
        return round(split["votes_per_s"] / rate, 2) if rate else None

    return {
        "fraction_of_http_ceiling": fraction_of("http_ceiling"),
        "fraction_of_load_generator_ceiling": fraction_of("load_generator_ceiling"),
        "goal": {
            "split_votes_per_s_at_least": GOAL_VOTES_PER_S,
            "split_p99_ms_below": GOAL_P99_MS,
            "unexpected_failures": 0,
            "met": split["votes_per_s"] >= GOAL_VOTES_PER_S
            and split["p99_ms"] < GOAL_P99_MS
            and failures == 0,
        },
    }


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(ROUTE_SCENARIOS)
    fig, (rate_ax, latency_ax) = plt.subplots(1, 2, figsize=(12, 4.8))
    ceilings = [report[name]["requests_per_s"] for name in ("http_ceiling", "load_generator_ceiling")]
    rates = [report[name]["votes_per_s"] for name in names] + ceilings
    accepted = [report[name]["accepted_per_s"] for name in names] + [None, None]
    labels = [*names, "plain view\n(stores nothing)", "no server work\n(Locust alone)"]
    x = range(len(labels))
    rate_ax.bar([i - 0.2 for i in x], rates, width=0.4, label="end to end (stored in MySQL), votes/s")
    rate_ax.bar(
        [i + 0.2 for i in x][:-2], accepted[:-2], width=0.4, label="answered to Locust, requests/s", alpha=0.6
    )
    rate_ax.axhline(GOAL_VOTES_PER_S, color="red", linestyle="--", linewidth=1, label="goal for split")
    rate_ax.set_xticks(list(x), labels)
    rate_ax.set_ylabel("per second")
    rate_ax.set_title("Throughput, same Locust load")
    rate_ax.legend(fontsize=8)
    for i, rate in enumerate(rates):
        rate_ax.annotate(f"{rate:,.0f}", (i - 0.2, rate), ha="center", va="bottom", fontsize=8)

    series = {
        "client p50": [report[n]["p50_ms"] for n in names],
        "client p95": [report[n]["p95_ms"] for n in names],
        "client p99": [report[n]["p99_ms"] for n in names],
        "receipt-to-storage p95 (server)": [
            max(v["p95"] or 0 for v in report[n]["receipt_to_storage_ms"].values()) for n in names
        ],
    }
    width = 0.8 / len(series)
    for k, (label, values) in enumerate(series.items()):
        latency_ax.bar([i + (k - 1.5) * width for i in range(len(names))], values, width=width, label=label)
    latency_ax.axhline(GOAL_P99_MS, color="red", linestyle="--", linewidth=1, label="p99 goal")
    latency_ax.set_xticks(range(len(names)), names)
    latency_ax.set_yscale("log")  # client ms and a queue's seconds on one axis
    latency_ax.set_ylabel("ms (log scale)")
    latency_ax.set_title("Latency")
    latency_ax.legend(fontsize=8)
    m, load = report["machine"], report["locust"]
    fig.suptitle(
        f"Ingest routes, {load['users']} Locust users, {load['seconds']} s each; {m['nproc']} CPUs "
        f"({m['cpu_model']}), {m['ram_gib']} GiB, load average at start {m['load_average_before']}",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds per scenario")
    parser.add_argument("--users", type=int, default=64, help="Locust users (closed loop, no think time)")
    parser.add_argument("--seconds", type=int, help="Locust run time per scenario (default 30, --quick 5)")
    parser.add_argument("--processes", type=int, default=1, help="Locust processes (--processes)")
    args = parser.parse_args()
    args.seconds = args.seconds or (5 if args.quick else 30)
    load_before = load_average()
    started = datetime.now(UTC)
    results = run(args)
    report = {
        "bench": "compare_routes",
        "quick": args.quick,
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average_before": load_before, "load_average_after": load_average()},
        "locust": {"users": args.users, "seconds": args.seconds, "processes": args.processes, "bad_share": 0},
        **results,
        **summary(results),
    }
    stem = "compare_routes.quick" if args.quick else "compare_routes"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    chart(report, (RUN_DIR / f"{stem}.png") if args.quick else ROOT / "docs" / "compare_routes.png")
    keys = ("fraction_of_http_ceiling", "fraction_of_load_generator_ceiling", "goal")
    print(json.dumps({k: report[k] for k in keys}, indent=2))
    print(f"split: {report['split']['votes_per_s']} votes/s end to end, p99 {report['split']['p99_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
