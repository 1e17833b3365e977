"""What a snapshot holds, as a stream of files: each one a path (relative to the snapshot's
folder) and a function that writes its bytes to a sink, called once, in turn, so that only the
file being written is ever in memory (docs/snapshots.md has the layout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from election.results.snapshots.counts import SOURCES, papeleta_codes
from election.results.snapshots.manifest import json_bytes
from election.results.snapshots.timeline import ChainCounts, timeline_answer

Write = Callable[[BinaryIO], Any]


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    path: str  # area/actas/presidente/pais.json
    write: Write


@dataclass(frozen=True, slots=True)
class SnapshotContext:
    """What every file of one snapshot agrees on."""

    id: str
    time: datetime
    counts: dict[str, Any]
    chain: list[ChainCounts]  # the timeline's points, this snapshot's last


FileSource = Callable[[SnapshotContext], Iterable[SnapshotFile]]


def json_file(path: str, data: Any) -> SnapshotFile:
    encoded = json_bytes(data)
    return SnapshotFile(path, lambda out: out.write(encoded))


def timeline_files(context: SnapshotContext) -> Iterator[SnapshotFile]:
    for source in SOURCES:
        for papeleta in papeleta_codes():
            answer = timeline_answer(source, papeleta, context.chain)
            yield json_file(f"timeline/{source}/{papeleta}.json", answer)


def snapshot_files(context: SnapshotContext, sources: Iterable[FileSource]) -> Iterator[SnapshotFile]:
    for source in sources:
        yield from source(context)
