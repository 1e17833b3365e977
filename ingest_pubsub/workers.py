"""Run a Celery worker command as N processes, each its own node: the Procfile's `worker:` line.

    python -m ingest_pubsub.workers N celery -A election worker -Q votes --pool threads ...

Why several processes: a worker has one consumer loop, which takes messages from Redis one
at a time (BRPOP, then recording the message as unacknowledged: two writes, each waiting for
Redis' fsync with `appendfsync always`), and one interpreter lock for its Python. Two
consumers overlap those waits and use both cores; each process still commits the messages of
its own threads together (ingest_pubsub/committer.py).

The first process is the node `celery@<host>` (the name the probes ping) and serves
`/metrics` for all of them (they share the part's PROMETHEUS_MULTIPROC_DIR); the others are
`celery2@<host>` ... and serve none. SIGTERM and SIGINT are passed on to every process as
SIGTERM (a warm shutdown: each finishes its tasks, so its acks; Celery takes a repeated
SIGTERM as the same request, whereas a second SIGINT would cut the tasks short), SIGQUIT as
itself. A signal to the whole process group (SIGKILL from a test) reaches them anyway, since
they stay in this process's group. When one exits by itself,
the others are stopped and this exits with its code, so that whatever runs the part
(`make run`, compose, Kubernetes) restarts the whole of it; unacknowledged messages come
back after the visibility timeout, and their votes are stored once (idempotent on vote_id):
docs/reliability.md#the-celery-worker says why no vote is lost on the way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType

# What each signal this process receives becomes for the worker processes.
FORWARDED = {signal.SIGTERM: signal.SIGTERM, signal.SIGINT: signal.SIGTERM, signal.SIGQUIT: signal.SIGQUIT}


def node_name(index: int) -> str:
    return "celery@%h" if index == 0 else f"celery{index + 1}@%h"


def workers_start(count: int, command: list[str]) -> list[subprocess.Popen[bytes]]:
    children = []
    for index in range(count):
        env = dict(os.environ)
        if index:
            env["CELERY_METRICS_PORT"] = "0"  # the first process serves /metrics for all
        children.append(subprocess.Popen([*command, "--hostname", node_name(index)], env=env))
    return children


def workers_run(count: int, command: list[str]) -> int:
    children = workers_start(count, command)

    def forward(signum: int, _: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(FORWARDED[signal.Signals(signum)])

    for signum in FORWARDED:
        signal.signal(signum, forward)
    _, status = os.wait()  # the first to exit, by itself or after a forwarded signal
    code = os.waitstatus_to_exitcode(status)
    forward(signal.SIGTERM, None)
    for child in children:
        child.wait()
    return code if code >= 0 else 128 - code


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit() or int(argv[0]) < 1:
        print("usage: python -m ingest_pubsub.workers N COMMAND...", file=sys.stderr)
        return 2
    return workers_run(int(argv[0]), argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
