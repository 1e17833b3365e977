"""The one right to extend the chain (SnapshotLease): taken and renewed by compare-and-set, an
UPDATE that matches the row only when it is free, expired or already ours. Both MariaDB and
SQLite apply one UPDATE atomically, so of two writers exactly one takes it, and nobody holds a
transaction open while the snapshot is written. A writer that dies keeps it at most
`lease_seconds`; one that overruns its lease finds it gone when it renews, before it publishes,
and abandons its snapshot (the unique Snapshot.previous stops a fork even then).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from election.models import SnapshotLease

LEASE_ROW = 1
LEASE_MIN_SECONDS = 300


class LeaseLost(RuntimeError):
    """Another writer took the chain while this one was writing: its snapshot is abandoned."""


class ChainLease:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"

    def _take(self, *, renewing: bool) -> bool:
        now = timezone.now()
        free = Q(holder="") | Q(expires_at__lt=now)
        taken = (
            SnapshotLease.objects.filter(pk=LEASE_ROW)
            .filter(free | Q(holder=self.holder) if renewing else free)
            .update(holder=self.holder, expires_at=now + timedelta(seconds=self.seconds))
        )
        return taken == 1

    def acquire(self) -> bool:
        with contextlib.suppress(IntegrityError):  # created by another writer in between
            SnapshotLease.objects.get_or_create(pk=LEASE_ROW)
        return self._take(renewing=False)

    def renew(self) -> None:
        """Still ours, for another `seconds`; LeaseLost when it expired and someone took it."""
        if not self._take(renewing=True):
            raise LeaseLost(f"the snapshot lease is no longer {self.holder}'s")

    def release(self) -> None:
        SnapshotLease.objects.filter(pk=LEASE_ROW, holder=self.holder).update(holder="", expires_at=None)


def lease_seconds(interval_s: float) -> float:
    return max(LEASE_MIN_SECONDS, 5 * interval_s)


@contextmanager
def chain_lease(seconds: float) -> Iterator[ChainLease | None]:
    """The lease while the block runs, or None when another writer holds it."""
    lease = ChainLease(seconds)
    if not lease.acquire():
        yield None
        return
    try:
        yield lease
    finally:
        lease.release()
