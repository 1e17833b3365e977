"""nist-1500-100.json: the counted actas as a NIST SP 1500-100 v2 ElectionReport (docs/opendata.md).

One Election; a CandidateContest per papeleta (each elects an office, one mark per ballot:
`VotesAllowed` 1), whose ContestSelections are PartySelections: a Guatemalan voter marks a
partido's symbol, never a name, and every papeleta but presidente's elects a closed list, so the
partido is what was chosen and there is no Candidate to point at. Each selection carries a
VoteCounts (`Type` total) per GpUnit with a counted acta: the country, its departamentos,
municipios and mesas. Nulos and blancos are not selections (a reader summing the selections
gets the valid votes, as on the acta): they are the contest's OtherCounts per GpUnit, blancos
as `Undervotes` (a blank ballot leaves the one allowed mark unused) and nulos as `Overvotes`
(the nearest NIST count: most nulos are ballots marked for more than one partido).
Progress: the contest's `SubUnitsReported` / `TotalSubUnits` are its counted actas of the
mesas; each ReportingUnit's are its mesas with every papeleta counted (nist_units).

Written as a stream: the header; then the counted actas read in one pass (reading.counted_actas),
keeping each papeleta's numbers per mesa (a list of about 30 integers per acta: some 35 MB at
the demo scale, bounded by the catalogue, not by the votes); then contest by contest, each
selection's VoteCounts joined and written at once; then the parties and the GpUnits, whose
progress the pass has counted; the report's Status last (a JSON object's keys are unordered).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain
from operator import itemgetter
from typing import Any, BinaryIO

from django.conf import settings
from django.utils import timezone

from election.catalogue.index import papeleta_partidos
from election.models import Papeleta
from election.results.consistent import consistent_read
from election.results.opendata.nist_units import (
    COUNTRY_ID,
    Geography,
    departamento_id,
    dumps,
    geography_read,
    gpunits_write,
    mesa_id,
    municipio_id,
    parties_write,
    party_id,
    text,
)
from election.results.opendata.reading import counted_actas

ISSUER = "Escrutinio"
ELECTION_NAME = "Elecciones Generales"
NOTES = (
    "Conteo preliminar de las actas contabilizadas (dos digitaciones concordantes, sin reglas "
    "incumplidas); no es el resultado oficial. Nulos: OtherCounts.Overvotes; blancos: "
    "OtherCounts.Undervotes."
)
NULOS, BLANCOS = 0, 1  # positions in a unit's numbers; the partidos follow, in sigla order


@dataclass
class ContestCount:
    """One papeleta's counted actas: per mesa its numbers [nulos, blancos, votes of each sigla
    in `siglas` order], and the same summed per municipio, departamento and country."""

    siglas: list[str]
    mesas: dict[int, list[int]] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._siglas_changed()

    def _siglas_changed(self) -> None:
        self.known = set(self.siglas)
        # The votes in `siglas` order in one call (a tuple, even of one sigla).
        self._getter = itemgetter(*self.siglas) if len(self.siglas) > 1 else _one(self.siglas)

    def add(self, mesa: int, votes: dict[str, int], nulos: int, blancos: int) -> None:
        if votes.keys() == self.known:  # an acta holds every partido of its papeleta, zeros too
            self.mesas[mesa] = [nulos, blancos, *self._getter(votes)]
            return
        for sigla in sorted(votes.keys() - self.known):  # one the catalogue no longer lists there
            self.siglas.append(sigla)
            for numbers in self.mesas.values():
                numbers.append(0)
        self._siglas_changed()
        self.mesas[mesa] = [nulos, blancos, *(votes.get(sigla, 0) for sigla in self.siglas)]

    def units(self, geography: Geography) -> list[tuple[str, list[int]]]:
        """(GpUnit id, numbers) of every unit with a counted acta: the country, then each
        departamento and each municipio in code order, then each mesa in (municipio, number)
        order, as the GpUnits are listed."""
        municipios: dict[str, list[int]] = {}
        for mesa in sorted(self.mesas):
            municipio = geography.mesa_municipio.get(mesa)
            if municipio is not None:
                municipios.setdefault(municipio, []).append(mesa)
        municipios = dict(sorted(municipios.items()))
        mun_sums = {mun: _sums(self.mesas[m] for m in mesas) for mun, mesas in municipios.items()}
        departamentos: dict[str, list[list[int]]] = {}
        for mun, sums in mun_sums.items():
            departamentos.setdefault(geography.municipio_departamento[mun], []).append(sums)
        dep_sums = {dep: _sums(rows) for dep, rows in sorted(departamentos.items())}
        units = [(COUNTRY_ID, _sums(dep_sums.values()))] if dep_sums else []
        units += [(departamento_id(dep), sums) for dep, sums in dep_sums.items()]
        units += [(municipio_id(mun), sums) for mun, sums in mun_sums.items()]
        units += [(mesa_id(m), self.mesas[m]) for mesas in municipios.values() for m in mesas]
        return units


def _one(siglas: list[str]) -> Callable[[dict[str, int]], tuple[int, ...]]:
    """itemgetter's tuple for a papeleta of one partido (or none)."""
    return lambda votes: tuple(votes[sigla] for sigla in siglas)


