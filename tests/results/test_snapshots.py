"""One snapshot, read back from disk: the manifest in its fixed form, every file listed with its
hash and size, the counts against a recount from the stored votes and actas, the panels against
the API's own answers, and a failed or abandoned snapshot leaving nothing referenced."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from election.models import Acta, Mesa, Papeleta, PapeletaPartido, Partido, PartidoKind, Snapshot, Vote
from election.results.snapshots import writer
from election.results.snapshots.files import SnapshotFile
from election.results.snapshots.writer import SnapshotAbandoned, snapshot_take
from tests.api.conftest import KNOWN_VOTES, NULL_AND_BLANK, record
from tests.support.snapshots import file_sha256, manifest_of, stored_files, take

pytestmark = pytest.mark.usefixtures("db", "redis_client", "sample_actas", "snapshot_root")


@pytest.fixture(autouse=True)
def _votes(db: None, sample_actas: Any, redis_client: Any) -> None:
    record(KNOWN_VOTES + NULL_AND_BLANK)


def test_the_manifest_is_in_the_fixed_form_and_lists_every_file(snapshot_root: Path) -> None:
    snapshot = take()
    raw, manifest = manifest_of(snapshot_root, snapshot)
    assert (snapshot_root / "latest.json").read_bytes() == raw
    assert hashlib.sha256(raw).hexdigest() == snapshot.sha256
    # head.json: the small pointer readers poll, naming this manifest by path and hash.
    head = (snapshot_root / "head.json").read_bytes()
    assert json.loads(head) == {
        "id": snapshot.id,
        "time": manifest["time"],
        "manifest": snapshot.manifest_path,
        "sha256": snapshot.sha256,
        "detail": manifest["counts"].get("detail"),
    }
    assert b" " not in head and len(head) < 1024 < len(raw)
    assert list(manifest) == ["id", "time", "previous", "counts", "files"]
    assert manifest["previous"] is None and snapshot.previous_sha256 is None
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{3}Z", manifest["id"]) and manifest["id"] == snapshot.id
    assert manifest["time"] == snapshot.time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # Compact, UTF-8, unescaped: the bytes are the parsed manifest dumped the one way.
    assert json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode() == raw
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(paths)
    assert all(list(f) == ["path", "sha256", "bytes"] for f in manifest["files"])
    assert set(paths) == stored_files(snapshot_root, snapshot.id) - {"manifest.json"}
    for f in manifest["files"]:
        path = snapshot_root / snapshot.id / f["path"]
        assert (file_sha256(path), path.stat().st_size) == (f["sha256"], f["bytes"]), f["path"]
    assert (snapshot.file_count, snapshot.byte_count) == (
        len(paths),
        sum(f["bytes"] for f in manifest["files"]),
    )
    papeletas = list(Papeleta.objects.values_list("code", flat=True))
    for source in ("actas", "votes"):
        for papeleta in papeletas:
            assert f"timeline/{source}/{papeleta}.json" in paths
            assert f"panels/{source}/{papeleta}/top-departamentos.json" in paths
            assert f"panels/{source}/{papeleta}/top-sedes.json" in paths
    assert {"panels/summary.json", "panels/latest-votes.json", "panels/votes.json"} <= set(paths)


def recount() -> dict[str, Any]:
    """The counts from the stored rows themselves: every Vote, every counted acta's entry, the mesas."""
    kinds = dict(Partido.objects.values_list("sigla", "kind"))
    on_ballot: dict[str, set[str]] = defaultdict(set)
    for papeleta, sigla in PapeletaPartido.objects.values_list("papeleta_id", "partido_id"):
        on_ballot[papeleta].add(sigla)
    mesas = Mesa.objects.count()
    national: dict[str, dict[str, Any]] = {"actas": {}, "votes": {}}
    counted_total = 0
    for papeleta in Papeleta.objects.values_list("code", flat=True):
        heads = Acta.objects.filter(papeleta_id=papeleta, status="counted").select_related("counted_entry")
        counted = [a.counted_entry for a in heads if a.counted_entry is not None]
        assert len(counted) == len(heads)
        counted_total += len(counted)
        acta_partidos: Counter[str] = Counter()
        for entry in counted:
            acta_partidos.update(entry.votes)
        valid = sum(acta_partidos.values())
        nulos, blancos = sum(e.nulos for e in counted), sum(e.blancos for e in counted)
        head = {"actas_counted": len(counted), "actas_expected": mesas}
        national["actas"][papeleta] = head | {
            "cast": valid + nulos + blancos,
            "valid": valid,
            "nulos": nulos,
            "blancos": blancos,
            "partidos": dict(acta_partidos),
        }
        ballots = Counter(Vote.objects.filter(papeleta_id=papeleta).values_list("partido_id", flat=True))
        by_kind: Counter[str] = Counter()
        for sigla, n in ballots.items():
            by_kind[kinds[sigla]] += n
        national["votes"][papeleta] = head | {
            "cast": sum(ballots.values()),
            "valid": by_kind[PartidoKind.VALID],
            "nulos": by_kind[PartidoKind.NULO],
            "blancos": by_kind[PartidoKind.BLANCO],
            "partidos": {s: n for s, n in ballots.items() if kinds[s] == PartidoKind.VALID},
        }
    papeletas = Papeleta.objects.count()
    return {
        "votes_stored": Vote.objects.count(),
        "actas": {"counted": counted_total, "expected": mesas * papeletas},
        "national": national,
        "on_ballot": on_ballot,
    }


