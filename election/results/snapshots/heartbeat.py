"""The snapshot writer's sign of life for its probes: a file (SNAPSHOT_HEARTBEAT_FILE) touched
when the loop starts, while a snapshot's files are written, and after every snapshot.

The writer serves nothing a probe could ask, so Kubernetes and compose read the file's age
(`python -m scripts.probe --max-age 600 file://...`). Touching it per file, not only per
snapshot, keeps a long snapshot that progresses alive (one at 1M votes takes minutes on a
loaded core, docs/performance.md) and lets a stuck one be restarted. At most one touch every
BEAT_EVERY_S, so the file costs nothing beside the snapshot's own writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from election.results.snapshots.files import FileSource, SnapshotContext, SnapshotFile

BEAT_EVERY_S = 5.0


class Heartbeat:
    def __init__(self, path: str) -> None:
        self.path = Path(path) if path else None
        self.last = 0.0

    def beat(self, *, now: bool = False) -> None:
        if self.path is None or (not now and time.monotonic() - self.last < BEAT_EVERY_S):
            return
        self.path.touch()
        self.last = time.monotonic()

    def sources(self, sources: Sequence[FileSource]) -> list[FileSource]:
        """The same sources, beating as each of their files is taken."""
        if self.path is None:
            return list(sources)

        def beating(source: FileSource) -> FileSource:
            def files(context: SnapshotContext) -> Iterator[SnapshotFile]:
                for file in source(context):
                    self.beat()
                    yield file

            return files

        return [beating(source) for source in sources]
