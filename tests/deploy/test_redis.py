"""The broker Redis of compose and of the in-cluster component: AUTH, bounded memory, AOF.

Whoever reaches Redis could queue or delete votes, so it requires a password, which comes
from a Secret (compose: the environment) and is in no manifest; every client's URL carries
it; the probes authenticate. Its memory is bounded below the pod's limit with noeviction, so
a full broker refuses new votes (the publisher answers 503) instead of evicting queued ones or
being OOM-killed. The commands are also run for real, with the local redis-server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from scripts.devservices import free_port, port_answers, wait_until
from tests.deploy.manifests import COMPOSE, K8S, compose, needs_kubectl, of_kind, pod_spec, rendered

REDIS_OVERLAYS = ["local", "load-test"]  # the overlays with the in-cluster Redis
needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
    reason="redis-server and redis-cli are not installed",
)
# redis.conf's units: 1k = 1000 bytes, 1kb = 1024 bytes, and so on.
UNITS = {"k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
QUANTITIES = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "K": 1000, "M": 1000**2, "G": 1000**3}


def k8s_redis(overlay: str) -> dict[str, Any]:
    (redis,) = [s for s in of_kind(rendered(overlay), "StatefulSet") if s["metadata"]["name"] == "redis"]
    container: dict[str, Any] = pod_spec(redis)["containers"][0]
    return container


def k8s_argv(container: dict[str, Any]) -> list[str]:
    """What the container runs: command (else the image's entry point, which execs it) + args."""
    return [*container.get("command", []), *container["args"]]


def compose_argv() -> list[str]:
    """The redis service's command, as compose passes it ($$ is a literal $)."""
    return [part.replace("$$", "$") for part in compose()["services"]["redis"]["command"]]


def compose_value(text: str) -> str:
    """${NAME:-default} as compose interpolates it with NAME unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def with_options(argv: list[str], options: dict[str, str]) -> list[str]:
    """`argv` with these options' values replaced, or added (Redis applies --dir at once)."""
    argv = list(argv)
    for name, value in options.items():
        if name in argv:
            argv[argv.index(name) + 1] = value
        else:
            argv += [name, value]
    return argv


def redis_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([a-z]*)", value.lower()).groups()  # type: ignore[union-attr]
    return int(number) * UNITS.get(unit, 1)


def quantity_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMG]i?)?", value).groups()  # type: ignore[union-attr]
    return int(number) * QUANTITIES.get(unit or "", 1)


def secret_key_of(container: dict[str, Any], variable: str) -> str:
    (entry,) = [v for v in container["env"] if v["name"] == variable]
    reference: dict[str, str] = entry["valueFrom"]["secretKeyRef"]
    assert reference["name"] == "escrutinio-secrets"
    return reference["key"]


# --- the manifests -------------------------------------------------------------------------


@needs_kubectl
@pytest.mark.parametrize("overlay", REDIS_OVERLAYS)
def test_in_cluster_redis_takes_its_password_from_the_secret_and_its_probe_authenticates(
    overlay: str,
) -> None:
    container = k8s_redis(overlay)
    argv = k8s_argv(container)
    assert any('--requirepass "$REDIS_PASSWORD"' in part for part in argv), argv
    assert secret_key_of(container, "REDIS_PASSWORD") == "REDIS_PASSWORD"
    assert secret_key_of(container, "REDISCLI_AUTH") == "REDIS_PASSWORD"
    probe = " ".join(container["readinessProbe"]["exec"]["command"])
    assert "redis-cli" in probe and "PONG" in probe, "redis-cli exits 0 on NOAUTH: the probe must want PONG"


@needs_kubectl
@pytest.mark.parametrize("overlay", REDIS_OVERLAYS)
def test_in_cluster_redis_memory_is_bounded_below_its_limit_without_eviction(overlay: str) -> None:
    container = k8s_redis(overlay)
    argv = k8s_argv(container)
    maxmemory = redis_bytes(option(argv, "--maxmemory"))
    limit = quantity_bytes(container["resources"]["limits"]["memory"])
    # Room above maxmemory for the AOF rewrite's fork, client buffers and fragmentation.
    assert 0 < maxmemory <= 0.8 * limit, (maxmemory, limit)
    assert option(argv, "--maxmemory-policy") == "noeviction"
    assert option(argv, "--appendonly") == "yes" and option(argv, "--appendfsync") == "always"


