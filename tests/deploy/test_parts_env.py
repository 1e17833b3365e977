"""Each part starts and is ready with exactly the environment its manifest gives it.

Every part of the local overlay is started for real (`python -m scripts.part <part>`, the
image's entry point) with the variables of its container and nothing else: its ConfigMap,
its literal values and its secretKeyRefs (filled with this test's values), plus only what
differs on this machine (the listening ports, and PATH). Redis is started as the overlay's
StatefulSet starts it, requiring the password its clients' REDIS_URL carries. So a part that
lost a secret it needs fails to become ready here, and one given a secret it does not need
fails tests/deploy/test_secrets.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.devservices import free_port, port_answers, wait_until
from scripts.probe import healthy
from tests.conftest import INGEST_TOKEN, database_url_of_test_db
from tests.deploy.manifests import WORKLOADS, containers, needs_kubectl, of_kind, pod_spec, rendered
from tests.deploy.test_redis import k8s_argv, k8s_redis, needs_redis_server, with_options
from tests.deploy.test_secrets import STATEMENT_LIMIT

pytestmark = [needs_kubectl, needs_redis_server, pytest.mark.slow]
OVERLAY = "load-test"  # the local overlay with Locust
REDIS_PASSWORD = "test0redis0password"  # letters and digits: it goes into a URL
STARTUP_SECONDS = 90


def manifest_env(part: str, secrets: dict[str, str]) -> dict[str, str]:
    """The environment the overlay gives `part`'s main container, secrets filled from `secrets`."""
    resources = rendered(OVERLAY)
    (workload,) = [w for w in of_kind(resources, *WORKLOADS) if w["metadata"]["name"] == part]
    container = list(containers(pod_spec(workload)))[-1]
    configs = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(resources, "ConfigMap")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= configs[source["configMapRef"]["name"]]
    for variable in container.get("env", []):
        reference = variable.get("valueFrom", {}).get("secretKeyRef")
        if reference:
            if reference.get("optional") and reference["key"] not in secrets:
                continue
            env[variable["name"]] = secrets[reference["key"]]
        else:
            env[variable["name"]] = variable["value"]
    return env


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The overlay's Redis (AUTH, AOF always, maxmemory), on a free port: its clients' URL."""
    port = free_port()
    argv = with_options(
        k8s_argv(k8s_redis(OVERLAY)),
        {"--port": str(port), "--bind": "127.0.0.1", "--dir": str(tmp_path_factory.mktemp("redis"))},
    )
    server = subprocess.Popen(argv, env={"PATH": os.environ["PATH"], "REDIS_PASSWORD": REDIS_PASSWORD})
    try:
        wait_until(lambda: port_answers("127.0.0.1", port), 30, "redis-server to listen")
        yield f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def secrets(redis_url: str, committed_db: None) -> dict[str, str]:
    """The keys of the Secret escrutinio-secrets, as the operator would create them."""
    return {
        "DJANGO_SECRET_KEY": "test-only-django-secret-key-" + "x" * 40,
        "DATABASE_URL": database_url_of_test_db(),
        "REDIS_URL": redis_url,
        "REDIS_PASSWORD": REDIS_PASSWORD,
        "INGEST_TOKEN": INGEST_TOKEN,
        "VOTE_QUEUE_KEY": "test-only-vote-queue-key",
        "GRPC_GATEWAY_KEY": "test-only-grpc-gateway-key",
    }


def worker_container() -> dict[str, Any]:
    (worker,) = [d for d in of_kind(rendered(OVERLAY), "Deployment") if d["metadata"]["name"] == "worker"]
    container: dict[str, Any] = pod_spec(worker)["containers"][0]
    return container


def process_env(pid: int) -> dict[str, str]:
    """The environment a running process was started with (its last exec)."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if b"=" in entry)


