"""The snapshot directory over HTTP, for `make run` and compose: what a CDN does on GKE.

    gunicorn election.results.snapshot_static:app -k uvicorn_worker.UvicornWorker --bind 127.0.0.1:8003

Readers of the results (the dashboard with DASHBOARD_SOURCE=snapshots: `head.json`; outside
verifiers: `latest.json`) fetch those and the files under `<id>/` (docs/api.md, "Snapshots")
from here, so they never touch the database or the API. On GKE the same files are in a Cloud Storage bucket
behind Cloud CDN (docs/deploy.md), with the same headers.

Starlette's StaticFiles, not WhiteNoise: StaticFiles looks each request's file up on disk (one
stat), so a snapshot written after start-up is served at once; WhiteNoise indexes its
directory at start and finds later files only in its autorefresh mode, meant for development.
What it gives, and what is added here:
- ETag and Last-Modified, and 304 to If-None-Match / If-Modified-Since (StaticFiles);
- `Cache-Control`: a snapshot's files never change once written (the manifest's hashes name
  them), so they are cached for a year, `immutable`; `latest.json` and `head.json` (its small
  pointer) are the files replaced in place, so caches keep them 5 seconds, then revalidate (a
  snapshot is written every SNAPSHOT_INTERVAL_S, 60); the same headers the bucket's objects carry on GKE;
- `Access-Control-Allow-Origin: *` on every answer: the results are public, and the page
  reading them may be served from another origin;
- gzip when the client accepts it, level 6 (level 9 costs about twice the CPU for a body a
  few per cent smaller), with the ETag made weak then, as the gzipped body is not the file's
  bytes;
- bodies from memory (FileBodies): each file is read, and gzipped, once per process, up to
  SNAPSHOT_WEB_CACHE_BYTES; larger files (the open data) stream from disk through
  StaticFiles' FileResponse and Starlette's GZipMiddleware. Streaming every answer from
  disk through worker threads served a third to a half as many requests a second here
  (docs/performance.md);
- no directory listing and no path outside the directory (StaticFiles resolves symlinks and
  `..` and refuses what lands outside); names starting with a dot are never served either,
  so a file the writer has not finished (and renames into place) cannot be read half-written.
`GET /healthz` answers 200 while the directory exists.

Django-free, like the ingest edge: this process needs no database, no Redis and no secret
(tests/project/test_import_boundaries.py checks that importing it loads no Django).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from election.lib.env import env_int, env_str

ROOT = Path(__file__).resolve().parents[2]
LATEST = "latest.json"
HEAD = "head.json"  # latest.json's small pointer, what the results site polls
IMMUTABLE = "public, max-age=31536000, immutable"
# The bucket's objects carry the same (election/results/snapshots/storage.py, which imports
# Django; tests/results/test_snapshot_static.py holds the two to one policy).
LATEST_MAX_AGE = "public, max-age=5, must-revalidate"
GZIP_LEVEL = 6
GZIP_MINIMUM_BYTES = 1024  # below a packet, compressing saves nothing worth the CPU
CACHE_BYTES = env_int("SNAPSHOT_WEB_CACHE_BYTES", 64 * 1024 * 1024)  # per process
# latest.json (the manifest: 2.2 MB at the demo catalogue's 17,734 files) is every reader's
# first request and must be kept; the open-data files, hundreds of MB, stream from disk.
CACHE_MAX_FILE_BYTES = 16 * 1024 * 1024


def snapshot_dir() -> Path:
    """SNAPSHOT_DIR (default var/snapshots), a relative path taken from the repository's root
    as the writer takes it (election/settings.py)."""
    configured = Path(env_str("SNAPSHOT_DIR", "var/snapshots"))
    return configured if configured.is_absolute() else ROOT / configured


class FileBodies:
    """The bytes of recently served files, and their gzip form once asked for, bounded by bytes
    (least recently used dropped first), keyed by the file's identity on disk (device, inode,
    size, modification time): a file replaced in place (latest.json) is a new key, never a
    stale body. StaticFiles streams every body from disk through worker threads, which served
    a third to a half as many requests a second on this project's machine (docs/performance.md);
    a snapshot's files are read by every reader and never change, so each is read once."""

    def __init__(self, max_bytes: int, max_file_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_file_bytes = max_file_bytes
        self.held = 0
        self.entries: OrderedDict[tuple[int, ...], dict[str, bytes]] = OrderedDict()

    @staticmethod
    def key(stat_result: os.stat_result) -> tuple[int, ...]:
        return (stat_result.st_dev, stat_result.st_ino, stat_result.st_size, stat_result.st_mtime_ns)

    def body(self, path: str | os.PathLike[str], stat_result: os.stat_result, encoding: str) -> bytes | None:
        """The file's bytes ("identity") or their gzip ("gzip"); None when the file is too big
        to keep or changed between the lookup and the read (then it is streamed from disk)."""
        if stat_result.st_size > self.max_file_bytes:
            return None
        key = self.key(stat_result)
        entry = self.entries.get(key)
        if entry is None:
            with open(path, "rb") as file:
                if self.key(os.fstat(file.fileno())) != key:
                    return None
                entry = {"identity": file.read()}
            self._keep(key, entry, len(entry["identity"]))
        else:
            self.entries.move_to_end(key)
        if encoding not in entry:
            entry[encoding] = gzip.compress(entry["identity"], compresslevel=GZIP_LEVEL, mtime=0)
            self._keep(key, entry, len(entry[encoding]))
        return entry[encoding]

    def _keep(self, key: tuple[int, ...], entry: dict[str, bytes], added: int) -> None:
        self.entries[key] = entry
        self.held += added
        while self.held > self.max_bytes and len(self.entries) > 1:
            _, dropped = self.entries.popitem(last=False)
            self.held -= sum(len(body) for body in dropped.values())


class SnapshotFiles(StaticFiles):
    """StaticFiles with the snapshots' cache policy, bodies from memory, and hidden names refused."""

    def __init__(self, *, directory: Path, bodies: FileBodies) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.bodies = bodies

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope)
        if any(part.startswith(".") and part not in (".", "..") for part in path.split(os.sep)):
            raise HTTPException(status_code=404)
        return path

    async def get_response(self, path: str, scope: Scope) -> Response:
        """StaticFiles' lookup, with the stat in the event loop instead of a worker thread: a
        stat of a local file takes microseconds, the hand-off to a thread and back far more.
        No html mode, so a directory, like a missing file, is 404."""
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        try:
            full_path, stat_result = self.lookup_path(path)
        except (OSError, ValueError):  # a name too long, a NUL byte, a directory we may not read
            raise HTTPException(status_code=404) from None
        if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
            raise HTTPException(status_code=404)
        return self.file_response(full_path, stat_result, scope)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        # FileResponse computes the validators from the stat alone (no I/O until it is sent).
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        replaced = self.get_path(scope) in (LATEST, HEAD)  # the two files rewritten in place
        response.headers["Cache-Control"] = LATEST_MAX_AGE if replaced else IMMUTABLE
        compressible = stat_result.st_size >= GZIP_MINIMUM_BYTES
        if compressible:
            response.headers["Vary"] = "Accept-Encoding"
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        wants_gzip = compressible and "gzip" in Headers(scope=scope).get("accept-encoding", "")
        body = self.bodies.body(full_path, stat_result, "gzip" if wants_gzip else "identity")
        if body is None:
            return response
        headers = {k: v for k, v in response.headers.items() if k not in ("accept-ranges", "content-length")}
        if wants_gzip:
            headers["Content-Encoding"] = "gzip"  # GZipMiddleware leaves an encoded body alone
        return Response(body, status_code=status_code, headers=headers)

    async def check_config(self) -> None:
        """Nothing to check: a directory missing (not yet written, or removed) answers 404."""


