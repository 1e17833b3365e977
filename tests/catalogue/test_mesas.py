"""load_mesas against the real database, and the demo catalogue of 2023 it loads in `make run`."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from bench.simulation import sedes_in
from election.catalogue.mesa_load import COLUMNS
from election.models import Mesa
from scripts import mesas_2023
from tests.conftest import ROOT

DEMO = mesas_2023.OUTPUT
# The project's reference data, beside the repository when it is checked out in its place.
SHARED_ACTAS = ROOT.parent / "shared" / "data" / "trep_2023_sample" / "actas.json"
HEADER = ",".join(COLUMNS)


def load(tmp_path: Path, text: str) -> tuple[str, str]:
    """Run load_mesas on `text`; its (stdout, stderr)."""
    path = tmp_path / "mesas.csv"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("load_mesas", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def table() -> list[tuple[int, str, str, str, int]]:
    return list(
        Mesa.objects.order_by("numero").values_list("numero", "departamento", "municipio", "sede", "padron")
    )


# --- load_mesas ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_file_loads_with_codes_read_as_written(tmp_path: Path) -> None:
    out, _ = load(tmp_path, f"# a comment\n{HEADER}\n17,1701,007,5,300\n1,101,Escuela A,6,250\n")
    assert table() == [(5, "17", "1701", "7", 300), (6, "01", "0101", "Escuela A", 250)]
    assert "2 inserted" in out


@pytest.mark.django_db
def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(tmp_path: Path) -> None:
    load(tmp_path, f"{HEADER}\n01,0101,1,1,100\n")
    before = table()
    bad = (
        f"# comments count as lines\n{HEADER}\n"
        "01,0101,1,10,100\n"  # line 3: good
        "99,0101,1,11,100\n"  # 4: unknown departamento
        "01,0199,1,12,100\n"  # 5: unknown municipio
        "01,1701,1,13,100\n"  # 6: a municipio of another departamento
        "01,0101,1,0,100\n"  # 7: mesa not positive
        "01,0101,1,14,-3\n"  # 8: padron not positive
        "01,0101,1,10,100\n"  # 9: mesa 10 again
        "01,0101,,15,100\n"  # 10: no sede
        "01,0101,1,16\n"  # 11: a field short
    )
    with pytest.raises(CommandError, match="8 bad row"):
        load(tmp_path, bad)
    path = tmp_path / "mesas.csv"
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("load_mesas", str(path), stderr=err)
    lines = {int(line.split(":")[1]): line for line in err.getvalue().splitlines()}
    assert sorted(lines) == [4, 5, 6, 7, 8, 9, 10, 11]
    assert "Unknown departamento_code '99'" in lines[4]
    assert "Unknown municipio_code '0199'" in lines[5]
    assert "'1701' is not in departamento '01' (it is in '17')" in lines[6]
    assert "mesa must be a positive integer, not '0'" in lines[7]
    assert "padron must be a positive integer, not '-3'" in lines[8]
    assert "mesa 10 is repeated (first on line 3)" in lines[9]
    assert "sede is empty" in lines[10]
    assert "Expected 5 fields, found 4" in lines[11]
    assert table() == before


@pytest.mark.django_db
def test_a_file_without_the_columns_is_refused_at_its_header(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        load(tmp_path, "departamento,municipio,sede,mesa,padron\n01,0101,1,1,100\n")
    assert not Mesa.objects.exists()


@pytest.mark.django_db
def test_loading_makes_the_table_equal_to_the_file_and_twice_changes_nothing(tmp_path: Path) -> None:
    load(tmp_path, f"{HEADER}\n01,0101,1,1,100\n01,0101,1,2,100\n01,0101,2,3,100\n")
    text = f"{HEADER}\n01,0101,1,1,100\n01,0101,3,2,120\n17,1701,1,4,90\n"
    out, _ = load(tmp_path, text)
    assert "1 inserted, 1 updated, 1 deleted, 1 unchanged" in out
    after = table()
    assert after == [(1, "01", "0101", "1", 100), (2, "01", "0101", "3", 120), (4, "17", "1701", "1", 90)]
    out, _ = load(tmp_path, text)
    assert "0 inserted, 0 updated, 0 deleted, 3 unchanged" in out
    assert table() == after


@pytest.mark.django_db
def test_if_empty_leaves_a_loaded_table_alone(tmp_path: Path) -> None:
    load(tmp_path, f"{HEADER}\n01,0101,1,1,100\n")
    (tmp_path / "other.csv").write_text(f"{HEADER}\n17,1701,1,9,90\n", encoding="utf-8")
    call_command("load_mesas", str(tmp_path / "other.csv"), "--if-empty", stdout=io.StringIO())
    assert table() == [(1, "01", "0101", "1", 100)]


# --- The demo catalogue of 2023 ------------------------------------------------


def demo_rows() -> list[dict[str, str]]:
    with open(DEMO, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def test_the_demo_catalogue_is_labelled_synthetic_and_is_what_its_script_makes() -> None:
    text = DEMO.read_text(encoding="utf-8")
    assert text.startswith("# SYNTHETIC")
    assert text == mesas_2023.generate()
    assert len(text.encode()) < 1_000_000


def test_the_demo_catalogue_has_the_published_totals() -> None:
    rows = demo_rows()
    assert len(rows) == 24_427
    assert sum(int(row["padron"]) for row in rows) == 9_361_068
    assert sorted(int(row["mesa"]) for row in rows) == list(range(1, 24_428))
    padron: Counter[str] = Counter()
    for row in rows:
        padron[row["departamento_code"]] += int(row["padron"])
        padron[row["municipio_code"]] += int(row["padron"])
    published = {"01": 2_115_260, "13": 702_953, "16": 643_396, "12": 615_116, "14": 535_214}
    published |= {"0101": 826_964, "0108": 297_407}
    assert {code: padron[code] for code in published} == published
    departamentos = {code: total for code, total in padron.items() if len(code) == 2}
    assert len(departamentos) == 22
    assert min(departamentos, key=departamentos.__getitem__) == "02"  # El Progreso has the fewest


def test_the_demo_catalogue_holds_every_sede_of_the_ballot_simulation() -> None:
    sedes = {(row["municipio_code"], row["sede"]) for row in demo_rows()}
    with open(mesas_2023.DATA / "municipios.csv", newline="", encoding="utf-8") as handle:
        codes = [row["municipio_code"] for row in csv.DictReader(handle)]
    missing = [(c, str(s)) for c in codes for s in range(1, sedes_in(c) + 1) if (c, str(s)) not in sedes]
    assert missing == []


def test_the_demo_catalogue_holds_the_real_sample_mesas_as_they_are() -> None:
    by_number = {int(row["mesa"]): row for row in demo_rows()}
    samples = mesas_2023.sample_mesas()
    assert len(samples) == 20
    for sample in samples:
        row = by_number[sample.numero]
        assert (row["municipio_code"], row["departamento_code"]) == (
            sample.municipio_code,
            sample.municipio_code[:2],
        )
        assert row["sede"] == sample.sede
        assert int(row["padron"]) == sample.padron


@pytest.mark.skipif(not SHARED_ACTAS.exists(), reason="the shared data is not beside the repository")
def test_the_copied_sample_mesas_are_those_of_the_shared_actas() -> None:
    actas = json.loads(SHARED_ACTAS.read_text(encoding="utf-8"))
    expected = sorted((a["mesa"], a["departamento_trep"], a["municipio_trep"], a["centro"]) for a in actas)
    with open(mesas_2023.DATA / "trep_2023_sample_mesas.csv", newline="", encoding="utf-8") as handle:
        copied = [
            tuple(int(row[k]) for k in ("mesa", "departamento_trep", "municipio_trep", "centro"))
            for row in csv.DictReader(handle)
        ]
    assert copied == expected


@pytest.mark.django_db
def test_the_demo_catalogue_loads(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("load_mesas", str(DEMO), stdout=out)
    assert "24427 inserted" in out.getvalue()
    assert Mesa.objects.count() == 24_427
    assert Mesa.objects.get(numero=3678).municipio_id == "0110"
