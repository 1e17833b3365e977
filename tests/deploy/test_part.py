"""The image's entry point (scripts/part.py) and health probe (scripts/probe.py), run for real.

The containers start a part by its Procfile name, and compose checks health with the probe,
so both are exercised here against real processes, MariaDB and Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.part import exec_line, part_commands
from scripts.probe import healthy
from tests.conftest import ROOT


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_parts_are_the_procfile_lines_plus_migrate(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "# comment\napi: gunicorn app --bind ${BIND_HOST:-127.0.0.1}:8000\n\nworker: celery worker\n"
    )
    assert part_commands(procfile) == {
        "api": "gunicorn app --bind ${BIND_HOST:-127.0.0.1}:8000",
        "worker": "celery worker",
        "migrate": "python manage.py migrate --noinput && exec python manage.py load_catalogue",
    }


def test_simple_commands_replace_the_shell_and_compound_ones_are_left_alone() -> None:
    assert exec_line("gunicorn app") == "exec gunicorn app"
    assert exec_line("exec gunicorn app") == "exec gunicorn app"
    assert exec_line("a && exec b") == "a && exec b"


def test_an_unknown_part_is_refused_with_the_list_of_parts() -> None:
    result = run_module("scripts.part", "nonsense")
    assert result.returncode == 2
    assert "api" in result.stderr and "migrate" in result.stderr


def test_the_migrate_part_migrates_and_loads_the_catalogue(service_env: dict[str, str]) -> None:
    result = run_module("scripts.part", "migrate", env=service_env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_api_part_listens_on_bind_host_answers_the_probe_and_stops_on_sigterm(
    service_env: dict[str, str], spawn, port: int
) -> None:  # type: ignore[no-untyped-def]
    env = {**service_env, "BIND_HOST": "127.0.0.1", "API_PORT": str(port)}
    api = spawn("api", [sys.executable, "-m", "scripts.part", "api"], env).wait_for_port(port, timeout=60)
    # exec: the process started is gunicorn itself, so the container's SIGTERM reaches it.
    cmdline = Path(f"/proc/{api.popen.pid}/cmdline").read_bytes().replace(b"\0", b" ")
    assert b"gunicorn" in cmdline
    assert (
        run_module("scripts.probe", "--wait", "60", f"http://127.0.0.1:{port}/readyz", env=env).returncode
        == 0
    )
    assert api.stop() == 0


def test_the_probe_fails_when_nothing_answers(port: int) -> None:
    assert not healthy(f"http://127.0.0.1:{port}/readyz")
    assert not healthy(f"grpc://127.0.0.1:{port}")
    result = run_module("scripts.probe", f"http://127.0.0.1:{port}/healthz")
    assert result.returncode == 1 and "not healthy" in result.stderr


@pytest.mark.slow
def test_the_probe_speaks_grpc_health_to_the_grpc_server(
    service_env: dict[str, str], spawn, port: int
) -> None:  # type: ignore[no-untyped-def]
    env = {**service_env, "GRPC_ADDRESS": f"127.0.0.1:{port}"}
    spawn("grpc", [sys.executable, "-m", "ingest_grpc.server"], env).wait_for_port(port, timeout=60)
    assert run_module("scripts.probe", "--wait", "30", f"grpc://127.0.0.1:{port}", env=env).returncode == 0


def test_every_process_that_binds_an_address_takes_bind_host() -> None:
    """The image sets BIND_HOST=0.0.0.0: a Procfile line bound to 127.0.0.1 alone would be
    unreachable from outside its container."""
    for name, command in part_commands().items():
        if "--bind" in command:
            assert "--bind ${BIND_HOST:-127.0.0.1}:" in command, name


def test_the_probe_reads_a_heartbeat_file_by_its_age(tmp_path: Path) -> None:
    """The snapshot writer serves nothing: its probe is the age of the file its loop touches."""
    heartbeat = tmp_path / "heartbeat"
    target = f"file://{heartbeat}"
    assert run_module("scripts.probe", "--max-age", "60", target).returncode == 1  # not yet touched
    heartbeat.touch()
    assert run_module("scripts.probe", "--max-age", "60", target).returncode == 0
    stale = time.time() - 61
    os.utime(heartbeat, (stale, stale))
    result = run_module("scripts.probe", "--max-age", "60", target)
    assert result.returncode == 1 and "not healthy" in result.stderr
    assert healthy(target, max_age=120)
