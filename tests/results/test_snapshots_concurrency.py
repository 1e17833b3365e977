"""One chain, whatever runs at once: two writers racing on committed data on MariaDB (one wins
each round, the chain stays linear and verifies), the unique `previous` refusing a fork even
without the lease, and a writer that lost its lease abandoning its snapshot."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from election.management.commands.snapshots import SNAPSHOT_SOURCES
from election.models import Snapshot, SnapshotLease
from election.results.snapshots.files import SnapshotFile
from election.results.snapshots.lease import LEASE_ROW, ChainLease, LeaseLost
from election.results.snapshots.verify import Directory, verify_chain
from election.results.snapshots.writer import snapshot_take
from tests.api.conftest import KNOWN_VOTES, record

ROUNDS = 4


def in_threads(target: Any, count: int = 2) -> list[Any]:
    """Run target(i) in `count` threads (each with its own connection); their results or exceptions."""
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_two_writers_at_once_extend_one_linear_chain(
    committed_db: None, empty_chain: None, snapshot_root: Path, redis_client: Any
) -> None:
    barrier = threading.Barrier(2, timeout=60)

    def writer(i: int) -> list[str | None]:
        taken = []
        for round in range(ROUNDS):
            barrier.wait()
            if i == 0:
                record(KNOWN_VOTES[round : round + 1])
            barrier.wait()  # both start the round's snapshot together
            snapshot = snapshot_take(sources=SNAPSHOT_SOURCES)
            taken.append(snapshot.id if snapshot else None)
        return taken

    first, second = in_threads(writer)
    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    for mine, theirs in zip(first, second, strict=True):
        assert (mine is None) != (theirs is None), (first, second)  # exactly one writer each round
    rows = list(Snapshot.objects.order_by("id"))
    assert [r.id for r in rows] == sorted(s for s in first + second if s)
    assert [r.previous_sha256 for r in rows] == [None, *(r.sha256 for r in rows[:-1])]
    report = verify_chain(Directory(snapshot_root))
    assert report.problems == [] and report.snapshots == [r.id for r in reversed(rows)]


def test_the_chain_refuses_a_second_successor_even_without_the_lease(
    committed_db: None, empty_chain: None
) -> None:
    barrier = threading.Barrier(2, timeout=60)

    def fork(i: int) -> str:
        barrier.wait()
        Snapshot.objects.create(
            id=f"20261207T14000{i}.000Z",
            time=timezone.now(),
            previous="",  # both claim to be the first
            sha256=f"{i}" * 64,
            manifest_path=f"x{i}/manifest.json",
            counts={},
            file_count=0,
            byte_count=0,
        )
        return "stored"

    results = in_threads(fork)
    assert sorted(type(r).__name__ for r in results) == ["IntegrityError", "str"], results
    assert Snapshot.objects.count() == 1
    with pytest.raises(IntegrityError):
        Snapshot.objects.create(
            id="20261207T140009.000Z",
            time=timezone.now(),
            previous="",
            sha256="9" * 64,
            manifest_path="x9/manifest.json",
            counts={},
            file_count=0,
            byte_count=0,
        )


@pytest.mark.django_db
def test_the_lease_is_one_writers_until_it_expires() -> None:
    first, second = ChainLease(60), ChainLease(60)
    assert first.acquire()
    assert not second.acquire()
    first.renew()  # still its own
    SnapshotLease.objects.filter(pk=LEASE_ROW).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert second.acquire()
    with pytest.raises(LeaseLost):
        first.renew()
    first.release()  # not its to release any more
    assert SnapshotLease.objects.get(pk=LEASE_ROW).holder == second.holder


@pytest.mark.django_db
def test_a_writer_that_lost_its_lease_abandons_its_snapshot(snapshot_root: Path) -> None:
    def taken_meanwhile(context: Any) -> Any:
        yield SnapshotFile("a.json", lambda out: out.write(b"{}"))
        # The writer overran its lease and another took the chain while it wrote its files.
        SnapshotLease.objects.filter(pk=LEASE_ROW).update(
            holder="someone-else", expires_at=timezone.now() + timedelta(minutes=5)
        )
        yield SnapshotFile("b.json", lambda out: out.write(b"{}"))

    with pytest.raises(LeaseLost):
        snapshot_take(sources=[taken_meanwhile])
    assert not Snapshot.objects.exists()
    assert not snapshot_root.exists() or list(snapshot_root.iterdir()) == []
