"""Processes the tests, benchmarks and the fault suite start: one way to start, wait for, stop.

Each child runs in its own session, so a signal reaches the processes it started too
(gunicorn's workers, Celery's pool), and writes its output to a log file that is shown when
it fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from scripts.devservices import port_answers, wait_until

ROOT = Path(__file__).resolve().parent.parent


class ChildProcess:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        if log_path is None:
            handle, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
            os.close(handle)
            log_path = Path(path)
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> ChildProcess:
        """Wait for `ready()`; fail at once, with this process's output, if it exits meanwhile."""

        def check() -> bool:
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode}:\n{self.output()[-4000:]}"
                )
            return ready()

        wait_until(check, timeout, what)
        return self

    def wait_for_port(self, port: int, timeout: float = 60) -> ChildProcess:
        return self.wait_until(
            lambda: port_answers("127.0.0.1", port), timeout, f"{self.name} on port {port}"
        )

    def wait_for_output(self, text: str, timeout: float = 60) -> ChildProcess:
        return self.wait_until(lambda: text in self.output(), timeout, f"{self.name} saying {text!r}")

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 30) -> int:
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.popen.wait(timeout=10)


Spawn = Callable[[str, list[str], dict[str, str]], ChildProcess]


class ProcessGroup:
    """Processes started together and stopped together, last started first."""

    def __init__(self) -> None:
        self.started: list[ChildProcess] = []

    def start(
        self, name: str, argv: list[str], env: dict[str, str], log_path: Path | None = None
    ) -> ChildProcess:
        child = ChildProcess(name, argv, env, log_path)
        self.started.append(child)
        return child

    def stop_all(self) -> list[ChildProcess]:
        for child in reversed(self.started):
            child.stop()
        stopped, self.started = self.started, []
        return stopped
