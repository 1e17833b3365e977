"""Start one part of the system by name: the container image's entry point.

`python -m scripts.part gateway` runs the `gateway:` line of `Procfile` (the very command
`make run` starts), so the image, docker compose and Kubernetes never carry a second copy of
a command that could drift from the local run. `migrate` is the one part that is not a
long-running process, so it is not in the Procfile; it runs what `make run` runs before
starting the processes (scripts/run.sh).

The command replaces this process (exec), so SIGTERM from Docker or the kubelet reaches
gunicorn, Celery or the gRPC server directly and they shut down gracefully.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
MIGRATE = "python manage.py migrate --noinput && exec python manage.py load_catalogue"


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    commands = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


def part_commands(path: Path = PROCFILE) -> dict[str, str]:
    """Every part the image can start, by name, as a shell command line."""
    return {**procfile_commands(path), "migrate": MIGRATE}


def main(argv: list[str]) -> int:
    parts = part_commands()
    if len(argv) != 1 or argv[0] not in parts:
        print(f"usage: python -m scripts.part {{{'|'.join(sorted(parts))}}}", file=sys.stderr)
        return 2
    os.chdir(ROOT)
    os.execvp("sh", ["sh", "-c", exec_line(parts[argv[0]])])  # noqa: S606 -- our Procfile, not user input
    return 0  # not reached


def exec_line(command: str) -> str:
    """`exec` a simple command, so the shell is replaced by it (PID 1 in a container)."""
    if command.startswith("exec ") or any(op in command for op in ("&&", "||", ";", "|")):
        return command
    return f"exec {command}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
