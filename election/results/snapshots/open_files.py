"""The open-data files of a snapshot (election/results/opendata/): open/results.csv and
open/nist-1500-100.json, streamed into the snapshot as they are written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from election.results.opendata import write_nist_report, write_results_csv
from election.results.snapshots.files import SnapshotContext, SnapshotFile


def open_files(context: SnapshotContext) -> Iterator[SnapshotFile]:
    yield SnapshotFile("open/results.csv", write_results_csv)

    def nist(out: BinaryIO) -> None:
        write_nist_report(out, generated=context.time)

    yield SnapshotFile("open/nist-1500-100.json", nist)
