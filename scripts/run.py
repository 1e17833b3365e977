"""`make run`: start every process of the system, prefix their output, stop them all on Ctrl-C.

The processes are the lines of `Procfile` (`name: command`), each started by
`python -m scripts.part name` with this environment, exactly as the containers start them.
A local Redis with AOF is added when none answers at REDIS_URL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from scripts.devservices import DEFAULT_REDIS_URL, RedisServer, ServiceMissing, redis_answers

ROOT = Path(__file__).resolve().parent.parent
COLORS = ["36", "33", "32", "35", "34", "31", "96", "93"]


def read_procfile(path: Path) -> list[tuple[str, str]]:
    entries = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries.append((name.strip(), command.strip()))
    return entries


def pump(name: str, color: str, width: int, stream: object) -> None:
    prefix = f"\033[{color}m{name:<{width}} |\033[0m " if sys.stdout.isatty() else f"{name:<{width}} | "
    for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
        sys.stdout.write(prefix + raw.decode(errors="replace"))
        sys.stdout.flush()


def main() -> int:
    env = dict(os.environ)
    redis_url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    processes: list[tuple[str, list[str]]] = []
    if not redis_answers(redis_url):
        try:
            server = RedisServer(ROOT / "var" / "redis", port=6379)
            processes.append(("redis", server.command()))
            env["REDIS_URL"] = server.url
        except ServiceMissing as exc:
            print(f"run: {exc}", file=sys.stderr)
            return 3
    # Through scripts.part, as in the containers: it also gives each part its metrics directory.
    processes += [
        (name, [sys.executable, "-m", "scripts.part", name]) for name, _ in read_procfile(ROOT / "Procfile")
    ]
    width = max(len(name) for name, _ in processes)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    for i, (name, argv) in enumerate(processes):
        child = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop each child in order
        )
        children.append((name, child))
        threading.Thread(
            target=pump, args=(name, COLORS[i % len(COLORS)], width, child.stdout), daemon=True
        ).start()
        if name == "redis":
            time.sleep(0.5)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    exit_code = 0
    while not stopping.is_set():
        for name, child in children:
            if child.poll() is not None:
                print(f"run: {name} exited with {child.returncode}; stopping everything", file=sys.stderr)
                exit_code = child.returncode or 1
                stopping.set()
        stopping.wait(0.5)
    for _, child in reversed(children):
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for _, child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
