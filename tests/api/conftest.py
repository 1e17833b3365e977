"""Votes for the API tests, stored through the real write path, and a client to read them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from election.votes.recording import votes_record
from election.writer import live_feed
from tests.conftest import field_vote
from tests.support.acta_counts import sample_actas, sample_mesas  # noqa: F401  # fixtures
from tests.support.snapshots import empty_chain, snapshot_root  # noqa: F401  # fixtures

# (departamento, municipio, sede, papeleta, partido, route, how many), as the field writes them.
KNOWN_VOTES: list[tuple[str, str, Any, str, str, str, int]] = [
    ("Peten", "Flores", 1, "Blanca", "UNE", "grpc", 3),
    ("Petén", "flores", "001", "presidente", "VAMOS", "grpc", 3),
    ("PETEN", "Flores", 1, "Blanca", "SEMILLA", "redis", 1),
    ("Peten", "Flores", 1, "Rosada", "CABAL", "redis", 2),
    ("Guatemala", "Mixco", 7, "Blanca", "VAMOS", "redis", 4),
    ("Guatemala", "Mixco", "007", "Verde", "FCN", "grpc", 1),
    ("Chimaltenango", "Patzun", 2, "Blanca", "UNE", "grpc", 2),
    ("Escuintla", "San José", 3, "Blanca", "SEMILLA", "redis", 2),
    ("Guatemala", "Guatemala", 9, "Amarilla", "UNE", "grpc", 9),
]

# Null and blank ballots as the field writes them, beside KNOWN_VOTES (tests/api/test_results.py).
NULL_AND_BLANK: list[tuple[str, str, Any, str, str, str, int]] = [
    ("Peten", "Flores", 1, "Blanca", "Votos nulos", "grpc", 2),
    ("Guatemala", "Mixco", 7, "Blanca", "en blanco", "redis", 1),
    ("Chimaltenango", "Patzun", 2, "Blanca", "NULO", "redis", 3),
    ("Sololá", "Solola", 4, "Blanca", "Votos en Blanco", "grpc", 1),
]


def record(rows: list[tuple[str, str, Any, str, str, str, int]], *, latency_ms: float = 5.0) -> list[str]:
    """Validate, record and announce `rows` as the ingest routes do; returns the vote_ids."""
    vote_ids: list[str] = []
    for departamento, municipio, sede, papeleta, partido, route, count in rows:
        votes = [
            field_vote(
                departamento, municipio, sede, papeleta, partido,
                received_at=timezone.now() - timedelta(milliseconds=latency_ms * (i + 1)),
            )
            for i in range(count)
        ]  # fmt: skip
        results = votes_record(votes=votes, route=route)
        live_feed.live_publish(results=results, route=route)
        vote_ids += [str(v.vote_id) for v in votes]
    return vote_ids


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def known_votes(db: None, redis_client: Any) -> list[str]:
    return record(KNOWN_VOTES)


@pytest.fixture
def known_ballots(db: None, redis_client: Any) -> list[str]:
    """KNOWN_VOTES and some null and blank ballots."""
    return record(KNOWN_VOTES + NULL_AND_BLANK)


@pytest.fixture
def get(api: APIClient) -> Callable[..., Any]:
    """GET a path and return its JSON, asserting the status."""

    def fetch(path: str, status: int = 200, **params: Any) -> Any:
        response = api.get(path, params, HTTP_ACCEPT="application/json")
        assert response.status_code == status, response.content
        return response.json()

    return fetch
