"""The microcache's bounds (election/api/microcache.py), in front of the real application.

Django's WSGI handler over the test database, called in this process, so that what the cache
holds can be read: its bytes, its entries, and how many requests reached Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory

from election.api.microcache import Microcache
from tests.api.conftest import KNOWN_VOTES, record

MAX_AGE_MS = 500


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingApp:
    """Django's handler, counting the requests that reach it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls += 1
        return self.handler(environ, start_response)


@pytest.fixture
def app(committed_db: None, redis_client: Any) -> CountingApp:
    record(KNOWN_VOTES)
    return CountingApp()


def get(cache: Microcache, path: str, **headers: str) -> tuple[str, bytes]:
    """GET path (with its query) through the cache; the status and the body."""
    extra: dict[str, Any] = {"HTTP_ACCEPT": "application/json", **headers}
    environ = RequestFactory().get(path, **extra).environ
    answered: list[str] = []
    body = b"".join(cache(environ, lambda status, headers, exc_info=None: answered.append(status)))
    return answered[0], body


def test_unknown_parameters_and_header_values_share_one_entry(app: CountingApp) -> None:
    cache = Microcache(app, MAX_AGE_MS, clock=Clock())
    status, body = get(cache, "/api/votes/?page_size=500", HTTP_ORIGIN="https://o")
    for i in range(300):
        assert get(cache, f"/api/votes/?page_size=500&n={i}", HTTP_ORIGIN=f"https://o{i}") == (status, body)
    assert get(cache, "/api/votes/?n=1&page_size=500&utm=2", HTTP_ORIGIN="https://x") == (status, body)
    assert (len(cache), app.calls) == (1, 1)
    # Another Accept may get another answer (indented, or the browsable page): Django, every time.
    get(cache, "/api/votes/?page_size=500", HTTP_ACCEPT="application/json; indent=4")
    get(cache, "/api/votes/?page_size=500", HTTP_ACCEPT="application/json; indent=4")
    assert (len(cache), app.calls) == (1, 3)


def test_distinct_answers_stay_under_the_byte_bound_oldest_dropped_first(app: CountingApp) -> None:
    max_bytes = 64 * 1024
    cache = Microcache(app, MAX_AGE_MS, max_bytes=max_bytes, clock=Clock())
    kept_sizes = []
    for size in range(1, 100):  # each page size is another answer (a few KiB each)
        get(cache, f"/api/votes/?page_size={size}")
        assert cache.bytes_kept <= max_bytes
        kept_sizes.append(len(cache))
    assert app.calls == 99 and max(kept_sizes) < 99 and cache.bytes_kept > max_bytes // 2
    calls = app.calls
    get(cache, "/api/votes/?page_size=99")  # the newest is kept
    get(cache, "/api/votes/?page_size=1")  # the oldest was dropped
    assert app.calls == calls + 1


def test_a_large_body_is_never_kept(app: CountingApp) -> None:
    cache = Microcache(app, MAX_AGE_MS, max_body_bytes=4 * 1024, clock=Clock())
    _, large = get(cache, "/api/votes/?page_size=500")
    _, again = get(cache, "/api/votes/?page_size=500")
    assert len(large) > 4 * 1024 and again == large
    assert (len(cache), cache.bytes_kept, app.calls) == (0, 0, 2)
    get(cache, "/api/votes/?page_size=1")
    assert len(cache) == 1


def test_expired_answers_are_dropped_as_new_ones_come(app: CountingApp) -> None:
    clock = Clock()
    cache = Microcache(app, MAX_AGE_MS, clock=clock)
    for path in ("/api/results/summary", "/api/results/top-sedes", "/api/catalogue/"):
        get(cache, path)
    assert len(cache) == 3
    clock.now += MAX_AGE_MS / 1000
    get(cache, "/api/votes/?page_size=1")
    assert len(cache) == 1 and app.calls == 4
    get(cache, "/api/results/summary")  # expired, so asked again
    assert app.calls == 5
