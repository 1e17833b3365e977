"""Cross-origin reads of /api/ (django-cors-headers, configured by API_CORS_ORIGINS), and the
microcache keeping apart the answers whose CORS headers differ."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings

from election.api.microcache import Microcache
from tests.api.test_microcache_bounds import MAX_AGE_MS, Clock, CountingApp
from tests.conftest import ROOT

TABLERO = "https://tablero.example"
ONLY_TABLERO = {"CORS_ALLOW_ALL_ORIGINS": False, "CORS_ALLOWED_ORIGINS": [TABLERO]}


@pytest.fixture
def app(committed_db: None) -> CountingApp:
    return CountingApp()


def get(cache: Microcache, path: str, **headers: str) -> dict[str, str]:
    """GET path through the cache; the answer's headers, by lower-case name."""
    extra: dict[str, Any] = {"HTTP_ACCEPT": "application/json", **headers}
    environ = RequestFactory().get(path, **extra).environ
    answered: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answered.update({name.lower(): value for name, value in headers}, status=status)

    b"".join(cache(environ, start_response))
    return answered


def test_every_origin_may_read_and_shares_one_kept_answer(app: CountingApp) -> None:
    cache = Microcache(app, MAX_AGE_MS, clock=Clock())
    for i in range(20):
        answer = get(cache, "/api/results/summary", HTTP_ORIGIN=f"https://o{i}.example")
        assert answer["access-control-allow-origin"] == "*"
        assert answer["access-control-expose-headers"] == "ETag"
    # No Origin, no CORS headers: a kept answer of either kind must not answer the other.
    assert "access-control-allow-origin" not in get(cache, "/api/results/summary")
    assert (len(cache), app.calls) == (2, 2)


@override_settings(**ONLY_TABLERO)
def test_a_narrowed_list_answers_only_its_origins(app: CountingApp) -> None:
    cache = Microcache(app, MAX_AGE_MS, clock=Clock())
    for _ in range(2):  # computed, then from memory
        answer = get(cache, "/api/results/summary", HTTP_ORIGIN=TABLERO)
        assert answer["access-control-allow-origin"] == TABLERO and "origin" in answer["vary"].lower()
        for origin in ("https://other.example", "http://tablero.example", "not a url", "https://[bad"):
            assert "access-control-allow-origin" not in get(cache, "/api/results/summary", HTTP_ORIGIN=origin)
    assert (len(cache), app.calls) == (2, 2)


@pytest.mark.django_db
def test_a_preflight_allows_a_conditional_get_and_only_api_paths_get_cors() -> None:
    preflight = Client().options(
        "/api/results/summary",
        HTTP_ORIGIN=TABLERO,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Headers"] == "If-None-Match, Content-Type"
    assert preflight["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert preflight["Access-Control-Max-Age"] == "600"
    assert not Client().get("/healthz", HTTP_ORIGIN=TABLERO).has_header("Access-Control-Allow-Origin")


@pytest.mark.parametrize(
    ("value", "allow_all", "allowed"),
    [
        (None, True, []),
        ("*", True, []),
        (f"{TABLERO}, https://b.example", False, [TABLERO, "https://b.example"]),
    ],
)
def test_api_cors_origins_configures_cors(value: str | None, allow_all: bool, allowed: list) -> None:
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.CORS_ALLOW_ALL_ORIGINS, s.CORS_ALLOWED_ORIGINS]))"
    )
    env = {name: v for name, v in os.environ.items() if name != "API_CORS_ORIGINS"}
    env |= {"DJANGO_SETTINGS_MODULE": "election.settings", **({"API_CORS_ORIGINS": value} if value else {})}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [allow_all, allowed]
