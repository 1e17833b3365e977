"""The snapshot file server (election/results/snapshot_static.py) as `make run` starts it: the
Procfile's `snapshots-web:` line over real HTTP, on a directory written while it runs."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from election.results.snapshot_static import CACHE_MAX_FILE_BYTES, FileBodies
from election.results.snapshots.storage import cache_control_for
from scripts.processes import ChildProcess, Spawn

SNAPSHOT_ID = "20261207T140000.123Z"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


@dataclass
class Server:
    port: int
    directory: Path
    process: ChildProcess

    def get(self, path: str, method: str = "GET", **headers: str) -> Answer:
        """`path` sent exactly as given (no client-side normalisation of `..` or `%2e`)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()


@pytest.fixture
def server(tmp_path: Path, spawn: Spawn, port: int) -> Iterator[Server]:
    directory = tmp_path / "snapshots"  # missing at start: the server makes it
    env = {
        **os.environ,
        "SNAPSHOT_DIR": str(directory),
        "SNAPSHOT_WEB_PORT": str(port),
        "SNAPSHOT_WEB_WORKERS": "1",
        "LOG_FORMAT": "plain",
    }
    argv = [sys.executable, "-m", "scripts.part", "snapshots-web"]
    process = spawn("snapshots-web", argv, env).wait_for_port(port)
    yield Server(port, directory, process)


def write_snapshot(directory: Path) -> dict[str, bytes]:
    """A snapshot as the writer lays it out (spec: latest.json, head.json, <id>/manifest.json, files)."""
    pais = json.dumps({"level": "pais", "results": [{"partido": "SEMILLA", "votes": n} for n in range(400)]})
    files = {
        f"{SNAPSHOT_ID}/area/actas/presidente/pais.json": pais.encode(),
        f"{SNAPSHOT_ID}/open/results.csv": b"mesa,papeleta,partido,votes\n1,presidente,SEMILLA,10\n",
    }
    manifest = json.dumps(
        {
            "id": SNAPSHOT_ID,
            "files": [
                {"path": p.split("/", 1)[1], "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)}
                for p, b in sorted(files.items())
            ],
        }
    ).encode()
    files[f"{SNAPSHOT_ID}/manifest.json"] = manifest
    files["latest.json"] = manifest
    files["head.json"] = json.dumps({"id": SNAPSHOT_ID, "manifest": f"{SNAPSHOT_ID}/manifest.json"}).encode()
    for path, body in files.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(body)
    return files


def test_files_written_after_start_are_served_with_their_cache_policy_and_cors(server: Server) -> None:
    assert server.get("/healthz").status == 200
    assert server.get("/latest.json").status == 404  # nothing written yet
    files = write_snapshot(server.directory)

    for path, body in files.items():
        answer = server.get(f"/{path}", Origin="https://resultados.example")
        assert answer.status == 200, path
        assert answer.body == body, path
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert answer.headers["ETag"] and answer.headers["Last-Modified"]
        # The very policy the writer gives the bucket's objects on GKE (Cloud CDN follows it).
        assert answer.headers["Cache-Control"] == cache_control_for(path), path
    assert server.get("/latest.json").headers["Cache-Control"] != IMMUTABLE
    assert (
        server.get("/head.json").headers["Cache-Control"]
        == server.get("/latest.json").headers["Cache-Control"]
    )
    assert server.get("/latest.json").headers["Content-Type"] == "application/json"
    assert server.get(f"/{SNAPSHOT_ID}/open/results.csv").headers["Content-Type"].startswith("text/csv")
    # Not found is readable cross-origin too, so a page can tell "no snapshot yet" from a failure.
    assert server.get("/nada.json").headers["Access-Control-Allow-Origin"] == "*"


def test_conditional_gets_answer_304_and_a_replaced_latest_is_a_new_version(server: Server) -> None:
    write_snapshot(server.directory)
    first = server.get("/latest.json")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    again = server.get("/latest.json", If_None_Match=etag)
    assert again.status == 304 and again.body == b""
    assert again.headers["Cache-Control"] == cache_control_for("latest.json")
    assert server.get("/latest.json", If_Modified_Since=modified).status == 304

    # The writer replaces latest.json by renaming a finished file over it.
    staged = server.directory / ".latest.json.tmp"
    staged.write_bytes(b'{"id": "20261207T140100.000Z"}')
    os.replace(staged, server.directory / "latest.json")
    replaced = server.get("/latest.json", If_None_Match=etag)
    assert replaced.status == 200 and replaced.body == b'{"id": "20261207T140100.000Z"}'
    assert replaced.headers["ETag"] != etag


def test_gzip_only_for_clients_that_accept_it_with_a_weak_etag(server: Server) -> None:
    files = write_snapshot(server.directory)
    path = f"{SNAPSHOT_ID}/area/actas/presidente/pais.json"

    zipped = server.get(f"/{path}", Accept_Encoding="gzip, br")
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.body) == files[path]
    assert len(zipped.body) < len(files[path]) / 4
    assert zipped.headers["ETag"].startswith('W/"')
    assert zipped.headers["Cache-Control"] == IMMUTABLE
    assert server.get(f"/{path}", Accept_Encoding="gzip", If_None_Match=zipped.headers["ETag"]).status == 304

    plain = server.get(f"/{path}")
    assert "Content-Encoding" not in plain.headers and plain.body == files[path]
    assert not plain.headers["ETag"].startswith("W/")


