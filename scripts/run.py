"""`make run`: start every process of the system, prefix their output, stop them all on Ctrl-C.

The processes are the lines of `Procfile`, each started by `python -m scripts.part name`
with this environment, exactly as the containers start them. A local Redis with AOF is
added when none answers at REDIS_URL. A part that exits by itself is started again, as
Kubernetes and docker compose would (the Celery worker, for one, can exit when Redis
vanishes under it: docs/reliability.md); one that keeps failing stops the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.devservices import DEFAULT_REDIS_URL, RedisServer, ServiceMissing, redis_answers
from scripts.part import procfile_commands

ROOT = Path(__file__).resolve().parent.parent
COLORS = ["36", "33", "32", "35", "34", "31", "96", "93"]
MAX_RESTARTS = 5  # within RESTART_WINDOW seconds: then the part is broken, not unlucky
RESTART_WINDOW = 60.0


@dataclass
class Part:
    name: str
    argv: list[str]
    color: str
    width: int
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the runner only; it stops each part in order
        )  # fmt: skip
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        tty = sys.stdout.isatty()
        prefix = (
            f"\033[{self.color}m{self.name:<{self.width}} |\033[0m "
            if tty
            else f"{self.name:<{self.width}} | "
        )
        for raw in iter(self.process.stdout.readline, b""):
            sys.stdout.write(prefix + raw.decode(errors="replace"))
            sys.stdout.flush()

    def may_restart(self) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW] + [now]
        return len(self.restarts) <= MAX_RESTARTS

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)


def parts_to_run(env: dict[str, str]) -> list[tuple[str, list[str]]]:
    parts: list[tuple[str, list[str]]] = []
    if not redis_answers(env["REDIS_URL"]):
        server = RedisServer(ROOT / "var" / "redis", port=6379)
        parts.append(("redis", server.command()))
        env["REDIS_URL"] = server.url
    # Through scripts.part, as in the containers: it also gives each part its metrics directory.
    parts += [(name, [sys.executable, "-m", "scripts.part", name]) for name in procfile_commands()]
    return parts


def supervise(parts: list[Part], env: dict[str, str], stopping: threading.Event) -> int:
    while not stopping.wait(0.5):
        for part in parts:
            assert part.process is not None
            code = part.process.poll()
            if code is None:
                continue
            if not part.may_restart():
                print(f"run: {part.name} keeps exiting (last: {code}); stopping everything", file=sys.stderr)
                return code or 1
            print(f"run: {part.name} exited with {code}; starting it again", file=sys.stderr)
            part.start(env)
    return 0


def stop(parts: list[Part]) -> None:
    for part in reversed(parts):
        part.signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for part in parts:
        assert part.process is not None
        try:
            part.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            part.signal(signal.SIGKILL)


def main() -> int:
    env = dict(os.environ)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    try:
        named = parts_to_run(env)
    except ServiceMissing as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 3
    width = max(len(name) for name, _ in named)
    parts = [Part(name, argv, COLORS[i % len(COLORS)], width) for i, (name, argv) in enumerate(named)]
    for part in parts:
        part.start(env)
        if part.name == "redis":
            time.sleep(0.5)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        return supervise(parts, env, stopping)
    finally:
        stop(parts)


if __name__ == "__main__":
    sys.exit(main())
