"""Health probe for containers that have no curl: exit 0 when the target answers healthy.

    python -m scripts.probe http://127.0.0.1:8000/readyz         # HTTP 2xx
    python -m scripts.probe grpc://127.0.0.1:50051               # grpc.health.v1 SERVING
    python -m scripts.probe --wait 300 http://ingress/healthz    # retry until healthy or timeout
    python -m scripts.probe --max-age 600 file:///tmp/snapshots-heartbeat   # touched in the last 10 min

docker compose uses it for its health checks, and the Locust pod's init container uses
`--wait` to hold Locust back until the ingress routes traffic. Kubernetes probes the
processes natively (httpGet, grpc), so this module is not on their path, but for the snapshot
writer, which serves nothing: its loop touches a heartbeat file (SNAPSHOT_HEARTBEAT_FILE), and
the probe checks how old it is.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 3.0
DEFAULT_MAX_AGE_SECONDS = 600.0


def http_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 -- our URL
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def grpc_healthy(address: str) -> bool:
    import grpc  # imported here so HTTP probes do not pay for grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT_SECONDS
            )
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def file_fresh(path: str, max_age: float) -> bool:
    """The file exists and was modified less than `max_age` seconds ago."""
    try:
        return time.time() - os.stat(path).st_mtime < max_age
    except OSError:
        return False


def healthy(target: str, max_age: float = DEFAULT_MAX_AGE_SECONDS) -> bool:
    if target.startswith("file://"):
        return file_fresh(target.removeprefix("file://"), max_age)
    if target.startswith("grpc://"):
        return grpc_healthy(target.removeprefix("grpc://"))
    return http_healthy(target)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.probe", description=__doc__.splitlines()[0])
    parser.add_argument("target", help="http(s)://host:port/path, grpc://host:port or file:///path")
    parser.add_argument(
        "--max-age",
        type=float,
        default=DEFAULT_MAX_AGE_SECONDS,
        metavar="SECONDS",
        help="file:// only: healthy while the file is younger than this",
    )
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS", help="retry until healthy")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.wait
    while True:
        if healthy(args.target, args.max_age):
            return 0
        if time.monotonic() >= deadline:
            print(f"probe: {args.target} is not healthy", file=sys.stderr)
            return 1
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
