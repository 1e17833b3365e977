"""The detail tier: the sedes' files and the open data, too big to write every interval (at a
million votes, 14,068 sede files and 1.4 GB cost three minutes), written in the background as a
*generation* and referenced by the regular snapshots until the next one completes
(docs/snapshots.md, "The detail tier").

A generation is read in one consistent read of its own, written to `detail/<id>/sede/...` and
`detail/<id>/open/...` at the storage root (hashed as it streams, never changed after), flushed
to disk, and only then handed to the regular writer (DetailHolder): a manifest lists its files as
`../detail/<id>/...` with their SHA-256 and bytes, and `counts.detail` says where and of when.
A generation that fails or is stopped deletes what it wrote; nothing referenced it yet.

A generation is skipped, the previous one kept, when nothing changed since its read: the same
fingerprint (votes stored, the newest vote and acta entry, the newest acta update), a few
aggregate reads. After a restart the newest generation the head manifest references is taken
back (`detail_adopt`), so none is rewritten for nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.storage import Storage
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from election.models import Acta, ActaEntry, RouteTally, Snapshot, Vote
from election.results.consistent import consistent_read
from election.results.snapshots.files import FileSource, SnapshotContext, snapshot_files
from election.results.snapshots.manifest import FileEntry, iso_time, snapshot_id
from election.results.snapshots.storage import SnapshotFileStorage
from election.results.snapshots.writer import file_store, forget

logger = logging.getLogger(__name__)
DETAIL_FOLDER = "detail"


class DetailAbandoned(RuntimeError):
    """Stopped on purpose (SIGTERM) before it completed: what it wrote is deleted."""


@dataclass(frozen=True, slots=True)
class DetailGeneration:
    """A completed generation: its files' entries, paths relative to its own folder (sede/...)."""

    id: str
    time: datetime  # of its read
    files: tuple[FileEntry, ...]
    fingerprint: tuple[Any, ...] | None = None  # None when taken back after a restart

    @property
    def folder(self) -> str:
        return f"{DETAIL_FOLDER}/{self.id}/"

    def manifest_entries(self) -> list[FileEntry]:
        """Its files as a snapshot's manifest lists them: relative to `<snapshot id>/`."""
        return [FileEntry(f"../{self.folder}{f.path}", f.sha256, f.bytes) for f in self.files]

    def counts(self) -> dict[str, str]:
        return {"id": self.id, "time": iso_time(self.time), "path": f"../{self.folder}"}


class DetailHolder:
    """The newest completed generation, handed from the detail thread to the regular writer."""

    def __init__(self, generation: DetailGeneration | None = None) -> None:
        self._lock = threading.Lock()
        self._generation = generation
        self._referenced = generation.id if generation is not None else None

    def referenced(self, generation: DetailGeneration | None) -> None:
        """A snapshot listing `generation` is published."""
        with self._lock:
            self._referenced = generation.id if generation is not None else self._referenced

    def unreferenced_forget(self, storage: Storage) -> None:
        """At shutdown: a generation completed after the last snapshot is named by no manifest and
        could not be taken back (detail_adopt reads the head's), so its files go."""
        with self._lock:
            generation = self._generation
            if generation is None or generation.id == self._referenced:
                return
        forget(storage, [f"{DETAIL_FOLDER}/{generation.id}/{f.path}" for f in generation.files])
        logger.info("unreferenced detail deleted", extra={"detail": generation.id})

    def current(self) -> DetailGeneration | None:
        with self._lock:
            return self._generation

    def set(self, generation: DetailGeneration) -> None:
        with self._lock:
            self._generation = generation


def detail_fingerprint() -> tuple[Any, ...]:
    """What changes whenever a vote is stored or an acta is entered or updated: votes stored
    (RouteTally, kept in each vote's transaction), the newest vote and entry ids, the newest acta
    head update. Primary-key maxima and small sums; the acta heads' maximum reads their table."""
    votes = RouteTally.objects.aggregate(n=Sum("votes"))["n"] or 0
    newest_vote = Vote.objects.aggregate(m=Max("id"))["m"]
    newest_entry = ActaEntry.objects.aggregate(m=Max("id"))["m"]
    newest_update = Acta.objects.aggregate(m=Max("updated_at"))["m"]
    return (int(votes), newest_vote, newest_entry, newest_update.isoformat() if newest_update else None)


def detail_write(
    storage: Storage,
    sources: Sequence[FileSource],
    *,
    previous: DetailGeneration | None,
    stop: Callable[[], bool],
) -> DetailGeneration | None:
    """The next generation, or None when nothing changed since `previous` (which stays)."""
    started = clock.monotonic()
    written: list[str] = []
    try:
        with consistent_read():
            fingerprint = detail_fingerprint()
            if previous is not None and previous.fingerprint == fingerprint:
                logger.info("detail skipped: nothing changed", extra={"detail": previous.id})
                return None
            time = timezone.now()
            time = time.replace(microsecond=time.microsecond // 1000 * 1000)
            id = snapshot_id(time)
            context = SnapshotContext(id=id, time=time, counts={}, chain=[])
            entries = []
            for file in snapshot_files(context, sources):
                if stop():
                    raise DetailAbandoned(f"detail {id} abandoned before it completed")
                written.append(f"{DETAIL_FOLDER}/{id}/{file.path}")
                entries.append(file_store(storage, written[-1], file))
        if isinstance(storage, SnapshotFileStorage):
            storage.sync()  # on disk before any manifest vouches for them
    except BaseException:
        forget(storage, written)
        raise
    generation = DetailGeneration(id, time, tuple(sorted(entries, key=lambda f: f.path)), fingerprint)
    logger.info(
        "detail written",
        extra={
            "detail": id,
            "seconds": round(clock.monotonic() - started, 3),
            "files": len(entries),
            "bytes": sum(e.bytes for e in entries),
        },
    )
    return generation


def detail_adopt(storage: Storage) -> DetailGeneration | None:
    """The generation the head snapshot references, read back from its manifest (after a restart)."""
    head = Snapshot.objects.order_by("-id").first()
    detail = (head.counts or {}).get("detail") if head is not None else None
    if head is None or not detail:
        return None
    try:
        with storage.open(head.manifest_path, "rb") as raw:
            files = json.loads(raw.read())["files"]
    except (OSError, ValueError, KeyError):
        logger.warning("the head manifest could not be read: no detail taken back", extra={"head": head.id})
        return None
    prefix = detail["path"]
    entries = tuple(
        FileEntry(f["path"][len(prefix) :], f["sha256"], f["bytes"])
        for f in files
        if f["path"].startswith(prefix)
    )
    time = parse_datetime(detail["time"])
    if not entries or time is None:
        return None
    return DetailGeneration(detail["id"], time, entries)
