"""`manage.py snapshots` as a real process: it writes a snapshot every interval and SIGTERM ends
it cleanly, between snapshots or in the middle of one, leaving a chain that verifies and no folder
that no manifest covers; `--once` writes one."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from election.models import Snapshot
from election.results.snapshots.verify import Directory, verify_chain
from scripts.devservices import wait_until
from tests.conftest import ROOT


def rows() -> int:
    return Snapshot.objects.count()


def assert_clean(root: Path) -> None:
    """Every folder is a published snapshot of the chain, every detail generation one a manifest
    references: an abandoned one left nothing behind."""
    report = verify_chain(Directory(root))
    assert report.problems == []
    assert sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "detail") == sorted(
        report.snapshots
    )
    generations = sorted(p.name for p in (root / "detail").iterdir()) if (root / "detail").exists() else []
    referenced = {(s.counts.get("detail") or {}).get("id") for s in Snapshot.objects.all()}
    assert set(generations) <= referenced
    assert sorted(report.snapshots) == sorted(Snapshot.objects.values_list("id", flat=True))
    assert not [p for p in root.rglob(".tmp-*")]


@pytest.mark.parametrize(("interval_s", "snapshots_before_sigterm"), [(0.5, 2), (0.01, 1)])
def test_sigterm_ends_the_loop_cleanly(
    interval_s: float,
    snapshots_before_sigterm: int,
    service_env: dict[str, str],
    empty_chain: None,
    tmp_path: Path,
    spawn: Any,
) -> None:
    """At 0.01 s the loop writes back to back, so the signal lands inside a snapshot most runs."""
    root = tmp_path / "snapshots"
    env = service_env | {
        "SNAPSHOT_DIR": str(root),
        "SNAPSHOT_INTERVAL_S": str(interval_s),
        "LOG_FORMAT": "json",
    }
    child = spawn("snapshots", [sys.executable, str(ROOT / "manage.py"), "snapshots"], env)
    child.wait_until(lambda: rows() >= snapshots_before_sigterm, 60, "snapshots written")
    if interval_s < 0.1:
        time.sleep(0.05)  # into the next snapshot
    child.signal(signal.SIGTERM)
    assert child.popen.wait(timeout=30) == 0, child.output()[-3000:]
    output = child.output()
    assert '"msg": "snapshots stopped"' in output
    assert '"msg": "snapshot written"' in output and '"files":' in output and '"seconds":' in output
    assert "Traceback" not in output
    assert_clean(root)


def test_sigterm_while_the_detail_thread_writes_ends_cleanly(
    service_env: dict[str, str], empty_chain: None, tmp_path: Path, spawn: Any
) -> None:
    """The signal lands once a detail generation is being written (its folder has a file): in
    the middle of it (abandoned, deleted) or after it (then referenced by a snapshot, or deleted
    at exit if none was written since): the process exits 0 and no generation is left unnamed."""
    root = tmp_path / "snapshots"
    env = service_env | {
        "SNAPSHOT_DIR": str(root),
        "SNAPSHOT_INTERVAL_S": "0.5",
        "SNAPSHOT_DETAIL_INTERVAL_S": "0.5",
        "LOG_FORMAT": "json",
    }
    child = spawn("snapshots", [sys.executable, str(ROOT / "manage.py"), "snapshots"], env)
    child.wait_until(
        lambda: any(p.is_file() for p in (root / "detail").rglob("*")), 120, "a detail generation"
    )
    child.signal(signal.SIGTERM)
    assert child.popen.wait(timeout=60) == 0, child.output()[-3000:]
    output = child.output()
    assert '"msg": "snapshots stopped"' in output and "Traceback" not in output
    assert '"msg": "detail abandoned"' in output or '"msg": "detail written"' in output
    if rows():
        assert_clean(root)
    else:  # stopped before the first snapshot: nothing may be left, of either tier
        assert not [p for p in root.rglob("*") if p.is_file()]


def test_the_loop_references_the_detail_generation_once_it_completes(
    service_env: dict[str, str], empty_chain: None, tmp_path: Path, spawn: Any
) -> None:
    root = tmp_path / "snapshots"
    env = service_env | {"SNAPSHOT_DIR": str(root), "SNAPSHOT_INTERVAL_S": "0.5", "LOG_FORMAT": "json"}
    child = spawn("snapshots", [sys.executable, str(ROOT / "manage.py"), "snapshots"], env)

    def referencing() -> bool:
        return any(counts.get("detail") for counts in Snapshot.objects.values_list("counts", flat=True))

    child.wait_until(referencing, 240, "a snapshot referencing a detail generation")
    first = Snapshot.objects.order_by("id").first()
    assert first is not None and first.counts["detail"] is None  # the first came before it
    child.signal(signal.SIGTERM)
    assert child.popen.wait(timeout=60) == 0, child.output()[-3000:]
    assert_clean(root)


def test_once_writes_one_snapshot(committed_db: None, empty_chain: None, snapshot_root: Path) -> None:
    call_command("snapshots", "--once")
    call_command("snapshots", "--once")
    assert rows() == 2
    assert_clean(snapshot_root)


def test_the_loop_waits_for_the_interval(
    service_env: dict[str, str], empty_chain: None, tmp_path: Path, spawn: Any
) -> None:
    env = service_env | {"SNAPSHOT_DIR": str(tmp_path / "s"), "SNAPSHOT_INTERVAL_S": "2"}
    child = spawn("snapshots", [sys.executable, str(ROOT / "manage.py"), "snapshots"], env)
    wait_until(lambda: rows() >= 1, 60, "the first snapshot")
    time.sleep(1)
    assert rows() == 1  # the next one only 2 s after the first began
    child.wait_until(lambda: rows() >= 2, 10, "the second snapshot")


def test_the_loop_prunes_beyond_snapshot_keep(
    committed_db: None, empty_chain: None, snapshot_root: Path, settings: Any
) -> None:
    settings.SNAPSHOT_KEEP = 2
    for _ in range(3):
        call_command("snapshots", "--once")
    kept = sorted(Snapshot.objects.values_list("id", flat=True))
    assert len(kept) == 2
    assert sorted(p.name for p in snapshot_root.iterdir() if p.is_dir() and p.name != "detail") == kept
    # Each --once writes a generation; only those a kept snapshot references are left.
    referenced = sorted({s.counts["detail"]["id"] for s in Snapshot.objects.all()})
    assert sorted(p.name for p in (snapshot_root / "detail").iterdir()) == referenced
