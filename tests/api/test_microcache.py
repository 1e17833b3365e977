"""The half-second cache in front of the API (election/api/microcache.py), under gunicorn over HTTP."""

from __future__ import annotations

import sys
import time
from typing import Any

from tests.api.conftest import KNOWN_VOTES, record
from tests.api.test_http import fetch

MAX_AGE_MS = 1500  # long enough that two requests a few ms apart fall in one interval


def test_repeats_are_answered_from_memory_until_max_age(
    service_env: dict[str, str], redis_client: Any, spawn: Any, port: int
) -> None:
    env = {**service_env, "RESULTS_MAX_AGE_MS": str(MAX_AGE_MS)}
    # One worker: the second request must reach the process that kept the first answer.
    argv = [sys.executable, "-m", "gunicorn", "election.wsgi:application", "--workers", "1"]
    spawn("gunicorn", [*argv, "--bind", f"127.0.0.1:{port}"], env).wait_for_port(port)
    summary_url = f"http://127.0.0.1:{port}/api/results/summary"
    record(KNOWN_VOTES)
    total = sum(row[-1] for row in KNOWN_VOTES)

    started = time.monotonic()
    status, headers, first = fetch(summary_url, Accept="application/json")
    assert status == 200 and first["total"] == total
    record([("Peten", "Flores", 1, "Blanca", "UNE", "redis", 1)])  # committed, but within max age
    kept = fetch(summary_url, Accept="application/json")
    not_modified = fetch(summary_url, Accept="application/json", **{"If-None-Match": headers["ETag"]})
    browsable = fetch(f"{summary_url}?format=json", Accept="application/json")
    assert time.monotonic() - started < MAX_AGE_MS / 1000, "the machine was too slow for this test"

    assert kept[2] == first and kept[1]["ETag"] == headers["ETag"]  # the kept answer, not a new one
    assert kept[1]["Content-Type"] == "application/json"
    assert not_modified[0] == 304 and not_modified[1]["ETag"] == headers["ETag"]
    assert "Content-Type" not in not_modified[1]
    assert browsable[2]["total"] == total + 1  # another URL, so another entry: computed afresh

    time.sleep(MAX_AGE_MS / 1000)
    status, fresh_headers, fresh = fetch(summary_url, Accept="application/json")
    assert status == 200 and fresh["total"] == total + 1 and fresh_headers["ETag"] != headers["ETag"]


def test_json_is_kept_and_the_browsable_page_never(
    service_env: dict[str, str], redis_client: Any, spawn: Any, port: int
) -> None:
    env = {**service_env, "RESULTS_MAX_AGE_MS": "60000"}
    argv = [sys.executable, "-m", "gunicorn", "election.wsgi:application", "--workers", "1"]
    spawn("gunicorn", [*argv, "--bind", f"127.0.0.1:{port}"], env).wait_for_port(port)
    summary_url = f"http://127.0.0.1:{port}/api/results/summary"
    record(KNOWN_VOTES)

    total = sum(row[-1] for row in KNOWN_VOTES)
    # A signed-in admin's browser: the page carries its CSRF token (Django sets the cookie
    # again with it). Such a page must never be answered from memory, to anyone.
    browser = {"Accept": "text/html", "Cookie": "csrftoken=" + "a" * 32}
    assert fetch(summary_url, Accept="application/json")[2]["total"] == total
    assert fetch(summary_url, **browser)[0] == 200  # were HTML kept, this would be
    record([("Peten", "Flores", 1, "Blanca", "UNE", "redis", 1)])

    status, headers, kept = fetch(summary_url, Accept="application/json")
    assert headers["Content-Type"] == "application/json" and kept["total"] == total
    status, headers, page = fetch(summary_url, **browser)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert f"&quot;total&quot;: {total + 1}," in page.decode(), "the page is computed afresh"


def test_a_flood_of_unknown_parameters_is_answered_from_one_entry(
    service_env: dict[str, str], redis_client: Any, spawn: Any, port: int
) -> None:
    """`?page_size=500&n=<i>` from origin <i>: were the raw query string or the origin the key,
    each would be computed and kept anew, and the worker would grow until its pod's memory
    limit killed it. (An answer to a request without an Origin is kept apart: it carries no
    CORS headers, test_cors.py.)"""
    env = {**service_env, "RESULTS_MAX_AGE_MS": "60000"}
    argv = [sys.executable, "-m", "gunicorn", "election.wsgi:application", "--workers", "1"]
    spawn("gunicorn", [*argv, "--bind", f"127.0.0.1:{port}"], env).wait_for_port(port)
    votes_url = f"http://127.0.0.1:{port}/api/votes/"
    record(KNOWN_VOTES)
    status, headers, first = fetch(
        f"{votes_url}?page_size=500&n=0", Accept="application/json", Origin="https://o0"
    )
    assert status == 200 and len(first["results"]) == sum(row[-1] for row in KNOWN_VOTES)
    record([("Peten", "Flores", 1, "Blanca", "UNE", "redis", 1)])  # a recomputed answer would show it

    for i in range(1, 200):
        query = f"page_size=500&n={i}" if i % 2 else f"utm_source=x{i}&page_size=500"
        status, kept_headers, kept = fetch(
            f"{votes_url}?{query}", Accept="application/json", Origin=f"https://o{i}"
        )
        assert (status, kept_headers["ETag"], kept) == (200, headers["ETag"], first), query
    status, fresh_headers, fresh = fetch(
        f"{votes_url}?page_size=499", Accept="application/json", Origin="https://o"
    )
    assert fresh_headers["ETag"] != headers["ETag"] and len(fresh["results"]) == len(first["results"]) + 1
