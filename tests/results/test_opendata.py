"""The open-data files (election/results/opendata) against a recount from the stored rows.

The actas are recorded through the real recording path (tests/support/acta_counts: counted,
inconsistent, in review and pending), plus one mesa counted on every papeleta. Every expected
row and count below is computed here from Acta, its counted ActaEntry and Mesa, never from the
tallies or the writers' own helpers; the NIST report is validated against NIST's own schema.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from jsonschema import Draft4Validator

from election.actas.recording import actas_record
from election.catalogue.index import catalogue_index_clear
from election.models import Acta, ActaTally, Departamento, Mesa, Municipio, Papeleta, PapeletaPartido
from election.results.opendata import write_nist_report, write_results_csv
from tests.support.acta_counts import entry
from tests.support.actas import CLEAN_MESA

SCHEMA_PATH = (
    Path(__file__).resolve().parents[2]
    / "election/results/opendata/nist_schema/NIST_V2_election_results_reporting.json"
)
# The documented layout (docs/opendata.md): the columns, and an acta's totals after its partidos.
COLUMNS = [
    "departamento_code", "departamento", "municipio_code", "municipio", "sede", "mesa", "papeleta",
    "status", "line", "partido", "votes",
]  # fmt: skip
TOTAL_LINES = [
    "nulos", "blancos", "invalidos", "impugnados", "total_valid", "total_cast", "voters",
    "ballots_received", "ballots_unused", "padron",
]  # fmt: skip
# 21:15 of the 7th in Guatemala (UTC-6), already the 8th in UTC.
GENERATED = datetime(2026, 12, 8, 3, 15, 30, 123456, tzinfo=UTC)


@pytest.fixture
def counted_everywhere(sample_actas: dict[int, str]) -> int:
    """The clean mesa's acta of every other papeleta, counted by two agreeing entries."""
    for papeleta in Papeleta.objects.exclude(code="presidente").values_list("code", flat=True):
        actas_record(actas=[entry(CLEAN_MESA, "ana", papeleta=papeleta)], route="grpc")
        actas_record(actas=[entry(CLEAN_MESA, "beto", papeleta=papeleta)], route="redis")
    assert Acta.objects.filter(mesa_id=CLEAN_MESA, status="counted").count() == Papeleta.objects.count()
    return CLEAN_MESA


def csv_rows() -> list[list[str]]:
    out = io.BytesIO()
    write_results_csv(out)
    return list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))


def nist_report(generated: datetime = GENERATED) -> dict[str, Any]:
    out = io.BytesIO()
    write_nist_report(out, generated=generated)
    return json.loads(out.getvalue())


def nist_errors(report: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(report)]


# --- results.csv --------------------------------------------------------------------------


def expected_csv() -> list[list[str]]:
    """The CSV as the stored rows make it: every acta in (mesa, papeleta) order; a counted one
    as its entry's votes per sigla then its totals and its mesa's padrón, any other as one row."""
    departamentos = dict(Departamento.objects.values_list("code", "nombre"))
    municipios = dict(Municipio.objects.values_list("code", "nombre"))
    rows = [COLUMNS]
    for acta in Acta.objects.select_related("counted_entry", "mesa").order_by("mesa_id", "papeleta_id"):
        head = [
            acta.departamento_id, departamentos[acta.departamento_id], acta.municipio_id,
            municipios[acta.municipio_id], acta.sede, str(acta.mesa_id), acta.papeleta_id, acta.status,
        ]  # fmt: skip
        if acta.status != "counted":
            rows.append([*head, "", "", ""])
            continue
        numbers = acta.counted_entry
        assert numbers is not None
        rows += [[*head, "partido", sigla, str(numbers.votes[sigla])] for sigla in sorted(numbers.votes)]
        for line in TOTAL_LINES:
            value = acta.mesa.padron if line == "padron" else getattr(numbers, line)
            rows.append([*head, line, "", str(value)])
    return rows


@pytest.mark.usefixtures("counted_everywhere")
def test_results_csv_is_every_acta_recounted_from_the_stored_rows() -> None:
    rows = csv_rows()
    assert rows == expected_csv()
    statuses = {row[7] for row in rows[1:]}
    assert statuses == {"counted", "inconsistent", "in_review", "pending"}
    assert {row[6] for row in rows[1:]} == set(Papeleta.objects.values_list("code", flat=True))


