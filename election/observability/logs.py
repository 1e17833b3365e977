"""Structured logging: one JSON object per line, extra fields kept; or plain lines for a
terminal (LOG_FORMAT=plain). Both are timed in UTC."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# The two LOG_FORMAT choices, for logging.config.dictConfig: Django's settings and the gateway
# (which has no Django) both use these, so every process's lines look alike.
FORMATTERS: dict[str, dict[str, str]] = {
    "json": {"()": "election.observability.logs.JsonFormatter"},
    "plain": {
        "()": "election.observability.logs.PlainFormatter",
        "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
    },
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """One readable line per record, timed in UTC as the JSON lines are. The local clock would
    differ between parts: Django sets the process's zone to TIME_ZONE, the gateway has none."""

    converter = staticmethod(time.gmtime)
    default_msec_format = "%s.%03dZ"


def formatter(log_format: str) -> logging.Formatter:
    """The formatter LOG_FORMAT names (json unless `plain`), for handlers that dictConfig does not
    make, as gunicorn's own."""
    if log_format == "plain":
        return PlainFormatter(FORMATTERS["plain"]["format"])
    return JsonFormatter()
