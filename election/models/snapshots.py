"""The chain of published snapshots (election/results/snapshots/, docs/snapshots.md).

A Snapshot row is written after its files, its manifest and latest.json are in storage: a row
always names a complete, published snapshot. The chain is linear: `previous` (the previous
manifest's SHA-256, or "" for the first) is unique, so no manifest can have two successors,
whatever two writers race; SnapshotLease keeps a second writer from even starting one.
"""

from __future__ import annotations

from django.db import models

SNAPSHOT_ID_LENGTH = 24  # 20261207T140000.123456Z
SHA256_HEX_LENGTH = 64
FIRST = ""  # `previous` of the first snapshot


class Snapshot(models.Model):
    """One published snapshot: where its manifest is, its hash, its predecessor's and its counts."""

    id = models.CharField(primary_key=True, max_length=SNAPSHOT_ID_LENGTH, help_text="sortable UTC time")
    time = models.DateTimeField()
    # The previous manifest's SHA-256, or FIRST for the first (null in the manifest): unique, so a
    # manifest has one successor and the chain one start (NULLs would never collide; "" does).
    previous = models.CharField(max_length=SHA256_HEX_LENGTH, unique=True, blank=True)
    sha256 = models.CharField(max_length=SHA256_HEX_LENGTH, unique=True, help_text="of the manifest's bytes")
    manifest_path = models.CharField(max_length=200)
    counts = models.JSONField()
    file_count = models.PositiveIntegerField()
    byte_count = models.PositiveBigIntegerField(help_text="the files' bytes, the manifest's not included")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.id

    @property
    def previous_sha256(self) -> str | None:
        """As the manifest says it: null for the first."""
        return self.previous or None


class SnapshotLease(models.Model):
    """The one right to extend the chain: a single row, taken by compare-and-set (an UPDATE
    that matches only when free or expired), which MariaDB and SQLite both do atomically,
    without holding a transaction open while the snapshot is written."""

    holder = models.CharField(max_length=64, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.holder or "free"
