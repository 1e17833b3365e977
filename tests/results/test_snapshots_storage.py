"""Where snapshots go: the directory backend replaces a file whole (a reader never sees a part),
and the bucket backend marks each object's caching as the layout needs (immutable files, a
short-lived latest.json) and never gzips the hashed bytes; SNAPSHOT_STORAGE is checked at start."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from election.results.snapshots.gcs_storage import SnapshotGoogleCloudStorage
from election.results.snapshots.storage import IMMUTABLE, LATEST, SnapshotFileStorage, storage_save
from tests.conftest import ROOT


def test_the_bucket_backend_sets_each_objects_cache_control() -> None:
    bucket = SnapshotGoogleCloudStorage(bucket_name="escrutinio-snapshots-test")  # no call is made
    assert bucket.gzip is False and bucket.file_overwrite is True
    assert bucket.get_object_parameters("latest.json")["cache_control"] == LATEST
    assert bucket.get_object_parameters("head.json")["cache_control"] == LATEST
    assert "max-age=5" in LATEST
    for name in ("20261207T140000.123Z/manifest.json", "20261207T140000.123Z/open/results.csv"):
        assert bucket.get_object_parameters(name)["cache_control"] == IMMUTABLE
    assert "immutable" in IMMUTABLE


def test_the_directory_backend_replaces_a_file_whole(tmp_path: Path) -> None:
    storage = SnapshotFileStorage(location=tmp_path)
    storage_save(storage, "latest.json", io.BytesIO(b'{"id":"a"}'))
    storage_save(storage, "latest.json", io.BytesIO(b'{"id":"b"}'))  # replaced, not renamed aside
    assert (tmp_path / "latest.json").read_bytes() == b'{"id":"b"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json"]  # no temporary left
    assert (tmp_path / "latest.json").stat().st_mode & 0o644 == 0o644
    storage_save(storage, "x/y/z.json", io.BytesIO(b"{}"))
    storage.delete("x/y/z.json")
    assert not (tmp_path / "x").exists()  # the folders it emptied go too


def settings_error(**env: str) -> str:
    probe = "import django; django.setup()"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "election.settings",
            "ESCRUTINIO_DEV": "1",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr


def test_the_storage_setting_is_checked_at_start() -> None:
    assert "needs GS_BUCKET_NAME" in settings_error(SNAPSHOT_STORAGE="gcs")
    assert "is not `file` or `gcs`" in settings_error(SNAPSHOT_STORAGE="s3")
    assert "must be a positive number" in settings_error(SNAPSHOT_INTERVAL_S="0")
    assert settings_error(SNAPSHOT_STORAGE="gcs", GS_BUCKET_NAME="b") == ""