@pytest.mark.usefixtures("counted_everywhere")
def test_results_csv_partido_rows_add_up_to_the_counted_tallies() -> None:
    summed: Counter[tuple[str, str]] = Counter()
    for row in csv_rows()[1:]:
        if row[8] == "partido":
            summed[(row[6], row[9])] += int(row[10])
    tallies = ActaTally.objects.values_list("papeleta_id", "partido_id").annotate(total=Sum("votes"))
    assert +summed == +Counter({(papeleta, sigla): int(total) for papeleta, sigla, total in tallies})
    assert sum(summed.values()) > 0


@pytest.fixture
def catalogue_forgotten_after() -> Iterator[None]:
    """The catalogue's in-memory index re-read after the test, whose edits roll back."""
    yield
    catalogue_index_clear()


@pytest.mark.usefixtures("sample_actas", "catalogue_forgotten_after")
def test_a_name_with_a_comma_or_a_quote_reads_back_as_it_is() -> None:
    municipio = Municipio.objects.get(code=Mesa.objects.get(numero=CLEAN_MESA).municipio_id)
    municipio.nombre = 'Tiquisate, "La Nueva"'
    municipio.save()  # the catalogue's index forgets the old name (election/signals.py)
    rows = [row for row in csv_rows()[1:] if row[5] == str(CLEAN_MESA)]
    assert rows and {row[3] for row in rows} == {'Tiquisate, "La Nueva"'}
    assert all(len(row) == len(COLUMNS) for row in rows)


@pytest.mark.django_db
def test_results_csv_of_an_election_without_actas_is_its_header() -> None:
    assert csv_rows() == [COLUMNS]


# --- nist-1500-100.json ----------------------------------------------------------------------


def areas_of(mesa: Mesa) -> tuple[str, str, str]:
    """The GpUnit ids of the areas a mesa is in, as docs/opendata.md names them."""
    return ("ru-gt", f"ru-dep-{mesa.departamento_id}", f"ru-mun-{mesa.municipio_id}")


def recount() -> dict[str, Any]:
    """What the report must say, from the stored rows: per (papeleta, GpUnit) the counted
    entries' votes per sigla, nulos and blancos; the counted actas per papeleta; per GpUnit its
    mesas and those whose actas of every papeleta are counted."""
    mesas = {mesa.numero: mesa for mesa in Mesa.objects.all()}
    papeletas = list(Papeleta.objects.values_list("code", flat=True))
    votes: Counter[tuple[str, str, str]] = Counter()
    other: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    counted_actas: Counter[str] = Counter()
    counted_papeletas: Counter[int] = Counter()
    for acta in Acta.objects.filter(status="counted").select_related("counted_entry"):
        numbers = acta.counted_entry
        assert numbers is not None
        mesa = mesas[acta.mesa_id]
        units = [
            "ru-gt",
            f"ru-dep-{mesa.departamento_id}",
            f"ru-mun-{mesa.municipio_id}",
            f"ru-mesa-{mesa.numero}",
        ]
        for unit in units:
            for sigla, count in numbers.votes.items():
                votes[(acta.papeleta_id, sigla, unit)] += count
            other[(acta.papeleta_id, unit)].update(nulos=numbers.nulos, blancos=numbers.blancos)
        counted_actas[acta.papeleta_id] += 1
        counted_papeletas[acta.mesa_id] += 1
    unit_mesas: dict[str, list[int]] = defaultdict(list)
    for mesa in mesas.values():
        for unit in areas_of(mesa):
            unit_mesas[unit].append(mesa.numero)
    progress = {
        unit: (sum(1 for m in numbers if counted_papeletas[m] == len(papeletas)), len(numbers))
        for unit, numbers in unit_mesas.items()
    }
    return {
        "votes": votes,
        "other": other,
        "counted_actas": counted_actas,
        "mesas": len(mesas),
        "papeletas": papeletas,
        "progress": progress,
        "padron": {unit: sum(mesas[m].padron for m in numbers) for unit, numbers in unit_mesas.items()},
    }


