"""The manifest, fixed by issue 23 so that outside verifiers agree (docs/snapshots.md):

    {"id","time","previous","counts","files":[{"path","sha256","bytes"}]}

as compact JSON (no spaces), keys in that order, `files` sorted by path, UTF-8 without escapes,
so that the same snapshot always has the same bytes and its SHA-256 names it. Django-free: the
verifier (verify.py) reads the same rules without the project's database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

MANIFEST_NAME = "manifest.json"
LATEST_NAME = "latest.json"
HEAD_NAME = "head.json"  # the readers' pointer to the newest snapshot: a few hundred bytes, not the manifest
MANIFEST_KEYS = ("id", "time", "previous", "counts", "files")
FILE_KEYS = ("path", "sha256", "bytes")


def json_bytes(data: Any) -> bytes:
    """The one JSON form of every snapshot file: compact, UTF-8, keys in the order given."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def snapshot_id(time: datetime) -> str:
    """Sortable as text and as time: `20261207T140000.123Z` (UTC, milliseconds)."""
    utc = time.astimezone(UTC)
    return utc.strftime("%Y%m%dT%H%M%S.") + f"{utc.microsecond // 1000:03d}Z"


def iso_time(time: datetime) -> str:
    return time.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # relative to the manifest: area/actas/presidente/pais.json
    sha256: str
    bytes: int


def manifest_bytes(
    *, id: str, time: str, previous: str | None, counts: dict[str, Any], files: list[FileEntry]
) -> bytes:
    ordered = sorted(files, key=lambda f: f.path)
    paths = [f.path for f in ordered]
    if len(set(paths)) != len(paths):
        raise ValueError("a snapshot names a file twice")
    return json_bytes(
        {
            "id": id,
            "time": time,
            "previous": previous,
            "counts": counts,
            "files": [{"path": f.path, "sha256": f.sha256, "bytes": f.bytes} for f in ordered],
        }
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def head_bytes(manifest: bytes) -> bytes:
    """head.json for the manifest `manifest` (latest.json's bytes): what a reader polls instead
    of the whole manifest (2.2 MB at the demo scale, listing every file), derived from it alone
    so the two never disagree and the verifier can recompute it:

        {"id","time","manifest":"<id>/manifest.json","sha256","detail":<counts.detail or null>}
    """
    parsed = json.loads(manifest)
    counts = parsed.get("counts")
    return json_bytes(
        {
            "id": parsed["id"],
            "time": parsed["time"],
            "manifest": f"{parsed['id']}/{MANIFEST_NAME}",
            "sha256": sha256_hex(manifest),
            "detail": counts.get("detail") if isinstance(counts, dict) else None,
        }
    )


class HashingWriter:
    """A binary sink that hashes and counts what passes through it to `out`, so a file is
    hashed as it is written, never held whole in memory."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.out.write(data)
        return len(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self.out.flush()

    def entry(self, path: str) -> FileEntry:
        return FileEntry(path=path, sha256=self.digest.hexdigest(), bytes=self.size)