@pytest.mark.parametrize("path", ["/", f"/{SNAPSHOT_ID}", f"/{SNAPSHOT_ID}/", f"/{SNAPSHOT_ID}/area/"])
def test_no_directory_is_listed(server: Server, path: str) -> None:
    write_snapshot(server.directory)
    answer = server.get(path)
    assert answer.status == 404
    assert SNAPSHOT_ID.encode() not in answer.body and b"pais" not in answer.body


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        f"/{SNAPSHOT_ID}/../../secret.txt",
        "/escape/secret.txt",  # a symlink inside the directory pointing out of it
        "//etc/passwd",
        "/.hidden.json",  # a file the writer has not renamed into place
        "/%00latest.json",
    ],
)
def test_nothing_outside_the_directory_or_hidden_is_served(server: Server, path: str) -> None:
    write_snapshot(server.directory)
    outside = server.directory.parent / "secret.txt"
    outside.write_text("not public")
    (server.directory / "escape").symlink_to(server.directory.parent, target_is_directory=True)
    (server.directory / ".hidden.json").write_text("half written")
    assert (server.directory / "escape" / "secret.txt").read_text() == "not public"  # the link works

    answer = server.get(path)
    assert answer.status in (400, 404), answer.status
    assert b"not public" not in answer.body and b"half written" not in answer.body
    assert b"root:" not in answer.body


def test_only_reads_are_allowed(server: Server) -> None:
    write_snapshot(server.directory)
    assert server.get("/latest.json", method="HEAD").status == 200
    for method in ("POST", "PUT", "DELETE"):
        assert server.get("/latest.json", method=method).status == 405, method
    assert (server.directory / "latest.json").exists()


def test_files_too_big_to_keep_in_memory_stream_from_disk(server: Server) -> None:
    """The open-data files outgrow the per-file bound (CACHE_MAX_FILE_BYTES): the same answer."""
    rows = b"".join(b"%d,presidente,SEMILLA,%d\n" % (n, n % 97) for n in range(200_000))
    big = rows * (CACHE_MAX_FILE_BYTES // len(rows) + 1)
    assert len(big) > CACHE_MAX_FILE_BYTES
    path = server.directory / SNAPSHOT_ID / "open" / "results.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(big)

    plain = server.get(f"/{SNAPSHOT_ID}/open/results.csv")
    assert plain.status == 200 and plain.body == big
    assert plain.headers["Cache-Control"] == IMMUTABLE
    zipped = server.get(f"/{SNAPSHOT_ID}/open/results.csv", Accept_Encoding="gzip")
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.body) == big
    assert zipped.headers["ETag"] == f"W/{plain.headers['ETag']}"


def test_kept_bodies_are_bounded_by_bytes_oldest_dropped_first(tmp_path: Path) -> None:
    bodies = FileBodies(max_bytes=2_500, max_file_bytes=1_500)
    paths = []
    for n in range(3):
        path = tmp_path / f"{n}.json"
        path.write_bytes(bytes([65 + n]) * 1_000)
        paths.append(path)
    for path in paths:
        assert bodies.body(path, path.stat(), "identity") == path.read_bytes()
    assert bodies.held <= 2_500
    assert [FileBodies.key(p.stat()) for p in paths[1:]] == list(bodies.entries)  # the first dropped
    assert gzip.decompress(bodies.body(paths[2], paths[2].stat(), "gzip") or b"") == paths[2].read_bytes()
    assert bodies.held <= 2_500

    too_big = tmp_path / "big.json"
    too_big.write_bytes(b"x" * 1_501)
    assert bodies.body(too_big, too_big.stat(), "identity") is None
    stale = paths[2].stat()
    paths[2].write_bytes(b"Z" * 999)  # changed after the lookup: never kept under the old key
    assert bodies.body(paths[2], stale, "identity") is not None  # still held from before
    other = tmp_path / "other.json"
    other.write_bytes(b"o" * 10)
    other_stat = other.stat()
    other.write_bytes(b"p" * 20)
    assert bodies.body(other, other_stat, "identity") is None
