"""Writing one snapshot, and extending the chain with it.

The order is what makes a snapshot safe to read while it is written: every file first (each
hashed as it streams to storage), the manifest last, then latest.json and head.json (its small
pointer, what the results site polls), then the Snapshot row. A reader that follows latest.json,
head.json or the API's list finds only manifests whose files are all there. A snapshot that
fails or is abandoned before its manifest deletes what it wrote; one whose head.json or row
cannot be stored puts latest.json and head.json back as they were; nothing ever references its
files.

Every file is read inside one REPEATABLE READ transaction on MariaDB (read-only, so it locks
nothing and writers never wait), so the counts, the areas and the open data are of one moment.
SQLite (the local run) gets no such transaction: its transactions are IMMEDIATE, which would stop
every ingest writer for as long as the snapshot takes.
"""

from __future__ import annotations

import io
import logging
import tempfile
import time as clock
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.storage import Storage
from django.utils import timezone

from election.models import Snapshot
from election.models.snapshots import FIRST
from election.results.consistent import consistent_read
from election.results.snapshots.counts import snapshot_counts
from election.results.snapshots.files import FileSource, SnapshotContext, SnapshotFile, snapshot_files
from election.results.snapshots.lease import ChainLease, chain_lease, lease_seconds
from election.results.snapshots.manifest import (
    HEAD_NAME,
    LATEST_NAME,
    MANIFEST_NAME,
    FileEntry,
    HashingWriter,
    head_bytes,
    iso_time,
    manifest_bytes,
    sha256_hex,
    snapshot_id,
)
from election.results.snapshots.storage import SnapshotFileStorage, snapshot_storage, storage_save
from election.results.snapshots.timeline import TIMELINE_POINTS, ChainCounts, chain_counts

if TYPE_CHECKING:
    from election.results.snapshots.detail import DetailGeneration

logger = logging.getLogger(__name__)
IN_MEMORY_UP_TO = 1 << 20  # a file larger than this is spooled to a temporary file on its way to storage


class SnapshotAbandoned(RuntimeError):
    """Stopped on purpose (SIGTERM) before its manifest: what it wrote is deleted."""


def never() -> bool:
    return False


def snapshot_take(
    *,
    sources: Sequence[FileSource],
    storage: Storage | None = None,
    stop: Callable[[], bool] = never,
    detail: DetailGeneration | None = None,
) -> Snapshot | None:
    """Write the next snapshot of the chain; None when another writer holds the chain. `detail`,
    the newest completed detail generation, is listed by reference (detail.py)."""
    with chain_lease(lease_seconds(settings.SNAPSHOT_INTERVAL_S)) as lease:
        if lease is None:
            logger.info("snapshot skipped: another writer holds the chain")
            return None
        return _snapshot_write(lease, storage or snapshot_storage(), sources, stop, detail)


def _next_time(head: Snapshot | None) -> datetime:
    """Now, to the millisecond the id shows, and always after the head's (ids sort as times)."""
    now = timezone.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return max(now, head.time + timedelta(milliseconds=1)) if head is not None else now


def _snapshot_write(
    lease: ChainLease,
    storage: Storage,
    sources: Sequence[FileSource],
    stop: Callable[[], bool],
    detail: DetailGeneration | None,
) -> Snapshot:
    started = clock.monotonic()
    head = Snapshot.objects.order_by("-id").first()
    time = _next_time(head)
    id = snapshot_id(time)
    written: list[str] = []
    try:
        with consistent_read():
            counts = snapshot_counts() | {"detail": detail.counts() if detail is not None else None}
            chain = [*chain_counts(TIMELINE_POINTS - 1), ChainCounts(id, time, counts)]
            context = SnapshotContext(id=id, time=time, counts=counts, chain=chain)
            entries = []
            for file in snapshot_files(context, sources):
                if stop():
                    raise SnapshotAbandoned(f"snapshot {id} abandoned before its manifest")
                written.append(f"{id}/{file.path}")
                entries.append(file_store(storage, written[-1], file))
        own_bytes = sum(e.bytes for e in entries)
        if detail is not None:
            entries.extend(detail.manifest_entries())  # already on disk, immutable: by reference
        previous = head.sha256 if head is not None else None
        manifest = manifest_bytes(id=id, time=iso_time(time), previous=previous, counts=counts, files=entries)
        if isinstance(storage, SnapshotFileStorage):
            storage.sync()  # the files on disk before the manifest that vouches for them
        lease.renew()  # still the one writer: else abandon, before anything refers to these files
        manifest_name = f"{id}/{MANIFEST_NAME}"
        written.append(manifest_name)
        storage_save(storage, manifest_name, io.BytesIO(manifest))
        storage_save(storage, LATEST_NAME, io.BytesIO(manifest))
        try:
            _head_store(storage, manifest)
            snapshot = Snapshot.objects.create(
                id=id,
                time=time,
                previous=previous or FIRST,
                sha256=sha256_hex(manifest),
                manifest_path=manifest_name,
                counts=counts,
                file_count=len(entries),
                byte_count=sum(e.bytes for e in entries),
            )
        except BaseException:
            _latest_restore(storage, head)
            raise
    except BaseException:
        forget(storage, written)
        raise
    logger.info(
        "snapshot written",
        extra={
            "snapshot": id,
            "seconds": round(clock.monotonic() - started, 3),
            "files": snapshot.file_count,
            "bytes": own_bytes,
            "bytes_referenced": snapshot.byte_count - own_bytes,
            "manifest_sha256": snapshot.sha256,
            "votes_stored": counts["votes_stored"],
            "actas_counted": counts["actas"]["counted"],
        },
    )
    return snapshot


def file_store(storage: Storage, name: str, file: SnapshotFile) -> FileEntry:
    if isinstance(storage, SnapshotFileStorage):  # straight into place: no second copy
        with storage.writing(name) as out:
            sink = HashingWriter(out)
            file.write(sink)  # type: ignore[arg-type]  # HashingWriter writes as a binary IO does
        return sink.entry(file.path)
    with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_UP_TO) as spool:
        sink = HashingWriter(spool)  # type: ignore[arg-type]  # a spooled file is a binary IO
        file.write(sink)  # type: ignore[arg-type]  # HashingWriter writes as a binary IO does
        storage_save(storage, name, spool)  # type: ignore[arg-type]
    return sink.entry(file.path)


def _head_store(storage: Storage, manifest: bytes) -> None:
    """head.json, right after latest.json: the small pointer readers poll (docs/snapshots.md)."""
    storage_save(storage, HEAD_NAME, io.BytesIO(head_bytes(manifest)))


def _latest_restore(storage: Storage, head: Snapshot | None) -> None:
    """latest.json and head.json back to the head's manifest (or gone, when there is no head)."""
    try:
        if head is None:
            storage.delete(LATEST_NAME)
            storage.delete(HEAD_NAME)
            return
        with storage.open(head.manifest_path, "rb") as previous:
            raw = previous.read()
        storage_save(storage, LATEST_NAME, io.BytesIO(raw))
        _head_store(storage, raw)
    except Exception:
        logger.exception("latest.json could not be put back", extra={"head": head.id if head else None})


def forget(storage: Storage, names: list[str]) -> None:
    """Delete what an unfinished snapshot or detail generation wrote (best effort: nothing
    references it anyway)."""
    for name in reversed(names):
        try:
            storage.delete(name)
        except Exception:
            logger.warning("could not delete an unfinished snapshot's file", extra={"file": name})
