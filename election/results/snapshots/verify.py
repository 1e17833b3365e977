"""Checking a published chain as an outsider would: from the files alone, never the database.
Django-free, so that this module is all a verifier needs (`snapshot_verify` wraps it).

From latest.json back to the first snapshot: latest.json is the newest manifest's exact bytes;
each manifest is in the fixed form (manifest.py: keys, compact JSON, files sorted by path, its id
its folder's name); each file it lists has that SHA-256 and that many bytes; each `previous` is
the SHA-256 of a published manifest whose id sorts before. A folder publishes no index of its
manifests, so the predecessor named by hash is found among every `*/manifest.json` of a
directory, or in the API's list (`GET /api/snapshots/`, each with its url) over HTTP: the list
only says where to look, every byte is checked here.

A manifest may list files outside its folder: the detail tier's (`../detail/<id>/sede/...`,
shared by the snapshots until the next generation). Such a path must still resolve inside the
snapshot root; one that escapes it, or is absolute, is refused. A shared file is hashed once per
run and checked against every manifest that lists it, so a change to it fails each of them.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from election.results.snapshots.manifest import (
    FILE_KEYS,
    HEAD_NAME,
    LATEST_NAME,
    MANIFEST_KEYS,
    MANIFEST_NAME,
    FileEntry,
    head_bytes,
    manifest_bytes,
)

CHUNK = 1 << 16
HTTP_TIMEOUT_S = 30
LIST_PAGES_MAX = 10_000  # the API's list, followed page by page: bounded even if it loops


class Missing(Exception):
    """A published object that is not there."""


class Published(Protocol):
    def read(self, path: str) -> bytes: ...
    def chunks(self, path: str) -> Iterator[bytes]: ...
    def manifest_path(self, sha256: str) -> str | None: ...


@dataclass
class Report:
    snapshots: list[str] = field(default_factory=list)  # ids, newest first
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    complete: bool = True  # back to the first snapshot, not only the newest few
    hashed: dict[str, tuple[str, int] | None] = field(default_factory=dict, repr=False)  # path -> (sha, size)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.snapshots)


def _sha256(chunks: Iterator[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class Directory:
    """A snapshot root on disk (SNAPSHOT_DIR, or a copy of the bucket)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._index: dict[str, str] | None = None

    def _path(self, path: str) -> Path:
        return self.root.joinpath(*PurePosixPath(path).parts)

    def read(self, path: str) -> bytes:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError:
            raise Missing(path) from None

    def chunks(self, path: str) -> Iterator[bytes]:
        try:
            with self._path(path).open("rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
        except FileNotFoundError:
            raise Missing(path) from None

    def manifest_path(self, sha256: str) -> str | None:
        if self._index is None:
            self._index = {}
            for found in sorted(self.root.glob(f"*/{MANIFEST_NAME}")):
                self._index[hashlib.sha256(found.read_bytes()).hexdigest()] = (
                    f"{found.parent.name}/{MANIFEST_NAME}"
                )
        return self._index.get(sha256)


class Http:
    """A snapshot root over HTTP (SNAPSHOT_PUBLIC_URL: the static server, the CDN), with the API's
    list of manifests to find a predecessor by its hash."""

    def __init__(self, root_url: str, list_url: str | None) -> None:
        self.root_url = root_url.rstrip("/") + "/"
        self.list_url = list_url
        self._index: dict[str, str] | None = None

    def _open(self, url: str) -> Any:
        try:
            return urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S)  # noqa: S310  # http(s) given by the operator
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise Missing(url) from None
            raise

    def _url(self, path: str) -> str:
        return path if "://" in path else urllib.parse.urljoin(self.root_url, path)

    def read(self, path: str) -> bytes:
        with self._open(self._url(path)) as answer:
            return bytes(answer.read())

    def chunks(self, path: str) -> Iterator[bytes]:
        with self._open(self._url(path)) as answer:
            while chunk := answer.read(CHUNK):
                yield chunk

    def manifest_path(self, sha256: str) -> str | None:
        if self.list_url is None:
            return None
        if self._index is None:
            self._index = {}
            url: str | None = self.list_url
            for _ in range(LIST_PAGES_MAX):
                if not url:
                    break
                page = json.loads(self.read(url))
                self._index.update({s["sha256"]: s["url"] for s in page["results"]})
                url = page.get("next")
        return self._index.get(sha256)


