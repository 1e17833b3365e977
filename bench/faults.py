"""Fault injection under load: votes through both routes while parts of the system crash,
hang, slow down or are overrun, then a reconciliation.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/faults.py [--quick] [--faults a,b]

Starts its own MariaDB and Redis (AOF, appendfsync always; scripts/devservices.py) on free
ports, with a TCP proxy between every system process and MariaDB (scripts/fault_proxy.py:
it can stop forwarding or slow down), migrates, issues a token for every sede the vote
generator uses (election.admission.tokens.token_issue) and starts the gRPC server, the gateway, the
publisher and a Celery worker from their Procfile lines (scripts/system.py).

Then it measures each route's capacity in this rig: both routes saturated together for a few
seconds by the same clients (so each route's figure is what it does while the other is busy,
as during the faults), and, for each fault in turn, drives both routes at `--load` (0.6) of
that capacity, open loop (up to `--in-flight` tries under way per entry point), with a
distinct seeded set of votes: the Redis route through the publisher, the gRPC route half
through its HTTP gateway and half through gRPC itself. The
clients run in their own processes (asyncio, one per entry point) and behave as field
clients do: each sends its sede's own token (issued in the database, so the token checks
are exercised), and retries 503, 429, UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED,
a CANCELLED it did not cause, connection errors and timeouts with the same vote_id, with
backoff and jitter, waiting at least the Retry-After it was given, up to a deadline.
Faults (each starts `--lead` seconds into its load and lasts `--fault-seconds`, 20 s, where
it has a length):

  baseline                no fault: the load alone, for comparison
  worker-sigkill          SIGKILL the Celery worker (with its pool) and start a new one
  grpc-sigkill            SIGKILL the gRPC server and start it again on the same port
  redis-restart           SIGKILL Redis (broker and latest list) and start it on the same data
  mariadb-stop            SIGKILL MariaDB, keep it down, start it on the same data
  resend                  send every vote a second time, through the other route
  partition               MariaDB unreachable without a reset: the proxy stops forwarding
  slow-db                 every query to MariaDB 300 ms slower
  worker-restart-db-down  SIGKILL MariaDB; restart the Celery worker while it is down; MariaDB back
  catalogue-ambiguous     a PartidoAlias that makes a partido ambiguous, written by SQL past the
                          admin's check (as a script or migration could), left for the processes
                          to read (CATALOGUE_CACHE_SECONDS is 3 s here), then removed
  retry-unpublishable     SIGKILL MariaDB so the worker's batches retry, then pause Redis for
                          writes (CLIENT PAUSE WRITE) while those retries are due
  overload                three times the measured capacity on both routes

Afterwards it waits until every acknowledged vote is stored (bounded; votes parked in the dead
letters are requeued as an operator would, and counted) and reconciles: every vote answered
201/202 (or STORED/DUPLICATE) is stored exactly once with the content it was acknowledged
with, nothing unsent appeared, the latest-votes list has no vote twice, and the tallies equal
a recount of the vote table (election.results.reconciliation); at the very end the operators' `python
manage.py reconcile` must agree. For each fault it also reports, per route, the rate offered
and achieved, the rate acknowledged during the fault and the clients' p99 (first send to
acknowledgement, retries included). It prints the table, writes bench/results/faults.json
(--quick: faults.quick.json) and the table in docs/performance.md (full runs of every fault
only), and exits 1 on any loss, duplicate, difference or unacknowledged vote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.devservices import MariaDBServer, RedisServer, free_port, wait_until  # noqa: E402
from scripts.fault_proxy import FaultProxy  # noqa: E402
from scripts.machine import load_average, machine  # noqa: E402
from scripts.processes import ChildProcess, ProcessGroup  # noqa: E402
from scripts.system import System  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"  # every measured figure lives there (issue 24)
TABLE_START, TABLE_END = "<!-- faults table -->", "<!-- /faults table -->"
FAULTS = (
    "baseline",
    "worker-sigkill",
    "grpc-sigkill",
    "redis-restart",
    "mariadb-stop",
    "resend",
    "partition",
    "slow-db",
    "worker-restart-db-down",
    "catalogue-ambiguous",
    "retry-unpublishable",
    "overload",
)
SEED = 8000
ENTRY_POINTS = ("publisher", "gateway", "grpc")
ROUTES = ("redis", "grpc")
ROUTE_OF = {"publisher": "redis", "gateway": "grpc", "grpc": "grpc"}
QUEUE_KEY, UNACKED_KEY = "votes", "unacked"  # kombu's Redis transport: the queue and in-flight hash
DEAD_LETTER_KEY = "escrutinio:votes:dead"  # ingest_pubsub.dead_letters
REDIS_DOWN_SECONDS = 3
SLOW_QUERY_SECONDS = 0.3
OVERLOAD_FACTOR = 3.0
# The alias that makes the catalogue ambiguous: "UNE", the sigla of one partido, as an alias
# of another. Every process that rebuilds its catalogue meets "partido 'une' is ambiguous".
AMBIGUOUS_ALIAS, AMBIGUOUS_PARTIDO = "UNE", "VAMOS"
# Crash recovery in seconds (production: 300 s, swept every 10 s). Above the longest a live
# worker holds a message here, so a healthy batch is not delivered twice for nothing.
FAST_RESTORE = {
    "CELERY_VISIBILITY_TIMEOUT": "10",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}
# Caches the faults must reach within their 20 s: the processes re-read the catalogue every
# 3 s and the tokens every 5 s (production: 300 s and 30 s), as they would within a longer
# incident in production.
FAST_CACHES = {"CATALOGUE_CACHE_SECONDS": "3", "INGEST_TOKEN_CACHE_SECONDS": "5"}


# --- the clients: asyncio in processes of their own ----------------------------------


class Shot(NamedTuple):
    """One send: a vote, due `at` seconds after the load starts, through `via`, with its sede's token."""

    at: float
    vote: dict[str, Any]
    via: str
    token: str