def test_compose_redis_requires_the_password_every_client_url_carries() -> None:
    services = compose()["services"]
    argv = compose_argv()
    assert any('--requirepass "$REDIS_PASSWORD"' in part for part in argv), argv
    password = compose_value(services["redis"]["environment"]["REDIS_PASSWORD"])
    assert password and compose_value(services["redis"]["environment"]["REDISCLI_AUTH"]) == password
    assert "PONG" in " ".join(services["redis"]["healthcheck"]["test"])
    assert option(argv, "--maxmemory-policy") == "noeviction"
    clients = {
        name: s["environment"] for name, s in services.items() if "REDIS_URL" in s.get("environment", {})
    }
    assert set(clients) == {"api", "grpc", "publisher", "worker", "snapshots"}
    for name, environment in clients.items():
        url = urlsplit(compose_value(environment["REDIS_URL"]))
        assert (url.hostname, url.password) == ("redis", password), f"{name}: {environment['REDIS_URL']}"


@pytest.mark.parametrize(
    "path", [COMPOSE, K8S / "components" / "redis" / "redis.yaml"], ids=["compose", "k8s"]
)
def test_the_comments_name_the_fsync_policy_redis_runs(path: Path) -> None:
    """`appendfsync always` fsyncs before answering: no comment may promise less, or other."""
    text = path.read_text()
    assert "--appendfsync" in text and "always" in text
    assert not re.search(r"every ?sec|every second", text, re.IGNORECASE), path.name


# --- the commands, run --------------------------------------------------------------------


@needs_redis_server
@pytest.mark.parametrize("where", ["k8s", "compose"])
def test_redis_started_as_the_manifest_says_refuses_clients_without_the_password(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if where == "k8s":
        if shutil.which("kubectl") is None:
            pytest.skip("kubectl is not installed")
        container = k8s_redis("local")
        argv, probe = k8s_argv(container), container["readinessProbe"]["exec"]["command"]
    else:
        argv = compose_argv()
        probe = ["sh", "-c", compose()["services"]["redis"]["healthcheck"]["test"][1]]
    password = "test0only0password"
    port = free_port()
    # The manifest's command, on this machine: a free port, a scratch directory.
    local = with_options(argv, {"--port": str(port), "--bind": "127.0.0.1", "--dir": str(tmp_path)})
    server = subprocess.Popen(
        local, env={"PATH": "/usr/local/bin:/usr/bin:/bin", "REDIS_PASSWORD": password}, cwd=tmp_path
    )

    def stop() -> None:
        server.terminate()
        server.wait(timeout=10)

    request.addfinalizer(stop)
    _wait_until_it_listens(port, server)
    # No retries: redis-py retries an AuthenticationError (a ConnectionError) with backoff.
    once = {"host": "127.0.0.1", "port": port, "socket_timeout": 5, "retry": Retry(NoBackoff(), 0)}
    authenticated = redis_lib.Redis(password=password, **once)  # type: ignore[arg-type]
    anonymous = redis_lib.Redis(**once)  # type: ignore[arg-type]

    with pytest.raises(redis_lib.AuthenticationError):
        anonymous.ping()
    with pytest.raises(redis_lib.AuthenticationError):
        anonymous.lpush("votes", "forged")
    assert authenticated.ping()
    config = authenticated.config_get("*")
    assert config["maxmemory"] == str(redis_bytes(option(argv, "--maxmemory")))
    assert config["maxmemory-policy"] == "noeviction"
    assert (config["appendonly"], config["appendfsync"]) == ("yes", "always")
    # The password is not on its command line (Redis rewrites its process title).
    assert password.encode() not in Path(f"/proc/{server.pid}/cmdline").read_bytes()

    def probe_passes(auth: str | None) -> bool:
        command = [part.replace("redis-cli", f"redis-cli -p {port}") for part in probe]
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin"} | ({"REDISCLI_AUTH": auth} if auth else {})
        return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode == 0

    assert probe_passes(password)
    assert not probe_passes(None)
    assert not probe_passes("wrong")


def _wait_until_it_listens(port: int, server: subprocess.Popen[bytes]) -> None:
    def listens() -> bool:
        assert server.poll() is None, f"redis-server exited with {server.returncode}"
        return port_answers("127.0.0.1", port)

    wait_until(listens, 30, "redis-server to listen")
