"""Results API under load: p95 of every results endpoint at 1,000,000 votes and the demo
catalogue's actas (24,427 mesas x 5 papeletas, counted).

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/results_api.py           # full
    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/results_api.py --quick   # seconds

1. Loads votes into its own MariaDB database (RESULTS_BENCH_DATABASE_URL, created and migrated
   here) until it holds --votes of them. The load is bulk: multi-row INSERTs straight
   into the vote table, 10,000 rows a statement, and for each chunk the tallies through
   election.votes.tallies.tallies_statements, the very upserts votes_record runs, so the tallies match
   the table exactly. It skips votes_record's per-batch existence check (generated
   vote_ids are fresh UUIDs) and turns off unique and foreign-key checks for the loading
   session only. A database already at the size is reused. Then the demo mesas, and every
   papeleta's acta of each (--actas-mesas of them) counted, the same way (bench/actas_seed.py).
2. Starts the API exactly as the Procfile's `api:` line does (gunicorn, its workers).
3. While a writer process records --rate votes per second through
   election.votes.recording.votes_record and live_publish (batches every 50 ms), wrk reads each
   endpoint in turn for --seconds with --readers connections, back to back (no think time),
   without If-None-Match (bench/read_latency.lua prints wrk's percentiles). The readers are
   wrk, not Python threads: 16 threads in one Python process measure their own wait for the
   GIL as much as the server. First, the same with one reader: each endpoint's own cost.
4. Prints a table and writes bench/results/results_api.json (`--quick`: results_api_quick.json)
   with `p95_ms` per endpoint; the goal is under 20 ms for each. Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.devservices import free_port, wait_until  # noqa: E402
from scripts.machine import machine  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WRK_SCRIPT = ROOT / "bench" / "read_latency.lua"
GOAL_P95_MS = 20.0
CHUNK = 10_000
WRITE_EVERY_S = 0.05
ENDPOINTS = {
    "top-departamentos": "/api/results/top-departamentos?papeleta=presidente&limit=3",
    "partidos-departamento": "/api/results/partidos?departamento=Guatemala",
    "partidos-municipio": "/api/results/partidos?departamento=Guatemala&municipio=Mixco&papeleta=presidente",
    "top-sedes": "/api/results/top-sedes?limit=5",
    "top-sedes-papeleta": "/api/results/top-sedes?limit=5&papeleta=presidente",
    "summary": "/api/results/summary",
    "votes-latest": "/api/votes/latest?limit=5",
    "votes": "/api/votes/",
    # Each vote-list filter reads its page off one index (tests/api/test_query_plans.py); a
    # departamento with a papeleta is refused (400), so these are filters it serves.
    "votes-sede": "/api/votes/?departamento=Peten&municipio=Flores&sede=7",
    "votes-partido": "/api/votes/?partido=WINAQ",  # the least liked partido (VoteFactory)
}
# The actas' reads: measured when the API serves them (it does once /api/results/progress answers).
ACTA_ENDPOINTS = {
    "progress": "/api/results/progress?papeleta=presidente",
    "progress-municipio": "/api/results/progress?departamento=Guatemala&municipio=Mixco",
    "partidos-actas": "/api/results/partidos?departamento=Guatemala&source=actas",
    "top-departamentos-actas": "/api/results/top-departamentos?papeleta=presidente&limit=3&source=actas",
    "summary-actas": "/api/results/summary?source=actas",
    "actas-counted": "/api/actas/?status=counted",
    "actas-municipio": "/api/actas/?status=counted&departamento=Guatemala&municipio=Mixco"
    "&papeleta=presidente",
    "acta": "/api/actas/1/presidente",
}


def django_setup(database_url: str, redis_url: str) -> None:
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, ESCRUTINIO_DEV="1", LOG_LEVEL="WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    import django

    django.setup()


def database_create(database_url: str) -> None:
    import MySQLdb

    parts = urlsplit(database_url)
    server = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
    )
    name = parts.path.lstrip("/")
    server.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    server.close()


# --- Votes as the field would send them -------------------------------------------


class VoteFactory:
    """Canonical votes over the whole catalogue: 40 sedes a municipio, partidos unevenly liked."""

    def __init__(self, seed: int) -> None:
        from election.catalogue.index import catalogue_index
        from election.models import Municipio

        self.random = random.Random(seed)
        index = catalogue_index()
        self.municipios = [
            (m.departamento_id, index.departamento_names[m.departamento_id], m.code, m.nombre)
            for m in Municipio.objects.all()
        ]
        self.papeletas = sorted(set(index.papeletas.values()))
        self.partidos = sorted(set(index.partidos.values()))
        self.partido_weights = [1 / (rank + 1) for rank in range(len(self.partidos))]

    def votes(self, n: int, stored_at: datetime, latency_ms: float) -> list[Any]:
        from election.votes.types import ValidatedVote

        pick = self.random.choice
        municipios = self.random.choices(self.municipios, k=n)
        partidos = self.random.choices(self.partidos, weights=self.partido_weights, k=n)
        return [
            ValidatedVote(
                vote_id=uuid.UUID(int=self.random.getrandbits(128), version=4),
                sede=str(self.random.randint(1, 40)),
                departamento_code=dep_code,
                departamento=dep,
                municipio_code=mun_code,
                municipio=mun,
                papeleta=pick(self.papeletas),
                partido=partido,
                received_at=stored_at - timedelta(milliseconds=self.random.expovariate(1 / latency_ms)),
            )
            for (dep_code, dep, mun_code, mun), partido in zip(municipios, partidos, strict=True)
        ]


# --- Loading ------------------------------------------------------------------------


def votes_stored() -> int:
    from django.db.models import Sum

    from election.models import RouteTally

    return int(RouteTally.objects.aggregate(total=Sum("votes"))["total"] or 0)


def load(target: int) -> dict[str, Any]:
    from django.db import connection, transaction

    from election.votes import tallies

    have = votes_stored()
    if have > target:
        print(f"database holds {have:,} votes, more than {target:,}: emptying it")
        with connection.cursor() as cursor:
            for table in ("vote", "areatally", "sedetally", "sedetotal", "routetally"):
                cursor.execute(f"TRUNCATE TABLE election_{table}")
        have = 0
    if have == target:
        print(f"database already holds {have:,} votes: reusing them")
        return {"reused": True, "seconds": 0.0}
    factory = VoteFactory(seed=have)
    start = time.perf_counter()
    insert = (
        "INSERT INTO election_vote (vote_id, sede, departamento_id, municipio_id, papeleta_id, partido_id,"
        " route, received_at, stored_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    stored_at = datetime.now(UTC) - timedelta(hours=6)
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
    while have < target:
        n = min(CHUNK, target - have)
        stored_at += timedelta(seconds=1)
        for route, latency_ms in (("grpc", 8.0), ("redis", 25.0)):
            votes = factory.votes(n // 2 if route == "grpc" else n - n // 2, stored_at, latency_ms)
            naive = stored_at.replace(tzinfo=None)  # Django stores UTC without a zone in MySQL
            rows = [
                (
                    v.vote_id.hex,
                    v.sede,
                    v.departamento_code,
                    v.municipio_code,
                    v.papeleta,
                    v.partido,
                    route,
                    v.received_at.replace(tzinfo=None),
                    naive,
                )
                for v in votes
            ]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(insert, rows)
                tallies.statements_run(
                    tallies.tallies_statements(votes=votes, route=route, stored_at=stored_at)
                )
        have += n
        if have % 100_000 < CHUNK:
            print(f"  {have:,} votes loaded ({time.perf_counter() - start:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION unique_checks = 1, foreign_key_checks = 1")
        cursor.execute(
            "ANALYZE TABLE election_vote, election_sedetally, election_sedetotal, election_areatally"
        )
    return {"reused": False, "seconds": round(time.perf_counter() - start, 1)}


# --- Writer: votes keep arriving through votes_record ---------------------------------


def writer(database_url: str, redis_url: str, rate: int, stop: Any, written: Any) -> None:
    django_setup(database_url, redis_url)
    from django.utils import timezone

    from election.votes.recording import votes_record
    from election.writer.live_feed import live_publish

    factory = VoteFactory(seed=int(time.time()))
    per_batch = max(1, round(rate * WRITE_EVERY_S))
    next_at = time.monotonic()
    while not stop.is_set():
        route = "grpc" if written.value % 2 == 0 else "redis"
        votes = factory.votes(per_batch, timezone.now(), 3.0)
        live_publish(results=votes_record(votes=votes, route=route), route=route)
        written.value += per_batch
        next_at += WRITE_EVERY_S
        time.sleep(max(0.0, next_at - time.monotonic()))


# --- Readers: wrk, one endpoint at a time ---------------------------------------------


def wrk_read(url: str, connections: int, seconds: float, headers: tuple[str, ...] = ()) -> dict[str, Any]:
    """Closed-loop readers (back to back, no think time) on one URL; wrk's percentiles."""
    threads = min(2, connections)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(WRK_SCRIPT)]
    argv += ["-H", "Accept: application/json"]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def read_phase(port: int, readers: int, seconds: float) -> dict[str, dict[str, Any]]:
    """Every endpoint in turn, each for `seconds` with `readers` connections."""
    return {
        name: wrk_read(f"http://127.0.0.1:{port}{path}", readers, seconds) for name, path in ENDPOINTS.items()
    }


