"""The detail tier (election/results/snapshots/detail.py): the sede files and the open data
written as a generation of their own under detail/<id>/, referenced by the regular snapshots as
../detail/<id>/...; skipped when nothing changed; verified through every manifest that lists
it, and kept while one does; taken back after a restart."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from election.models import Snapshot
from election.results.snapshots.detail import DetailGeneration, detail_adopt
from election.results.snapshots.retention import snapshots_prune
from election.results.snapshots.storage import snapshot_storage
from election.results.snapshots.verify import Directory, resolved_path, verify_chain
from tests.api.conftest import KNOWN_VOTES, record
from tests.support.snapshots import manifest_of, stored_files, take, write_detail

pytestmark = pytest.mark.usefixtures("db", "redis_client", "sample_actas", "snapshot_root")


def generation(previous: DetailGeneration | None = None) -> DetailGeneration:
    written = write_detail(previous)
    assert written is not None, "skipped"
    return written


def referenced(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in manifest["files"] if f["path"].startswith("../")]


def test_a_snapshot_before_any_generation_references_none(snapshot_root: Path) -> None:
    record(KNOWN_VOTES)
    snapshot = take()
    _, manifest = manifest_of(snapshot_root, snapshot)
    assert manifest["counts"]["detail"] is None and snapshot.counts["detail"] is None
    assert referenced(manifest) == []
    assert not (snapshot_root / "detail").exists()
    paths = stored_files(snapshot_root, snapshot.id)
    assert not [p for p in paths if p.startswith(("sede/", "open/"))]
    assert [p for p in paths if p.startswith("area/")]


def test_a_completed_generation_is_referenced_by_the_next_snapshot(snapshot_root: Path) -> None:
    record(KNOWN_VOTES)
    detail = generation()
    folder = snapshot_root / "detail" / detail.id
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == {f.path for f in detail.files}
    assert {"open/results.csv", "open/nist-1500-100.json"} <= on_disk
    assert [p for p in on_disk if p.startswith("sede/")]
    snapshot = take(detail)
    raw, manifest = manifest_of(snapshot_root, snapshot)
    assert manifest["counts"]["detail"] == {
        "id": detail.id,
        "time": detail.time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "path": f"../detail/{detail.id}/",
    }
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(paths)
    listed = referenced(manifest)
    assert {f["path"] for f in listed} == {f"../detail/{detail.id}/{p}" for p in on_disk}
    for f in listed:
        path = (snapshot_root / snapshot.id / f["path"]).resolve()
        assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size) == (
            f["sha256"],
            f["bytes"],
        )
    assert snapshot.byte_count == sum(f["bytes"] for f in manifest["files"])
    # Nothing of the detail inside the snapshot's own folder: it stays small.
    assert not [p for p in stored_files(snapshot_root, snapshot.id) if p.startswith(("sede/", "open/"))]
    assert verify_chain(Directory(snapshot_root)).problems == []
    assert hashlib.sha256(raw).hexdigest() == snapshot.sha256


def test_a_generation_is_skipped_when_nothing_changed(snapshot_root: Path) -> None:
    record(KNOWN_VOTES[:2])
    first = generation()
    assert write_detail(first) is None  # nothing stored since its read: the same files would follow
    assert sorted(p.name for p in (snapshot_root / "detail").iterdir()) == [first.id]
    record(KNOWN_VOTES[2:3])
    second = generation(first)
    assert second.id > first.id
    sede_bytes = {f.path: f.sha256 for f in second.files}
    assert sede_bytes != {f.path: f.sha256 for f in first.files}


def test_the_chain_verifies_across_generations_and_a_changed_detail_file_fails_every_referrer(
    snapshot_root: Path,
) -> None:
    record(KNOWN_VOTES[:2])
    before = take()
    first = generation()
    referrers = [take(first), take(first)]
    record(KNOWN_VOTES[2:])
    second = generation(first)
    newest = take(second)
    report = verify_chain(Directory(snapshot_root))
    assert report.problems == []
    assert report.snapshots == [newest.id, referrers[1].id, referrers[0].id, before.id]
    assert report.files == sum(s.file_count for s in (before, *referrers, newest))
    target = next(f.path for f in first.files if f.path.startswith("sede/"))
    changed = snapshot_root / "detail" / first.id / target
    changed.write_bytes(changed.read_bytes().replace(b'"areas":', b'"areas": ', 1))
    problems = verify_chain(Directory(snapshot_root)).problems
    about = [p for p in problems if p.startswith(f"detail/{first.id}/{target}: ")]
    assert len(about) == 2 * len(referrers)  # its size and its hash, through each manifest listing it


def test_the_verifier_refuses_a_path_out_of_the_root(snapshot_root: Path) -> None:
    assert (
        resolved_path("20261207T140000.123Z", "../detail/x/sede/0101-3.json") == "detail/x/sede/0101-3.json"
    )
    for path in ("../../etc/passwd", "/etc/passwd", "../latest.json", "a/../../..", "http://x/y", "..\\x"):
        assert resolved_path("20261207T140000.123Z", path) is None, path
    record(KNOWN_VOTES[:1])
    snapshot = take()
    _, manifest = manifest_of(snapshot_root, snapshot)
    outside = snapshot_root.parent / "outside.json"
    outside.write_bytes(b"{}")
    manifest["files"].insert(
        0, {"path": "../../outside.json", "sha256": hashlib.sha256(b"{}").hexdigest(), "bytes": 2}
    )
    forged = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
    (snapshot_root / snapshot.manifest_path).write_bytes(forged)
    (snapshot_root / "latest.json").write_bytes(forged)
    report = verify_chain(Directory(snapshot_root))
    assert "latest.json: file path '../../outside.json' is outside the snapshot root" in report.problems


def test_retention_deletes_a_generation_only_when_no_kept_snapshot_references_it(snapshot_root: Path) -> None:
    record(KNOWN_VOTES[:2])
    first = generation()
    old, middle = take(first), take(first)
    record(KNOWN_VOTES[2:])
    second = generation(first)
    take(second)
    storage = snapshot_storage()
    assert snapshots_prune(storage, 2, keep_detail=second) == 1  # `old` goes; `middle` still lists the first
    assert not (snapshot_root / old.id).exists()
    assert sorted(p.name for p in (snapshot_root / "detail").iterdir()) == [first.id, second.id]
    assert verify_chain(Directory(snapshot_root), last=2).ok
    take(second)
    assert snapshots_prune(storage, 2, keep_detail=second) == 1  # `middle` goes, and the first with it
    assert not (snapshot_root / middle.id).exists()
    assert sorted(p.name for p in (snapshot_root / "detail").iterdir()) == [second.id]
    assert verify_chain(Directory(snapshot_root), last=2).ok


def test_after_a_restart_the_head_generation_is_taken_back(snapshot_root: Path) -> None:
    assert detail_adopt(snapshot_storage()) is None
    record(KNOWN_VOTES[:2])
    detail = generation()
    take(detail)
    adopted = detail_adopt(snapshot_storage())
    assert adopted is not None
    assert (adopted.id, adopted.time, adopted.files) == (detail.id, detail.time, detail.files)
    # Referenced again as it was: the next manifest lists the same files.
    _, before = manifest_of(snapshot_root, Snapshot.objects.get())
    _, after = manifest_of(snapshot_root, take(adopted))
    assert referenced(after) == referenced(before)