class Sent(NamedTuple):
    """What one send came to, with its times (time.monotonic(): one clock for every process)."""

    vote_id: str
    via: str
    kind: str  # "ack" | "refused" (a retryable answer past the deadline counts as refused)
    detail: str  # the last answer: status or error, e.g. "202", "STORED", "503", "UNAVAILABLE"
    vote: dict[str, str] | None  # the canonical vote, when acknowledged
    due: float
    first_sent: float
    answered: float
    retries: tuple[tuple[str, int], ...]


class Answer(NamedTuple):
    kind: str  # "ack" | "retry" | "refused"
    detail: str  # status or code
    vote: dict[str, str] | None = None
    retry_after: float = 0.0
    message: str = ""  # what the server said, for the report


class LoadResult(NamedTuple):
    sent: list[Sent]
    skipped: int  # shots not started by stop_at
    samples: dict[str, str]  # the first message of each kind of retry or refusal


@dataclass(frozen=True)
class Targets:
    publisher: str  # http://host:port
    gateway: str
    grpc: str  # host:port


@dataclass(frozen=True)
class LoadJob:
    """One client process's part of a load: its shots, when to start, how to behave."""

    shots: list[Shot]
    targets: Targets
    start: float  # time.monotonic() at which `at` = 0
    stop_at: float | None  # shots not started by then are not sent (capacity bursts)
    in_flight: int  # votes this process has under way at most (each sede's client waits its turn)
    deadline: float  # seconds a client keeps retrying one vote
    timeout: float = 10.0  # one attempt


def load_job_run(job: LoadJob) -> LoadResult:
    """Run in a client process: send every shot, return what each came to and how many were skipped."""
    try:
        import uvloop

        return uvloop.run(_load(job))
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.run(_load(job))


