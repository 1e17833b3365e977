"""The `snapshots` process: a regular snapshot every SNAPSHOT_INTERVAL_S, measured start to start
(a snapshot that overruns the interval is followed at once by the next, never by two at a time),
and beside it a thread writing the detail tier (detail.py) back to back, at most every
SNAPSHOT_DETAIL_INTERVAL_S, each regular snapshot referencing the newest completed generation.

SIGTERM or SIGINT set `stop`: both loops end between their runs, and a snapshot or generation
being written is abandoned at its next file, deleting what it wrote; the chain is left as it was
and no manifest names half a generation. The process waits for the detail thread before it
exits. A run that fails is logged and its loop goes on: the next one starts afresh. After each
snapshot, those beyond the newest SNAPSHOT_KEEP are pruned (retention.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from django.conf import settings
from django.db import close_old_connections, connection, connections

from election.results.snapshots.detail import DetailAbandoned, DetailHolder, detail_adopt, detail_write
from election.results.snapshots.files import FileSource
from election.results.snapshots.heartbeat import Heartbeat
from election.results.snapshots.retention import snapshots_prune
from election.results.snapshots.storage import snapshot_storage
from election.results.snapshots.writer import SnapshotAbandoned, snapshot_take

logger = logging.getLogger(__name__)


def snapshot_once(
    sources: Sequence[FileSource], stop: threading.Event, holder: DetailHolder | None = None
) -> bool:
    """One regular snapshot; False when it failed (logged)."""
    close_old_connections()
    try:
        detail = holder.current() if holder is not None else None
        if snapshot_take(sources=sources, stop=stop.is_set, detail=detail) is not None and holder is not None:
            holder.referenced(detail)
        snapshots_prune(snapshot_storage(), settings.SNAPSHOT_KEEP, keep_detail=detail)
    except SnapshotAbandoned as exc:
        logger.warning("snapshot abandoned", extra={"reason": str(exc)})
        return True
    except Exception:
        logger.exception("snapshot failed")
        connection.close()  # the next one opens a fresh connection, whatever broke this one
        return False
    return True


def detail_once(sources: Sequence[FileSource], stop: threading.Event, holder: DetailHolder) -> bool:
    """One detail generation (or its skip); False when it failed (logged)."""
    close_old_connections()
    try:
        generation = detail_write(snapshot_storage(), sources, previous=holder.current(), stop=stop.is_set)
    except DetailAbandoned as exc:
        logger.warning("detail abandoned", extra={"reason": str(exc)})
        return True
    except Exception:
        logger.exception("detail failed")
        connection.close()
        return False
    if generation is not None:
        holder.set(generation)
    return True


def detail_loop(
    *, interval_s: float, sources: Sequence[FileSource], holder: DetailHolder, stop: threading.Event
) -> None:
    """The detail thread: its own connection (Django's are per thread), closed when it ends."""
    try:
        adopted = holder.current()
        if adopted is not None:  # taken back after a restart: not rewritten before its interval is up
            stop.wait(max(0.0, interval_s - (time.time() - adopted.time.timestamp())))
        while not stop.is_set():
            started = time.monotonic()
            detail_once(sources, stop, holder)
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))
    finally:
        connections.close_all()


def snapshots_loop(
    *,
    interval_s: float,
    sources: Sequence[FileSource],
    stop: threading.Event,
    detail_sources: Sequence[FileSource] = (),
    detail_interval_s: float = 300.0,
    heartbeat: str = "",
) -> None:
    """`heartbeat`: SNAPSHOT_HEARTBEAT_FILE, the file the probes read (heartbeat.py)."""
    alive = Heartbeat(heartbeat)
    alive.beat(now=True)
    sources = alive.sources(sources)
    holder = DetailHolder(detail_adopt(snapshot_storage()) if detail_sources else None)
    detail = threading.Thread(
        target=detail_loop,
        kwargs={"interval_s": detail_interval_s, "sources": detail_sources, "holder": holder, "stop": stop},
        name="snapshots-detail",
    )
    if detail_sources:
        detail.start()
    logger.info("snapshots started", extra={"interval_s": interval_s, "detail_interval_s": detail_interval_s})
    try:
        while not stop.is_set():
            started = time.monotonic()
            snapshot_once(sources, stop, holder)
            alive.beat(now=True)
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))
    finally:
        stop.set()
        if detail.is_alive():
            detail.join()
        holder.unreferenced_forget(snapshot_storage())
    logger.info("snapshots stopped")