def acta_endpoints_add(port: int) -> bool:
    """Add the actas' reads to ENDPOINTS when this API serves them; whether it does."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", ACTA_ENDPOINTS["progress"])
    served = connection.getresponse().status == 200
    if served:
        ENDPOINTS.update(ACTA_ENDPOINTS)
    return served


def api_command() -> str:
    """The Procfile's `api:` line: the API is measured as `make run` and the images start it."""
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("api:"))
    return line.split(":", 1)[1].strip()


def measure(args: argparse.Namespace, database_url: str, redis_url: str) -> dict[str, Any]:
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        LOG_LEVEL="WARNING",
        API_PORT=str(port),
        BIND_HOST="127.0.0.1",
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    command = api_command()
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    written = spawn.Value("q", 0)
    arriving = spawn.Process(target=writer, args=(database_url, redis_url, args.rate, stop, written))
    try:
        wait_until(lambda: _answers(port), 30, "gunicorn")
        actas_served = acta_endpoints_add(port)
        arriving.start()
        time.sleep(2)  # the writer is up
        read_phase(port, 4, 1)  # every worker has loaded its catalogue and answered each URL once
        # One reader first: each endpoint's own cost, without waiting behind other readers.
        alone = read_phase(port, 1, max(1.0, args.seconds / 5))
        first_written, started = written.value, time.monotonic()
        loaded = read_phase(port, args.readers, args.seconds)
        write_rate = (written.value - first_written) / (time.monotonic() - started)
    finally:
        stop.set()
        if arriving.pid is not None:
            arriving.join(timeout=10)
        server.terminate()
        server.wait(timeout=20)
    return {
        "api_command": command,
        "client": f"wrk -t2 -c{args.readers}, {args.seconds:.0f} s per endpoint, each endpoint in turn",
        "seconds_per_endpoint": args.seconds,
        "write_rate_per_s": round(write_rate, 1),
        "errors": sum(e["non_2xx"] + e["socket_errors"] for e in loaded.values()),
        "acta_endpoints_served": actas_served,
        "endpoints": {
            name: {
                "url": ENDPOINTS[name],
                **loaded[name],
                "requests_per_s": round(loaded[name]["requests"] / args.seconds),
                "p95_ms_one_reader": alone[name]["p95_ms"],
            }
            for name in ENDPOINTS
        },
    }


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50,000 votes and 2 s an endpoint")
    parser.add_argument("--votes", type=int, help="votes in the database (default 1,000,000)")
    parser.add_argument("--seconds", type=float, help="how long the readers read each endpoint (default 10)")
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--rate", type=int, default=500, help="votes per second arriving meanwhile")
    parser.add_argument(
        "--actas-mesas", type=int, help="mesas whose 5 actas are counted (all 24,427; quick 2,000)"
    )
    args = parser.parse_args()
    args.votes = args.votes or (50_000 if args.quick else 1_000_000)
    args.seconds = args.seconds or (2 if args.quick else 10)
    suffix = "_quick" if args.quick else ""
    database_url = os.environ.get(
        "RESULTS_BENCH_DATABASE_URL", f"mysql://root@127.0.0.1:3306/esc_bench_api{suffix}"
    )
    redis_url = os.environ.get("RESULTS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

    database_create(database_url)
    django_setup(database_url, redis_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"loading {args.votes:,} votes into {database_url}")
    loaded = load(args.votes)
    from bench.actas_seed import actas_load, mesas_ensure

    mesas = mesas_ensure()
    actas_mesas = args.actas_mesas or (2_000 if args.quick else mesas)
    print(f"loading the counted actas of {actas_mesas:,} mesas (5 papeletas each)")
    loaded["actas"] = actas_load(actas_mesas)
    print(
        f"measuring: {args.readers} readers, {args.seconds:.0f} s an endpoint, {args.rate} votes/s arriving"
    )
    from django.db import connection

    connection.close()  # the writer and gunicorn open their own
    figures = measure(args, database_url, redis_url)

    report = {
        "benchmark": "results_api",
        "quick": args.quick,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "votes_at_start": args.votes,
        "counted_actas_at_start": loaded["actas"]["actas"],
        "load": loaded,
        "readers": args.readers,
        "write_rate_target_per_s": args.rate,
        "goal_p95_ms": GOAL_P95_MS,
        **figures,
    }
    report["all_under_goal"] = all(
        e["p95_ms"] is not None and e["p95_ms"] < GOAL_P95_MS for e in figures["endpoints"].values()
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"results_api{suffix}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{'endpoint':<24}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'p95 alone':>11}")
    for name, e in figures["endpoints"].items():
        print(
            f"{name:<24}{e['requests']:>10}{e['p50_ms']!s:>10}{e['p95_ms']!s:>10}{e['p99_ms']!s:>10}"
            f"{e['p95_ms_one_reader']!s:>11}"
        )
    print(f"writes {figures['write_rate_per_s']}/s, errors {figures['errors']}, written to {out}")
    print("goal met: p95 under 20 ms for every endpoint" if report["all_under_goal"] else "goal NOT met")


if __name__ == "__main__":
    main()