class _Http:
    """A pool of raw HTTP/1.1 keep-alive connections to one entry point (light on the shared CPUs)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", int(parts.port or 80)
        self.timeout = timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, body: bytes, token: str) -> Answer:
        head = (
            f"POST /votes HTTP/1.1\r\nHost: faults\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        for reused in (bool(self.idle), False):
            try:
                conn = self.idle.pop() if reused else await self._connect()
            except TimeoutError:
                return Answer("retry", "timeout")
            except OSError as exc:
                return Answer("retry", f"connection {type(exc).__name__}")
            try:
                status, headers, payload = await asyncio.wait_for(
                    self._exchange(conn, head + body), self.timeout
                )
            except TimeoutError:
                conn[1].close()
                return Answer("retry", "timeout")
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                conn[1].close()
                if reused:
                    continue  # a keep-alive connection the server had closed when idle: reconnect now
                return Answer("retry", f"connection {type(exc).__name__}")
            if headers.get("connection") == "close":
                conn[1].close()
            else:
                self.idle.append(conn)
            return _http_answer(status, headers, payload)
        raise AssertionError("unreachable")

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)

    @staticmethod
    async def _exchange(
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        reader, writer = conn
        writer.write(request)
        status_line = await reader.readline()
        if not status_line:
            raise asyncio.IncompleteReadError(b"", None)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        payload = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, payload

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def _http_answer(status: int, headers: dict[str, str], payload: bytes) -> Answer:
    if status in (201, 202):
        return Answer("ack", str(status), json.loads(payload)["vote"])
    if status in (429, 503):
        after = headers.get("retry-after", "")
        retry_after = float(after) if after.isdigit() else 0.0
        return Answer(
            "retry", str(status), retry_after=retry_after, message=payload[:300].decode(errors="replace")
        )
    return Answer("refused", str(status), message=payload[:300].decode(errors="replace"))


class _Grpc:
    def __init__(self, target: str, timeout: float) -> None:
        import grpc

        from ingest_grpc.protos.escrutinio.v1 import votes_pb2_grpc

        self.timeout = timeout
        # A client that reconnects within seconds once the server is back (default backoff: up to 120 s).
        self.channel = grpc.aio.insecure_channel(
            target,
            options=[("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 2000)],
        )
        self.stub = votes_pb2_grpc.VoteServiceStub(self.channel)

    async def cast(self, vote: dict[str, Any], token: str) -> Answer:
        import grpc

        from ingest_grpc import contract
        from ingest_grpc.protos.escrutinio.v1 import votes_pb2

        fields: dict[str, Any] = {k: str(v) for k, v in vote.items()}
        request = votes_pb2.CastVoteRequest(vote=votes_pb2.Vote(**fields))
        try:
            response = await self.stub.CastVote(
                request, timeout=self.timeout, metadata=(("authorization", f"Bearer {token}"),)
            )
        except grpc.aio.AioRpcError as error:
            code = error.code()
            retryable = (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                # Not this client's doing (it cancels nothing): grpcio answers it to some of the
                # calls when a couple of thousand arrive together on one connection, before any
                # handler runs. Its outcome is unknown, as a timeout's: retry with the same vote_id.
                grpc.StatusCode.CANCELLED,
            )
            after = next((str(v) for k, v in (error.trailing_metadata() or ()) if k == "retry-after"), "")
            retry_after = float(after) if after.isdigit() else 0.0
            details = (error.details() or "")[:300]
            if code in retryable:
                return Answer("retry", code.name, retry_after=retry_after, message=details)
            return Answer("refused", code.name, message=details)
        status = votes_pb2.CastStatus.Name(response.status)
        return Answer("ack", status, contract.canonical_vote(response.vote))

    async def close(self) -> None:
        await self.channel.close()


async def _load(job: LoadJob) -> LoadResult:
    http = {via: _Http(getattr(job.targets, via), job.timeout) for via in ("publisher", "gateway")}
    rpc = _Grpc(job.targets.grpc, job.timeout) if any(s.via == "grpc" for s in job.shots) else None
    slots = asyncio.Semaphore(job.in_flight)
    loop = asyncio.get_running_loop()
    results: list[Sent] = []
    samples: dict[str, str] = {}  # the first message of each kind of retry or refusal
    first_sent: dict[tuple[str, str], float] = {}  # when a vote's first try got its slot
    skipped = 0

    async def attempt(shot: Shot, first: bool = False) -> Answer | None:
        """One try; a slot per try, so a vote waiting out its backoff holds no connection. None:
        the first try of a vote that got its slot after stop_at (a capacity burst is over)."""
        nonlocal skipped
        async with slots:
            if first:
                if job.stop_at is not None and time.monotonic() > job.stop_at:
                    skipped += 1
                    return None
                first_sent[shot.vote["vote_id"], shot.via] = time.monotonic()
            if shot.via == "grpc":
                assert rpc is not None
                return await rpc.cast(shot.vote, shot.token)
            return await http[shot.via].post(json.dumps(shot.vote).encode(), shot.token)

    async def send(shot: Shot) -> None:
        due = job.start + shot.at
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tried_at = time.monotonic()
        answer = await attempt(shot, first=True)
        if answer is None:
            return
        first = first_sent.pop((shot.vote["vote_id"], shot.via))
        give_up = first + job.deadline
        retries: Counter[str] = Counter()
        tries = 0
        while answer.kind == "retry" and time.monotonic() <= give_up:
            kind = f"{shot.via} {answer.detail}"
            retries[kind] += 1
            samples.setdefault(kind, answer.message)
            tries += 1
            backoff = min(2.0, 0.1 * 2**tries) * random.uniform(0.5, 1.0)  # jitter
            await asyncio.sleep(max(backoff, answer.retry_after))
            tried_at = time.monotonic()
            answer = await attempt(shot) or answer
        if answer.kind != "ack":  # how long the last attempt took tells a deadline's race from a refusal
            note = f"{answer.message} (after {time.monotonic() - tried_at:.1f} s)"
            samples.setdefault(f"{shot.via} {answer.detail}", note)
        results.append(
            Sent(
                shot.vote["vote_id"], shot.via, "ack" if answer.kind == "ack" else "refused",
                answer.detail, answer.vote, due, first, time.monotonic(), tuple(retries.items()),
            )
        )  # fmt: skip

    # One task per shot, created as it comes due: a long load holds only the ones under way.
    pending: set[asyncio.Task[None]] = set()
    for shot in sorted(job.shots, key=lambda s: s.at):
        wait = job.start + shot.at - 0.05 - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        task = asyncio.ensure_future(send(shot))
        pending.add(task)
        task.add_done_callback(pending.discard)
    while pending:
        await asyncio.gather(*list(pending))
    for pool in http.values():
        pool.close()
    if rpc is not None:
        await rpc.close()
    return LoadResult(results, skipped, samples)


class Load:
    """Client processes, one per entry point, that live through the whole run."""

    def __init__(self, targets: Targets, args: argparse.Namespace) -> None:
        self.targets = targets
        self.args = args
        self.pool = ProcessPoolExecutor(len(ENTRY_POINTS), mp_context=multiprocessing.get_context("spawn"))
        # Start the processes now (spawn imports grpc once), not during the first measurement.
        for future in [self.pool.submit(time.sleep, 0.5) for _ in ENTRY_POINTS]:
            future.result()

    def start(self, shots: list[Shot], *, delay: float = 1.0, stop_after: float | None = None,
              in_flight: int | None = None) -> tuple[float, list[Future[LoadResult]]]:  # fmt: skip
        """Hand each entry point's shots to a process; returns the start time and the futures."""
        start = time.monotonic() + delay
        by_via: dict[str, list[Shot]] = defaultdict(list)
        for shot in shots:
            by_via[shot.via].append(shot)
        futures = [
            self.pool.submit(
                load_job_run,
                LoadJob(
                    shots=part,
                    targets=self.targets,
                    start=start,
                    stop_at=None if stop_after is None else start + stop_after,
                    in_flight=in_flight or self.args.in_flight,
                    deadline=self.args.deadline,
                ),
            )
            for part in by_via.values()
        ]
        return start, futures

    @staticmethod
    def results(futures: list[Future[LoadResult]]) -> LoadResult:
        merged = LoadResult([], 0, {})
        for future in futures:
            part = future.result()
            merged.sent.extend(part.sent)
            merged.samples.update(part.samples)
            merged = merged._replace(skipped=merged.skipped + part.skipped)
        return merged

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


# --- votes, their tokens and their schedule ------------------------------------------


class Sedes:
    """A token for every sede the vote generator can draw, issued in the database as an
    operator would (`manage.py ingest_tokens issue`), so that every vote carries its own
    sede's credential and the token checks run as in the field."""

    def __init__(self) -> None:
        self.tokens: dict[tuple[str, str, str], str] = {}

    def issue(self) -> int:
        import logging

        from django.db import transaction

        from bench.simulation import VoteGenerator
        from election.admission.tokens import token_issue
        from election.catalogue.index import name_key

        access_logger = logging.getLogger("election.admission.tokens")
        level = access_logger.level
        access_logger.setLevel(logging.WARNING)  # not one "token issued" line per sede
        try:
            with transaction.atomic():
                for m in VoteGenerator().municipios:
                    for sede in range(1, m.sedes + 1):
                        token, _ = token_issue(
                            departamento=m.departamento, municipio=m.nombre, sede=sede, label="faults"
                        )
                        self.tokens[(name_key(m.departamento), name_key(m.nombre), str(sede))] = token
        finally:
            access_logger.setLevel(level)
        return len(self.tokens)

    def token_for(self, vote: dict[str, Any]) -> str:
        from election.catalogue.index import name_key

        return self.tokens[(name_key(vote["departamento"]), name_key(vote["municipio"]), str(vote["sede"]))]


