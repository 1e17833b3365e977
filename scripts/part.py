"""Start one part of the system by name: the container image's entry point.

`python -m scripts.part gateway` runs the `gateway:` line of `Procfile` (the very command
`make run` starts), so the image, docker compose and Kubernetes never carry a second copy of
a command that could drift from the local run. `migrate` is the one part that is not a
long-running process, so it is not in the Procfile; it runs what `make run` runs before
starting the processes (scripts/run.sh).

The command replaces this process (exec), so SIGTERM from Docker or the kubelet reaches
gunicorn, Celery or the gRPC server directly and they shut down gracefully.

Parts that run several processes (gunicorn's workers, Celery's pool) get their own, empty
PROMETHEUS_MULTIPROC_DIR here, so their `/metrics` adds up their processes and only theirs:
`METRICS_DIR/escrutinio-metrics/<part>-<pid>` (the pid survives the exec). This is the one
place that decides it for `make run`, the tests, compose and Kubernetes (where METRICS_DIR
is a tmpfs / emptyDir, the root filesystem being read-only).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
MIGRATE = "python manage.py migrate --noinput && exec python manage.py load_catalogue"
MULTIPROCESS_PARTS = frozenset({"api", "gateway", "publisher", "worker"})


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
    # The Procfile's `python`, `gunicorn`, `celery` are this interpreter's (its virtualenv's),
    # however the caller's PATH is set.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    metrics_dir_prepare(argv[0], os.environ)
    os.execvp("sh", ["sh", "-c", exec_line(parts[argv[0]])])  # noqa: S606 -- our Procfile, not user input
    return 0  # not reached


def metrics_dir_prepare(part: str, env: os._Environ[str] | dict[str, str]) -> Path | None:
    """Give a multi-process part an empty PROMETHEUS_MULTIPROC_DIR of its own (None: not one).

    Stale files would add a previous run's counts; directories of processes that are gone
    are swept, so repeated local runs do not pile them up.
    """
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # never inherited: one directory per part
    if part not in MULTIPROCESS_PARTS:
        return None
    base = Path(env.get("METRICS_DIR") or tempfile.gettempdir()) / "escrutinio-metrics"
    base.mkdir(parents=True, exist_ok=True)
    for stale in base.iterdir():
        pid = stale.name.rpartition("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    directory = base / f"{part}-{os.getpid()}"
    shutil.rmtree(directory, ignore_errors=True)  # a restarted container keeps its emptyDir
    directory.mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def exec_line(command: str) -> str:
    """`exec` a simple command, so the shell is replaced by it (PID 1 in a container)."""
    if command.startswith("exec ") or any(op in command for op in ("&&", "||", ";", "|")):
        return command
    return f"exec {command}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