def _form_problems(raw: bytes, folder: str | None) -> tuple[dict[str, Any] | None, list[str]]:
    """The manifest parsed, and how it departs from the fixed form."""
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        return None, [f"not JSON: {exc}"]
    if not isinstance(manifest, dict) or tuple(manifest) != MANIFEST_KEYS:
        return None, [f"keys are not {list(MANIFEST_KEYS)}"]
    files = manifest["files"]
    if not isinstance(files, list) or any(not isinstance(f, dict) or tuple(f) != FILE_KEYS for f in files):
        return None, [f"each file must be {{{', '.join(FILE_KEYS)}}}"]
    problems = []
    if folder is not None and manifest["id"] != folder:
        problems.append(f"its id {manifest['id']!r} is not its folder's name {folder!r}")
    for f in files:
        if resolved_path(str(manifest["id"]), str(f["path"])) is None:
            problems.append(f"file path {f['path']!r} is outside the snapshot root")
    try:
        entries = [FileEntry(f["path"], f["sha256"], f["bytes"]) for f in files]
        canonical = manifest_bytes(
            id=manifest["id"],
            time=manifest["time"],
            previous=manifest["previous"],
            counts=manifest["counts"],
            files=entries,
        )
    except (TypeError, ValueError) as exc:
        return manifest, [*problems, f"not in the fixed form: {exc}"]
    if canonical != raw:
        problems.append("not in the fixed form (compact JSON, files sorted by path, each once)")
    return manifest, problems


def _head_problems(published: Published, latest: bytes) -> list[str]:
    """head.json, when published, must be the pointer latest.json implies (readers follow it)."""
    try:
        raw = published.read(HEAD_NAME)
    except Missing:
        return []
    try:
        expected = head_bytes(latest)
    except (KeyError, TypeError, ValueError):  # latest.json's own problems are reported already
        return []
    return [] if raw == expected else [f"{HEAD_NAME}: does not point where {LATEST_NAME} does"]


def verify_chain(published: Published, *, check_files: bool = True, last: int | None = None) -> Report:
    """The chain from latest.json back to its first snapshot, or to its `last` newest only (each
    snapshot of the demo at a million votes is 1.4 GB: a quick check of the head reads a few)."""
    report = Report(complete=last is None)
    try:
        raw = published.read(LATEST_NAME)
    except Missing:
        report.problems.append(f"{LATEST_NAME}: missing (no snapshot published)")
        return report
    where, seen = LATEST_NAME, set()
    while True:
        sha = hashlib.sha256(raw).hexdigest()
        if sha in seen:
            report.problems.append(f"{where}: the chain loops back on itself")
            return report
        seen.add(sha)
        folder = where.split("/")[-2] if where.endswith(f"/{MANIFEST_NAME}") else None
        manifest, problems = _form_problems(raw, folder)
        report.problems.extend(f"{where}: {p}" for p in problems)
        if manifest is None:
            return report
        id = str(manifest["id"])
        if where == LATEST_NAME:
            try:
                if published.read(f"{id}/{MANIFEST_NAME}") != raw:
                    report.problems.append(f"{LATEST_NAME}: differs from {id}/{MANIFEST_NAME}")
            except Missing:
                report.problems.append(f"{LATEST_NAME}: names {id}, whose {MANIFEST_NAME} is missing")
            report.problems.extend(_head_problems(published, raw))
        if report.snapshots and id >= report.snapshots[-1]:
            report.problems.append(
                f"{where}: id {id} does not sort before its successor {report.snapshots[-1]}"
            )
        report.snapshots.append(id)
        if check_files:
            _files_check(published, id, manifest["files"], report)
        previous = manifest["previous"]
        if previous is None or (last is not None and len(report.snapshots) >= last):
            return report
        where_previous = published.manifest_path(str(previous))
        if where_previous is None:
            report.problems.append(f"{id}: its previous manifest {previous} is not published")
            return report
        try:
            raw = published.read(where_previous)
        except Missing:
            report.problems.append(f"{id}: its previous manifest {where_previous} is missing")
            return report
        if hashlib.sha256(raw).hexdigest() != previous:
            report.problems.append(f"{id}: {where_previous} does not hash to its previous {previous}")
            return report
        where = where_previous if "://" not in where_previous else _relative(where_previous)