def schedule(
    generator: Any, sedes: Sedes, rates: Callable[[float], dict[str, float]], seconds: float
) -> list[Shot]:
    """Votes due evenly at each route's rate (rates(t): votes/s per route at time t), the gRPC
    route's alternately through the gateway and gRPC itself."""
    shots: list[Shot] = []
    for route in ROUTES:
        at, n = 0.0, 0
        while at < seconds:
            rate = rates(at)[route]
            vote = generator.vote()
            via = "publisher" if route == "redis" else ("gateway", "grpc")[n % 2]
            shots.append(Shot(at, vote, via, sedes.token_for(vote)))
            at += 1.0 / rate
            n += 1
    return shots


def resend_shots(shots: list[Shot]) -> list[Shot]:
    """Every vote a second time, through the other route, 0 to 0.4 s after the first: some race head-on."""
    other = {"publisher": ("gateway", "grpc"), "gateway": ("publisher",), "grpc": ("publisher",)}
    again = [
        Shot(s.at + (i % 5) * 0.1, s.vote, other[s.via][i % len(other[s.via])], s.token)
        for i, s in enumerate(shots)
    ]
    return shots + again


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
                        self.system.restart(name, wait_ready=False)

    def restart(self, name: str, sig: int) -> None:
        with self.lock:
            self.system.restart(name, sig)

    def take_events(self) -> list[str]:
        with self.lock:
            events, self.events = self.events, []
            return events


@dataclass
class Rig:
    """The throwaway servers, the proxy in front of MariaDB, the system's processes, and how to break each."""

    mariadb: MariaDBServer
    db_proxy: FaultProxy
    redis: RedisServer
    system: System
    processes: ProcessGroup
    supervisor: Supervisor
    stopped: list[ChildProcess] = field(default_factory=list)  # after stop(): whose logs to keep or delete

    def broker(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis.url, socket_timeout=5, socket_connect_timeout=2)

    def in_flight(self) -> int:
        """Messages on the queue or delivered and not yet acknowledged."""
        broker = self.broker()
        try:
            return int(broker.llen(QUEUE_KEY)) + int(broker.hlen(UNACKED_KEY))
        finally:
            broker.close()

    def log_marks(self) -> dict[ChildProcess, int]:
        """How far each process's log has come: log_since() reads what they wrote after."""
        return {p: p.log_path.stat().st_size for p in self.processes.started if p.log_path.exists()}

    def log_since(self, marks: dict[ChildProcess, int]) -> dict[str, str]:
        """Each process's output after `marks` (processes started since: all of it), by name."""
        out = {}
        for process in self.processes.started:
            with open(process.log_path, "rb") as log:
                log.seek(marks.get(process, 0))
                out[process.name] = log.read().decode(errors="replace")
        return out

    def stop(self) -> None:
        self.supervisor.stopping.set()
        with self.supervisor.lock:
            self.stopped = self.processes.stop_all()
        self.db_proxy.stop()
        self.redis.stop()
        self.mariadb.stop()


def rig_start(workdir: Path, token: str) -> Rig:
    mariadb = MariaDBServer(workdir / "mariadb").start()
    db_proxy = FaultProxy(("127.0.0.1", mariadb.port)).start()
    redis_server = RedisServer(workdir / "redis").start()
    env = {
        **os.environ,
        # Every system process reaches MariaDB through the proxy, which can partition or slow it.
        "DATABASE_URL": f"mysql://root@{db_proxy.address}/escrutinio",
        "REDIS_URL": redis_server.url,
        "ESCRUTINIO_DEV": "1",
        "LOG_FORMAT": "json",  # the error of each warning is in its extra fields
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "INGEST_TOKEN": token,
        "GRPC_METRICS_PORT": str(free_port()),
        "CELERY_METRICS_PORT": str(free_port()),
        **FAST_RESTORE,
        **FAST_CACHES,
    }
    database_create(mariadb.url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": mariadb.url},
        check=True,
    )
    processes = ProcessGroup()
    system = System(processes.start, env)
    rig = Rig(mariadb, db_proxy, redis_server, system, processes, Supervisor(system))
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
# Each is called `lead` seconds into its load and returns once the fault is over (the server
# back, the partition healed): that span is the fault's window in the table. Its text is the
# row's evidence; its numbers go to the row's `fault_stats`.


@dataclass
class Injected:
    evidence: str
    stats: dict[str, Any] = field(default_factory=dict)


def no_fault(_: Rig, seconds: float) -> Injected:
    time.sleep(seconds)
    return Injected("no fault: the load alone")


def worker_sigkill(rig: Rig, _: float) -> Injected:
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
    return Injected(
        f"{stranded} messages stranded unacknowledged in the killed worker", {"stranded": stranded}
    )


def grpc_sigkill(rig: Rig, _: float) -> Injected:
    started = time.monotonic()
    rig.supervisor.restart("grpc", signal.SIGKILL)
    return Injected(f"gRPC server back after {time.monotonic() - started:.1f} s")


def redis_restart(rig: Rig, _: float) -> Injected:
    in_flight = rig.in_flight()
    rig.redis.stop(signal.SIGKILL)
    time.sleep(REDIS_DOWN_SECONDS)
    rig.redis.start()
    return Injected(
        f"{in_flight} messages queued or in flight at the kill; down {REDIS_DOWN_SECONDS} s",
        {"in_flight_at_kill": in_flight},
    )


def mariadb_stop(rig: Rig, seconds: float) -> Injected:
    stopped = time.monotonic()
    rig.mariadb.stop(signal.SIGKILL)
    time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
    rig.mariadb.start()
    return Injected(f"MariaDB down {time.monotonic() - stopped:.1f} s (killed, crash recovery on start)")


def resend(_: Rig, seconds: float) -> Injected:
    time.sleep(seconds)
    return Injected("every vote sent twice, the second time through the other route")


def partition(rig: Rig, seconds: float) -> Injected:
    before = rig.db_proxy.connections
    rig.db_proxy.partition()
    time.sleep(seconds)
    rig.db_proxy.heal()
    tried = rig.db_proxy.connections - before
    return Injected(
        f"MariaDB unreachable without a reset for {seconds:.0f} s (open connections froze; "
        f"{tried} new connections got no greeting)",
        {"connections_during_partition": tried},
    )


