"""Throughput of the gRPC route: gateway -> gRPC server (group commit) -> MySQL.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/grpc_route.py [--quick]

In one run, so the ratios hold on a noisy machine:
1. Unary CastVote by 64 concurrent callers (one grpc.aio channel) against three servers:
   `ceiling` (the same server whose handler does no validation and no database work),
   `naive` (one transaction per call: votes_record per vote, 10 database threads, as
   grpc's examples size a server's pool), `group` (the product: python -m ingest_grpc.server)
   and `pipelined` (the product with GROUP_COMMIT_PIPELINE on: two groups in flight).
   The four run side by side and are loaded in turns, 5 s each, for 9 rounds: each figure is
   the median over the rounds, and each ratio the median of the rounds' ratios. Each load also
   reads the whole machine's busy CPU (/proc/stat), which splits fraction_of_ceiling in two:
   `fraction_of_ceiling_at_equal_cpu` (the ceiling's CPU a vote over the group server's: what
   the extra work allows) times the ratio of their `cores_busy` (what waiting leaves idle).
   The product servers' own histograms, read around each load, say where a call's time goes
   inside the server (`server`: votes a transaction, the transaction's ms, receipt to commit).
2. Streaming: CastVoteBatches (1,000 pre-built votes per message) over 1 and 4 concurrent
   streams, the goal's figure; and CastVotes (one vote per message) over one stream, for
   comparison. Also `votes_record` alone, in-process, in batches of 2,000 (no gRPC): the
   most any route can store on this machine.
3. HTTP with wrk (-t2 -c32, bench/post_vote.lua, a fresh vote_id per request): the gateway
   (gunicorn + uvicorn workers) in front of the group server, and a plain Django view that
   stores nothing under two sync gunicorn workers (bench/plain_view.py).

Uses the database at BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/escrutinio_bench_grpc),
created and migrated if needed, whose vote tables it empties, and the Redis at REDIS_URL
(database 14 by default). Writes bench/results/grpc_route.json (--quick: grpc_route.quick.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.devservices import free_port  # noqa: E402
from scripts.machine import busy_cpu_seconds, machine  # noqa: E402
from scripts.processes import ChildProcess  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/escrutinio_bench_grpc"
PLACES = [
    ("Chimaltenango", "Patzun"),
    ("Guatemala", "Mixco"),
    ("Peten", "Flores"),
    ("Quetzaltenango", "Quetzaltenango"),
    ("Escuintla", "Escuintla"),
]
PARTIDOS = ["VAMOS", "UNE", "SEMILLA", "CABAL", "VALOR"]
# Every call carries the shared token, as the demo's clients do (SECURITY.md); the per-sede
# rate limit stays on but never binds, since 200 sedes here send far faster than real ones.
INGEST_TOKEN = os.environ.get("INGEST_TOKEN") or "bench-ingest-token"
ACCESS_ENV = {"INGEST_TOKEN": INGEST_TOKEN, "INGEST_RATE_PER_SEDE": "1000000", "INGEST_RATE_BURST": "1000000"}
TOKEN_METADATA = (("authorization", f"Bearer {INGEST_TOKEN}"),)
PAPELETAS = ["Blanca", "Verde", "Celeste", "Rosada", "Amarilla"]


# --- the servers compared (run as `bench/grpc_route.py serve --store NAME`) ------------


def serve(store_name: str, address: str) -> None:
    from ingest_grpc import server

    store = {"group": None, "naive": NaiveStore, "ceiling": CeilingStore}[store_name]
    server.run(address, store() if store else None)


class NaiveStore:
    """One transaction per call: the same validation and recording, without group commit."""

    def __init__(self, threads: int = 10) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="naive-db")

    async def start(self) -> None:
        from ingest_grpc.recording import catalogue_warm

        await asyncio.get_running_loop().run_in_executor(self._executor, catalogue_warm)

    async def cast(self, ballot: Any) -> Any:
        return (await self.cast_many([ballot]))[0]

    async def cast_together(self, ballots: list[Any]) -> list[Any]:
        return await self.cast_many(ballots)

    async def cast_many(self, ballots: list[Any]) -> list[Any]:
        from ingest_grpc.recording import ballots_record

        return await asyncio.get_running_loop().run_in_executor(self._executor, ballots_record, ballots)

    async def close(self) -> None:
        self._executor.shutdown(wait=True)


class CeilingStore:
    """No database work and no validation: every vote is answered 'stored' as it came."""

    async def start(self) -> None:
        pass

    async def cast(self, ballot: Any) -> Any:
        from election.votes.types import Outcome, RecordResult, ValidatedVote

        data = ballot.data
        vote = ValidatedVote(
            vote_id=uuid.UUID(data["vote_id"]),
            sede=data["sede"],
            departamento_code="",
            departamento=data["departamento"],
            municipio_code="",
            municipio=data["municipio"],
            papeleta=data["papeleta"],
            partido=data["partido"],
            received_at=ballot.received_at,
        )
        return RecordResult(vote, Outcome.STORED, ballot.received_at)

    async def cast_many(self, ballots: list[Any]) -> list[Any]:
        return [await self.cast(ballot) for ballot in ballots]

    async def cast_together(self, ballots: list[Any]) -> list[Any]:
        return await self.cast_many(ballots)

    async def close(self) -> None:
        pass


# --- processes --------------------------------------------------------------------


def grpc_server(store: str, env: dict[str, str], log_dir: Path) -> tuple[ChildProcess, str]:
    """A compared server: the product (`group`; `pipelined`, the same with
    GROUP_COMMIT_PIPELINE on), or one of this file's stores. Each serves /metrics on a port of
    its own (GRPC_METRICS_PORT in the child's env), read by server_timings."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {**env, "GRPC_ADDRESS": address, "GRPC_METRICS_PORT": str(free_port())}
    if store in PRODUCT_STORES:
        argv = [sys.executable, "-m", "ingest_grpc.server"]
        env["GROUP_COMMIT_PIPELINE"] = "1" if store == "pipelined" else "0"
    else:
        argv = [sys.executable, str(Path(__file__)), "serve", "--store", store, "--address", address]
    name = f"grpc-{store}"
    child = ChildProcess(name, argv, env, log_dir / f"{name}.log")
    return child.wait_for_port(port), address


# The product's own histograms (election/observability/metrics.py), read around each load.
TIMINGS = {
    "votes_per_transaction": ("escrutinio_record_batch_votes", "escrutinio_record_batch_votes"),
    "transaction_ms": ("escrutinio_record_transaction_seconds", "escrutinio_record_batch_votes"),
    "receipt_to_storage_ms": ("escrutinio_receipt_to_storage_seconds",) * 2,
}


def metrics_sums(child: ChildProcess) -> dict[str, float]:
    """The gRPC route's histogram sums and counts on a product server's /metrics."""
    import urllib.request

    port = child.env["GRPC_METRICS_PORT"]
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    sums: dict[str, float] = {}
    for line in text.splitlines():
        name, _, rest = line.partition('{route="grpc"} ')
        if rest and name.endswith(("_sum", "_count")):
            sums[name] = float(rest)
    return sums


def server_timings(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Where a call's time goes inside the server over one load: votes a transaction, the
    transaction's time, and from receipt to commit (the rest of a call's latency is gRPC, the
    event loop and the load generator)."""
    delta = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    timings = {}
    for figure, (total, count) in TIMINGS.items():
        if delta.get(f"{count}_count"):
            value = delta[f"{total}_sum"] / delta[f"{count}_count"]
            timings[figure] = round(value * (1 if figure == "votes_per_transaction" else 1000), 1)
    return timings


def gunicorn(
    name: str, app: str, worker: str, workers: int, env: dict[str, str], log_dir: Path
) -> tuple[ChildProcess, str]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "-k",
        worker,
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
    ]
    child = ChildProcess(name, argv, env, log_dir / f"{name}.log")
    return child.wait_for_port(port), f"http://127.0.0.1:{port}"


# --- load ---------------------------------------------------------------------------


def new_request() -> Any:
    import random

    from ingest_grpc.protos.escrutinio.v1 import votes_pb2

    departamento, municipio = random.choice(PLACES)
    return votes_pb2.CastVoteRequest(
        vote=votes_pb2.Vote(
            vote_id=str(uuid.uuid4()),
            sede=str(random.randint(1, 40)),
            departamento=departamento,
            municipio=municipio,
            papeleta=random.choice(PAPELETAS),
            partido=random.choice(PARTIDOS),
        )
    )


def percentiles_ms(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": round(cuts[49] * 1000, 2), "p99": round(cuts[98] * 1000, 2)}


async def unary_load(address: str, callers: int, seconds: float, warmup: float) -> dict[str, Any]:
    import grpc

    from ingest_grpc.protos.escrutinio.v1 import votes_pb2_grpc

    async with grpc.aio.insecure_channel(address) as channel:
        stub = votes_pb2_grpc.VoteServiceStub(channel)
        latencies: list[float] = []
        errors: dict[str, int] = {}
        loop = asyncio.get_running_loop()

        async def caller(until: float, record: bool) -> None:
            while loop.time() < until:
                request = new_request()
                started = time.perf_counter()
                try:
                    await stub.CastVote(request, timeout=10, metadata=TOKEN_METADATA)
                except grpc.aio.AioRpcError as error:
                    errors[error.code().name] = errors.get(error.code().name, 0) + 1
                    continue
                if record:
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(caller(loop.time() + warmup, False) for _ in range(callers)))
        started, busy_before = time.perf_counter(), busy_cpu_seconds()
        await asyncio.gather(*(caller(loop.time() + seconds, True) for _ in range(callers)))
        elapsed, busy_after = time.perf_counter() - started, busy_cpu_seconds()
    return {
        "callers": callers,
        "seconds": round(elapsed, 2),
        "calls": len(latencies),
        "votes_per_s": round(len(latencies) / elapsed),
        "latency_ms": percentiles_ms(latencies),
        "errors": errors,
        **machine_cpu(busy_before, busy_after, elapsed, len(latencies)),
    }


def machine_cpu(before: float | None, after: float | None, seconds: float, calls: int) -> dict[str, Any]:
    """The whole machine's CPU over a load: the load generator, the server and MariaDB together.
    fraction_of_ceiling = (ceiling's CPU a vote / group's) x (group's busy cores / ceiling's):
    the first factor is the work a vote adds, the second the cores left idle while it waits."""
    if before is None or after is None or not calls:
        return {}
    busy = after - before
    return {"cores_busy": round(busy / seconds, 2), "cpu_us_per_vote": round(busy / calls * 1e6)}


STREAM_MESSAGE_VOTES = 1000  # votes per CastVoteBatches message


async def stream_load(
    address: str, streams: int, votes_per_stream: int, per_message: int = STREAM_MESSAGE_VOTES
) -> dict[str, Any]:
    """`streams` concurrent streams of pre-built requests: CastVoteBatches with `per_message`
    votes per message, or CastVotes (one vote per message) when per_message is 1."""
    import grpc

    from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc

    votes = [[new_request() for _ in range(votes_per_stream)] for _ in range(streams)]
    async with grpc.aio.insecure_channel(address) as channel:
        stub = votes_pb2_grpc.VoteServiceStub(channel)

        def send(requests: list[Any]) -> Any:
            if per_message == 1:
                return stub.CastVotes(iter(requests), timeout=300, metadata=TOKEN_METADATA)
            messages = [
                votes_pb2.CastVoteBatchRequest(requests=requests[start : start + per_message])
                for start in range(0, len(requests), per_message)
            ]
            return stub.CastVoteBatches(iter(messages), timeout=300, metadata=TOKEN_METADATA)

        started = time.perf_counter()
        summaries = await asyncio.gather(*(send(requests) for requests in votes))
        elapsed = time.perf_counter() - started
    stored = sum(summary.stored for summary in summaries)
    return {
        "streams": streams,
        "votes_per_message": per_message,
        "votes": streams * votes_per_stream,
        "stored": stored,
        "rejected": sum(len(summary.rejected) for summary in summaries),
        "seconds": round(elapsed, 2),
        "votes_per_s": round(stored / elapsed),
    }


def wrk(url: str, seconds: int, threads: int = 2, connections: int = 32) -> dict[str, Any]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["-s", str(ROOT / "bench" / "post_vote.lua"), url]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return {
        "wrk": " ".join(argv[1:5]),
        "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))),  # type: ignore[union-attr]
        "latency_ms": {
            "p50": _wrk_ms(re.search(r"\s50%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
            "p99": _wrk_ms(re.search(r"\s99%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        },
        "non_2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)) else 0,
        "socket_errors": (m.group(0) if (m := re.search(r"Socket errors:.*", output)) else ""),
    }


def _wrk_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 2)


# --- the run ----------------------------------------------------------------------------


def prepare_database(env: dict[str, str]) -> None:
    import MySQLdb

    url = urlsplit(env["DATABASE_URL"])
    with MySQLdb.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root") as db:
        db.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{url.path.lstrip('/')}` CHARACTER SET utf8mb4")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
    )
    vote_tables_empty(env)


def vote_tables_empty(env: dict[str, str]) -> None:
    """The vote and tally tables (the catalogue stays), truncated: a DELETE of the last run's
    rows would leave InnoDB purging them in the background through the first measurement."""
    empty = (
        "from django.db import connection; from tests.conftest import VOTE_TABLES\n"
        "with connection.cursor() as cursor:\n"
        "    for table in VOTE_TABLES: cursor.execute(f'TRUNCATE TABLE {connection.ops.quote_name(table)}')"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", empty], env=env, cwd=ROOT, check=True)


def database_settle(env: dict[str, str], timeout: float = 90) -> None:
    """Wait until InnoDB is done with the pages the part before dirtied.

    The streams store 110,000 votes in seconds and leave about 3,800 dirty pages (60 MB),
    which MariaDB writes back over the next 20-30 s on the same two cores; after the vote
    tables are truncated it still takes about 5 s to be done with them. The gateway, the first
    of the HTTP part and the only one of it that writes, would be measured during that and the
    plain view after it.
    """
    import MySQLdb

    url = urlsplit(env["DATABASE_URL"])
    started = time.monotonic()
    with MySQLdb.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root") as db:
        cursor = db.cursor()
        counts: list[int] = []
        while time.monotonic() - started < timeout:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
            counts.append(int(cursor.fetchone()[1]))
            if len(counts) >= 3 and counts[-1] >= counts[-3]:  # no longer falling
                break
            time.sleep(1)
    waited = time.monotonic() - started
    print(f"database settled: {counts[0]} -> {counts[-1]} dirty pages in {waited:.0f} s", flush=True)


def bench_env() -> dict[str, str]:
    """The environment of the servers under test: the bench's database and Redis, the token."""
    os.environ["INGEST_TOKEN"] = INGEST_TOKEN  # wrk's script reads it (bench/post_vote.lua)
    return {
        **os.environ,
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        "ESCRUTINIO_DEV": "1",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "plain",
        **ACCESS_ENV,
    }


STORES = ("ceiling", "naive", "group", "pipelined")
PRODUCT_STORES = ("group", "pipelined")  # python -m ingest_grpc.server, serial and pipelined commit
RATIOS = (("group", "ceiling"), ("group", "naive"), ("pipelined", "ceiling"), ("pipelined", "group"))


def run(quick: bool, parts: set[str]) -> dict[str, Any]:
    rounds, seconds, warmup = (1, 3, 1) if quick else (UNARY_ROUNDS, 5, 1)
    wrk_seconds = 5 if quick else 20
    stream_votes = 5_000 if quick else 50_000
    env = bench_env()
    log_dir = ROOT / "var" / "bench-grpc"
    log_dir.mkdir(parents=True, exist_ok=True)
    prepare_database(env)
    results: dict[str, Any] = {"unary_64": {}, "streaming": {}, "http": {}}

    if "grpc" in parts:
        results["unary_64"] = unary_rounds(env, log_dir, rounds, seconds, warmup)
        child, address = grpc_server("group", env, log_dir)
        try:
            for streams in (1, 4):
                results["streaming"][f"{streams}_streams"] = asyncio.run(
                    stream_load(address, streams, stream_votes // streams)
                )
            results["streaming_one_vote_per_message"] = asyncio.run(
                stream_load(address, 1, stream_votes // 5, per_message=1)
            )
        finally:
            child.stop()
        print("streaming", json.dumps(results["streaming"]), flush=True)
        print("one vote per message", json.dumps(results["streaming_one_vote_per_message"]), flush=True)
        results["recording_only"] = recording_only(env, stream_votes)
        print("recording only", json.dumps(results["recording_only"]), flush=True)

    if "http" in parts:
        # As in a run of the HTTP part alone: from empty vote tables, not after the 300,000
        # votes the parts before leave (about the size of MariaDB's default 128 MB buffer pool).
        vote_tables_empty(env)
        database_settle(env)
        results["http"] = http_runs(env, log_dir, wrk_seconds)
    if parts != {"grpc", "http"}:
        return results  # a partial run: figures only, no ratios
    return results | ratios(results)


# This machine's speed drifts by a fifth within minutes: the three servers are measured in
# turns, a few seconds each, and each ratio is the median of the rounds' ratios. Single rounds'
# ratios to the ceiling spread from 0.53 to 0.88 within one run: 9 rounds, not 5, so that the
# median moves less from run to run.
UNARY_ROUNDS = 9


def unary_rounds(
    env: dict[str, str], log_dir: Path, rounds: int, seconds: float, warmup: float
) -> dict[str, Any]:
    """The three servers, all started, loaded in turns (the order rotating) for `rounds` rounds."""
    servers = {store: grpc_server(store, env, log_dir) for store in STORES}
    runs: dict[str, list[dict[str, Any]]] = {store: [] for store in STORES}
    try:
        for round_number in range(rounds):
            turn = round_number % len(STORES)
            order = STORES[turn:] + STORES[:turn]
            for store in order:
                child, address = servers[store]
                before = metrics_sums(child) if store in PRODUCT_STORES else {}
                runs[store].append(asyncio.run(unary_load(address, 64, seconds, warmup)))
                if store in PRODUCT_STORES:
                    runs[store][-1]["server"] = server_timings(before, metrics_sums(child))
            print(
                f"round {round_number + 1}:",
                json.dumps({store: runs[store][-1]["votes_per_s"] for store in STORES}),
                flush=True,
            )
    finally:
        for child, _ in servers.values():
            child.stop()
    summary: dict[str, Any] = {store: _unary_summary(runs[store]) for store in STORES}
    for store in STORES:
        print(store, json.dumps(summary[store]), flush=True)
    summary["ratios_by_round"] = {
        f"{store}_over_{other}": [
            round(mine["votes_per_s"] / base["votes_per_s"], 3)
            for mine, base in zip(runs[store], runs[other], strict=True)
        ]
        for store, other in RATIOS
    }
    if all("cpu_us_per_vote" in run for run in runs["group"] + runs["ceiling"]):
        summary["ratios_by_round"]["ceiling_cpu_over_group_cpu"] = [
            round(ceiling["cpu_us_per_vote"] / group["cpu_us_per_vote"], 3)
            for group, ceiling in zip(runs["group"], runs["ceiling"], strict=True)
        ]
    return summary


def _unary_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median rate and latencies over the rounds, and every round's rate."""
    return {
        "callers": runs[0]["callers"],
        "rounds": len(runs),
        "seconds": round(sum(r["seconds"] for r in runs), 2),
        "calls": sum(r["calls"] for r in runs),
        "votes_per_s": round(statistics.median(r["votes_per_s"] for r in runs)),
        "votes_per_s_by_round": [r["votes_per_s"] for r in runs],
        "latency_ms": {
            cut: round(statistics.median(r["latency_ms"][cut] for r in runs), 2) for cut in ("p50", "p99")
        },
        "errors": dict(sum((Counter(r["errors"]) for r in runs), Counter())),
        **{
            figure: statistics.median(r[figure] for r in runs)
            for figure in ("cores_busy", "cpu_us_per_vote")
            if all(figure in r for r in runs)
        },
        **(
            {"server": {k: statistics.median(r["server"][k] for r in runs) for k in runs[0]["server"]}}
            if all(r.get("server") for r in runs)
            else {}
        ),
    }


def recording_only(env: dict[str, str], votes: int) -> dict[str, Any]:
    """`bench/grpc_route.py record` in a child process (it needs Django; this one does not)."""
    argv = [sys.executable, str(Path(__file__)), "record", "--votes", str(votes)]
    output = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def record(votes: int, batch: int = 2000) -> None:
    """Validate and store `votes` votes through ballots_record in-process: no gRPC at all."""
    from ingest_grpc.recording import Ballot, ballots_record, catalogue_warm
    from ingest_grpc.servicer import ballot

    catalogue_warm()
    ballots: list[Ballot] = [ballot(new_request(), INGEST_TOKEN) for _ in range(votes)]
    started = time.perf_counter()
    stored = 0
    for start in range(0, votes, batch):
        verdicts = ballots_record(ballots[start : start + batch])
        stored += sum(1 for verdict in verdicts if not isinstance(verdict, Exception))
    rate = round(stored / (time.perf_counter() - started))
    print(json.dumps({"votes": votes, "batch": batch, "stored": stored, "votes_per_s": rate}))


def http_runs(env: dict[str, str], log_dir: Path, wrk_seconds: int) -> dict[str, Any]:
    results: dict[str, Any] = {"http": {}}
    workers = int(os.environ.get("GATEWAY_WORKERS", "1"))
    child, address = grpc_server("group", env, log_dir)
    gateway, url = gunicorn(
        "gateway",
        "ingest_grpc.gateway:app",
        "uvicorn_worker.UvicornWorker",
        workers,
        {**env, "GRPC_ADDRESS": address},
        log_dir,
    )
    try:
        results["http"]["gateway"] = {"workers": workers, **wrk(url, wrk_seconds)}
    finally:
        gateway.stop()
        child.stop()
    print("gateway", json.dumps(results["http"]["gateway"]), flush=True)
    plain, url = gunicorn(
        "plain-view",
        "django.core.wsgi:get_wsgi_application()",
        "sync",
        2,
        {**env, "DJANGO_SETTINGS_MODULE": "bench.plain_view"},
        log_dir,
    )
    try:
        results["http"]["plain_django_view"] = {"workers": 2, **wrk(url, wrk_seconds)}
    finally:
        plain.stop()
    print("plain view", json.dumps(results["http"]["plain_django_view"]), flush=True)
    return results["http"]


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    unary, http = results["unary_64"], results["http"]
    by_round = unary["ratios_by_round"]
    return {
        "speedup_vs_naive": round(statistics.median(by_round["group_over_naive"]), 2),
        "fraction_of_ceiling": round(statistics.median(by_round["group_over_ceiling"]), 2),
        "pipelined_fraction_of_ceiling": round(statistics.median(by_round["pipelined_over_ceiling"]), 2),
        "pipelined_over_group": round(statistics.median(by_round["pipelined_over_group"]), 2),
        "streaming_votes_per_s": max(r["votes_per_s"] for r in results["streaming"].values()),
        "recording_only_votes_per_s": results["recording_only"]["votes_per_s"],
        "gateway_fraction_of_http_ceiling": round(
            http["gateway"]["requests_per_s"] / http["plain_django_view"]["requests_per_s"], 2
        ),
        "gateway_p99_ms": http["gateway"]["latency_ms"]["p99"],
        **_cpu_factors(unary),
    }


def _cpu_factors(unary: dict[str, Any]) -> dict[str, Any]:
    """fraction_of_ceiling split in two (see machine_cpu): the fraction the group server would
    reach with the cores as busy as under the ceiling, and how busy it keeps them in fact."""
    by_round = unary["ratios_by_round"].get("ceiling_cpu_over_group_cpu")
    if not by_round:
        return {}
    return {
        "fraction_of_ceiling_at_equal_cpu": round(statistics.median(by_round), 2),
        "cores_busy": {store: unary[store].get("cores_busy") for store in STORES},
    }


def django_setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: seconds, not minutes")
    parser.add_argument("--only", choices=["grpc", "http"], help="one part (no ratios, no JSON file)")
    sub = parser.add_subparsers(dest="command")
    serve_parser = sub.add_parser("serve", help="(internal) run a compared gRPC server")
    serve_parser.add_argument("--store", choices=["group", "naive", "ceiling"], required=True)
    serve_parser.add_argument("--address", required=True)
    record_parser = sub.add_parser("record", help="(internal) votes_record alone, in-process")
    record_parser.add_argument("--votes", type=int, required=True)
    args = parser.parse_args()
    if args.command in ("serve", "record"):
        django_setup()  # the subcommands are processes of their own, as the server's main() is
    if args.command == "serve":
        serve(args.store, args.address)
        return 0
    if args.command == "record":
        record(args.votes)
        return 0
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 3
    results = run(args.quick, {args.only} if args.only else {"grpc", "http"})
    if args.only:
        return 0
    report = {
        "bench": "grpc_route",
        "quick": args.quick,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "goals": {
            "speedup_vs_naive": ">= 2",
            "fraction_of_ceiling": ">= 0.7",
            "streaming_votes_per_s": ">= 20000",
            "gateway_fraction_of_http_ceiling": ">= 0.5",
            "gateway_p99_ms": "< 20",
        },
        **results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("grpc_route.quick.json" if args.quick else "grpc_route.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    shown = [
        *report["goals"],
        "pipelined_fraction_of_ceiling",
        "pipelined_over_group",
        "recording_only_votes_per_s",
        "fraction_of_ceiling_at_equal_cpu",
        "cores_busy",
    ]
    print(json.dumps({k: report[k] for k in shown if k in report}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
