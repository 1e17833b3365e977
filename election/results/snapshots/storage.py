"""Where snapshots go: Django's STORAGES["snapshots"] (election/settings.py), a directory
(SNAPSHOT_DIR, served as static files) or a Cloud Storage bucket behind Cloud CDN.

Every file of a snapshot is written once under its own id and never changed, so it may be
cached for good; latest.json and head.json are the objects replaced, every snapshot, so caches
keep them for seconds. A reader must never see half a file: the directory backend writes each file beside
its place and renames it there (atomic on POSIX), and flushes them all to disk once before the
manifest; a bucket upload is atomic and durable by itself.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from election.results.snapshots.manifest import HEAD_NAME, LATEST_NAME

STORAGE_ALIAS = "snapshots"
IMMUTABLE = "public, max-age=31536000, immutable"
LATEST_MAX_AGE_S = 5  # a CDN may keep latest.json this long: a reader is at most one interval + 5 s behind
LATEST = f"public, max-age={LATEST_MAX_AGE_S}, must-revalidate"
CHUNK = 1 << 16


def cache_control_for(name: str) -> str:
    """The Cache-Control of a stored snapshot object (the static server and the bucket send the same)."""
    replaced = name.rsplit("/", 1)[-1] in (LATEST_NAME, HEAD_NAME)  # no snapshot file has either name
    return LATEST if replaced else IMMUTABLE


def snapshot_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def storage_save(storage: Storage, name: str, content: IO[bytes]) -> None:
    """Store `content` (rewound, read in chunks) at exactly `name`, replacing what is there."""
    content.seek(0)
    saved = storage.save(name, File(content, name=name))
    if saved != name:  # a backend that renames on collision would break the layout
        storage.delete(saved)
        raise RuntimeError(f"storage wrote {saved!r} instead of {name!r}")


class SnapshotFileStorage(FileSystemStorage):
    """A directory: each file written to a temporary name beside its place, flushed to disk, then
    renamed over it, so the static server serves the old bytes or the new, never a part."""

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name  # the layout fixes every name; latest.json is replaced on purpose

    def delete(self, name: str) -> None:
        """The file, then each folder it leaves empty (an abandoned snapshot leaves no folder)."""
        super().delete(name)
        root, folder = Path(self.location).resolve(), Path(self.path(name)).parent
        while folder != root and folder.is_relative_to(root):
            try:
                folder.rmdir()
            except OSError:  # not empty, or gone
                break
            folder = folder.parent

    @contextmanager
    def writing(self, name: str) -> Iterator[IO[bytes]]:
        """A file written straight into its place: to a temporary name beside it, renamed over it
        when the block ends, removed if the block fails. Not flushed to disk one by one (thousands
        of fsyncs would cost more than the snapshot): `sync()` once before the manifest."""
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb", buffering=CHUNK) as out:
                yield out
            os.chmod(temporary, 0o644)  # served to anyone: readable by the static server's user
            os.replace(temporary, full_path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def _save(self, name: str, content: Any) -> str:
        with self.writing(name) as out:
            for chunk in content.chunks(CHUNK):
                out.write(chunk)
        return name

    def sync(self) -> None:
        """Every file written so far on disk, before the manifest that vouches for them."""
        os.sync()