def slow_db(rig: Rig, seconds: float) -> Injected:
    before = rig.db_proxy.delayed
    rig.db_proxy.slow(SLOW_QUERY_SECONDS)
    time.sleep(seconds)
    rig.db_proxy.heal()
    delayed = rig.db_proxy.delayed - before
    return Injected(
        f"every query {SLOW_QUERY_SECONDS * 1000:.0f} ms slower for {seconds:.0f} s "
        f"({delayed} requests delayed)",
        {"requests_delayed": delayed},
    )


def worker_restart_db_down(rig: Rig, seconds: float) -> Injected:
    marks = rig.log_marks()
    stopped = time.monotonic()
    rig.mariadb.stop(signal.SIGKILL)
    time.sleep(min(3.0, seconds / 4))  # the worker's batches fail and wait for their retries
    with rig.supervisor.lock:
        # A rolling restart: SIGTERM (warm shutdown), and the new worker starts while MariaDB is down.
        rig.system.restart("worker", signal.SIGTERM, wait_ready=False)
    time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
    rig.mariadb.start()
    down = time.monotonic() - stopped
    with rig.supervisor.lock:
        worker = rig.system.processes["worker"]
    ready = True
    try:
        worker.wait_for_output(" ready.", timeout=60)
    except (TimeoutError, RuntimeError):
        ready = False  # the supervisor restarts it if it exited; the drain shows the rest
    logs = rig.log_since(marks)
    started_down = [name for name in logs if name.startswith("worker-")]
    return Injected(
        f"MariaDB killed, down {down:.1f} s; the worker restarted (SIGTERM) 3 s in, while it was down"
        + ("" if ready else "; the new worker was not ready 60 s after MariaDB came back"),
        {"workers_started_while_down": started_down, "worker_ready": ready},
    )


def catalogue_ambiguous(rig: Rig, seconds: float) -> Injected:
    from django.db import connection

    marks = rig.log_marks()
    with connection.cursor() as cursor:  # the bench's own connection: straight to MariaDB
        cursor.execute(
            "INSERT INTO election_partidoalias (alias, partido_id) VALUES (%s, %s)",
            [AMBIGUOUS_ALIAS, AMBIGUOUS_PARTIDO],
        )
    time.sleep(seconds)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM election_partidoalias WHERE alias = %s", [AMBIGUOUS_ALIAS])
    # Until every process has read the repaired catalogue (CATALOGUE_CACHE_SECONDS, 3 s here).
    time.sleep(int(FAST_CACHES["CATALOGUE_CACHE_SECONDS"]) + 1)
    logs = rig.log_since(marks)
    noticed = sorted(name for name, text in logs.items() if "ambiguous" in text)
    return Injected(
        f"alias {AMBIGUOUS_ALIAS!r} of {AMBIGUOUS_PARTIDO} written by SQL for {seconds:.0f} s, then removed; "
        f"processes that logged the ambiguity: {', '.join(noticed) or 'none'}",
        {"processes_noticed": noticed},
    )


def retry_unpublishable(rig: Rig, seconds: float) -> Injected:
    marks = rig.log_marks()
    stopped = time.monotonic()
    rig.mariadb.stop(signal.SIGKILL)  # refused at once: the worker's batches fail and retry
    time.sleep(2.0)  # retries scheduled, with more falling due every second or two
    # Longer than a publish can wait (two tries of the broker's 5 s socket timeout), so a
    # retry due meanwhile cannot be published, not merely late; it ends before MariaDB is back.
    pause = seconds - 3.0
    broker = rig.broker()
    broker.execute_command("CLIENT", "PAUSE", int(pause * 1000), "WRITE")
    broker.close()
    time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
    rig.mariadb.start()
    worker_log = "".join(text for name, text in rig.log_since(marks).items() if name.startswith("worker"))
    retries = worker_log.count("retrying batch")
    return Injected(
        f"MariaDB killed for {time.monotonic() - stopped:.0f} s; Redis paused for writes {pause:.0f} s "
        f"from 2 s in; the worker logged {retries} batch retries",
        {"redis_paused_seconds": round(pause, 1), "worker_retries_logged": retries},
    )


def overload(_: Rig, seconds: float) -> Injected:
    time.sleep(seconds)  # the load itself is the fault: three times the capacity meanwhile
    return Injected(f"{OVERLOAD_FACTOR:.0f}x the measured capacity for {seconds:.0f} s")


INJECT: dict[str, Callable[[Rig, float], Injected]] = {
    "baseline": no_fault,
    "worker-sigkill": worker_sigkill,
    "grpc-sigkill": grpc_sigkill,
    "redis-restart": redis_restart,
    "mariadb-stop": mariadb_stop,
    "resend": resend,
    "partition": partition,
    "slow-db": slow_db,
    "worker-restart-db-down": worker_restart_db_down,
    "catalogue-ambiguous": catalogue_ambiguous,
    "retry-unpublishable": retry_unpublishable,
    "overload": overload,
}
# How long each fault lasts, as a share of --fault-seconds (the crashes last what they last).
FAULT_SHARE = {
    "baseline": 1.0,
    "worker-sigkill": 0.25,
    "grpc-sigkill": 0.25,
    "redis-restart": 0.25,
    "mariadb-stop": 0.75,
    "resend": 0.5,
}
FAULT_MIN_SECONDS = {"retry-unpublishable": 15.0}  # Redis paused 12 s at least: see retry_unpublishable


# --- capacity ---------------------------------------------------------------------


