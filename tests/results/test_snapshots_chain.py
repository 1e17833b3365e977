"""A chain of three snapshots checked by the verifier (the published files only), and every kind
of tampering it must catch: a byte of a file, a byte of a manifest, a file removed, latest.json
replaced, two snapshots swapped; the command exits non-zero on each."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from election.models import Snapshot
from election.results.snapshots.verify import Directory, Report, verify_chain
from tests.api.conftest import KNOWN_VOTES, record
from tests.support.snapshots import manifest_of, take

pytestmark = pytest.mark.usefixtures("db", "redis_client", "snapshot_root")


@pytest.fixture
def chain(db: None, sample_actas: Any, redis_client: Any, snapshot_root: Path) -> list[Snapshot]:
    """Three snapshots, oldest first, votes stored between them."""
    snapshots = []
    for rows in (KNOWN_VOTES[:2], KNOWN_VOTES[2:5], KNOWN_VOTES[5:]):
        record(rows)
        snapshots.append(take())
    return snapshots


def verify(root: Path) -> Report:
    return verify_chain(Directory(root))


def flip_byte(path: Path, at: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_chain_of_three_is_verified(chain: list[Snapshot], snapshot_root: Path, capsys: Any) -> None:
    report = verify(snapshot_root)
    assert report.problems == []
    assert report.snapshots == [s.id for s in reversed(chain)]
    assert report.files == sum(s.file_count for s in chain)
    assert report.bytes == sum(s.byte_count for s in chain)
    assert [s.previous_sha256 for s in chain] == [None, chain[0].sha256, chain[1].sha256]
    call_command("snapshot_verify", "--dir", str(snapshot_root))
    out = capsys.readouterr().out
    assert "Cadena verificada: 3 snapshots" in out and "Chain verified: 3 snapshots" in out


def test_nothing_published_is_not_verified(snapshot_root: Path) -> None:
    snapshot_root.mkdir(parents=True, exist_ok=True)
    report = verify(snapshot_root)
    assert not report.ok and "latest.json: missing" in report.problems[0]


def assert_caught(root: Path, *fragments: str) -> None:
    report = verify(root)
    assert not report.ok
    for fragment in fragments:
        assert any(fragment in problem for problem in report.problems), (fragment, report.problems)
    with pytest.raises(CommandError) as failed:
        call_command("snapshot_verify", "--dir", str(root))
    assert failed.value.returncode == 1


def test_a_changed_byte_in_a_file_is_caught(chain: list[Snapshot], snapshot_root: Path) -> None:
    target = f"{chain[0].id}/panels/summary.json"
    flip_byte(snapshot_root / target)
    assert_caught(snapshot_root, f"{target}: SHA-256")


def test_a_changed_byte_in_a_manifest_is_caught(chain: list[Snapshot], snapshot_root: Path) -> None:
    # The middle manifest: its files still match, but it is no longer the one its successor names.
    flip_byte(snapshot_root / chain[1].manifest_path, at=len('{"id":"'))
    assert_caught(snapshot_root, f"{chain[2].id}: its previous manifest {chain[1].sha256} is not published")


def test_a_manifest_rewritten_to_match_a_changed_file_is_caught(
    chain: list[Snapshot], snapshot_root: Path
) -> None:
    """The forger fixes the file's hash in its manifest: the successor's `previous` still gives it away."""
    _, manifest = manifest_of(snapshot_root, chain[0])
    entry = next(f for f in manifest["files"] if f["path"] == "panels/summary.json")
    changed = snapshot_root / chain[0].id / entry["path"]
    changed.write_bytes(changed.read_bytes().replace(b'"total":', b'"total": '))
    entry["sha256"] = hashlib.sha256(changed.read_bytes()).hexdigest()
    entry["bytes"] = changed.stat().st_size
    (snapshot_root / chain[0].manifest_path).write_bytes(
        json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert_caught(snapshot_root, f"{chain[1].id}: its previous manifest {chain[0].sha256} is not published")


def test_a_removed_file_is_caught(chain: list[Snapshot], snapshot_root: Path) -> None:
    target = f"{chain[2].id}/timeline/actas/presidente.json"
    (snapshot_root / target).unlink()
    assert_caught(snapshot_root, f"{target}: missing")


def test_a_replaced_latest_json_is_caught(chain: list[Snapshot], snapshot_root: Path) -> None:
    """latest.json must be its snapshot's manifest, byte for byte."""
    latest = snapshot_root / "latest.json"
    latest.write_bytes(latest.read_bytes().replace(b'"time":"', b'"time":"1'))
    assert_caught(snapshot_root, "latest.json: differs from")