def _relative(url: str) -> str:
    """<id>/manifest.json of a manifest's URL: the folder is checked against the id."""
    parts = urllib.parse.urlparse(url).path.rstrip("/").split("/")
    return "/".join(parts[-2:])


def resolved_path(id: str, path: str) -> str | None:
    """A manifest's file path from the root (`<id>/area/...`, `detail/<g>/sede/...`); None when
    it is absolute, names a scheme or a manifest, or leads out of the root."""
    if (
        not path
        or path.startswith(("/", "\\"))
        or "\\" in path
        or "://" in path
        or "/" in id
        or id in ("", ".", "..")
    ):
        return None
    resolved = posixpath.normpath(f"{id}/{path}")
    parts = PurePosixPath(resolved).parts
    if resolved.startswith(("/", "..")) or not parts or parts[-1] in (MANIFEST_NAME, LATEST_NAME, ".."):
        return None
    return resolved


def _files_check(published: Published, id: str, files: list[dict[str, Any]], report: Report) -> None:
    for f in files:
        path = resolved_path(id, str(f["path"]))
        if path is None:
            continue  # reported with the manifest's form
        if path not in report.hashed:
            try:
                report.hashed[path] = _sha256(published.chunks(path))
            except Missing:
                report.hashed[path] = None
        hashed = report.hashed[path]
        if hashed is None:
            report.problems.append(f"{path}: missing")
            continue
        sha, size = hashed
        report.files += 1
        report.bytes += size
        if size != f["bytes"]:
            report.problems.append(f"{path}: {size} bytes, the manifest says {f['bytes']}")
        if sha != f["sha256"]:
            report.problems.append(f"{path}: SHA-256 {sha}, the manifest says {f['sha256']}")


def report_lines(report: Report) -> list[str]:
    """The summary, in Spanish and English, as a person checking results night reads it."""
    if report.ok:
        if not report.complete:
            return [
                f"Últimos {len(report.snapshots)} snapshots verificados: {report.files} archivos, "
                f"{report.bytes} bytes, del {report.snapshots[-1]} al {report.snapshots[0]}.",
                f"Newest {len(report.snapshots)} snapshots verified: {report.files} files, "
                f"{report.bytes} bytes, from {report.snapshots[-1]} to {report.snapshots[0]}.",
            ]
        return [
            f"Cadena verificada: {len(report.snapshots)} snapshots, {report.files} archivos, "
            f"{report.bytes} bytes, del {report.snapshots[-1]} al {report.snapshots[0]}.",
            f"Chain verified: {len(report.snapshots)} snapshots, {report.files} files, "
            f"{report.bytes} bytes, from {report.snapshots[-1]} to {report.snapshots[0]}.",
        ]
    return [
        f"VERIFICACIÓN FALLIDA / VERIFICATION FAILED: {len(report.problems)} problema(s) / problem(s), "
        f"{len(report.snapshots)} snapshots leídos / read, {report.files} archivos / files checked:",
        *(f"  - {problem}" for problem in report.problems),
    ]