def capacity_measure(
    load: Load, sedes: Sedes, args: argparse.Namespace, everything_sent: set[str]
) -> dict[str, Any]:
    """Both routes saturated together (closed loop, `--capacity-clients` votes under way per
    entry point) for `--capacity-seconds` after a one-second warm-up: what each route
    acknowledges per second while the other is busy too."""
    from bench.simulation import VoteGenerator

    warmup, seconds = 1.0, args.capacity_seconds
    generator = VoteGenerator(seed=SEED - 1)
    ceiling = 6000  # votes/s no route reaches here; shots beyond what is sent are skipped
    shots: list[Shot] = []
    for route in ROUTES:
        for n in range(int(ceiling * (warmup + seconds))):
            vote = generator.vote()
            via = "publisher" if route == "redis" else ("gateway", "grpc")[n % 2]
            shots.append(Shot(0.0, vote, via, sedes.token_for(vote)))
    start, futures = load.start(shots, stop_after=warmup + seconds, in_flight=args.capacity_clients)
    sent = load.results(futures).sent
    everything_sent.update(s.vote_id for s in sent)
    figures: dict[str, Any] = {"seconds": seconds, "clients_per_entry_point": args.capacity_clients}
    for route in ROUTES:
        mine = [s for s in sent if ROUTE_OF[s.via] == route]
        acked = [
            s for s in mine if s.kind == "ack" and start + warmup <= s.answered <= start + warmup + seconds
        ]
        figures[route] = {
            "votes_per_second": round(len(acked) / seconds),
            "p99_ms": percentile_ms([s.answered - s.first_sent for s in acked], 99),
            "answers": dict(Counter(s.detail.split(" ")[0] for s in mine)),
        }
    return figures


def percentile_ms(values: list[float], pct: int) -> float | None:
    if len(values) < 2:
        return round(values[0] * 1000, 1) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[pct - 1] * 1000, 1)


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
    parked: int  # acknowledged votes found in the dead letters, requeued by the operator step
    retries: int
    retries_by_kind: dict[str, int]
    refusals_by_kind: dict[str, int]
    messages: dict[str, str]  # the first message the clients got of each kind of retry or refusal
    during_fault: dict[str, Any]  # per route: offered, achieved, accepted votes/s and p99 in the window
    window_seconds: float
    started_at: str  # UTC, to find the fault in the processes' logs
    evidence: str
    fault_stats: dict[str, Any]
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
    index: int,
    fault: str,
    rig: Rig,
    load: Load,
    sedes: Sedes,
    capacity: dict[str, float],
    args: argparse.Namespace,
    everything_sent: set[str],
) -> Row:
    from bench.simulation import VoteGenerator
    from election.results.reconciliation import ledger_reconcile, tally_differences

    fault_seconds = max(args.fault_seconds * FAULT_SHARE.get(fault, 1.0), FAULT_MIN_SECONDS.get(fault, 0.0))
    total = args.lead + fault_seconds + args.tail
    base = {route: args.load * capacity[route] for route in ROUTES}
    if fault == "resend":
        base = {route: rate / 2 for route, rate in base.items()}  # the copies make up the other half
    high = {route: OVERLOAD_FACTOR * capacity[route] for route in ROUTES}

    def rates(at: float) -> dict[str, float]:
        overloaded = fault == "overload" and args.lead <= at < args.lead + fault_seconds
        return high if overloaded else base

    shots = schedule(VoteGenerator(seed=SEED + index), sedes, rates, total)
    if fault == "resend":
        shots = resend_shots(shots)
    since = datetime.now(UTC) - timedelta(seconds=1)
    start, futures = load.start(shots)
    time.sleep(max(0.0, start + args.lead - time.monotonic()))
    window_start = time.monotonic()
    injected = INJECT[fault](rig, fault_seconds)
    window_end = time.monotonic()
    result = load.results(futures)
    sent = result.sent

    from django.db import connection

    connection.close()  # MariaDB may have restarted under this process's connection
    ledger = ledger_of(sent)
    everything_sent.update(ledger["sent"])
    wait_stored(list(ledger["acknowledged"]), args.drain_timeout)
    drained = wait_drained(rig, timeout=30)
    parked = dead_letters_requeue(rig, set(ledger["acknowledged"]))
    if parked:
        wait_stored(list(ledger["acknowledged"]), args.drain_timeout)
        drained = wait_drained(rig, timeout=30)
    report = ledger_reconcile(acknowledged=ledger["acknowledged"], sent=everything_sent, since=since)
    differences = tally_differences()
    restarts = rig.supervisor.take_events()
    evidence = injected.evidence + "".join(f"; {event}" for event in restarts)
    if parked:
        evidence += f"; {parked} acknowledged votes parked in the dead letters, requeued"
    retries: Counter[str] = Counter()
    for s in sent:
        retries.update(dict(s.retries))
    refused = ledger["refused"]
    return Row(
        fault=fault,
        sent=len(ledger["sent"]),
        sends=len(sent),
        acknowledged=report.acknowledged,
        stored=report.stored,
        lost=len(report.lost),
        duplicated=len(report.duplicated),
        altered=len(report.altered),
        unexpected=len(report.unexpected),
        latest_duplicated=len(report.latest_duplicated),
        tally_differences=len(differences),
        unacknowledged=len(refused),
        parked=parked,
        retries=sum(retries.values()),
        retries_by_kind=dict(retries.most_common()),
        refusals_by_kind=dict(Counter(f"{s.via} {s.detail}" for s in sent if s.kind != "ack").most_common()),
        messages=result.samples,
        during_fault=window_figures(shots, sent, start, window_start, window_end),
        window_seconds=round(window_end - window_start, 1),
        started_at=(since + timedelta(seconds=1)).isoformat(timespec="seconds"),
        evidence=evidence,
        fault_stats=injected.stats,
        seconds=round(time.monotonic() - start, 1),
        drained=drained,
        restarts=restarts,
        examples={
            "lost": report.lost[:5],
            "duplicated": report.duplicated[:5],
            "altered": report.altered[:5],
            "unexpected": report.unexpected[:5],
            "unacknowledged": [f"{k}: {v}" for k, v in list(refused.items())[:5]],
            "tally_differences": [repr(d) for d in differences[:5]],
        },
    )


