"""gunicorn's own lines (start-up, workers, errors, access) in the format of every other line of
the system: JSON, or plain with LOG_FORMAT=plain, timed in UTC (election.observability.logs).

gunicorn reads ./gunicorn.conf.py by itself, and every gunicorn of the system starts from the
repository's root: `make run` (Procfile), the benchmarks and the containers (WORKDIR /app).
Without this file, a worker that loads Django stamps gunicorn's lines with TIME_ZONE's clock
(Django sets the process's zone), the master and the gateway with the machine's.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from election.observability.logs import formatter

# The formatter stamps each line with its time in UTC; gunicorn's default access line carries
# another, in the local zone (%(t)s). Client, request, status, bytes, milliseconds, agent.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


class ProjectLogger(Logger):
    """gunicorn's logger, with the project's formatter on every handler gunicorn sets."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        project_formatter = formatter(os.environ.get("LOG_FORMAT", "json"))
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(project_formatter)


logger_class = ProjectLogger
