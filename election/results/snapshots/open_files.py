"""The open-data files of a snapshot (election/results/opendata/, helper OPEN's): open/results.csv
and open/nist-1500-100.json, streamed into the snapshot as they are written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import IO, Any

from election.results.snapshots.files import SnapshotContext, SnapshotFile

logger = logging.getLogger(__name__)


def _opendata_module() -> Any:
    """election.results.opendata; None until it is merged."""
    try:
        from election.results import opendata  # type: ignore[attr-defined,unused-ignore]

        opendata.write_results_csv  # noqa: B018  # the package without its writers is not there yet
    except (ImportError, AttributeError):
        logger.warning("snapshot without open data: election.results.opendata is not there yet")
        return None
    return opendata


def open_files(context: SnapshotContext) -> Iterator[SnapshotFile]:
    opendata = _opendata_module()
    if opendata is None:
        return
    yield SnapshotFile("open/results.csv", opendata.write_results_csv)

    def nist(out: IO[bytes]) -> None:
        opendata.write_nist_report(out, generated=context.time)

    yield SnapshotFile("open/nist-1500-100.json", nist)
