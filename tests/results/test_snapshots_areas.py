"""The area views inside a snapshot, the sede files and the open data of the detail generation it
references: each the same answer the per-request reader gives (election.results.areas.area_view,
acta_detail, the open-data writers), read back from disk."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from election.models import Acta, Mesa, Snapshot
from election.results import areas, opendata
from election.results.actas import acta_detail
from tests.api.conftest import KNOWN_VOTES, NULL_AND_BLANK, record
from tests.support.snapshots import detail_folder, manifest_of, take, write_detail

pytestmark = pytest.mark.usefixtures("db", "redis_client", "sample_actas", "snapshot_root")
SOURCES = ("actas", "votes")


def without_time(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k != "as_of"}


@pytest.fixture
def snapshot(db: None, sample_actas: Any, redis_client: Any, snapshot_root: Path) -> Path:
    record(KNOWN_VOTES + NULL_AND_BLANK)
    return snapshot_root / take(write_detail()).id


@pytest.fixture
def detail(snapshot: Path, snapshot_root: Path) -> Path:
    return detail_folder(snapshot_root, Snapshot.objects.get(id=snapshot.name))


def read(path: Path) -> Any:
    return json.loads(path.read_bytes())


def test_the_area_files_are_the_area_views(snapshot: Path) -> None:
    for source in SOURCES:
        for papeleta in ("presidente", "diputados_nacional"):
            folder = snapshot / "area" / source / papeleta
            assert without_time(read(folder / "pais.json")) == without_time(areas.area_view(source, papeleta))
            for departamento in ("17", "01"):
                stored = read(folder / "departamento" / f"{departamento}.json")
                assert without_time(stored) == without_time(areas.area_view(source, papeleta, departamento))
            for municipio in ("1701", "0108"):
                stored = read(folder / "municipio" / f"{municipio}.json")
                assert without_time(stored) == without_time(
                    areas.area_view(source, papeleta, municipio=municipio)
                )
            assert len(list((folder / "departamento").iterdir())) == 22
            assert len(list((folder / "municipio").iterdir())) == 340


def test_the_sede_level_is_not_in_the_regular_snapshot(snapshot: Path) -> None:
    assert not (snapshot / "sede").exists() and not (snapshot / "open").exists()
    keys = [key for key, _ in areas.area_views("votes", "presidente", sedes=False)]
    assert keys and {key.level for key in keys} == {"pais", "departamento", "municipio"}
    every = [key for key, _ in areas.area_views("votes", "presidente") if key.level != "sede"]
    assert keys == every


def test_a_sedes_file_holds_its_views_and_its_mesas_actas(detail: Path) -> None:
    counted = Acta.objects.filter(status="counted").values_list("mesa_id", flat=True).first()
    assert counted is not None
    mesa = Mesa.objects.get(numero=counted)
    stored = read(detail / "sede" / f"{mesa.municipio_id}-{mesa.sede}.json")
    assert list(stored) == ["areas", "actas"]
    for source in SOURCES:
        for papeleta in ("presidente", "municipal"):
            view = areas.area_view(source, papeleta, municipio=mesa.municipio_id, sede=mesa.sede)
            assert without_time(stored["areas"][source][papeleta]) == without_time(view)
    sede_mesas = Mesa.objects.filter(municipio_id=mesa.municipio_id, sede=mesa.sede)
    assert set(stored["actas"]) == {str(m.numero) for m in sede_mesas}
    for papeleta, detail in stored["actas"][str(mesa.numero)].items():
        assert detail == acta_detail(mesa=mesa.numero, papeleta=papeleta)
    assert stored["actas"][str(mesa.numero)]  # the counted acta is there


def test_the_open_data_files_are_the_writers_output(
    snapshot: Path, snapshot_root: Path, detail: Path
) -> None:
    row = Snapshot.objects.get(id=snapshot.name)
    _, manifest = manifest_of(snapshot_root, row)
    prefix = manifest["counts"]["detail"]["path"]
    assert {f"{prefix}open/results.csv", f"{prefix}open/nist-1500-100.json"} <= {
        f["path"] for f in manifest["files"]
    }
    csv = io.BytesIO()
    opendata.write_results_csv(csv)
    assert (detail / "open" / "results.csv").read_bytes() == csv.getvalue()
    nist = io.BytesIO()
    opendata.write_nist_report(nist, generated=datetime.fromisoformat(manifest["counts"]["detail"]["time"]))
    assert (detail / "open" / "nist-1500-100.json").read_bytes() == nist.getvalue()
