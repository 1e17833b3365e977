"""Snapshots for the tests: a snapshot root of the test's own (tmp_path), the writer with every
source the `snapshots` command uses, and the chain read back from disk."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from election.management.commands.snapshots import DETAIL_SOURCES, SNAPSHOT_SOURCES
from election.models import Snapshot, SnapshotLease
from election.results.snapshots.detail import DetailGeneration, detail_write
from election.results.snapshots.storage import snapshot_storage
from election.results.snapshots.writer import snapshot_take

PUBLIC_URL = "http://snapshots.test/"


@pytest.fixture
def snapshot_root(tmp_path: Path, settings: Any) -> Path:
    """STORAGES["snapshots"] in a fresh directory (Django drops its cached backend on the change)."""
    root = tmp_path / "snapshots"
    settings.SNAPSHOT_DIR = root
    settings.SNAPSHOT_PUBLIC_URL = PUBLIC_URL
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": "election.results.snapshots.storage.SnapshotFileStorage",
            "OPTIONS": {"location": root, "base_url": PUBLIC_URL},
        },
    }
    return root


@pytest.fixture
def empty_chain() -> Iterator[None]:
    """For tests on committed data: no snapshot rows or lease before, none left after."""
    Snapshot.objects.all().delete()
    SnapshotLease.objects.all().delete()
    yield
    Snapshot.objects.all().delete()
    SnapshotLease.objects.all().delete()


def take(detail: DetailGeneration | None = None) -> Snapshot:
    snapshot = snapshot_take(sources=SNAPSHOT_SOURCES, detail=detail)
    assert snapshot is not None, "another writer held the chain"
    return snapshot


def manifest_of(root: Path, snapshot: Snapshot) -> tuple[bytes, dict[str, Any]]:
    raw = (root / snapshot.manifest_path).read_bytes()
    return raw, json.loads(raw)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_files(root: Path, snapshot_id: str) -> set[str]:
    """Every file under a snapshot's folder, relative to it."""
    folder = root / snapshot_id
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def write_detail(previous: DetailGeneration | None = None) -> DetailGeneration | None:
    """A detail generation with every source the `snapshots` command uses (None: skipped)."""
    return detail_write(snapshot_storage(), DETAIL_SOURCES, previous=previous, stop=lambda: False)


def detail_folder(root: Path, snapshot: Snapshot) -> Path:
    """Where a snapshot's manifest says its sede and open files are (counts.detail.path)."""
    _, manifest = manifest_of(root, snapshot)
    return (root / snapshot.id / manifest["counts"]["detail"]["path"]).resolve()
