"""Fault injection: votes through both routes while parts of the system crash, then a reconciliation.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/faults.py [--votes N] [--quick]

Starts its own MariaDB and Redis (AOF, appendfsync always; scripts/devservices.py) on free
ports, migrates, and starts the gRPC server, the gateway, the publisher and a Celery worker
from their Procfile lines (scripts/system.py). Then, for each fault in turn, a distinct,
seeded set of votes goes through both routes (half to the publisher, half to the gRPC route:
through the gateway and straight to the gRPC server) from concurrent clients that behave as
field clients do: they retry 503, 429, UNAVAILABLE, RESOURCE_EXHAUSTED, connection errors and
timeouts with the same vote_id, with backoff, up to a deadline. While votes are in flight:

  worker-sigkill   SIGKILL the Celery worker (with its pool) and start a new one
  grpc-sigkill     SIGKILL the gRPC server and start it again on the same port
  redis-restart    SIGKILL Redis (broker and latest list) and start it on the same data
  mariadb-stop     SIGKILL MariaDB, keep it down 15 s, start it on the same data
  resend           send every vote a second time, through the other route

Afterwards it waits until every acknowledged vote is stored (bounded) and reconciles: every
vote answered 201/202 (or STORED/DUPLICATE) is stored exactly once with the content it was
acknowledged with, nothing unsent appeared, the latest-votes list has no vote twice, and the
tallies equal a recount of the vote table (election.reconciliation); at the very end the
operators' `python manage.py reconcile` must agree. It prints the table, writes
bench/results/faults.json (--quick: faults.quick.json) and the table in docs/reliability.md
(full runs only), and exits 1 on any loss, duplicate, difference or unacknowledged vote.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from ingest_grpc import contract  # noqa: E402
from ingest_grpc.protos.escrutinio.v1 import votes_pb2, votes_pb2_grpc  # noqa: E402
from scripts.devservices import MariaDBServer, RedisServer, free_port, wait_until  # noqa: E402
from scripts.machine import load_average, machine  # noqa: E402
from scripts.processes import ChildProcess, ProcessGroup  # noqa: E402
from scripts.system import System  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "reliability.md"
TABLE_START, TABLE_END = "<!-- faults table -->", "<!-- /faults table -->"
FAULTS = ("worker-sigkill", "grpc-sigkill", "redis-restart", "mariadb-stop", "resend")
SEED = 8000
# Half of the votes to each route; the gRPC route's half split between its HTTP gateway and
# gRPC itself, so both of its entry points see the faults.
ENTRY_POINTS = ("publisher", "gateway", "publisher", "grpc")
ROUTE_OF = {"publisher": "redis", "gateway": "grpc", "grpc": "grpc"}
QUEUE_KEY, UNACKED_KEY = "votes", "unacked"  # kombu's Redis transport: the queue and in-flight hash
MARIADB_DOWN_SECONDS = 15
REDIS_DOWN_SECONDS = 3
# Crash recovery in seconds (production: 300 s, swept every 10 s). Above the longest a live
# worker holds a message here, so a healthy batch is not delivered twice for nothing.
FAST_RESTORE = {
    "CELERY_VISIBILITY_TIMEOUT": "10",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}


# --- the clients ------------------------------------------------------------------


class Answer(NamedTuple):
    """One attempt's outcome: acknowledged (with the canonical vote), retry, or refused."""

    kind: str  # "ack" | "retry" | "refused"
    detail: str  # status or error, e.g. "503", "UNAVAILABLE", "timeout"
    vote: dict[str, str] | None = None


@dataclass
class Ledger:
    """What the clients were told, per vote_id; shared by the sending threads."""

    sent: set[str] = field(default_factory=set)
    sends: int = 0
    acknowledged: dict[str, dict[str, str]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # vote_id -> last answer, never acknowledged
    retries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, vote_id: str, answer: Answer, retries: Counter[str]) -> None:
        with self.lock:
            self.sent.add(vote_id)
            self.sends += 1
            self.retries.update(retries)
            if answer.kind == "ack" and answer.vote is not None:
                self.acknowledged[vote_id] = answer.vote
                self.refused.pop(vote_id, None)
            elif vote_id not in self.acknowledged:
                self.refused[vote_id] = answer.detail


