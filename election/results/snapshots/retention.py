"""Keeping only the newest SNAPSHOT_KEEP snapshots (0: every one). At the demo's scale a snapshot
is 0.2 GB with no vote and 1.4 GB at a million votes, so a local run left for an afternoon would
fill its disk; production keeps all, and prunes by the bucket's lifecycle rules if it must.

An older snapshot goes row first (the API stops listing it), then its manifest (nothing refers to
its files any more), then its files: a prune stopped half way leaves only unreferenced files. The
chain then starts at the oldest kept snapshot, whose `previous` is no longer published:
`snapshot_verify --last N` checks what is kept.
"""

from __future__ import annotations

import json
import logging

from django.core.files.storage import Storage

from election.models import Snapshot

logger = logging.getLogger(__name__)
PRUNE_AT_ONCE = 10  # snapshots pruned after one snapshot: bounded, and the backlog drains anyway


def snapshots_prune(storage: Storage, keep: int) -> int:
    """Delete the snapshots older than the newest `keep`; how many went."""
    if keep <= 0:
        return 0
    old = list(
        Snapshot.objects.order_by("-id").values_list("id", "manifest_path")[keep : keep + PRUNE_AT_ONCE]
    )
    for id, manifest_path in old:
        Snapshot.objects.filter(id=id).delete()
        try:
            with storage.open(manifest_path, "rb") as manifest:
                files = [f"{id}/{f['path']}" for f in json.loads(manifest.read())["files"]]
        except (OSError, ValueError, KeyError):
            files = []  # gone already, or unreadable: nothing of it is referenced any more
        storage.delete(manifest_path)
        for name in files:
            storage.delete(name)
        logger.info("snapshot pruned", extra={"snapshot": id, "files": len(files)})
    return len(old)