def reported_counts(
    report: dict[str, Any],
) -> tuple[Counter[tuple[str, str, str]], dict[tuple[str, str], Counter[str]]]:
    """The report's VoteCounts per (papeleta, sigla, GpUnit), and its OtherCounts per
    (papeleta, GpUnit) as nulos (Overvotes) and blancos (Undervotes); each key at most once."""
    votes: Counter[tuple[str, str, str]] = Counter()
    other: dict[tuple[str, str], Counter[str]] = {}
    for papeleta, contest in contests(report).items():
        for selection in contest["ContestSelection"]:
            assert selection["@type"] == "ElectionResults.PartySelection"
            (party,) = selection["PartyIds"]
            for count in selection["VoteCounts"]:
                key = (papeleta, party.removeprefix("party-"), count["GpUnitId"])
                assert key not in votes, key
                votes[key] = count["Count"]
        for counts in contest["OtherCounts"]:
            assert (papeleta, counts["GpUnitId"]) not in other
            nulos, blancos = counts["Overvotes"], counts["Undervotes"]
            other[(papeleta, counts["GpUnitId"])] = Counter(nulos=nulos, blancos=blancos)
    return votes, other


def contests(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (election,) = report["Election"]
    return {contest["Abbreviation"]: contest for contest in election["Contest"]}


@pytest.mark.usefixtures("counted_everywhere")
def test_the_nist_report_is_valid_against_nists_schema_and_is_the_recount() -> None:
    report = nist_report()
    assert nist_errors(report) == []
    expected = recount()
    assert report["Status"] == "unofficial-partial"
    assert report["GeneratedDate"] == "2026-12-08T03:15:30Z"
    (election,) = report["Election"]
    assert election["StartDate"] == election["EndDate"] == "2026-12-07"  # results night, in TIME_ZONE
    found = contests(report)
    assert sorted(found) == sorted(expected["papeletas"])
    for papeleta, contest in found.items():
        assert contest["@type"] == "ElectionResults.CandidateContest"
        assert contest["SubUnitsReported"] == expected["counted_actas"][papeleta]
        assert contest["TotalSubUnits"] == expected["mesas"]
    votes, other = reported_counts(report)
    assert votes == expected["votes"]
    assert other == expected["other"]
    # Nulos and blancos are there, and not zero, in a contest and a mesa.
    assert other[("presidente", "ru-gt")]["nulos"] > 0 and other[("presidente", "ru-gt")]["blancos"] > 0
    assert (
        other[("parlacen", f"ru-mesa-{CLEAN_MESA}")]
        == expected["other"][("parlacen", f"ru-mesa-{CLEAN_MESA}")]
    )


@pytest.mark.usefixtures("counted_everywhere")
def test_the_nist_report_gpunits_give_each_areas_progress_and_padron() -> None:
    report = nist_report()
    expected = recount()
    units = {unit["@id"]: unit for unit in report["GpUnit"]}
    mesas = {unit_id for unit_id, unit in units.items() if unit["Type"] == "precinct"}
    assert mesas == {f"ru-mesa-{numero}" for numero in Mesa.objects.values_list("numero", flat=True)}
    for unit_id, (reported, total) in expected["progress"].items():
        assert (units[unit_id]["SubUnitsReported"], units[unit_id]["TotalSubUnits"]) == (reported, total), (
            unit_id
        )
        assert units[unit_id]["VotersRegistered"] == expected["padron"][unit_id]
    assert units[f"ru-mun-{Mesa.objects.get(numero=CLEAN_MESA).municipio_id}"]["SubUnitsReported"] >= 1
    # The hierarchy: the country holds every departamento, each municipio sits in one, each mesa in one.
    children = Counter(child for unit in units.values() for child in unit.get("ComposingGpUnitIds", []))
    assert set(children) == set(units) - {"ru-gt"} and set(children.values()) == {1}


@pytest.mark.usefixtures("counted_everywhere")
def test_every_reference_in_the_nist_report_names_an_object_of_the_report() -> None:
    report = nist_report()
    ids = [unit["@id"] for unit in report["GpUnit"]] + [party["@id"] for party in report["Party"]]
    (election,) = report["Election"]
    for contest in election["Contest"]:
        ids += [contest["@id"], *(selection["@id"] for selection in contest["ContestSelection"])]
    assert len(ids) == len(set(ids))
    units = {unit["@id"] for unit in report["GpUnit"]}
    parties = {party["@id"] for party in report["Party"]}
    assert election["ElectionScopeId"] in units
    for contest in election["Contest"]:
        assert contest["ElectionDistrictId"] in units
        assert {counts["GpUnitId"] for counts in contest["OtherCounts"]} <= units
        for selection in contest["ContestSelection"]:
            assert set(selection["PartyIds"]) <= parties
            assert {count["GpUnitId"] for count in selection["VoteCounts"]} <= units
    assert {child for unit in report["GpUnit"] for child in unit.get("ComposingGpUnitIds", [])} <= units


@pytest.mark.usefixtures("counted_everywhere", "catalogue_forgotten_after")
def test_a_partido_taken_off_a_papeleta_after_its_actas_counted_keeps_its_votes() -> None:
    with_votes: set[str] = set()
    for acta in Acta.objects.filter(papeleta_id="presidente", status="counted").select_related(
        "counted_entry"
    ):
        assert acta.counted_entry is not None
        with_votes.update(sigla for sigla, n in acta.counted_entry.votes.items() if n)
    sigla = min(with_votes)  # not the last sigla, so the ones after it move
    assert PapeletaPartido.objects.filter(papeleta_id="presidente", partido_id=sigla).delete()[0] == 1
    catalogue_index_clear()
    report = nist_report()
    assert nist_errors(report) == []
    votes, _ = reported_counts(report)
    assert votes == recount()["votes"]
    assert votes[("presidente", sigla, "ru-gt")] > 0


@pytest.mark.usefixtures("sample_mesas")
def test_an_election_without_actas_is_a_valid_report_with_nothing_counted() -> None:
    report = nist_report()
    assert nist_errors(report) == []
    for contest in contests(report).values():
        assert contest["SubUnitsReported"] == 0 and contest["TotalSubUnits"] == Mesa.objects.count() > 0
        assert contest["CountStatus"][0]["Status"] == "not-processed"
        assert contest["OtherCounts"] == []
        assert all(selection["VoteCounts"] == [] for selection in contest["ContestSelection"])
    assert report["Status"] == "unofficial-partial"


@pytest.mark.django_db
def test_an_election_without_mesas_is_a_valid_report() -> None:
    report = nist_report()
    assert nist_errors(report) == []
    assert [unit["@id"] for unit in report["GpUnit"]] == ["ru-gt"]


def test_a_report_with_every_acta_counted_is_unofficial_complete(sample_mesas: dict[int, Mesa]) -> None:
    Mesa.objects.exclude(numero=CLEAN_MESA).delete()
    for papeleta in Papeleta.objects.values_list("code", flat=True):
        actas_record(actas=[entry(CLEAN_MESA, "ana", papeleta=papeleta)], route="grpc")
        actas_record(actas=[entry(CLEAN_MESA, "beto", papeleta=papeleta)], route="redis")
    report = nist_report()
    assert nist_errors(report) == []
    assert report["Status"] == "unofficial-complete"
    assert {contest["CountStatus"][0]["Status"] for contest in contests(report).values()} == {"completed"}


@pytest.mark.django_db
def test_the_election_day_is_election_date_when_it_is_set(settings: Any) -> None:
    settings.ELECTION_DATE = "2023-06-25"
    (election,) = nist_report()["Election"]
    assert election["StartDate"] == election["EndDate"] == "2023-06-25"


# --- One consistent state -------------------------------------------------------------------


def test_a_file_reads_one_state_while_rows_are_committed_beside_it(committed_db: None) -> None:
    """consistent_read: a mesa committed by another connection between two reads of a file is
    in neither, under the sessions' READ COMMITTED; after the file, it is seen."""
    from election.results.consistent import consistent_read

    added = max(Mesa.objects.values_list("numero", flat=True), default=0) + 1
    place = Municipio.objects.order_by("code").first()
    assert place is not None

    def commit_a_mesa() -> None:
        try:
            Mesa.objects.create(
                numero=added,
                departamento_id=place.departamento_id,
                municipio_id=place.code,
                sede="1",
                padron=9,
            )
        finally:
            connection.close()

    try:
        with consistent_read():
            before = Mesa.objects.count()
            writer = threading.Thread(target=commit_a_mesa)  # its own connection, autocommit
            writer.start()
            writer.join()
            assert Mesa.objects.count() == before
            assert not Mesa.objects.filter(numero=added).exists()
        assert Mesa.objects.filter(numero=added).exists()
    finally:
        Mesa.objects.filter(numero=added).delete()
