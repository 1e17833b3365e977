"""Both log formats carry the same UTC clock, whatever zone Django set for the process."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from election.observability.logs import JsonFormatter, PlainFormatter
from scripts.devservices import free_port
from scripts.processes import ChildProcess

# 2026-11-30 08:15:58.020 UTC; in Guatemala (TIME_ZONE, which Django sets as the process's TZ)
# the local clock reads 02:15:58.
CREATED = 1796026558.020


def record() -> logging.LogRecord:
    entry = logging.makeLogRecord({"name": "election.test", "levelname": "WARNING", "msg": "vote stored"})
    entry.created, entry.msecs = CREATED, 20.0
    return entry


@pytest.fixture
def guatemala_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/Guatemala")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_plain_and_the_json_lines_read_the_same_utc_time(guatemala_clock: None) -> None:
    assert time.localtime(CREATED).tm_hour == 2
    plain = PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record())
    assert plain == "2026-11-30 08:15:58.020Z WARNING election.test vote stored"
    assert json.loads(JsonFormatter().format(record()))["ts"] == "2026-11-30T08:15:58.020+00:00"


def test_the_gateway_logs_plain_lines_as_the_django_processes_do(
    guatemala_clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from election.ingest import config
    from ingest_grpc import gateway

    monkeypatch.setattr(config, "LOG_FORMAT", "plain")  # as LOG_FORMAT=plain sets it at start
    gateway.configure_logging()  # after Django configured the same formatters in this process
    (handler,) = logging.getLogger("ingest_grpc").handlers
    assert isinstance(handler.formatter, PlainFormatter)
    assert handler.format(record()) == "2026-11-30 08:15:58.020Z WARNING election.test vote stored"


PLAIN_UTC_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ "
)


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_gunicorns_own_lines_are_in_the_projects_format_and_in_utc(log_format: str) -> None:
    """gunicorn.conf.py at the root: start-up, worker and access lines as every other line.

    Run as the Procfile's `api:` line runs (a sync worker that loads Django, whose TIME_ZONE
    becomes the worker's zone), on the machine's zone set to Guatemala's as well.
    """
    port = free_port()
    env = {**os.environ, "LOG_FORMAT": log_format, "TZ": "America/Guatemala"}
    argv = [sys.executable, "-m", "gunicorn", "election.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    api = ChildProcess(
        "api-logs", [*argv, "--workers", "1", "--access-logfile", "-", "--no-control-socket"], env
    )
    try:
        api.wait_for_port(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
    finally:
        assert api.stop() == 0
    lines = [line for line in api.output().splitlines() if line.strip()]
    assert any("Booting worker" in line for line in lines) and any("GET /healthz" in line for line in lines)
    for line in lines:
        if log_format == "plain":
            assert PLAIN_UTC_LINE.match(line), line
        else:
            assert json.loads(line)["ts"].endswith("+00:00"), line
    access = next(line for line in lines if "GET /healthz" in line)
    assert "-0600" not in access  # no second, local time inside the access line