def _sums(rows: Iterable[list[int]]) -> list[int]:
    return [sum(column) for column in zip(*rows, strict=True)]


def opened(value: dict[str, Any]) -> str:
    """An object's JSON without its closing brace, so that streamed members follow."""
    return dumps(value)[:-1]


def report_date(generated: datetime) -> date:
    """The election's day: ELECTION_DATE when set, else the day of the report in TIME_ZONE."""
    if settings.ELECTION_DATE:
        return date.fromisoformat(settings.ELECTION_DATE)
    return timezone.localtime(generated).date()


def write_nist_report(out: BinaryIO, *, generated: datetime) -> None:
    """Write nist-1500-100.json into `out`, streaming (see the module's docstring)."""
    stamp = generated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # NIST's pattern: no fraction
    day = report_date(generated).isoformat()
    with consistent_read():
        geography = geography_read()
        papeletas = list(Papeleta.objects.order_by("code").values_list("code", "nombre"))
        header = {
            "@type": "ElectionResults.ElectionReport",
            "Format": "precinct-level",
            "GeneratedDate": stamp,
            "Issuer": ISSUER,
            "IssuerAbbreviation": ISSUER,
            "VendorApplicationId": ISSUER,
            "SequenceStart": 1,
            "SequenceEnd": 1,
            "Notes": NOTES,
        }
        election = {
            "@type": "ElectionResults.Election",
            "ElectionScopeId": COUNTRY_ID,
            "Name": text(ELECTION_NAME),
            "StartDate": day,
            "EndDate": day,
            "Type": "general",
        }
        out.write(f'{opened(header)},"Election":[{opened(election)},"Contest":['.encode())
        counts = {code: ContestCount(siglas=sorted(papeleta_partidos(code))) for code, _ in papeletas}
        for acta in counted_actas():
            count = counts.get(acta.papeleta)
            if count is not None:
                count.add(acta.mesa, acta.votes, acta.nulos, acta.blancos)
                geography.counted_papeletas[acta.mesa] += 1
        siglas_seen = {sigla for count in counts.values() for sigla in count.siglas}
        counted = sum(len(count.mesas) for count in counts.values())
        for order, (code, nombre) in enumerate(papeletas, start=1):
            if order > 1:
                out.write(b",")
            contest_write(out, code, nombre, order, counts.pop(code), geography)  # then freed
        out.write(b"]}],")
        parties_write(out, siglas_seen)
        out.write(b",")
        gpunits_write(out, geography, len(papeletas))
    complete = counted == len(papeletas) * len(geography.mesa_municipio) > 0
    out.write(f',"Status":"{"unofficial-complete" if complete else "unofficial-partial"}"}}'.encode())


def contest_write(
    out: BinaryIO, papeleta: str, nombre: str, order: int, count: ContestCount, geography: Geography
) -> None:
    """One CandidateContest, its selections' VoteCounts written one selection at a time."""
    total = len(geography.mesa_municipio)
    reported = len(count.mesas)
    status = "not-processed" if reported == 0 else "completed" if reported >= total else "in-process"
    contest: dict[str, Any] = {
        "@type": "ElectionResults.CandidateContest",
        "@id": f"contest-{papeleta}",
        "Name": nombre,
        "Abbreviation": papeleta,
        "ElectionDistrictId": COUNTRY_ID,
        "VotesAllowed": 1,
        "SequenceOrder": order,
        "SubUnitsReported": reported,
        "TotalSubUnits": total,
        "CountStatus": [{"@type": "ElectionResults.CountStatus", "Type": "total", "Status": status}],
    }
    units = count.units(geography)
    other = ",".join(
        f'{{"@type":"ElectionResults.OtherCounts","GpUnitId":"{unit}",'
        f'"Overvotes":{numbers[NULOS]},"Undervotes":{numbers[BLANCOS]}}}'
        for unit, numbers in units
    )
    out.write(f'{opened(contest)},"OtherCounts":[{other}],"ContestSelection":['.encode())
    # A selection's VoteCounts are the units' prefixes with each count after its own: a prefix
    # ends `"Count":`, and the tail after a count closes its object and opens the next one.
    prefixes = [
        f'{{"@type":"ElectionResults.VoteCounts","GpUnitId":"{unit}","Type":"total","Count":'
        for unit, _ in units
    ]
    tails = [f"}},{prefix}" for prefix in prefixes[1:]] + ["}"]
    vectors = [numbers for _, numbers in units]
    for position, sigla in enumerate(count.siglas, start=2):
        selection = {
            "@type": "ElectionResults.PartySelection",
            "@id": f"sel-{papeleta}-{sigla}",
            "PartyIds": [party_id(sigla)],
            "SequenceOrder": position - 1,
        }
        column = map(str, map(itemgetter(position), vectors))
        counts = prefixes[0] + "".join(chain.from_iterable(zip(column, tails, strict=True))) if units else ""
        separator = "," if position > 2 else ""
        out.write(f'{separator}{opened(selection)},"VoteCounts":[{counts}]}}'.encode())
    out.write(b"]}")