def ledger_of(sent: Iterable[Sent]) -> dict[str, Any]:
    """Per vote_id, what the clients were told: acknowledged (with the vote) by any send, or
    refused (the last answer) by every send of it."""
    acknowledged: dict[str, dict[str, str]] = {}
    refused: dict[str, str] = {}
    ids: set[str] = set()
    for s in sent:
        ids.add(s.vote_id)
        if s.kind == "ack" and s.vote is not None:
            acknowledged[s.vote_id] = s.vote
            refused.pop(s.vote_id, None)
        elif s.vote_id not in acknowledged:
            refused[s.vote_id] = f"{s.via} {s.detail}"
    return {"sent": ids, "acknowledged": acknowledged, "refused": refused}


def window_figures(
    shots: list[Shot], sent: list[Sent], start: float, window_start: float, window_end: float
) -> dict[str, Any]:
    """Per route, during the fault: votes/s offered (due) and achieved (first sends), votes/s
    acknowledged, and the p99 from first send to acknowledgement of the votes first sent then."""
    seconds = max(window_end - window_start, 1e-3)
    figures: dict[str, Any] = {}
    for route in ROUTES:
        due = sum(1 for s in shots if ROUTE_OF[s.via] == route and window_start <= start + s.at < window_end)
        mine = [s for s in sent if ROUTE_OF[s.via] == route]
        first = [s for s in mine if window_start <= s.first_sent < window_end]
        acked = [s for s in mine if s.kind == "ack" and window_start <= s.answered < window_end]
        figures[route] = {
            "offered_per_s": round(due / seconds),
            "sent_per_s": round(len(first) / seconds),
            "accepted_per_s": round(len(acked) / seconds),
            "p99_ms": percentile_ms([s.answered - s.first_sent for s in first if s.kind == "ack"], 99),
        }
    return figures


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


def dead_letters_requeue(rig: Rig, acknowledged: set[str]) -> int:
    """The operator's step after an incident (`python -m ingest_pubsub.dead_letters requeue`):
    returns how many acknowledged votes had been parked."""
    broker = rig.broker()
    try:
        entries = [json.loads(raw) for raw in broker.lrange(DEAD_LETTER_KEY, 0, -1)]
    finally:
        broker.close()
    if not entries:
        return 0
    parked = sum(1 for e in entries if str((e.get("vote") or {}).get("vote_id")) in acknowledged)
    subprocess.run(
        [sys.executable, "-m", "ingest_pubsub.dead_letters", "requeue"],
        cwd=ROOT,
        env=rig.system.env,
        check=False,
        capture_output=True,
    )
    return parked


# --- output ----------------------------------------------------------------------

COLUMNS = (
    "fault",
    "votes sent",
    "acknowledged",
    "stored",
    "lost",
    "duplicated",
    "client retries",
    "accepted votes/s during the fault (Redis · gRPC)",
    "p99 during the fault, ms (Redis · gRPC)",
    "evidence",
)


def _pair(row: Row, key: str) -> str:
    values = [row.during_fault[route][key] for route in ROUTES]
    return " · ".join("-" if v is None else f"{v:,.0f}" for v in values)


def table_markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append(
            f"| {r.fault} | {r.sent} | {r.acknowledged} | {r.stored} | {r.lost} | {r.duplicated} "
            f"| {r.retries} | {_pair(r, 'accepted_per_s')} | {_pair(r, 'p99_ms')} | {r.evidence} |"
        )
    return "\n".join(lines)