class FieldClient:
    """Sends a vote the way a sede's client does: the same vote_id on every retry, with backoff."""

    def __init__(self, urls: dict[str, str], grpc_target: str, token: str, deadline: float) -> None:
        self.urls = urls
        self.token = token
        self.deadline = deadline
        self.timeout = 10.0
        # A client that reconnects within seconds once the server is back (default backoff: up to 120 s).
        self.channel = grpc.insecure_channel(
            grpc_target,
            options=[("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 2000)],
        )
        self.stub = votes_pb2_grpc.VoteServiceStub(self.channel)
        self.local = threading.local()

    def send(self, vote: dict[str, Any], via: str, ledger: Ledger) -> None:
        give_up = time.monotonic() + self.deadline
        retries: Counter[str] = Counter()
        attempt = 0
        while True:
            answer = self._grpc_once(vote) if via == "grpc" else self._http_once(via, vote)
            if answer.kind != "retry" or time.monotonic() > give_up:
                break
            retries[f"{via} {answer.detail}"] += 1
            attempt += 1
            time.sleep(min(2.0, 0.1 * 2**attempt) * random.uniform(0.5, 1.0))  # jitter
        ledger.record(vote["vote_id"], answer, retries)

    def _http_once(self, via: str, vote: dict[str, Any]) -> Answer:
        body = json.dumps(vote).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        for fresh in (False, True):
            reused = via in self.local.__dict__.get("connections", {})
            conn = self._connection(via)
            try:
                conn.request("POST", "/votes", body=body, headers=headers)
                response = conn.getresponse()
                status, payload = response.status, response.read()
                break
            except TimeoutError:
                self._drop_connection(via)
                return Answer("retry", "timeout")
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection(via)
                if reused and not fresh:
                    continue  # a keep-alive connection the server had closed when idle: reconnect now
                return Answer("retry", f"connection {type(exc).__name__}")
        if status in (201, 202):
            return Answer("ack", str(status), json.loads(payload)["vote"])
        if status in (429, 503):
            return Answer("retry", str(status))
        return Answer("refused", f"{status} {payload[:200]!r}")

    def _grpc_once(self, vote: dict[str, Any]) -> Answer:
        request = votes_pb2.CastVoteRequest(vote=votes_pb2.Vote(**{k: str(v) for k, v in vote.items()}))
        try:
            response = self.stub.CastVote(
                request, timeout=self.timeout, metadata=(("authorization", f"Bearer {self.token}"),)
            )
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            retryable = (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            )
            return Answer("retry" if code in retryable else "refused", code.name)
        return Answer(
            "ack", votes_pb2.CastStatus.Name(response.status), contract.canonical_vote(response.vote)
        )

    def _connection(self, via: str) -> http.client.HTTPConnection:
        connections = self.local.__dict__.setdefault("connections", {})
        if via not in connections:
            parts = urlsplit(self.urls[via])
            connections[via] = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=self.timeout
            )
        return connections[via]

    def _drop_connection(self, via: str) -> None:
        conn = self.local.__dict__.get("connections", {}).pop(via, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self.channel.close()


# --- the system under test --------------------------------------------------------


class Supervisor(threading.Thread):
    """Starts again a part that exits by itself, as Kubernetes and compose (`restart:
    unless-stopped`) do; every such restart is reported with the fault it happened under."""

    def __init__(self, system: System) -> None:
        super().__init__(name="supervisor", daemon=True)
        self.system = system
        self.lock = threading.Lock()  # held by deliberate restarts too
        self.events: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            with self.lock:
                for name, process in list(self.system.processes.items()):
                    code = process.popen.poll()
                    if code is not None and not self.stopping.is_set():
                        self.events.append(f"{name} exited by itself (code {code}) and was restarted")
                        self.system.restart(name)

    def restart(self, name: str, sig: int) -> None:
        with self.lock:
            self.system.restart(name, sig)

    def take_events(self) -> list[str]:
        with self.lock:
            events, self.events = self.events, []
            return events


@dataclass
class Rig:
    """The throwaway servers and the system's processes, and how to break each."""

    mariadb: MariaDBServer
    redis: RedisServer
    system: System
    processes: ProcessGroup
    supervisor: Supervisor
    stopped: list[ChildProcess] = field(default_factory=list)  # after stop(): whose logs to keep or delete

    def broker(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis.url, socket_timeout=2, socket_connect_timeout=2)

    def in_flight(self) -> int:
        """Messages on the queue or delivered and not yet acknowledged."""
        broker = self.broker()
        try:
            return int(broker.llen(QUEUE_KEY)) + int(broker.hlen(UNACKED_KEY))
        finally:
            broker.close()

    def stop(self) -> None:
        self.supervisor.stopping.set()
        with self.supervisor.lock:
            self.stopped = self.processes.stop_all()
        self.redis.stop()
        self.mariadb.stop()


def rig_start(workdir: Path, token: str) -> Rig:
    mariadb = MariaDBServer(workdir / "mariadb").start()
    redis_server = RedisServer(workdir / "redis").start()
    env = {
        **os.environ,
        "DATABASE_URL": mariadb.url,
        "REDIS_URL": redis_server.url,
        "ESCRUTINIO_DEV": "1",
        "LOG_FORMAT": "plain",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "INGEST_TOKEN": token,
        "DB_CONNECT_TIMEOUT": "2",
        "GRPC_METRICS_PORT": str(free_port()),
        "CELERY_METRICS_PORT": str(free_port()),
        **FAST_RESTORE,
    }
    database_create(mariadb.url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    processes = ProcessGroup()
    system = System(processes.start, env)
    rig = Rig(mariadb, redis_server, system, processes, Supervisor(system))
    try:
        system.start(parts=("grpc", "gateway", "publisher", "worker"))
    except Exception:
        rig_report(rig)
        rig.stop()
        raise
    rig.supervisor.start()
    return rig


def database_create(url: str) -> None:
    import MySQLdb

    parts = urlsplit(url)
    conn = MySQLdb.connect(host=parts.hostname, port=parts.port, user=parts.username or "root")
    name = parts.path.lstrip("/")
    conn.cursor().execute(
        f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    conn.close()


def rig_report(rig: Rig, tail: int = 4000) -> None:
    for process in rig.processes.started:
        sys.stderr.write(
            f"\n----- {process.name} output (last {tail} chars) -----\n{process.output()[-tail:]}\n"
        )


# --- the faults -------------------------------------------------------------------


def worker_sigkill(rig: Rig) -> str:
    # Kill it while it holds messages: reserved and running ones sit unacknowledged in Redis.
    broker = rig.broker()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not broker.hlen(UNACKED_KEY):
        time.sleep(0.005)
    with rig.supervisor.lock:
        worker = rig.system.processes["worker"]
        worker.signal(signal.SIGKILL)
        worker.popen.wait(timeout=30)
        stranded = int(broker.hlen(UNACKED_KEY))  # taken by the dead worker, not acknowledged
        rig.system.restart("worker")  # already dead: this starts the new one
    broker.close()
    return f"{stranded} messages stranded unacknowledged in the killed worker"


def grpc_sigkill(rig: Rig) -> str:
    started = time.monotonic()
    rig.supervisor.restart("grpc", signal.SIGKILL)
    return f"gRPC server back after {time.monotonic() - started:.1f} s"


def redis_restart(rig: Rig) -> str:
    in_flight = rig.in_flight()
    rig.redis.stop(signal.SIGKILL)
    time.sleep(REDIS_DOWN_SECONDS)
    rig.redis.start()
    return f"{in_flight} messages queued or in flight at the kill; down {REDIS_DOWN_SECONDS} s"


def mariadb_stop(rig: Rig) -> str:
    stopped = time.monotonic()
    rig.mariadb.stop(signal.SIGKILL)
    time.sleep(max(0.0, MARIADB_DOWN_SECONDS - (time.monotonic() - stopped)))
    rig.mariadb.start()
    return f"MariaDB down {time.monotonic() - stopped:.1f} s (killed, crash recovery on start)"


def resend(_: Rig) -> str:
    return "every vote sent twice, the second time through the other route"


INJECT: dict[str, Callable[[Rig], str]] = {
    "worker-sigkill": worker_sigkill,
    "grpc-sigkill": grpc_sigkill,
    "redis-restart": redis_restart,
    "mariadb-stop": mariadb_stop,
    "resend": resend,
}


def other_entry_point(via: str, index: int) -> str:
    if via == "publisher":
        return "gateway" if index % 4 == 0 else "grpc"
    return "publisher"


# --- one fault, end to end --------------------------------------------------------


@dataclass
class Row:
    fault: str
    sent: int
    sends: int
    acknowledged: int
    stored: int
    lost: int
    duplicated: int
    altered: int
    unexpected: int
    latest_duplicated: int
    tally_differences: int
    unacknowledged: int
    retries: int
    retries_by_kind: dict[str, int]
    evidence: str
    seconds: float
    drained: bool
    restarts: list[str]  # parts that exited by themselves and the supervisor started again
    examples: dict[str, list[str]]

    @property
    def whole(self) -> bool:
        return not (
            self.lost or self.duplicated or self.altered or self.unexpected or self.latest_duplicated
            or self.tally_differences or self.unacknowledged or self.acknowledged != self.sent
        )  # fmt: skip


def fault_run(
    index: int, fault: str, rig: Rig, client: FieldClient, args: argparse.Namespace, everything_sent: set[str]
) -> Row:
    from election.reconciliation import ledger_reconcile, tally_differences
    from election.simulation import VoteGenerator

    generator = VoteGenerator(seed=SEED + index)
    votes = [generator.vote() for _ in range(args.votes)]
    everything_sent.update(v["vote_id"] for v in votes)
    spacing = args.window / len(votes)
    plan = [(i * spacing, vote, ENTRY_POINTS[i % len(ENTRY_POINTS)]) for i, vote in enumerate(votes)]
    if fault == "resend":  # the second copy leaves 0 to 0.4 s after the first: some race head-on
        plan += [
            (at + (i % 5) * 0.1, vote, other_entry_point(via, i)) for i, (at, vote, via) in enumerate(plan)
        ]
    plan.sort(key=lambda item: item[0])

    ledger = Ledger()
    since = datetime.now(UTC) - timedelta(seconds=1)
    started = time.monotonic()

    def send_at(at: float, vote: dict[str, Any], via: str) -> None:
        time.sleep(max(0.0, started + at - time.monotonic()))
        client.send(vote, via, ledger)

    with ThreadPoolExecutor(args.clients, thread_name_prefix="client") as pool:
        futures = [pool.submit(send_at, at, vote, via) for at, vote, via in plan]
        time.sleep(args.window * 0.3)
        evidence = INJECT[fault](rig)
        for future in futures:
            future.result()

    from django.db import connection

    connection.close()  # MariaDB may have restarted under this process's connection
    wait_stored(list(ledger.acknowledged), args.drain_timeout)
    drained = wait_drained(rig, timeout=30)
    report = ledger_reconcile(acknowledged=ledger.acknowledged, sent=everything_sent, since=since)
    differences = tally_differences()
    restarts = rig.supervisor.take_events()
    if restarts:
        evidence += "; " + "; ".join(restarts)
    return Row(
        fault=fault,
        sent=len(ledger.sent),
        sends=ledger.sends,
        acknowledged=report.acknowledged,
        stored=report.stored,
        lost=len(report.lost),
        duplicated=len(report.duplicated),
        altered=len(report.altered),
        unexpected=len(report.unexpected),
        latest_duplicated=len(report.latest_duplicated),
        tally_differences=len(differences),
        unacknowledged=len(ledger.refused),
        retries=sum(ledger.retries.values()),
        retries_by_kind=dict(ledger.retries.most_common()),
        evidence=evidence,
        seconds=round(time.monotonic() - started, 1),
        drained=drained,
        restarts=restarts,
        examples={
            "lost": report.lost[:5],
            "duplicated": report.duplicated[:5],
            "altered": report.altered[:5],
            "unexpected": report.unexpected[:5],
            "unacknowledged": [f"{k}: {v}" for k, v in list(ledger.refused.items())[:5]],
            "tally_differences": [repr(d) for d in differences[:5]],
        },
    )


def wait_stored(vote_ids: list[str], timeout: float) -> int:
    """Block until every acknowledged vote is in the vote table, or the timeout."""
    from django.db import DatabaseError, connection

    from election.models import Vote

    deadline = time.monotonic() + timeout
    stored = 0
    while True:
        try:
            stored = sum(
                Vote.objects.filter(vote_id__in=vote_ids[i : i + 1000]).count()
                for i in range(0, len(vote_ids), 1000)
            )
        except DatabaseError:
            connection.close()
        if stored >= len(vote_ids) or time.monotonic() > deadline:
            return stored
        time.sleep(0.5)


def wait_drained(rig: Rig, timeout: float) -> bool:
    """Wait until the queue is empty and nothing is in flight, so no late delivery is missed."""
    try:
        wait_until(lambda: rig.in_flight() == 0, timeout, "the queue")
        return True
    except TimeoutError:
        return False


# --- output ----------------------------------------------------------------------

COLUMNS = (
    "fault",
    "votes sent",
    "acknowledged",
    "stored",
    "lost",
    "duplicated",
    "client retries",
    "evidence",
)


def table_markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append(
            f"| {r.fault} | {r.sent} | {r.acknowledged} | {r.stored} | {r.lost} | {r.duplicated} "
            f"| {r.retries} | {r.evidence} |"
        )
    return "\n".join(lines)


def table_print(rows: list[Row]) -> None:
    print(f"\n{'fault':<16}{'sent':>6}{'acked':>7}{'stored':>8}{'lost':>6}{'dup':>5}{'retries':>9}  evidence")
    for r in rows:
        print(
            f"{r.fault:<16}{r.sent:>6}{r.acknowledged:>7}{r.stored:>8}{r.lost:>6}{r.duplicated:>5}"
            f"{r.retries:>9}  {r.evidence}"
        )
    for r in rows:
        problems = {
            "altered": r.altered,
            "unexpected": r.unexpected,
            "listed twice": r.latest_duplicated,
            "tally rows off": r.tally_differences,
            "never acknowledged": r.unacknowledged,
        }
        bad = {k: v for k, v in problems.items() if v}
        if bad or not r.whole:
            print(f"  {r.fault}: {bad} examples: {r.examples}")
        print(
            f"  {r.fault}: retries {r.retries_by_kind or 'none'}; queue drained: {r.drained}; {r.seconds} s"
        )


def doc_update(rows: list[Row], meta: dict[str, Any]) -> None:
    if not DOC.exists():
        return
    text = DOC.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        return
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    caption = (
        f"_{meta['votes_per_fault']} votes per fault, {meta['clients']} concurrent clients, "
        f"{meta['when'][:10]}, `{meta['command']}`; from `bench/results/faults.json`._"
    )
    DOC.write_text(
        f"{head}{TABLE_START}\n{table_markdown(rows)}\n\n{caption}\n{TABLE_END}{tail}", encoding="utf-8"
    )


def operators_reconcile(rig: Rig) -> tuple[int, str]:
    """`python manage.py reconcile`, what an operator runs after an incident, must agree."""
    done = subprocess.run(
        [sys.executable, "manage.py", "reconcile"],
        cwd=ROOT,
        env=rig.system.env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


# --- main --------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--votes", type=int, help="votes per fault (default 300; --quick 60)")
    parser.add_argument(
        "--quick", action="store_true", help="60 votes per fault; results to faults.quick.json"
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--window", type=float, help="seconds over which a fault's votes are sent")
    parser.add_argument("--deadline", type=float, default=120, help="seconds a client keeps retrying a vote")
    parser.add_argument("--drain-timeout", type=float, default=180, help="seconds to wait for queued votes")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated subset of {FAULTS}")
    parser.add_argument("--results", type=Path, help="where to write the JSON")
    parser.add_argument(
        "--no-doc", action="store_true", help="do not rewrite the table in docs/reliability.md"
    )
    args = parser.parse_args(argv)
    args.votes = args.votes or (60 if args.quick else 300)
    args.window = args.window or (5.0 if args.quick else 8.0)
    args.results = args.results or RESULTS / ("faults.quick.json" if args.quick else "faults.json")
    args.faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {sorted(unknown)}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    token = os.environ.get("INGEST_TOKEN") or secrets.token_urlsafe(24)
    workdir = Path(tempfile.mkdtemp(prefix="escrutinio-faults-"))
    began = time.monotonic()
    print(f"starting MariaDB, Redis and the system under {workdir}", flush=True)
    rig = rig_start(workdir, token)
    os.environ.update(
        DATABASE_URL=rig.mariadb.url, REDIS_URL=rig.redis.url, ESCRUTINIO_DEV="1", CELERY_BROKER_URL=""
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    import django

    django.setup()
    system = rig.system
    client = FieldClient(
        {"gateway": system.url("gateway"), "publisher": system.url("publisher")},
        f"127.0.0.1:{system.ports['grpc']}",
        token,
        args.deadline,
    )
    rows: list[Row] = []
    everything_sent: set[str] = set()
    try:
        for index, fault in enumerate(args.faults):
            print(f"{fault}: {args.votes} votes over {args.window:.0f} s, {args.clients} clients", flush=True)
            rows.append(fault_run(index, fault, rig, client, args, everything_sent))
            print(f"  {rows[-1].evidence}; {'whole' if rows[-1].whole else 'NOT WHOLE'}", flush=True)
        reconcile_code, reconcile_output = operators_reconcile(rig)
    except Exception:
        rig_report(rig)
        raise
    finally:
        client.close()
        whole = bool(rows) and all(r.whole for r in rows)
        if rows and not whole:
            rig_report(rig)
        rig.stop()

    table_print(rows)
    print(f"\nmanage.py reconcile (exit {reconcile_code}): {reconcile_output}")
    whole = whole and reconcile_code == 0
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python bench/faults.py" + (" --quick" if args.quick else f" --votes {args.votes}"),
        "votes_per_fault": args.votes,
        "clients": args.clients,
        "window_seconds": args.window,
        "machine": {**machine(), "load_average": load_average()},
        "seconds": round(time.monotonic() - began, 1),
        "reconcile_command": {"exit": reconcile_code, "output": reconcile_output},
        "whole": whole,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps({**meta, "rows": [{**r.__dict__, "whole": r.whole} for r in rows]}, indent=2) + "\n"
    )
    if not args.quick and not args.no_doc and whole:
        doc_update(rows, meta)
    shutil.rmtree(workdir, ignore_errors=True)
    if whole:
        for process in rig.stopped:  # a whole run's logs tell nothing more
            process.log_path.unlink(missing_ok=True)
    print(f"\nRESULT: {'whole: no vote lost, none duplicated' if whole else 'LOSS, DUPLICATE OR DIFFERENCE'}")
    print(f"({meta['seconds']} s; results in {args.results})")
    return 0 if whole else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
