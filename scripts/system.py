"""The whole system as `make run` starts it, each part on free ports: for end-to-end tests,
benchmarks and the fault suite.

Every part is started through `scripts.part`, that is, from its Procfile line: the tests
run exactly the commands of `make run`, docker compose and Kubernetes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field

from scripts.devservices import free_port, wait_until
from scripts.processes import ChildProcess, Spawn


def start_part(spawn: Spawn, name: str, env: dict[str, str], label: str | None = None) -> ChildProcess:
    return spawn(label or name, [sys.executable, "-m", "scripts.part", name], env)


@dataclass
class System:
    """API, gRPC server, gateway, publisher and one Celery worker, sharing `env`."""

    spawn: Spawn
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, ChildProcess] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    def start(self, parts: tuple[str, ...] = ("api", "grpc", "gateway", "publisher", "worker")) -> System:
        self.ports = {
            name: free_port()
            for name in ("api", "grpc", "gateway", "publisher", "grpc_metrics", "worker_metrics")
        }
        self.env = {
            "GATEWAY_WORKERS": "1",
            "PUBLISHER_WORKERS": "1",
            **self.env,
            "API_PORT": str(self.ports["api"]),
            "GRPC_ADDRESS": f"127.0.0.1:{self.ports['grpc']}",
            "GATEWAY_PORT": str(self.ports["gateway"]),
            "PUBLISHER_PORT": str(self.ports["publisher"]),
            "CELERY_BROKER_URL": "",
            "GRPC_METRICS_PORT": str(self.ports["grpc_metrics"]),
            "CELERY_METRICS_PORT": str(self.ports["worker_metrics"]),
        }
        for name in parts:
            self.processes[name] = start_part(self.spawn, name, self.env)
        for name in parts:
            self._wait_serving(name)
        return self

    def restart(self, name: str, sig: int = signal.SIGTERM, *, wait_ready: bool = True) -> ChildProcess:
        """Signal a part (SIGKILL: a crash), wait for it to exit (SIGKILL after 60 s), start it
        anew on the same port; wait_ready=False returns at once (its dependencies may be down)."""
        old = self.processes[name]
        old.signal(sig)
        try:
            old.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            old.signal(signal.SIGKILL)
            old.popen.wait(timeout=30)
        self.restarts[name] = self.restarts.get(name, 0) + 1
        label = f"{name}-{self.restarts[name] + 1}"
        self.processes[name] = start_part(self.spawn, name, self.env, label=label)
        if wait_ready:
            self._wait_serving(name)
        return self.processes[name]

    def _wait_serving(self, name: str) -> None:
        process = self.processes[name]
        if name in self.ports:
            process.wait_for_port(self.ports[name], timeout=60)
        if name == "worker":
            wait_until(lambda: " ready." in process.output(), 60, "the Celery worker")

    def url(self, part: str) -> str:
        return f"http://127.0.0.1:{self.ports[part]}"

    def metrics_url(self, part: str) -> str:
        """Where a part serves Prometheus metrics: the HTTP parts on their port, the others on their own."""
        port = self.ports.get(f"{part}_metrics") or self.ports[part]
        return f"http://127.0.0.1:{port}/metrics"
