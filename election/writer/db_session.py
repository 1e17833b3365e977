"""Django's connection handling for a long-lived thread that records votes.

Django checks a kept connection before each request (CONN_HEALTH_CHECKS: a ping, one round
trip) and drops one past CONN_MAX_AGE or broken after it. A thread that commits batch after
batch (the gRPC server's database threads, the Celery worker's committer) wraps each batch in
`database_session()`, which does the same, minus the ping before a batch that follows the
previous one closely: if the server dropped the connection meanwhile, the batch's first
statement fails and votes_record retries it on a new connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connection

# A batch within this long of the thread's previous one skips the check.
CHECK_AFTER_IDLE_SECONDS = 1.0
_thread = threading.local()  # per thread: last_batch_ended (monotonic seconds), in_session


@contextmanager
def database_session() -> Iterator[None]:
    if getattr(_thread, "in_session", False):  # nested (a batch's halves): the outer one checks
        yield
        return
    if time.monotonic() - getattr(_thread, "last_batch_ended", 0.0) > CHECK_AFTER_IDLE_SECONDS:
        close_old_connections()  # the next query pings first, as for a request
    _thread.in_session = True
    try:
        yield
    finally:
        _thread.in_session = False
        _thread.last_batch_ended = time.monotonic()
        if connection.errors_occurred:
            close_old_connections()
