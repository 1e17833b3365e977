"""The snapshot writer's heartbeat (SNAPSHOT_HEARTBEAT_FILE), which its Kubernetes and compose
probes read: touched at start and after each snapshot by the real process, as each file is
taken within a snapshot, and never when unset."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from election.models import Snapshot
from election.results.snapshots import heartbeat
from election.results.snapshots.files import SnapshotContext, SnapshotFile
from tests.conftest import ROOT


def test_the_loop_touches_the_heartbeat_at_start_and_after_each_snapshot(
    service_env: dict[str, str], empty_chain: None, tmp_path: Path, spawn: Any
) -> None:
    beat = tmp_path / "heartbeat"
    env = service_env | {
        "SNAPSHOT_DIR": str(tmp_path / "snapshots"),
        "SNAPSHOT_INTERVAL_S": "1",
        "SNAPSHOT_HEARTBEAT_FILE": str(beat),
    }
    child = spawn("snapshots", [sys.executable, str(ROOT / "manage.py"), "snapshots"], env)
    child.wait_until(beat.exists, 60, "the heartbeat at start")
    child.wait_until(lambda: Snapshot.objects.count() >= 1, 60, "the first snapshot")
    first = beat.stat().st_mtime
    child.wait_until(lambda: Snapshot.objects.count() >= 2, 30, "the second snapshot")
    child.wait_until(lambda: beat.stat().st_mtime > first, 10, "a later heartbeat")
    probe = [sys.executable, "-m", "scripts.probe", "--max-age", "60", f"file://{beat}"]
    assert subprocess.run(probe, cwd=ROOT, check=False).returncode == 0
    stale = time.time() - 120
    os.utime(beat, (stale, stale))
    child.wait_until(lambda: beat.stat().st_mtime > stale + 60, 30, "the loop touching it again")


def test_files_beat_at_most_every_few_seconds_and_nothing_without_a_path(
    tmp_path: Path, monkeypatch: Any
) -> None:
    beat = tmp_path / "heartbeat"
    clock = [1000.0]
    monkeypatch.setattr(heartbeat.time, "monotonic", lambda: clock[0])

    def source(context: SnapshotContext) -> list[SnapshotFile]:
        return [SnapshotFile(f"area/{n}.json", lambda out: None) for n in range(3)]

    alive = heartbeat.Heartbeat(str(beat))
    (beating,) = alive.sources([source])
    files = iter(beating(None))  # type: ignore[arg-type]  # the source ignores its context
    next(files)
    assert beat.exists()
    beat.unlink()
    clock[0] += heartbeat.BEAT_EVERY_S / 2
    next(files)
    assert not beat.exists()  # too soon
    clock[0] += heartbeat.BEAT_EVERY_S
    next(files)
    assert beat.exists()

    unset = heartbeat.Heartbeat("")
    assert unset.sources([source]) == [source]
    unset.beat(now=True)  # nothing to touch, nothing raised
