"""Keeping only the newest SNAPSHOT_KEEP snapshots (0: every one). At the demo's scale a snapshot
is 0.2 GB with no vote and 1.4 GB at a million votes, so a local run left for an afternoon would
fill its disk; production keeps all, and prunes by the bucket's lifecycle rules if it must.

An older snapshot goes row first (the API stops listing it), then its manifest (nothing refers to
its files any more), then its files: a prune stopped half way leaves only unreferenced files. The
chain then starts at the oldest kept snapshot, whose `previous` is no longer published:
`snapshot_verify --last N` checks what is kept.

A snapshot's own files go with it; the detail generation it references (`../detail/<id>/...`,
detail.py) is shared, and goes only once no kept snapshot references it (nor the generation the
writer holds, which the next snapshot will). A generation never referenced (the process stopped
between its completion and the next snapshot) is left: `detail_adopt` cannot know it.
"""

from __future__ import annotations

import json
import logging
import posixpath
from typing import TYPE_CHECKING

from django.core.files.storage import Storage

from election.models import Snapshot

if TYPE_CHECKING:
    from election.results.snapshots.detail import DetailGeneration

logger = logging.getLogger(__name__)
PRUNE_AT_ONCE = 10  # snapshots pruned after one snapshot: bounded, and the backlog drains anyway


def snapshots_prune(storage: Storage, keep: int, *, keep_detail: DetailGeneration | None = None) -> int:
    """Delete the snapshots older than the newest `keep`, and the detail generations only they
    referenced; how many snapshots went."""
    if keep <= 0:
        return 0
    old = list(
        Snapshot.objects.order_by("-id").values_list("id", "manifest_path")[keep : keep + PRUNE_AT_ONCE]
    )
    details: dict[str, list[str]] = {}  # generation id -> its files, as the pruned manifests list them
    for id, manifest_path in old:
        Snapshot.objects.filter(id=id).delete()
        try:
            with storage.open(manifest_path, "rb") as manifest:
                parsed = json.loads(manifest.read())
            files = [posixpath.normpath(f"{id}/{f['path']}") for f in parsed["files"]]
            detail = (parsed["counts"] or {}).get("detail") or {}
        except (OSError, ValueError, KeyError, TypeError):
            files, detail = [], {}  # gone already, or unreadable: nothing of it is referenced any more
        own = [name for name in files if name.startswith(f"{id}/")]
        if detail.get("id"):
            details[detail["id"]] = [name for name in files if name.startswith(f"detail/{detail['id']}/")]
        storage.delete(manifest_path)
        for name in own:
            storage.delete(name)
        logger.info("snapshot pruned", extra={"snapshot": id, "files": len(own)})
    _details_prune(storage, details, keep_detail)
    return len(old)


def _details_prune(
    storage: Storage, details: dict[str, list[str]], keep_detail: DetailGeneration | None
) -> None:
    if not details:
        return
    referenced: set[str | None] = {keep_detail.id} if keep_detail is not None else set()
    for counts in Snapshot.objects.values_list("counts", flat=True):  # the kept: `keep` rows and a backlog
        referenced.add(((counts or {}).get("detail") or {}).get("id"))
    for id, names in details.items():
        if id in referenced:
            continue
        for name in names:
            storage.delete(name)
        logger.info("detail pruned", extra={"detail": id, "files": len(names)})
