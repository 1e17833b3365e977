"""Actas per second through each route, and what an acta's tally update costs beside a vote's.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/actas_route.py [--quick]

1. Through each route, HTTP front door to durable storage: the gRPC route (gateway -> gRPC
   server -> MySQL) and the Redis route (publisher -> queue "actas" -> Celery worker -> MySQL),
   started as `make run` starts them (scripts/system.py: their Procfile lines). `--actas` actas
   of the demo catalogue (bench/simulation.py ActaGenerator, clean sheets) are typed twice, as
   double entry needs: every first typing, then every second one (with the other digitador
   token), POSTed by `--concurrency` keep-alive connections to one route at a time. Figures:
   the accept rate (all answered 201/202), and the end-to-end rate (every typing an ActaEntry,
   every acta counted) in typings per second.
2. In-process, no HTTP: actas_record against votes_record, per item (batch of 1) and per batch
   (the same batch sizes): an acta's first typing (pending: its entry, version and head, one
   progress row), its second (counted: its ActaTally rows, one per partido of the papeleta,
   move) and a vote (its row and its tallies). And the tally upserts alone: one counted acta's
   (tallies_move) against one vote's (tallies_statements).

Uses its own Redis (AOF, appendfsync always) and the database at BENCH_DATABASE_URL (default
mysql://root@127.0.0.1:3306/escrutinio_bench_actas), whose acta and vote tables it empties; loads
the demo mesas there. Writes bench/results/actas.json (--quick: actas_quick.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.devservices import RedisServer, wait_until  # noqa: E402
from scripts.machine import machine  # noqa: E402
from scripts.processes import ProcessGroup  # noqa: E402
from scripts.system import System  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/escrutinio_bench_actas"
INGEST_TOKEN = secrets.token_urlsafe(24)  # a throwaway token for this run's own system


# --- HTTP load: raw asyncio keep-alive connections, light on the shared CPUs -----------


async def post_all(
    port: int, requests: list[tuple[bytes, str]], concurrency: int
) -> tuple[Counter[int], list[float]]:
    """POST each (body, token) to /actas; the statuses and each request's latency."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    queue = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for body, token in queue:
            head = (
                f"POST /actas HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
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


# --- database -----------------------------------------------------------------------


def prepare_database(url: str) -> None:
    from urllib.parse import urlsplit

    import MySQLdb

    parts = urlsplit(url)
    conn = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=parts.username or "root"
    )
    conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{parts.path.lstrip('/')}` CHARACTER SET utf8mb4")
    conn.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)


def tables_empty() -> None:
    """The acta and vote tables (and the bench's tokens), emptied."""
    from django.apps import apps
    from django.db import connection

    models = [
        m
        for m in apps.get_app_config("election").get_models()
        if m.__name__.startswith("Acta")
        or m.__name__ in ("Vote", "AreaTally", "SedeTally", "SedeTotal", "RouteTally")
    ]
    with connection.constraint_checks_disabled(), connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def mesas_ensure() -> None:
    from election.catalogue.index import CATALOGUE_DIR
    from election.catalogue.mesa_load import mesas_load
    from election.models import Mesa

    if Mesa.objects.count() < 24_427:
        mesas_load(CATALOGUE_DIR / "mesas_2023.csv")


def stored(route: str) -> tuple[int, int]:
    """(typings stored by this route, actas counted)."""
    from election.models import Acta, ActaEntry

    return ActaEntry.objects.filter(route=route).count(), Acta.objects.filter(status="counted").count()


# --- 1. through each route --------------------------------------------------------------


def route_phase(
    system: System, route: str, actas: int, concurrency: int, tokens: list[str]
) -> dict[str, Any]:
    from bench.simulation import ActaGenerator

    tables_empty()
    generator = ActaGenerator(seed={"grpc": 1, "redis": 2}[route])
    pairs = [generator.pair("clean") for _ in range(actas)]
    passes = [[(json.dumps(p.entries[i]).encode(), tokens[i]) for p in pairs if p] for i in (0, 1)]
    port = system.ports["gateway" if route == "grpc" else "publisher"]
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    started = time.perf_counter()
    for typings in passes:  # every first typing, then every second one
        done, times = asyncio.run(post_all(port, typings, concurrency))
        statuses += done
        latencies += times
    accept_seconds = time.perf_counter() - started
    accepted = statuses[201] + statuses[202]
    wait_until(lambda: stored(route)[0] >= accepted, 600, f"{accepted} typings stored by {route}")
    end_to_end_seconds = time.perf_counter() - started
    counted = stored(route)[1]
    latencies.sort()
    return {
        "actas": actas,
        "typings": 2 * actas,
        "concurrency": concurrency,
        "statuses": {str(code): n for code, n in sorted(statuses.items())},
        "accept_typings_per_second": round(accepted / accept_seconds, 1),
        "accept_latency_ms": {
            "p50": round(latencies[len(latencies) // 2] * 1000, 2),
            "p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
            "mean": round(statistics.fmean(latencies) * 1000, 2),
        },
        "end_to_end_seconds": round(end_to_end_seconds, 2),
        "end_to_end_typings_per_second": round(accepted / end_to_end_seconds, 1),
        "actas_counted": counted,
        "end_to_end_actas_counted_per_second": round(counted / end_to_end_seconds, 1),
    }


# --- 2. in-process: an acta's recording and tallies beside a vote's -------------------------


def timed(items: list[Any], batch: int, record: Callable[[list[Any]], object]) -> dict[str, float]:
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        record(items[start : start + batch])
    seconds = time.perf_counter() - started
    return {
        "ms_per_item": round(seconds * 1000 / len(items), 3),
        "items_per_second": round(len(items) / seconds, 1),
    }


def recording_phase(items: int, batches: list[int]) -> dict[str, Any]:
    from django.utils import timezone

    from bench.simulation import ActaGenerator, VoteGenerator
    from election.actas.recording import actas_record
    from election.actas.validation import acta_validate
    from election.votes.recording import votes_record
    from election.votes.validation import vote_validate

    results: dict[str, Any] = {}
    for batch in batches:
        tables_empty()
        now = timezone.now()
        generator, votes = ActaGenerator(seed=batch), VoteGenerator(seed=batch)
        pairs = [generator.pair("clean") for _ in range(items)]
        first = [acta_validate(p.entries[0], received_at=now) for p in pairs if p]
        second = [acta_validate(p.entries[1], received_at=now) for p in pairs if p]
        # The two typings come from two credentials, as admission would mark them.
        first = [replace(a, credential="token:1") for a in first]
        second = [replace(a, credential="token:2") for a in second]
        ballots = [vote_validate(votes.vote(), received_at=now) for _ in range(items)]
        results[str(batch)] = {
            "acta_first_typing_pending": timed(first, batch, lambda b: actas_record(actas=b, route="grpc")),
            "acta_second_typing_counted": timed(second, batch, lambda b: actas_record(actas=b, route="grpc")),
            "vote": timed(ballots, batch, lambda b: votes_record(votes=b, route="grpc")),
        }
        print(f"  batch {batch}: {json.dumps(results[str(batch)])}", flush=True)
    return results


def tallies_phase(items: int) -> dict[str, Any]:
    """One counted acta's tally upserts against one vote's, each in its own transaction."""
    from django.db import transaction
    from django.utils import timezone

    from bench.simulation import ActaGenerator, VoteGenerator
    from election.actas.tallies import ActaPlace, Counts, tallies_move
    from election.actas.validation import acta_validate
    from election.models import Mesa
    from election.votes.tallies import statements_run, tallies_statements
    from election.votes.validation import vote_validate

    tables_empty()
    generator, votes = ActaGenerator(seed=7), VoteGenerator(seed=7)
    actas = [acta_validate(p.entries[0]) for p in (generator.pair() for _ in range(items)) if p]
    padron = dict(Mesa.objects.values_list("numero", "padron"))
    moves = []
    for acta in actas:
        counts = Counts.empty()
        place = ActaPlace(acta.departamento_code, acta.municipio_code, acta.sede, acta.papeleta)
        numbers = cast(Any, acta)  # a ValidatedActa has the numbers add() reads off an ActaEntry
        counts.add(place, "counted", numbers, padron[acta.mesa], 1)
        moves.append(counts)
    ballots = [vote_validate(votes.vote()) for _ in range(items)]
    now = timezone.now()

    def acta_move(batch: list[Counts]) -> None:
        with transaction.atomic():
            tallies_move(batch[0])

    def vote_move(batch: list[Any]) -> None:
        with transaction.atomic():
            statements_run(tallies_statements(votes=batch, route="grpc", stored_at=now))

    return {"counted_acta": timed(moves, 1, acta_move), "vote": timed(ballots, 1, vote_move)}


# --- the run --------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--actas", type=int, help="actas typed twice through each route (2000; quick 200)")
    parser.add_argument("--items", type=int, help="items per in-process measurement (2000; quick 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="client connections (32)")
    args = parser.parse_args()
    actas = args.actas or (200 if args.quick else 2_000)
    items = args.items or (200 if args.quick else 2_000)
    batches = [1, 100] if args.quick else [1, 100, 500]

    run_dir = ROOT / "var" / "bench" / f"actas-{os.getpid()}"
    redis = RedisServer(run_dir / "redis").start()
    os.environ.update(
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        REDIS_URL=redis.url,
        CELERY_BROKER_URL="",
        ESCRUTINIO_DEV="1",
        LOG_LEVEL="WARNING",
        LOG_FORMAT="plain",
        DJANGO_SETTINGS_MODULE="election.settings",
        INGEST_TOKEN=INGEST_TOKEN,
        # The per-sede rate limit on but never binding: a bench types far faster than a sede.
        INGEST_RATE_PER_SEDE="1000000",
        INGEST_RATE_BURST="1000000",
    )
    processes = ProcessGroup()
    try:
        prepare_database(os.environ["DATABASE_URL"])
        import django

        django.setup()
        from election.admission.tokens import token_issue_digitador
        from election.models import IngestToken

        mesas_ensure()
        tables_empty()
        IngestToken.objects.filter(label="bench").delete()
        # Issued before the routes start, so that they read them with their first copy.
        tokens = [token_issue_digitador(digitador=f"bench {n}", label="bench")[0] for n in "AB"]
        # At INFO the worker says " ready.", which System waits for.
        system = System(processes.start, {**os.environ, "LOG_LEVEL": "INFO"})
        system.start(parts=("grpc", "gateway", "publisher", "worker"))
        routes = {}
        for route in ("grpc", "redis"):
            print(f"{route} route: {actas} actas typed twice, {args.concurrency} connections", flush=True)
            routes[route] = route_phase(system, route, actas, args.concurrency, tokens)
            print(json.dumps(routes[route], indent=2), flush=True)
        processes.stop_all()
        print(f"in-process recording: {items} items, batches {batches}", flush=True)
        recording = recording_phase(items, batches)
        tallies = tallies_phase(items)
        print(f"tally upserts alone: {json.dumps(tallies)}", flush=True)
        tables_empty()
    finally:
        processes.stop_all()
        redis.stop()
    result = {
        "benchmark": "actas_route",
        "quick": args.quick,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "setup": "scripts/system.py parts (the Procfile lines): gateway + gRPC server, publisher + one "
        "Celery worker; Redis AOF appendfsync always; MariaDB on the same machine; ACTA_ENTRIES_REQUIRED=2",
        "routes": routes,
        "recording_in_process": {
            "batches": recording,
            "acta_counted_over_vote_per_item": {
                batch: round(
                    figures["acta_second_typing_counted"]["ms_per_item"] / figures["vote"]["ms_per_item"], 2
                )
                for batch, figures in recording.items()
            },
        },
        "tally_upserts_alone": {
            **tallies,
            "acta_over_vote": round(
                tallies["counted_acta"]["ms_per_item"] / tallies["vote"]["ms_per_item"], 2
            ),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("actas_quick.json" if args.quick else "actas.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(run_dir, ignore_errors=True)
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
