"""snapshot_verify over HTTP, as a reader of the CDN would run it: the files from a static
server, the predecessors found through the API's list (followed page by page); a changed byte
on the server is caught all the same."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.wsgi import get_wsgi_application

from election.results.snapshots.verify import Http, verify_chain
from tests.api.conftest import KNOWN_VOTES, record
from tests.support.snapshots import take, write_detail


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietWSGI(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture
def api_server() -> Iterator[str]:
    """The API in this process (so the test's settings hold), over real HTTP, on committed data;
    not pytest-django's live_server, whose teardown empties every table, the catalogue included."""
    server = make_server("127.0.0.1", 0, get_wsgi_application(), ThreadingWSGIServer, QuietWSGI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def static_server(snapshot_root: Path) -> Iterator[str]:
    snapshot_root.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(snapshot_root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_the_chain_verifies_over_http_and_a_changed_byte_does_not(
    committed_db: None,
    empty_chain: None,
    redis_client: Any,
    snapshot_root: Path,
    static_server: str,
    api_server: str,
    settings: Any,
    capsys: Any,
) -> None:
    settings.SNAPSHOT_PUBLIC_URL = static_server  # the API's urls point at the static server
    chain = []
    for rows in (KNOWN_VOTES[:2], KNOWN_VOTES[2:]):
        record(rows)
        chain.append(take())
    detail = write_detail()
    assert detail is not None
    chain.append(take(detail))  # its sede and open files by reference, ../detail/<id>/...
    listing = f"{api_server}/api/snapshots/?page_size=1"  # three pages to follow
    report = verify_chain(Http(static_server, listing))
    assert report.problems == [] and report.snapshots == [s.id for s in reversed(chain)]
    assert report.files == sum(s.file_count for s in chain)
    call_command("snapshot_verify", "--url", static_server, "--api", listing)
    assert "Chain verified: 3 snapshots" in capsys.readouterr().out

    target = snapshot_root / chain[0].id / "panels" / "votes.json"
    target.write_bytes(target.read_bytes().replace(b'"results":[', b'"results": ['))
    report = verify_chain(Http(static_server, listing))
    assert [p for p in report.problems if "panels/votes.json" in p]
    shared = snapshot_root / "detail" / detail.id / "open" / "results.csv"
    shared.write_bytes(shared.read_bytes() + b"\n")
    report = verify_chain(Http(static_server, listing))
    assert [p for p in report.problems if p.startswith(f"detail/{detail.id}/open/results.csv: ")]
    with pytest.raises(CommandError):
        call_command("snapshot_verify", "--url", static_server, "--api", listing)
    # Without the list the chain cannot be walked past the newest: said, not passed over.
    alone = verify_chain(Http(static_server, None))
    assert f"{chain[2].id}: its previous manifest {chain[1].sha256} is not published" in alone.problems