def test_the_counts_equal_a_recount_from_the_stored_votes_and_actas(snapshot_root: Path) -> None:
    snapshot = take()
    _, manifest = manifest_of(snapshot_root, snapshot)
    counts, expected = manifest["counts"], recount()
    assert counts == snapshot.counts
    assert expected["votes_stored"] > 0 and expected["actas"]["counted"] > 0  # the fixtures stored some
    assert counts["votes_stored"] == expected["votes_stored"]
    assert counts["actas"] == expected["actas"]
    for source in ("actas", "votes"):
        assert set(counts["national"][source]) == set(expected["national"][source])
        for papeleta, want in expected["national"][source].items():
            got = counts["national"][source][papeleta]
            assert {k: v for k, v in got.items() if k != "partidos"} == {
                k: v for k, v in want.items() if k != "partidos"
            }, (source, papeleta)
            assert {s: n for s, n in got["partidos"].items() if n} == want["partidos"], (source, papeleta)
            # Every partido of the papeleta's ballot is listed, with 0 when it has nothing.
            assert expected["on_ballot"][papeleta] <= set(got["partidos"]), (source, papeleta)


def test_the_panels_are_the_apis_own_answers(snapshot_root: Path) -> None:
    snapshot = take()
    folder = snapshot_root / snapshot.id / "panels"
    api = APIClient()

    def answer(path: str, **params: Any) -> bytes:
        response = api.get(path, params, HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        return bytes(response.content)

    for source in ("actas", "votes"):
        for papeleta in ("presidente", "diputados_nacional"):
            query = {"source": source, "papeleta": papeleta}
            top = answer("/api/results/top-departamentos", **query, limit=3)
            assert (folder / source / papeleta / "top-departamentos.json").read_bytes() == top
            sedes = answer("/api/results/top-sedes", **query, limit=5)
            assert (folder / source / papeleta / "top-sedes.json").read_bytes() == sedes
    summary = json.loads(answer("/api/results/summary", source="votes"))
    stored = json.loads((folder / "summary.json").read_bytes())
    assert stored.pop("as_of") <= summary.pop("as_of")
    assert stored == summary and stored["total"] == Vote.objects.count()
    assert (folder / "latest-votes.json").read_bytes() == answer("/api/votes/latest", limit=5)
    page = json.loads(answer("/api/votes/", page_size=50))
    assert json.loads((folder / "votes.json").read_bytes()) == {**page, "next": None, "previous": None}


def test_the_second_snapshot_names_the_first(snapshot_root: Path) -> None:
    first = take()
    record(KNOWN_VOTES[:1])
    second = take()
    raw_first, _ = manifest_of(snapshot_root, first)
    _, manifest = manifest_of(snapshot_root, second)
    assert second.id > first.id
    assert manifest["previous"] == hashlib.sha256(raw_first).hexdigest() == second.previous
    assert manifest["counts"]["votes_stored"] == first.counts["votes_stored"] + KNOWN_VOTES[0][-1]


def failing_source(after: int) -> Any:
    def source(context: Any) -> Any:
        for i in range(after):
            yield SnapshotFile(f"extra/{i}.json", lambda out: out.write(b"{}"))
        raise RuntimeError("the database went away")

    return source


def test_a_failed_snapshot_leaves_nothing_referenced(snapshot_root: Path) -> None:
    first = take()
    latest = (snapshot_root / "latest.json").read_bytes()
    with pytest.raises(RuntimeError, match="went away"):
        snapshot_take(sources=[failing_source(3)])
    assert list(Snapshot.objects.values_list("id", flat=True)) == [first.id]
    assert (snapshot_root / "latest.json").read_bytes() == latest
    assert {p.name for p in snapshot_root.iterdir()} == {first.id, "latest.json", "head.json"}


def test_a_snapshot_stopped_on_purpose_is_abandoned_before_its_manifest(snapshot_root: Path) -> None:
    calls = iter(range(10**6))
    with pytest.raises(SnapshotAbandoned):
        snapshot_take(sources=[failing_source(50)], stop=lambda: next(calls) >= 5)
    assert not Snapshot.objects.exists()
    assert list(snapshot_root.iterdir()) == []


def test_latest_json_is_put_back_when_the_row_cannot_be_stored(
    snapshot_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = take()
    latest = (snapshot_root / "latest.json").read_bytes()
    head = (snapshot_root / "head.json").read_bytes()

    def refuse(**fields: Any) -> None:
        raise RuntimeError("row refused")

    monkeypatch.setattr(writer.Snapshot.objects, "create", refuse)
    with pytest.raises(RuntimeError, match="row refused"):
        take()
    assert (snapshot_root / "latest.json").read_bytes() == latest
    assert (snapshot_root / "head.json").read_bytes() == head
    assert {p.name for p in snapshot_root.iterdir() if p.is_dir()} == {first.id}


def test_latest_json_is_put_back_when_head_json_cannot_be_written(
    snapshot_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """head.json fails after latest.json was replaced: as if the row had failed (nothing new is
    referenced), and head.json still points at the first snapshot."""
    first = take()
    latest = (snapshot_root / "latest.json").read_bytes()
    head = (snapshot_root / "head.json").read_bytes()
    store = writer._head_store
    calls: list[bytes] = []

    def fail_once(storage: Any, manifest: bytes) -> None:
        calls.append(manifest)
        if len(calls) == 1:
            raise OSError("disk full")
        store(storage, manifest)

    monkeypatch.setattr(writer, "_head_store", fail_once)
    with pytest.raises(OSError, match="disk full"):
        take()
    assert calls[1] == latest  # the restore wrote head.json from the first snapshot's manifest
    assert (snapshot_root / "latest.json").read_bytes() == latest
    assert (snapshot_root / "head.json").read_bytes() == head
    assert list(Snapshot.objects.values_list("id", flat=True)) == [first.id]
    assert {p.name for p in snapshot_root.iterdir() if p.is_dir()} == {first.id}
