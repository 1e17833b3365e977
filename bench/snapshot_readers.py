"""Readers of the results on this machine, at the same concurrency: the snapshot files served
statically (the Procfile's `snapshots-web:`) against the same answers from the API (`api:`).

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/snapshot_readers.py           # full
    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/snapshot_readers.py --quick   # a minute

1. bench/results_api.py's database (1,000,000 votes and every demo acta counted; --quick: 50,000
   and 2,000 mesas'), loaded as bench/snapshot_write.py loads it, and `manage.py snapshots
   --once` into a directory of its own: a detail generation (the sede files) and one snapshot
   referencing it.
2. The API and the snapshot file server started exactly as `make run` starts them (their
   Procfile lines, 2 worker processes each by default), on this machine's two cores beside wrk.
   Nothing is written meanwhile, so the API's answers are the snapshot's moment: each pair is
   checked to be the same answer (but for `as_of`, the time an answer was computed) first.
3. Each pair in turn: the nation, a municipio and a sede's area view (`/api/results/area` against
   `<id>/area/actas/presidente/pais.json`, `.../municipio/<code>.json`, and the sede's file,
   `detail/<id>/sede/<municipio>-<sede>.json`, which holds all ten of the sede's views and its actas
   where the API answers one view), and the route comparison (`/api/results/summary` against
   `<id>/panels/summary.json`), and the newest manifest (`/api/snapshots/latest` against
   `latest.json`, which every reader polls). wrk reads each URL for --seconds with --readers connections,
   back to back, without If-None-Match (bench/read_latency.lua), then with one reader. The
   static files are read again with `Accept-Encoding: gzip`, as browsers ask (the API answers
   uncompressed either way).
4. Prints a table and writes bench/results/snapshot_readers.json (--quick:
   snapshot_readers_quick.json): requests a second and p50/p95/p99 of each. Needs wrk.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results_api import wrk_read  # noqa: E402
from bench.snapshot_write import bench_data, snapshot_env  # noqa: E402
from scripts.devservices import free_port, wait_until  # noqa: E402
from scripts.machine import machine  # noqa: E402
from scripts.part import procfile_commands  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MUNICIPIO = "0108"  # Mixco, Guatemala: the most mesas of any municipio after the capital
AREA = "/api/results/area?source=actas&papeleta=presidente"
VOLATILE = ("as_of",)  # when an answer was computed: the one field two equal answers may differ in


def snapshot_once(directory: Path, database_url: str, redis_url: str) -> str:
    """`manage.py snapshots --once` into `directory`: one detail generation (the sede files,
    docs/snapshots.md) and one snapshot referencing it. The snapshot's id."""
    env = snapshot_env(directory, database_url, redis_url)
    subprocess.run([sys.executable, "manage.py", "snapshots", "--once"], env=env, cwd=ROOT, check=True)
    return str(json.loads((directory / "latest.json").read_text())["id"])


def pairs(snapshot: Path, snapshot_id: str) -> dict[str, tuple[str, str]]:
    """name -> (API path, snapshot path): the same answer from each side."""
    sede_files = sorted(snapshot.glob(f"detail/*/sede/{MUNICIPIO}-*.json"))
    if not sede_files:
        raise SystemExit(f"the snapshot's detail generation has no sede file of municipio {MUNICIPIO}")
    sede = sede_files[0].stem.split("-", 1)[1]
    area = f"/{snapshot_id}/area/actas/presidente"
    sede_path = "/" + sede_files[0].relative_to(snapshot).as_posix()
    return {
        "pais": (AREA, f"{area}/pais.json"),
        "municipio": (f"{AREA}&municipio={MUNICIPIO}", f"{area}/municipio/{MUNICIPIO}.json"),
        "sede": (f"{AREA}&municipio={MUNICIPIO}&sede={sede}", sede_path),
        "summary": ("/api/results/summary", f"/{snapshot_id}/panels/summary.json"),
        # What every reader polls first: the newest manifest, whose size grows with the files.
        "latest": ("/api/snapshots/latest", "/latest.json"),
    }


def fetch_json(port: int, path: str) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers={"Accept": "application/json"})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"GET {path} answered {response.status}: {body[:300]!r}")
    return json.loads(body)


def stable(answer: Any) -> Any:
    return {k: v for k, v in answer.items() if k not in VOLATILE} if isinstance(answer, dict) else answer


def same_answer(name: str, api: Any, snapshot: Any) -> bool:
    """The API's answer is the snapshot's; for the sede, it is one of the file's ten views."""
    if name == "sede":
        snapshot = snapshot["areas"]["actas"]["presidente"]
    return bool(stable(api) == stable(snapshot))


def serve(command: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: answers(port), 60, command.split()[0])
    return server


def answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def measure(
    args: argparse.Namespace, data: dict[str, Any], snapshot: Path, snapshot_id: str
) -> dict[str, Any]:
    api_port, files_port = free_port(), free_port()
    env = dict(
        os.environ,
        DATABASE_URL=data["database_url"],
        REDIS_URL=data["redis_url"],
        ESCRUTINIO_DEV="1",
        LOG_LEVEL="WARNING",
        BIND_HOST="127.0.0.1",
        API_PORT=str(api_port),
        SNAPSHOT_WEB_PORT=str(files_port),
        SNAPSHOT_DIR=str(snapshot),
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    commands = procfile_commands()
    servers = [serve(commands["api"], env, api_port), serve(commands["snapshots-web"], env, files_port)]
    try:
        chosen = pairs(snapshot, snapshot_id)
        checked = {
            name: same_answer(name, fetch_json(api_port, api), fetch_json(files_port, static))
            for name, (api, static) in chosen.items()
        }
        urls: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, (api, static) in chosen.items():
            urls[f"{name} api"] = (f"http://127.0.0.1:{api_port}{api}", ())
            urls[f"{name} static"] = (f"http://127.0.0.1:{files_port}{static}", ())
            urls[f"{name} static gzip"] = (
                f"http://127.0.0.1:{files_port}{static}",
                ("Accept-Encoding: gzip",),
            )
        for url, headers in urls.values():  # every worker has answered each URL once
            wrk_read(url, 4, 1, headers)
        loaded = {
            name: wrk_read(url, args.readers, args.seconds, headers) for name, (url, headers) in urls.items()
        }
        alone = {
            name: wrk_read(url, 1, max(1.0, args.seconds / 5), headers)
            for name, (url, headers) in urls.items()
        }
        sizes = {name: body_bytes(url, headers) for name, (url, headers) in urls.items()}
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)
    return {
        "api_command": commands["api"],
        "static_command": commands["snapshots-web"],
        "same_answers": checked,
        "errors": sum(r["non_2xx"] + r["socket_errors"] for r in loaded.values()),
        "readers": {
            name: {
                "url": urls[name][0].split(":", 2)[2].split("/", 1)[1],
                "headers": list(urls[name][1]),
                "body_bytes": sizes[name],
                **loaded[name],
                "requests_per_s": round(loaded[name]["requests"] / args.seconds),
                "p95_ms_one_reader": alone[name]["p95_ms"],
            }
            for name in urls
        },
    }


def body_bytes(url: str, headers: tuple[str, ...]) -> int:
    """The size of the answer as sent (compressed, when asked so)."""
    host_port, path = url.removeprefix("http://").split("/", 1)
    connection = http.client.HTTPConnection(host_port, timeout=60)
    connection.request("GET", f"/{path}", headers=dict(h.split(": ", 1) for h in headers))
    return len(connection.getresponse().read())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50,000 votes, 2,000 mesas' actas, 2 s a URL")
    parser.add_argument("--votes", type=int, help="votes in the database (default 1,000,000)")
    parser.add_argument("--actas-mesas", type=int, help="mesas whose 5 actas are counted (all 24,427)")
    parser.add_argument("--seconds", type=float, help="how long the readers read each URL (default 10)")
    parser.add_argument("--readers", type=int, default=16, help="connections, as bench/results_api.py")
    args = parser.parse_args()
    args.seconds = args.seconds or (2 if args.quick else 10)
    data = bench_data(quick=args.quick, votes=args.votes, actas_mesas=args.actas_mesas)
    with tempfile.TemporaryDirectory(prefix="snapshot-readers-") as scratch:
        snapshot = Path(scratch) / "snapshots"
        print("writing one detail generation and one snapshot ...", flush=True)
        started = time.perf_counter()
        written = snapshot_once(snapshot, data["database_url"], data["redis_url"])
        print(f"  {written} in {time.perf_counter() - started:.0f} s")
        print(f"measuring: {args.readers} readers, {args.seconds:.0f} s a URL, nothing written meanwhile")
        figures = measure(args, data, snapshot, written)
    report = {
        "benchmark": "snapshot_readers",
        "quick": args.quick,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "votes": data["votes"],
        "counted_actas": data["load"]["actas"]["actas"],
        "snapshot": written,
        "client": f"wrk -t2 -c{args.readers}, {args.seconds:.0f} s per URL, each URL in turn",
        "readers_connections": args.readers,
        **figures,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"snapshot_readers{'_quick' if args.quick else ''}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"\n{'reader':<22}{'bytes':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'p95 alone':>11}"
    )
    for name, r in figures["readers"].items():
        print(
            f"{name:<22}{r['body_bytes']:>10,}{r['requests_per_s']:>9,}{r['p50_ms']:>9}{r['p95_ms']:>9}"
            f"{r['p99_ms']:>9}{r['p95_ms_one_reader']:>11}"
        )
    print(f"same answers: {figures['same_answers']}; errors {figures['errors']}; written to {out}")


if __name__ == "__main__":
    main()
