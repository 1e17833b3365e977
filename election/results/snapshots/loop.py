"""The `snapshots` process: a snapshot every SNAPSHOT_INTERVAL_S, measured start to start (a
snapshot that overruns the interval is followed at once by the next, never by two at a time).

SIGTERM or SIGINT set `stop`: the loop ends between snapshots, and a snapshot being written is
abandoned at its next file, before its manifest, deleting what it wrote; the chain is left as
it was. A snapshot that fails is logged and the loop goes on: the next one starts afresh. After
each snapshot, those beyond the newest SNAPSHOT_KEEP are pruned (retention.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from django.conf import settings
from django.db import close_old_connections, connection

from election.results.snapshots.files import FileSource
from election.results.snapshots.heartbeat import Heartbeat
from election.results.snapshots.retention import snapshots_prune
from election.results.snapshots.storage import snapshot_storage
from election.results.snapshots.writer import SnapshotAbandoned, snapshot_take

logger = logging.getLogger(__name__)


def snapshot_once(sources: Sequence[FileSource], stop: threading.Event) -> bool:
    """One snapshot; False when it failed (logged)."""
    close_old_connections()
    try:
        snapshot_take(sources=sources, stop=stop.is_set)
        snapshots_prune(snapshot_storage(), settings.SNAPSHOT_KEEP)
    except SnapshotAbandoned as exc:
        logger.warning("snapshot abandoned", extra={"reason": str(exc)})
        return True
    except Exception:
        logger.exception("snapshot failed")
        connection.close()  # the next one opens a fresh connection, whatever broke this one
        return False
    return True


def snapshots_loop(
    *, interval_s: float, sources: Sequence[FileSource], stop: threading.Event, heartbeat: str = ""
) -> None:
    """`heartbeat`: SNAPSHOT_HEARTBEAT_FILE, the file the probes read (heartbeat.py)."""
    logger.info("snapshots started", extra={"interval_s": interval_s})
    alive = Heartbeat(heartbeat)
    alive.beat(now=True)
    sources = alive.sources(sources)
    while not stop.is_set():
        started = time.monotonic()
        snapshot_once(sources, stop)
        alive.beat(now=True)
        stop.wait(max(0.0, interval_s - (time.monotonic() - started)))
    logger.info("snapshots stopped")