def test_a_head_json_pointing_elsewhere_is_caught(chain: list[Snapshot], snapshot_root: Path) -> None:
    """head.json (what readers follow) must point where latest.json does; without it, nothing to check."""
    head = snapshot_root / "head.json"
    original = head.read_bytes()
    assert verify(snapshot_root).ok
    head.write_bytes(original.replace(chain[2].id.encode(), chain[1].id.encode()))
    assert_caught(snapshot_root, "head.json: does not point where latest.json does")
    head.unlink()
    assert verify(snapshot_root).ok


def test_a_reordered_chain_is_caught(chain: list[Snapshot], snapshot_root: Path) -> None:
    """The two older snapshots' folders swapped: each manifest sits under the other's id."""
    first, second = (snapshot_root / s.id for s in chain[:2])
    shutil.move(first, snapshot_root / "swap")
    shutil.move(second, first)
    shutil.move(snapshot_root / "swap", second)
    assert_caught(
        snapshot_root,
        f"{chain[0].id}/manifest.json: its id {chain[1].id!r} is not its folder's name",
    )


def test_a_manifest_out_of_its_fixed_form_is_caught(chain: list[Snapshot], snapshot_root: Path) -> None:
    """Same content, other bytes (spaces): a verifier that hashes the file would disagree with one that
    re-encodes it, so the form itself is checked."""
    _, manifest = manifest_of(snapshot_root, chain[2])
    spaced = json.dumps(manifest, ensure_ascii=False).encode()
    (snapshot_root / chain[2].manifest_path).write_bytes(spaced)
    (snapshot_root / "latest.json").write_bytes(spaced)
    assert_caught(snapshot_root, "latest.json: not in the fixed form")


def test_the_newest_few_can_be_checked_alone(chain: list[Snapshot], snapshot_root: Path, capsys: Any) -> None:
    """A damaged old snapshot does not show when only the newest two are asked for; it does in full."""
    (snapshot_root / chain[0].id / "panels" / "summary.json").unlink()
    report = verify_chain(Directory(snapshot_root), last=2)
    assert report.ok and report.snapshots == [chain[2].id, chain[1].id]
    call_command("snapshot_verify", "--dir", str(snapshot_root), "--last", "2")
    assert "Newest 2 snapshots verified" in capsys.readouterr().out
    assert_caught(snapshot_root, f"{chain[0].id}/panels/summary.json: missing")


def test_pruning_keeps_the_newest_and_leaves_nothing_of_the_rest(
    chain: list[Snapshot], snapshot_root: Path
) -> None:
    from election.results.snapshots.retention import snapshots_prune
    from election.results.snapshots.storage import snapshot_storage

    assert snapshots_prune(snapshot_storage(), 0) == 0  # 0 keeps every one
    assert snapshots_prune(snapshot_storage(), 2) == 1
    assert list(Snapshot.objects.order_by("id").values_list("id", flat=True)) == [chain[1].id, chain[2].id]
    assert sorted(p.name for p in snapshot_root.iterdir()) == sorted(
        [chain[1].id, chain[2].id, "latest.json", "head.json"]
    )
    report = verify(snapshot_root)
    assert report.problems == [f"{chain[1].id}: its previous manifest {chain[0].sha256} is not published"]
    assert verify_chain(Directory(snapshot_root), last=2).ok
