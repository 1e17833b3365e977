"""GET /api/snapshots/ (the chain, newest first, each with its public URL), /api/snapshots/latest
(the newest manifest's exact bytes) and /api/snapshots/timeline (the count over time, from the
rows' counts), against the snapshots written and read back here."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from election.models import Snapshot
from election.results.snapshots.timeline import TIMELINE_POINTS
from tests.api.conftest import KNOWN_VOTES, record
from tests.support.snapshots import PUBLIC_URL, take

pytestmark = pytest.mark.usefixtures("db", "redis_client", "snapshot_root")


@pytest.fixture
def chain(sample_actas: Any) -> list[Snapshot]:
    snapshots = []
    for rows in (KNOWN_VOTES[:3], KNOWN_VOTES[3:6], KNOWN_VOTES[6:]):
        record(rows)
        snapshots.append(take())
    return snapshots


def test_nothing_published_yet(get: Any) -> None:
    assert get("/api/snapshots/") == {"next": None, "previous": None, "results": []}
    assert get("/api/snapshots/latest", status=404) == {"detail": "No snapshot has been published yet."}
    assert get("/api/snapshots/timeline") == {"source": "actas", "papeleta": "presidente", "points": []}


def test_the_list_is_newest_first_with_each_manifests_url(
    chain: list[Snapshot], get: Any, snapshot_root: Path
) -> None:
    listed = get("/api/snapshots/")["results"]
    assert [s["id"] for s in listed] == [s.id for s in reversed(chain)]
    for entry, snapshot in zip(listed, reversed(chain), strict=True):
        raw = (snapshot_root / snapshot.id / "manifest.json").read_bytes()
        manifest = json.loads(raw)
        assert entry == {
            "id": snapshot.id,
            "time": manifest["time"],
            "previous": manifest["previous"],
            "sha256": hashlib.sha256(raw).hexdigest(),
            "url": f"{PUBLIC_URL}{snapshot.id}/manifest.json",
            "counts": manifest["counts"],
        }


def test_the_list_pages_by_cursor(chain: list[Snapshot], get: Any, api: APIClient) -> None:
    first = get("/api/snapshots/", page_size=2)
    assert [s["id"] for s in first["results"]] == [chain[2].id, chain[1].id]
    second = api.get(first["next"], HTTP_ACCEPT="application/json").json()
    assert [s["id"] for s in second["results"]] == [chain[0].id] and second["next"] is None
    assert get("/api/snapshots/", status=400, cursor="nonsense") == {
        "errors": {"cursor": ["Invalid cursor."]}
    }


def test_latest_is_the_newest_manifests_exact_bytes(
    chain: list[Snapshot], api: APIClient, snapshot_root: Path
) -> None:
    response = api.get("/api/snapshots/latest")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.content == (snapshot_root / "latest.json").read_bytes()
    assert response.content == (snapshot_root / chain[-1].manifest_path).read_bytes()
    assert response["ETag"] == f'"{chain[-1].sha256}"'
    again = api.get("/api/snapshots/latest", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_the_timeline_is_the_chains_counts(chain: list[Snapshot], get: Any, snapshot_root: Path) -> None:
    answer = get("/api/snapshots/timeline", source="votes", papeleta="Blanca")  # the ballot's colour
    assert (answer["source"], answer["papeleta"]) == ("votes", "presidente")
    points = answer["points"]
    assert [p["id"] for p in points] == [s.id for s in chain]
    for i, (point, snapshot) in enumerate(zip(points, chain, strict=True)):
        national = snapshot.counts["national"]["votes"]["presidente"]
        assert point["cast"] == national["cast"] and point["partidos"] == national["partidos"]
        assert (point["valid"], point["nulos"], point["blancos"]) == (
            national["valid"],
            national["nulos"],
            national["blancos"],
        )
        if i == 0:
            assert point["ballots_per_minute"] is None
        else:
            minutes = (snapshot.time - chain[i - 1].time).total_seconds() / 60
            delta = national["cast"] - chain[i - 1].counts["national"]["votes"]["presidente"]["cast"]
            assert point["ballots_per_minute"] == pytest.approx(delta / minutes, abs=0.01)
    assert sum(p["cast"] > 0 for p in points) >= 2  # the votes stored between snapshots show
    # The newest snapshot carries the same timeline as a file.
    stored = json.loads((snapshot_root / chain[-1].id / "timeline/votes/presidente.json").read_bytes())
    assert stored == answer


def test_the_timeline_of_the_actas_counts_progress(chain: list[Snapshot], get: Any) -> None:
    points = get("/api/snapshots/timeline")["points"]
    national = chain[-1].counts["national"]["actas"]["presidente"]
    assert points[-1]["actas_counted"] == national["actas_counted"] > 0
    assert points[-1]["percent_counted"] == round(
        100 * national["actas_counted"] / national["actas_expected"], 2
    )


def test_the_timeline_is_bounded(get: Any) -> None:
    start = timezone.now() - timedelta(days=2)
    counts = {"national": {"actas": {"presidente": {"actas_counted": 0, "actas_expected": 10, "cast": 0,
              "valid": 0, "nulos": 0, "blancos": 0, "partidos": {}}}}}  # fmt: skip
    Snapshot.objects.bulk_create(
        Snapshot(
            id=f"{i:06d}",
            time=start + timedelta(minutes=i),
            previous=f"{i - 1:064d}" if i else "",
            sha256=f"{i:064d}",
            manifest_path=f"{i:06d}/manifest.json",
            counts=counts,
            file_count=0,
            byte_count=0,
        )
        for i in range(TIMELINE_POINTS + 5)
    )
    points = get("/api/snapshots/timeline")["points"]
    assert len(points) == TIMELINE_POINTS
    assert (points[0]["id"], points[-1]["id"]) == ("000005", f"{TIMELINE_POINTS + 4:06d}")


def test_bad_parameters_are_400(get: Any) -> None:
    assert "source" in get("/api/snapshots/timeline", status=400, source="ballots")["errors"]
    assert "papeleta" in get("/api/snapshots/timeline", status=400, papeleta="Morada")["errors"]