def table_print(rows: list[Row]) -> None:
    print(
        f"\n{'fault':<23}{'sent':>7}{'acked':>7}{'stored':>7}{'lost':>5}{'dup':>4}{'retries':>8}"
        f"{'accepted/s R·G':>16}{'p99 ms R·G':>17}  evidence"
    )
    for r in rows:
        print(
            f"{r.fault:<23}{r.sent:>7}{r.acknowledged:>7}{r.stored:>7}{r.lost:>5}{r.duplicated:>4}"
            f"{r.retries:>8}{_pair(r, 'accepted_per_s'):>16}{_pair(r, 'p99_ms'):>17}  {r.evidence}"
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
            print(f"  {r.fault}: {bad} refusals: {r.refusals_by_kind} examples: {r.examples}")
            print(f"  {r.fault}: what the clients were told: {r.messages}")
        offered = ", ".join(
            f"{route} offered {f['offered_per_s']}/s sent {f['sent_per_s']}/s"
            for route, f in r.during_fault.items()
        )
        print(
            f"  {r.fault}: during the fault ({r.window_seconds} s) {offered}; retries "
            f"{r.retries_by_kind or 'none'}; queue drained: {r.drained}; {r.seconds} s"
        )


def doc_update(rows: list[Row], meta: dict[str, Any]) -> None:
    if not DOC.exists():
        return
    text = DOC.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        return
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    cap = meta["capacity"]
    caption = (
        f"_Capacity measured in the rig with both routes saturated together: Redis route "
        f"{cap['redis']['votes_per_second']:,} votes/s, "
        f"gRPC route {cap['grpc']['votes_per_second']:,} votes/s; "
        f"each fault under {meta['load']:.0%} of it on both routes (overload: "
        f"{OVERLOAD_FACTOR:.0f}x), faults of {meta['fault_seconds']:.0f} s; {meta['machine']['nproc']} cores "
        f"shared by the clients, the system and MariaDB, so the figures are noisy. "
        f"{meta['when'][:10]}, `{meta['command']}`; from `bench/results/faults.json`._"
    )
    DOC.write_text(
        f"{head}{TABLE_START}\n{table_markdown(rows)}\n\n{caption}\n{TABLE_END}{tail}", encoding="utf-8"
    )


def code_version() -> str:
    """The commit the system ran, and whether files differed from it (other work in the tree)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    )
    files = [line[3:] for line in changed.stdout.splitlines()]
    return head.stdout.strip() + (f" with {len(files)} files changed: {', '.join(files)}" if files else "")


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
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="faults of 6 s, leads of 2 s; results to faults.quick.json"
    )
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated subset of {FAULTS}")
    parser.add_argument(
        "--load", type=float, default=0.6, help="share of each route's capacity offered (0.6)"
    )
    parser.add_argument(
        "--capacity", type=float, help="take this as each route's capacity (votes/s) instead of measuring it"
    )
    parser.add_argument("--capacity-seconds", type=float, help="length of the capacity burst (5; --quick 3)")
    parser.add_argument(
        "--capacity-clients", type=int, default=64, help="votes under way per entry point then"
    )
    parser.add_argument("--fault-seconds", type=float, help="how long each fault lasts (20; --quick 6)")
    parser.add_argument("--lead", type=float, help="seconds of load before the fault (4; --quick 2)")
    parser.add_argument("--tail", type=float, help="seconds of load after it (4; --quick 2)")
    parser.add_argument("--in-flight", type=int, default=6000, help="tries under way at most per entry point")
    parser.add_argument("--deadline", type=float, default=180, help="seconds a client keeps retrying a vote")
    parser.add_argument("--drain-timeout", type=float, default=240, help="seconds to wait for queued votes")
    parser.add_argument("--results", type=Path, help="where to write the JSON")
    parser.add_argument(
        "--no-doc", action="store_true", help="do not rewrite the table in docs/performance.md"
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the processes' logs of a whole run too"
    )
    args = parser.parse_args(argv)
    args.capacity_seconds = args.capacity_seconds or (3.0 if args.quick else 5.0)
    args.fault_seconds = args.fault_seconds or (6.0 if args.quick else 20.0)
    args.lead = args.lead if args.lead is not None else (2.0 if args.quick else 4.0)
    args.tail = args.tail if args.tail is not None else (2.0 if args.quick else 4.0)
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
    code, quiet = code_version(), load_average()  # what the processes start from; how busy the machine was
    print(f"starting MariaDB, Redis and the system under {workdir}", flush=True)
    rig = rig_start(workdir, token)
    # The bench's own connection goes straight to MariaDB: it reconciles, and writes the
    # ambiguous alias, past the proxy the system's processes go through.
    os.environ.update(
        DATABASE_URL=rig.mariadb.url, REDIS_URL=rig.redis.url, ESCRUTINIO_DEV="1", CELERY_BROKER_URL=""
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    import django

    django.setup()
    system = rig.system
    targets = Targets(system.url("publisher"), system.url("gateway"), f"127.0.0.1:{system.ports['grpc']}")
    rows: list[Row] = []
    everything_sent: set[str] = set()
    load: Load | None = None
    capacity_figures: dict[str, Any] = {}
    reconcile_code, reconcile_output = 1, "not run"
    try:
        sedes = Sedes()
        print(f"issued a token for each of {sedes.issue()} sedes", flush=True)
        load = Load(targets, args)
        if args.capacity:
            capacity_figures = {route: {"votes_per_second": args.capacity, "given": True} for route in ROUTES}
        else:
            capacity_figures = capacity_measure(load, sedes, args, everything_sent)
        capacity = {route: float(capacity_figures[route]["votes_per_second"]) for route in ROUTES}
        if not all(capacity.values()):
            raise RuntimeError(f"a route acknowledged nothing in the capacity burst: {capacity_figures}")
        print(
            f"capacity (both routes saturated together): Redis route {capacity['redis']:.0f} votes/s, "
            f"gRPC route {capacity['grpc']:.0f} votes/s; each fault at {args.load:.0%} of it",
            flush=True,
        )
        for index, fault in enumerate(args.faults):
            print(f"{fault}: ...", flush=True)
            rows.append(fault_run(index, fault, rig, load, sedes, capacity, args, everything_sent))
            row = rows[-1]
            print(
                f"  {row.evidence}; accepted/s during the fault {_pair(row, 'accepted_per_s')}, "
                f"p99 {_pair(row, 'p99_ms')} ms; {row.sent} votes; {'whole' if row.whole else 'NOT WHOLE'}",
                flush=True,
            )
        reconcile_code, reconcile_output = operators_reconcile(rig)
    except Exception:
        rig_report(rig)
        raise
    finally:
        if load is not None:
            load.close()
        whole = bool(rows) and all(r.whole for r in rows)
        if rows and not whole:
            rig_report(rig)
        rig.stop()

    table_print(rows)
    print(f"\nmanage.py reconcile (exit {reconcile_code}): {reconcile_output}")
    whole = whole and reconcile_code == 0
    full = args.faults == list(FAULTS)
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code,
        "command": "python bench/faults.py"
        + (" --quick" if args.quick else "")
        + ("" if full else " --faults ..."),
        "capacity": capacity_figures,
        "load": args.load,
        "overload_factor": OVERLOAD_FACTOR,
        "fault_seconds": args.fault_seconds,
        "lead_seconds": args.lead,
        "tail_seconds": args.tail,
        "in_flight_per_entry_point": args.in_flight,
        "caches": FAST_CACHES,
        "machine": {**machine(), "load_average_at_start": quiet, "load_average": load_average()},
        "seconds": round(time.monotonic() - began, 1),
        "reconcile_command": {"exit": reconcile_code, "output": reconcile_output},
        "whole": whole,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps({**meta, "rows": [{**r.__dict__, "whole": r.whole} for r in rows]}, indent=2) + "\n"
    )
    if not args.quick and not args.no_doc and full and whole:
        doc_update(rows, meta)
    shutil.rmtree(workdir, ignore_errors=True)
    for process in rig.stopped:
        if whole and not args.keep_logs:  # a whole run's logs tell nothing more
            process.log_path.unlink(missing_ok=True)
        else:
            print(f"{process.name} log: {process.log_path}")
    print(f"\nRESULT: {'whole: no vote lost, none duplicated' if whole else 'LOSS, DUPLICATE OR DIFFERENCE'}")
    print(f"({meta['seconds']} s; results in {args.results})")
    return 0 if whole else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
