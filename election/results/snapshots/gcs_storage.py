"""The bucket backend (SNAPSHOT_STORAGE=gcs): imported by STORAGES only when selected, so the
directory backend never loads the Google client. Reading (the API's /api/snapshots/latest) needs
only storage.objects.get: open() fetches the object's metadata and bytes, never the bucket's, so
the API's identity holds roles/storage.legacyObjectReader alone (scripts/gcs_cdn.sh)."""

from __future__ import annotations

from typing import Any

from storages.backends.gcloud import GoogleCloudStorage

from election.results.snapshots.storage import cache_control_for


class SnapshotGoogleCloudStorage(GoogleCloudStorage):  # type: ignore[misc]
    """django-storages' bucket backend, each object with its Cache-Control (Cloud CDN honours
    it), never gzipped by the backend (the stored bytes are the bytes the manifest hashes), and
    latest.json replaced in place (an upload replaces an object atomically)."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**{"gzip": False, "file_overwrite": True, **settings})

    def get_object_parameters(self, name: str) -> dict[str, Any]:
        parameters: dict[str, Any] = super().get_object_parameters(name)
        parameters["cache_control"] = cache_control_for(name)
        return parameters
