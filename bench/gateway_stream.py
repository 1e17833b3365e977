"""Unary calls or one long-lived stream between the gateway and the gRPC server, measured.

    flock /tmp/escrutinio-bench.lock .venv/bin/python bench/gateway_stream.py [--seconds 15] [--rounds 2]

Issue 3 asks whether carrying the gateway's votes over long-lived streams, instead of one
call each, is worth it. The product gateway sends each batch as a unary `CastVoteBatch` call;
bench/stream_gateway.py sends it as the next message of one bidirectional stream per
process, to a server that is the product server plus that stream method (added here, not in
the contract). Both run in turn, `--rounds` times, under `wrk -t2 -c32` (bench/post_vote.lua),
and the CPU of the gateway, the server and MariaDB is read from /proc. Writes
bench/results/gateway_stream.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu_share import TICKS, snapshot  # noqa: E402
from bench.grpc_route import (  # noqa: E402
    bench_env,
    gunicorn,
    prepare_database,
    wrk,
)
from scripts.devservices import free_port  # noqa: E402
from scripts.machine import machine  # noqa: E402
from scripts.processes import ChildProcess  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOG_DIR = ROOT / "var" / "bench-gateway-stream"
DESIGNS = {"unary": "ingest_grpc.gateway:app", "stream": "bench.stream_gateway:app"}


def serve(address: str) -> None:
    """The product server, plus the stream method bench/stream_gateway.py calls."""
    import os

    import django
    import grpc

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
    django.setup()  # a process of its own, as the server's main() sets it up

    from bench.stream_gateway import STREAM_METHOD
    from ingest_grpc import contract, server
    from ingest_grpc.protos.escrutinio.v1 import votes_pb2

    service, method = STREAM_METHOD.strip("/").split("/")
    product_service = server.add_vote_service

    def add_vote_service(servicer: server.VoteServicer, grpc_server: grpc.aio.Server) -> None:
        product_service(servicer, grpc_server)

        async def cast_vote_stream(batches: Any, context: grpc.aio.ServicerContext) -> Any:
            async for batch in batches:
                with servicer._calls.call():  # each message counts as a call in flight, for a graceful stop
                    yield await servicer._cast_vote_batch(batch, context)

        handler = grpc.stream_stream_rpc_method_handler(
            cast_vote_stream,
            request_deserializer=contract.batch_parse,
            response_serializer=votes_pb2.CastVoteBatchResponse.SerializeToString,
        )
        grpc_server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service, {method: handler}),)
        )

    server.add_vote_service = add_vote_service  # type: ignore[assignment]  # same call, other parameter name
    server.run(address)


def measure(design: str, env: dict[str, str], seconds: int) -> dict[str, Any]:
    port = free_port()
    address = f"127.0.0.1:{port}"
    argv = [sys.executable, str(Path(__file__)), "serve", "--address", address]
    server = ChildProcess(f"server-{design}", argv, {**env, "GRPC_ADDRESS": address}, LOG_DIR / "server.log")
    server.wait_for_port(port)
    try:
        gateway, url = gunicorn(
            "gateway",
            DESIGNS[design],
            "uvicorn_worker.UvicornWorker",
            1,
            {**env, "GRPC_ADDRESS": address},
            LOG_DIR,
        )
        try:
            wrk(url, 3)  # connections, the stream, the catalogue
            before = snapshot()
            result = wrk(url, seconds)
            after = snapshot()
        finally:
            gateway.stop()
    finally:
        server.stop()
    requests = result["requests_per_s"] * seconds
    parts = {
        "gateway": DESIGNS[design].split(":")[0],
        "server": "gateway_stream.py serve",
        "mariadb": "mariadbd",
    }
    cpu = {}
    for part, mark in parts.items():
        ticks = sum(t - before[1].get(pid, (0, ""))[0] for pid, (t, cmd) in after[1].items() if mark in cmd)
        cpu[part] = round(ticks / TICKS / requests * 1e6)
    return {**result, "cpu_us_per_request": cpu}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    serve_parser = sub.add_parser("serve", help="(internal) the server with the stream method")
    serve_parser.add_argument("--address", required=True)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.address)
        return 0
    env = {**bench_env(), "PYTHONPATH": str(ROOT)}  # gunicorn imports bench.stream_gateway
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    prepare_database(env)
    runs: dict[str, list[dict[str, Any]]] = {design: [] for design in DESIGNS}
    for _ in range(args.rounds):
        for design in DESIGNS:  # in turn, so both see the machine as it is
            runs[design].append(measure(design, env, args.seconds))
            print(design, json.dumps(runs[design][-1]), flush=True)
    rates = {
        design: sum(r["requests_per_s"] for r in results) / len(results) for design, results in runs.items()
    }
    report = {
        "bench": "gateway_stream",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "wrk": "-t2 -c32, bench/post_vote.lua",
        "runs": runs,
        "stream_over_unary": round(rates["stream"] / rates["unary"], 3),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gateway_stream.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"stream_over_unary": report["stream_over_unary"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