class PublicHeaders:
    """Every answer readable from any origin; a gzipped answer's ETag made weak (RFC 9110
    8.8.1: a strong validator names exact bytes, and these are not the file's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = "*"
                headers["X-Content-Type-Options"] = "nosniff"
                etag = headers.get("etag")
                if etag and "content-encoding" in headers and not etag.startswith("W/"):
                    headers["ETag"] = f"W/{etag}"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def application(directory: Path, cache_bytes: int = CACHE_BYTES) -> ASGIApp:
    """The app serving `directory`, created at start-up when missing (the writer may start
    after this server, and a missing directory is then a 404 per file, not an error)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        directory.mkdir(parents=True, exist_ok=True)
        yield

    async def healthz(request: Request) -> Response:
        if not directory.is_dir():
            return PlainTextResponse("snapshot directory missing", status_code=503)
        return PlainTextResponse("ok")

    files = SnapshotFiles(directory=directory, bodies=FileBodies(cache_bytes, CACHE_MAX_FILE_BYTES))
    app = Starlette(
        routes=[Route("/healthz", healthz, methods=["GET", "HEAD"]), Mount("/", app=files)],
        lifespan=lifespan,
    )
    return PublicHeaders(GZipMiddleware(app, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL))


app = application(snapshot_dir())
