"""Throughput of the Redis route: publisher -> queue "votes" -> Celery consumers -> MySQL.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/redis_route.py [--quick]

1. Accept and end to end: N votes POSTed to the publisher (gunicorn, 2 workers) by
   `--concurrency` keep-alive connections while a worker (the Procfile's `worker:` line:
   threads pool, group commit) consumes; the accept rate (all answered 202) and the
   end-to-end rate (all in MySQL).
2. Drain: with no worker running, the queue is filled with `--drain-votes` votes, as the
   batching design queues them (record_batch messages of the size the publisher formed in
   step 1): twice with the serial group commit and twice pipelined (GROUP_COMMIT_PIPELINE), in
   turns (once each with --quick); and once one vote per message (record_one). Each time a
   worker is then started and the rate at which it commits them is measured from the votes'
   stored_at. The same worker command every time; record_batch goes through the group
   committer (the votes of many messages per transaction), record_one stores each vote in a
   transaction of its own.

Uses its own Redis (AOF, appendfsync always, like production) and the database at
BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/escrutinio_bench_redis), whose
vote tables it empties. Writes bench/results/redis_route.json (--quick: redis_route.quick.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.devservices import RedisServer, free_port, wait_until  # noqa: E402
from scripts.machine import machine  # noqa: E402
from scripts.processes import ChildProcess  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/escrutinio_bench_redis"
WORKER_PROCESSES = int(os.environ.get("CELERY_WORKER_PROCESSES") or 2)  # as the Procfile's default


# --- processes ------------------------------------------------------------------


def start_worker(
    log_dir: Path, name: str, include: str | None = None, pipelined: bool = False
) -> ChildProcess:
    """The Procfile's `worker:` line, as `make run`, compose and Kubernetes start it; with
    `include`, that line loading one more task module (the one-vote baseline)."""
    argv = [sys.executable, "-m", "scripts.part", "worker"]
    if include:
        argv = ["sh", "-c", f"{worker_command()} --include {include}"]
    from election.celery import app

    env = {
        **os.environ,
        "CELERY_METRICS_PORT": str(free_port()),
        "GROUP_COMMIT_PIPELINE": str(int(pipelined)),
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    worker = ChildProcess(name, argv, env, log_dir / f"{name}.log")
    try:
        # Consuming once every process answers a ping (its logs are at WARNING: no "ready" line).
        worker.wait_until(lambda: len(app.control.ping(timeout=0.5)) >= WORKER_PROCESSES, 60, name)
    except BaseException:
        worker.stop()  # never leave a worker behind
        raise
    return worker


def worker_command() -> str:
    from scripts.part import procfile_commands

    return procfile_commands()["worker"]


def start_publisher(log_dir: Path, port: int) -> ChildProcess:
    argv = [sys.executable, "-m", "gunicorn", "ingest_pubsub.asgi:app"]
    argv += ["-k", "uvicorn_worker.UvicornWorker", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    argv += ["--no-control-socket", "--log-level", "warning"]
    publisher = ChildProcess("publisher", argv, dict(os.environ), log_dir / "publisher.log")
    try:
        publisher.wait_for_port(port, timeout=30)
    except BaseException:
        publisher.stop()
        raise
    return publisher


# --- HTTP load: raw asyncio keep-alive connections, light on the shared CPUs -----


async def post_all(port: int, bodies: list[bytes], concurrency: int) -> tuple[Counter[int], list[float]]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    queue = iter(bodies)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for body in queue:
            head = (
                f"POST /votes HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {os.environ['INGEST_TOKEN']}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[int(status_line.split()[1])] += 1
        writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return statuses, latencies


# --- database -----------------------------------------------------------------


def prepare_database(url: str) -> None:
    import MySQLdb

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
    )
    conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    conn.close()
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    subprocess.run([*manage, "load_catalogue"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def empty_vote_tables() -> None:
    from django.db import connection

    from election import models

    with connection.cursor() as cursor:
        for model in (models.Vote, models.AreaTally, models.SedeTally, models.SedeTotal, models.RouteTally):
            cursor.execute(f"TRUNCATE TABLE {connection.ops.quote_name(model._meta.db_table)}")


def stored_votes() -> int:
    from django.db.models import Sum

    from election.models import RouteTally

    return int(RouteTally.objects.filter(route="redis").aggregate(total=Sum("votes"))["total"] or 0)


def messages_done() -> int:
    """record_batch messages the running worker has handled (Celery's own count)."""
    from election.celery import app
    from ingest_pubsub.dead_letters import RECORD_BATCH

    stats = app.control.inspect(timeout=2).stats() or {}
    return sum(worker["total"].get(RECORD_BATCH, 0) for worker in stats.values())


def wait_stored(n: int, timeout: float) -> None:
    wait_until(lambda: stored_votes() >= n, timeout, f"{n} votes stored")


def commit_profile() -> dict[str, Any]:
    """From the stored votes: transactions (one stored_at each) and the commit-to-commit drain rate."""
    from django.db.models import Count, Max, Min

    from election.models import Vote

    span = Vote.objects.aggregate(first=Min("stored_at"), last=Max("stored_at"), votes=Count("id"))
    commits = Vote.objects.values("stored_at").distinct().count()
    first_batch = Vote.objects.filter(stored_at=span["first"]).count()
    seconds = (span["last"] - span["first"]).total_seconds()
    return {
        "votes": span["votes"],
        "transactions": commits,
        "votes_per_transaction": round(span["votes"] / commits, 1),
        "seconds": round(seconds, 3),
        # The first commit starts the clock, so its votes are not counted in the rate.
        "votes_per_second": round((span["votes"] - first_batch) / seconds) if seconds else None,
    }


# --- phases -------------------------------------------------------------------


def accept_phase(log_dir: Path, votes: int, concurrency: int) -> dict[str, Any]:
    from bench.simulation import VoteGenerator

    port = free_port()
    worker = start_worker(log_dir, "worker-accept")
    try:
        publisher = start_publisher(log_dir, port)
    except BaseException:
        worker.stop()
        raise
    try:
        generator = VoteGenerator(seed=1)
        warmup = [json.dumps(generator.vote()).encode() for _ in range(200)]
        asyncio.run(post_all(port, warmup, 8))
        wait_stored(len(warmup), 60)
        empty_vote_tables()
        messages_before = messages_done()
        bodies = [json.dumps(generator.vote()).encode() for _ in range(votes)]
        started = time.perf_counter()
        statuses, latencies = asyncio.run(post_all(port, bodies, concurrency))
        accept_seconds = time.perf_counter() - started
        wait_stored(statuses[202], 300)
        end_to_end_seconds = time.perf_counter() - started
        messages = messages_done() - messages_before
    finally:
        publisher.stop()
        worker.stop()
    latencies.sort()
    profile = commit_profile()
    return {
        "votes": votes,
        "concurrency": concurrency,
        "statuses": {str(code): n for code, n in statuses.items()},
        "accept_seconds": round(accept_seconds, 3),
        "accept_votes_per_second": round(statuses[202] / accept_seconds),
        "accept_latency_ms": {
            "p50": round(latencies[len(latencies) // 2] * 1000, 2),
            "p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
            "mean": round(statistics.fmean(latencies) * 1000, 2),
        },
        "end_to_end_seconds": round(end_to_end_seconds, 3),
        "end_to_end_votes_per_second": round(statuses[202] / end_to_end_seconds),
        # The publisher's batches under this load, and the worker's transactions (group commit).
        "messages": messages,
        "votes_per_message": round(statuses[202] / messages, 1),
        "transactions": profile["transactions"],
        "votes_per_transaction": profile["votes_per_transaction"],
    }


def fill_queue(votes: int, batch_size: int) -> int:
    """Queue `votes` as the publisher would: record_batch messages, or record_one when batch_size is 0."""
    from bench.one_vote_task import record_one
    from bench.simulation import VoteGenerator
    from election.celery import app
    from election.votes.validation import vote_validate
    from ingest_pubsub.messages import vote_to_message
    from ingest_pubsub.tasks import record_batch

    generator = VoteGenerator(seed=2)
    now = datetime.now(UTC)
    wire = [vote_to_message(vote_validate(generator.vote(), received_at=now)) for _ in range(votes)]
    messages = 0
    with app.producer_or_acquire() as producer:
        if batch_size:
            for start in range(0, votes, batch_size):
                record_batch.apply_async(args=[wire[start : start + batch_size]], producer=producer)
                messages += 1
        else:
            for vote in wire:
                record_one.apply_async(args=[vote], producer=producer)
                messages += 1
    return messages


def drain_phase(
    log_dir: Path, votes: int, batch_size: int, name: str, pipelined: bool = False
) -> dict[str, Any]:
    empty_vote_tables()
    filled = time.perf_counter()
    messages = fill_queue(votes, batch_size)
    fill_seconds = time.perf_counter() - filled
    include = None if batch_size else "bench.one_vote_task"
    worker = start_worker(log_dir, f"worker-{name}", include, pipelined)
    try:
        wait_stored(votes, 900)
    finally:
        worker.stop()
    profile = commit_profile()
    assert profile["votes"] == votes, profile
    return {
        "votes": votes,
        "messages": messages,
        "votes_per_message": batch_size or 1,
        "fill_seconds": round(fill_seconds, 2),
        "drain_seconds": profile["seconds"],
        "votes_per_second": profile["votes_per_second"],
        "transactions": profile["transactions"],
        "votes_per_transaction": profile["votes_per_transaction"],
    }


DRAIN_TURNS = 2


def median_drain(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run's figures, with the rate and votes a transaction as medians of all, and
    every run's rate."""
    return {
        **runs[0],
        "votes_per_second": round(statistics.median(r["votes_per_second"] for r in runs)),
        "votes_per_transaction": round(statistics.median(r["votes_per_transaction"] for r in runs), 1),
        "votes_per_second_by_turn": [r["votes_per_second"] for r in runs],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in seconds")
    parser.add_argument("--votes", type=int, help="votes POSTed in the accept phase (20000; quick 2000)")
    parser.add_argument("--drain-votes", type=int, help="votes pre-queued per design (50000; quick 3000)")
    parser.add_argument("--concurrency", type=int, default=64, help="client connections (64)")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="votes per message when draining (default: as the publisher formed them)",
    )
    parser.add_argument(
        "--appendfsync",
        default="always",
        choices=["always", "everysec"],
        help="the broker's AOF fsync policy",
    )
    args = parser.parse_args()
    votes = args.votes or (2_000 if args.quick else 20_000)
    drain_votes = args.drain_votes or (3_000 if args.quick else 50_000)

    run_dir = ROOT / "var" / "bench" / f"redis-route-{os.getpid()}"
    redis = RedisServer(run_dir / "redis", appendfsync=args.appendfsync).start()
    os.environ.update(
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        REDIS_URL=redis.url,
        CELERY_BROKER_URL="",
        ESCRUTINIO_DEV="1",
        LOG_LEVEL="WARNING",
        LOG_FORMAT="plain",
        DJANGO_SETTINGS_MODULE="election.settings",
        # The shared token, as the demo's clients send it; the per-sede rate limit on but never
        # binding (a few sedes here send far faster than real ones).
        INGEST_TOKEN=os.environ.get("INGEST_TOKEN") or "bench-ingest-token",
        INGEST_RATE_PER_SEDE="1000000",
        INGEST_RATE_BURST="1000000",
    )
    try:
        prepare_database(os.environ["DATABASE_URL"])
        import django

        django.setup()
        print(f"accept phase: {votes} votes, {args.concurrency} connections", flush=True)
        accept = accept_phase(run_dir, votes, args.concurrency)
        print(json.dumps(accept, indent=2), flush=True)
        batch_size = args.batch_size or max(1, round(accept["votes_per_message"]))
        print(f"drain phase: {drain_votes} votes, batching ({batch_size} per message)", flush=True)
        # The serial and the pipelined group commit (GROUP_COMMIT_PIPELINE) in turns, since
        # this machine's speed drifts within minutes; each figure is the median of its turns.
        turns: dict[str, list[dict[str, Any]]] = {"batching": [], "batching_pipelined": []}
        for _ in range(1 if args.quick else DRAIN_TURNS):
            for design in turns:
                turns[design].append(
                    drain_phase(run_dir, drain_votes, batch_size, design, design == "batching_pipelined")
                )
                print(design, json.dumps(turns[design][-1]), flush=True)
        batching, pipelined = (median_drain(runs) for runs in turns.values())
        print(f"drain phase: {drain_votes} votes, one per task", flush=True)
        one_per_task = drain_phase(run_dir, drain_votes, 0, "one-per-task")
        print(json.dumps(one_per_task, indent=2), flush=True)
        empty_vote_tables()
    finally:
        redis.stop()
    speedup = batching["votes_per_second"] / one_per_task["votes_per_second"]
    result = {
        "benchmark": "redis_route",
        "quick": args.quick,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "setup": "publisher: gunicorn 2 uvicorn workers; consumer: the Procfile's worker line "
        f"({worker_command()}); Redis AOF appendfsync {args.appendfsync}; MariaDB on the same machine",
        "accept": accept,
        "drain": {"batching": batching, "batching_pipelined": pipelined, "one_per_task": one_per_task},
        "speedup_vs_one_per_task": round(speedup, 2),
        "pipelined_over_serial_drain": round(pipelined["votes_per_second"] / batching["votes_per_second"], 2),
        "goals": {
            "batching_at_least_3x_one_per_task": speedup >= 3,
            "batching_drains_faster_than_publisher_accepts": batching["votes_per_second"]
            > accept["accept_votes_per_second"],
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("redis_route.quick.json" if args.quick else "redis_route.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(run_dir, ignore_errors=True)
    print(json.dumps({k: result[k] for k in ("speedup_vs_one_per_task", "goals")}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