def machine_env(tmp_path: Path) -> dict[str, str]:
    """What a pod has from its image (BIND_HOST, PATH), as this machine needs it."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # /opt/venv/bin first
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "BIND_HOST": "127.0.0.1",
        "METRICS_DIR": str(tmp_path),
        "ESCRUTINIO_VAR_DIR": str(tmp_path),  # the image's var/ is read-only; never the repo's
    }


# part -> (the variable of its port on this machine, the URL that answers once it is ready)
HTTP_PARTS: dict[str, tuple[str, str]] = {
    "api": ("API_PORT", "http://localhost:{port}/readyz"),  # MySQL and Redis answer
    "publisher": ("PUBLISHER_PORT", "http://localhost:{port}/readyz"),  # the broker answers
    "gateway": ("GATEWAY_PORT", "http://localhost:{port}/healthz"),  # no gRPC server here
    "locust": ("LOCUST_WEB_PORT", "http://localhost:{port}/"),
}


@pytest.mark.parametrize("part", sorted(HTTP_PARTS))
def test_an_http_part_starts_with_only_its_manifest_env(
    part: str, secrets: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    port_variable, ready_url = HTTP_PARTS[part]
    port = free_port()
    env = manifest_env(part, secrets) | machine_env(tmp_path) | {port_variable: str(port)}
    env |= {"API_WORKERS": "1"} if part == "api" else {}
    child = spawn(part, [sys.executable, "-m", "scripts.part", part], env)
    url = ready_url.format(port=port)
    child.wait_until(lambda: healthy(url), STARTUP_SECONDS, f"{part} at {url}")
    # The API alone runs with a statement time limit (its Procfile line sets it).
    limit = process_env(child.popen.pid).get(STATEMENT_LIMIT)
    assert limit == ("3000" if part == "api" else None), f"{part}: {STATEMENT_LIMIT}={limit}"


def test_the_grpc_server_starts_with_only_its_manifest_env(
    secrets: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    port, metrics_port = free_port(), free_port()
    env = manifest_env("grpc", secrets) | machine_env(tmp_path)
    env |= {"GRPC_ADDRESS": f"127.0.0.1:{port}", "GRPC_METRICS_PORT": str(metrics_port)}
    child = spawn("grpc", [sys.executable, "-m", "scripts.part", "grpc"], env)
    child.wait_until(lambda: healthy(f"grpc://127.0.0.1:{port}"), STARTUP_SECONDS, "the gRPC server")
    assert STATEMENT_LIMIT not in process_env(child.popen.pid)


def test_a_worker_starts_with_only_its_manifest_env(
    secrets: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    env = manifest_env("worker", secrets) | machine_env(tmp_path)
    env |= {"CELERY_METRICS_PORT": str(free_port()), "CELERY_WORKER_PROCESSES": "1"}
    env |= {"CELERY_WORKER_CONCURRENCY": "2"}
    child = spawn("worker", [sys.executable, "-m", "scripts.part", "worker"], env)
    # Celery says "ready" once it consumes from the broker, i.e. after AUTH.
    child.wait_for_output(" ready.", timeout=STARTUP_SECONDS)
    assert STATEMENT_LIMIT not in process_env(child.popen.pid)
    # Its readiness probe, Celery's ping through the broker, run as the kubelet runs it.
    probe = worker_container()["readinessProbe"]["exec"]["command"]
    ping = subprocess.run(
        probe, env=env | {"HOSTNAME": socket.gethostname()}, capture_output=True, text=True, timeout=60
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr


def test_the_migrations_run_with_only_their_manifest_env_and_no_redis(
    secrets: dict[str, str], tmp_path: Path
) -> None:
    env = manifest_env("migrate", secrets) | machine_env(tmp_path)
    assert "REDIS_URL" not in env
    # In the pod nothing answers at the default REDIS_URL (the policies let it reach MySQL
    # only); here a closed port plays that part.
    env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    result = subprocess.run(
        [sys.executable, "-m", "scripts.part", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_snapshot_writer_starts_with_only_its_manifest_env_and_passes_its_probe(
    secrets: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    """The probe reads the very file the writer touches, and the writer needs nothing else."""
    (writer,) = [d for d in of_kind(rendered(OVERLAY), "Deployment") if d["metadata"]["name"] == "snapshots"]
    container = pod_spec(writer)["containers"][0]
    env = manifest_env("snapshots", secrets) | machine_env(tmp_path)
    manifest_heartbeat = env["SNAPSHOT_HEARTBEAT_FILE"]
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert f"file://{manifest_heartbeat}" in container[kind]["exec"]["command"], kind
    # The pod's own /tmp and /var/snapshots volumes, as this test's directories.
    heartbeat, directory = tmp_path / "heartbeat", tmp_path / "snapshots"
    env |= {"SNAPSHOT_HEARTBEAT_FILE": str(heartbeat), "SNAPSHOT_DIR": str(directory)}
    env |= {"SNAPSHOT_INTERVAL_S": "1"}
    child = spawn("snapshots", [sys.executable, "-m", "scripts.part", "snapshots"], env)
    probe = [
        p.replace(manifest_heartbeat, str(heartbeat)) for p in container["livenessProbe"]["exec"]["command"]
    ]
    child.wait_until(
        lambda: subprocess.run(probe, env=env, check=False).returncode == 0, STARTUP_SECONDS, "the probe"
    )
    child.wait_until((directory / "latest.json").exists, STARTUP_SECONDS, "a snapshot")
    assert STATEMENT_LIMIT not in process_env(child.popen.pid)
