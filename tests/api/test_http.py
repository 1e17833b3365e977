"""The API as deployed: gunicorn serving it over real HTTP, with the votes committed."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from django.utils.datastructures import CaseInsensitiveMapping

from tests.api.conftest import KNOWN_VOTES, record


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, Mapping[str, str], Any]:
    """The status, the headers (by name in any case, as HTTP reads them) and the body."""
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answered = CaseInsensitiveMapping(dict(response.headers))
            return response.status, answered, _body(response.read(), response.headers)
    except urllib.error.HTTPError as error:
        return (
            error.code,
            CaseInsensitiveMapping(dict(error.headers)),
            _body(error.read(), error.headers) or None,
        )


def _body(body: bytes, headers: Any) -> Any:
    is_json = headers.get("Content-Type", "").startswith("application/json")
    return json.loads(body) if body and is_json else body


def test_gunicorn_serves_results_with_conditional_gets_and_cors(
    service_env: dict[str, str], redis_client: Any, spawn: Any, port: int
) -> None:
    argv = [sys.executable, "-m", "gunicorn", "election.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    spawn("gunicorn", argv, service_env).wait_for_port(port)
    base = f"http://127.0.0.1:{port}"
    record(KNOWN_VOTES)

    assert fetch(f"{base}/readyz")[0] == 200
    status, headers, summary = fetch(f"{base}/api/results/summary", Origin="https://tablero.example")
    assert status == 200 and summary["total"] == sum(row[-1] for row in KNOWN_VOTES)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in headers["Access-Control-Expose-Headers"]
    etag = headers["ETag"]
    assert fetch(f"{base}/api/results/summary", **{"If-None-Match": etag})[0] == 304

    preflight = fetch(
        f"{base}/api/results/summary",
        method="OPTIONS",
        Origin="https://tablero.example",
        **{"Access-Control-Request-Headers": "if-none-match"},
    )
    assert "If-None-Match" in preflight[1]["Access-Control-Allow-Headers"]

    record([("Peten", "Flores", 1, "Blanca", "UNE", "redis", 1)])  # committed: gunicorn sees it
    status, headers, summary = fetch(f"{base}/api/results/summary", **{"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    assert summary["by_route"]["redis"]["votes"] == 10
