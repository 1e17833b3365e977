"""Both log formats carry the same UTC clock, whatever zone Django set for the process."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest

from election.logs import JsonFormatter, PlainFormatter

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
    from ingest_grpc import gateway

    monkeypatch.setenv("LOG_FORMAT", "plain")
    gateway.configure_logging()  # after Django configured the same formatters in this process
    (handler,) = logging.getLogger("ingest_grpc").handlers
    assert isinstance(handler.formatter, PlainFormatter)
    assert handler.format(record()) == "2026-11-30 08:15:58.020Z WARNING election.test vote stored"
