"""Simulated field traffic: votes as sedes write them, drawn with a realistic spread.

Used by Locust, the benchmarks and the fault suite. Reads the catalogue CSV files only (no
database), so a load generator needs nothing but this repository.

- Each municipio has a fixed number of sedes (2 to 16, derived from its INE code), and a
  municipio is drawn in proportion to its sedes, so sedes are spread evenly over the country.
- Partidos are weighted like the first round of 2023: the seven most-voted tickets with their
  real votes, the other fifteen presidential tickets sharing the rest of the valid votes; null
  and blank ballots come in that round's proportions (17.3% and 7.0% of ballots cast), spelled
  the several ways actas and field staff write them.
  (The same weights serve every papeleta: the catalogue has no other per-ballot results.)
- Names come as field staff write them: papeleta as the ballot colour, sometimes without
  accents or in capitals, `sede` an integer.
- Actas (ActaGenerator): each mesa of the demo catalogue (mesas_2023.csv) and papeleta once,
  numbers consistent with the mesa's padrón and 2023's turnout, nulos and blancos; typed twice,
  sometimes with a slip between the two typings or on a sheet that breaks one check rule.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import itertools
import random
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "election" / "catalogue" / "data"
VALID_VOTES_2023 = 4_212_460  # first round, from the catalogue's README
NULL_VOTES_2023 = 964_775
BLANK_VOTES_2023 = 388_363
# How a null or a blank ballot is written in the field (all in the catalogue's aliases).
NULL_SPELLINGS = ("NULO", "nulo", "Voto nulo", "Votos nulos", "Votos Nulos")
BLANK_SPELLINGS = ("BLANCO", "blanco", "en blanco", "Voto en blanco", "Votos en Blanco")
COALITION_MEMBERS = {"VALOR", "UNIONISTA", "WINAQ", "URNG-MAIZ"}  # on the ballot only as coalitions


@dataclass(frozen=True)
class SimMunicipio:
    departamento: str
    nombre: str
    code: str
    sedes: int


def _rows(name: str, directory: Path) -> list[dict[str, str]]:
    with open(directory / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def sedes_in(municipio_code: str) -> int:
    return 2 + (int(municipio_code) * 7919) % 15


@functools.cache  # names of the catalogue: a few hundred
def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def as_written(rng: random.Random, name: str) -> str:
    """A place's name as field staff write it: often without accents, sometimes in capitals."""
    roll = rng.random()
    if roll < 0.3:
        return strip_accents(name)
    if roll < 0.35:
        return name.upper()
    return name


class VoteGenerator:
    def __init__(self, seed: int | None = None, directory: Path = CATALOGUE_DIR) -> None:
        self.random = random.Random(seed)
        self.municipios = [
            SimMunicipio(
                r["departamento"], r["municipio"], r["municipio_code"], sedes_in(r["municipio_code"])
            )
            for r in _rows("municipios.csv", directory)
        ]
        # Cumulative weights, summed once: random.choices would sum 340 weights every vote.
        self.municipio_weights = list(itertools.accumulate(m.sedes for m in self.municipios))
        self.colours = [r["color"] for r in _rows("papeletas.csv", directory)]
        self.partidos, weights = self._partido_weights(directory)
        self.partido_weights = list(itertools.accumulate(weights))

    @staticmethod
    def _partido_weights(directory: Path) -> tuple[list[str], list[int]]:
        top = {
            r["sigla"]: int(r["votos"])
            for r in _rows("resultados_presidente_2023_primera_vuelta.csv", directory)
        }
        tickets = [
            r["sigla"] for r in _rows("partidos_2023.csv", directory) if r["sigla"] not in COALITION_MEMBERS
        ]
        others = [sigla for sigla in tickets if sigla not in top]
        share = (VALID_VOTES_2023 - sum(top.values())) // max(1, len(others))
        # Each spelling of a null or blank ballot takes an equal part of that round's count.
        spellings = [*NULL_SPELLINGS, *BLANK_SPELLINGS]
        spelled = [NULL_VOTES_2023 // len(NULL_SPELLINGS)] * len(NULL_SPELLINGS)
        spelled += [BLANK_VOTES_2023 // len(BLANK_SPELLINGS)] * len(BLANK_SPELLINGS)
        return tickets + spellings, [top.get(sigla, share) for sigla in tickets] + spelled

    def vote(self) -> dict[str, Any]:
        """A vote the system accepts, in the field format, with its own vote_id (its ballot may
        be null or blank, as 24% of the 2023 first round's were)."""
        r = self.random
        municipio = r.choices(self.municipios, cum_weights=self.municipio_weights)[0]
        return {
            "vote_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
            "sede": r.randint(1, municipio.sedes),
            "municipio": as_written(self.random, municipio.nombre),
            "departamento": as_written(self.random, municipio.departamento),
            "papeleta": r.choice(self.colours),
            "partido": r.choices(self.partidos, cum_weights=self.partido_weights)[0],
        }

    def bad_vote(self) -> dict[str, Any]:
        """A vote the system must refuse with 400, of one of several kinds."""
        vote = self.vote()
        kind = self.random.randrange(6)
        if kind == 0:  # a real municipio of another departamento (whatever the spelling)
            in_guatemala = strip_accents(vote["departamento"]).casefold() == "guatemala"
            vote["municipio"] = "Flores" if in_guatemala else "Mixco"
        elif kind == 1:
            vote["partido"] = "PARTIDO INEXISTENTE"
        elif kind == 2:
            vote["papeleta"] = "Morada"
        elif kind == 3:
            del vote["departamento"]
        elif kind == 4:
            vote["sede"] = {"numero": 7}
        else:
            vote["municipio"] = "x" * 500
        return vote


# --- Actas: what a mesa's junta writes on its tally sheet, typed twice -------------------------

TURNOUT_2023 = 0.595  # 5,565,598 ballots of a 9,361,068 padrón, first round
NULL_SHARE_2023 = NULL_VOTES_2023 / (VALID_VOTES_2023 + NULL_VOTES_2023 + BLANK_VOTES_2023)  # 17.3%
BLANK_SHARE_2023 = BLANK_VOTES_2023 / (VALID_VOTES_2023 + NULL_VOTES_2023 + BLANK_VOTES_2023)  # 7.0%
# The acta's numbers besides its votes (election.actas.types.COUNT_FIELDS).
ACTA_COUNTS = (
    "nulos", "blancos", "invalidos", "impugnados", "total_valid", "total_cast", "voters",
    "ballots_received", "ballots_unused",
)  # fmt: skip
# How one rule is broken on the sheet while every other holds (election.actas.checks): the field
# written wrong. `padron` is a sheet whose numbers agree but report more voters than registered.
RULE_BREAKS = {
    "sum_valid": "votes",
    "sum_cast": "nulos",
    "voters": "invalidos",
    "padron": "voters",
    "ballots": "ballots_unused",
}
# A digitador's slip, and the one rule the mistyped entry then breaks.
TYPOS = {"votes": "sum_valid", "nulos": "sum_cast", "ballots_unused": "ballots"}
ACTA_KINDS = ("clean", "typo", "rule")


@dataclass(frozen=True)
class SimMesa:
    departamento: str
    municipio: str
    municipio_code: str
    sede: int
    mesa: int
    padron: int


@dataclass(frozen=True)
class ActaPair:
    """One acta (mesa + papeleta) and its two typings: `clean` (both agree, no rule fails),
    `typo` (the second mistypes one number) or `rule` (both agree on a sheet that breaks one
    rule). `failed_rules` are each entry's, as the system must name them."""

    mesa: int
    papeleta: str  # code
    kind: str
    entries: tuple[dict[str, Any], dict[str, Any]]
    failed_rules: tuple[tuple[str, ...], tuple[str, ...]]


def mesas_read(directory: Path = CATALOGUE_DIR) -> list[SimMesa]:
    """The mesa catalogue (mesas_2023.csv: `#` lines are comments), with its places' names."""
    names = {
        r["municipio_code"]: (r["departamento"], r["municipio"]) for r in _rows("municipios.csv", directory)
    }
    with open(directory / "mesas_2023.csv", newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return [
            SimMesa(
                *names[r["municipio_code"]],
                r["municipio_code"],
                int(r["sede"]),
                int(r["mesa"]),
                int(r["padron"]),
            )
            for r in rows
        ]


class ActaGenerator:
    """Actas of the demo mesa catalogue, each mesa + papeleta handed out once (in a shuffled
    order; `skip` leaves out those already typed), with numbers a junta would write: turnout
    around 2023's, nulos and blancos in that round's shares of ballots cast, the valid votes
    spread by the weights the ballot simulation uses, no more voters than the mesa's padrón."""

    def __init__(
        self,
        seed: int | None = None,
        directory: Path = CATALOGUE_DIR,
        skip: frozenset[tuple[int, str]] = frozenset(),
    ) -> None:
        self.random = random.Random(seed)
        self.mesas = {m.mesa: m for m in mesas_read(directory)}
        papeletas = _rows("papeletas.csv", directory)
        self.colours = {r["code"]: r["color"] for r in papeletas}
        listed: dict[str, list[str]] = {}
        for r in _rows("papeletas_partidos.csv", directory):
            listed.setdefault(r["papeleta"], []).append(r["sigla"])
        everyone = [r["sigla"] for r in _rows("partidos_2023.csv", directory)]
        self.names = {r["sigla"]: r["nombre"] for r in _rows("partidos_2023.csv", directory)}
        top = {
            r["sigla"]: int(r["votos"])
            for r in _rows("resultados_presidente_2023_primera_vuelta.csv", directory)
        }
        share = (VALID_VOTES_2023 - sum(top.values())) // max(1, len(everyone) - len(top))
        # A papeleta with no listed partidos takes every one (election.catalogue.index.papeleta_partidos).
        self.ballots = {
            code: (siglas, list(itertools.accumulate(top.get(s, share) for s in siglas)))
            for code in self.colours
            for siglas in [listed.get(code, everyone)]
        }
        keys = [(mesa, code) for mesa in sorted(self.mesas) for code in sorted(self.colours)]
        self.random.shuffle(keys)
        self.keys = iter(key for key in keys if key not in skip)

    def pair(
        self, kind: str = "clean", entered_by: tuple[str, str] = ("digitador 1", "digitador 2")
    ) -> ActaPair | None:
        """The next acta's two entries, or None when every mesa + papeleta has been handed out."""
        key = next(self.keys, None)
        if key is None:
            return None
        mesa, papeleta = self.mesas[key[0]], key[1]
        sheet, rules = self._sheet(
            mesa, papeleta, broken=self.random.choice(list(RULE_BREAKS)) if kind == "rule" else None
        )
        first = self._typed(mesa, papeleta, sheet, entered_by[0])
        second = self._typed(mesa, papeleta, sheet, entered_by[1])
        second_rules = rules
        if kind == "typo":
            second_rules = (self._mistype(second),)
        return ActaPair(mesa.mesa, papeleta, kind, (first, second), (rules, second_rules))

    def sheet(self, mesa: int, papeleta: str) -> dict[str, Any]:
        """A clean sheet of this mesa and papeleta (code) in canonical form: votes by sigla,
        every partido of the papeleta, and the counts (for bulk loads that skip the typing)."""
        return self._sheet(self.mesas[mesa], papeleta, broken=None)[0]

    def _sheet(
        self, mesa: SimMesa, papeleta: str, broken: str | None
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        r = self.random
        voters = max(
            1, min(mesa.padron, round(mesa.padron * min(0.95, max(0.2, r.gauss(TURNOUT_2023, 0.08)))))
        )
        if broken == "padron":
            voters = mesa.padron + r.randint(1, 5)
        invalidos = r.choices((0, 1, 2), weights=(90, 8, 2))[0]
        invalidos = min(invalidos, voters - 1)
        cast = voters - invalidos
        nulos = min(cast, max(0, round(cast * r.gauss(NULL_SHARE_2023, 0.04))))
        blancos = min(cast - nulos, max(0, round(cast * r.gauss(BLANK_SHARE_2023, 0.02))))
        valid = cast - nulos - blancos
        siglas, weights = self.ballots[papeleta]
        drawn = Counter(r.choices(siglas, cum_weights=weights, k=valid))
        votes = {sigla: drawn.get(sigla, 0) for sigla in siglas}
        received = max(voters, mesa.padron)
        sheet: dict[str, Any] = {
            "votes": votes, "nulos": nulos, "blancos": blancos, "invalidos": invalidos,
            "impugnados": r.choices((0, 1), weights=(97, 3))[0], "total_valid": valid, "total_cast": cast,
            "voters": voters, "ballots_received": received, "ballots_unused": received - voters,
        }  # fmt: skip
        if broken is None or broken == "padron":
            return sheet, (broken,) if broken else ()
        field = RULE_BREAKS[broken]
        if field == "votes":
            sigla = r.choice(siglas)
            votes[sigla] += r.randint(1, 9)
        else:
            sheet[field] += r.randint(1, 9)
        return sheet, (broken,)

    def _typed(self, mesa: SimMesa, papeleta: str, sheet: dict[str, Any], entered_by: str) -> dict[str, Any]:
        """One typing of the sheet, in the field format: names as field staff write them."""
        r = self.random
        votes = {self.names[s] if r.random() < 0.1 else s: n for s, n in sheet["votes"].items()}
        return {
            "acta_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
            "mesa": mesa.mesa,
            "departamento": as_written(self.random, mesa.departamento),
            "municipio": as_written(self.random, mesa.municipio),
            "sede": mesa.sede,
            "papeleta": self.colours[papeleta] if r.random() < 0.5 else papeleta,
            "votes": votes,
            **{name: sheet[name] for name in ACTA_COUNTS},
            "image_sha256": hashlib.sha256(f"acta {mesa.mesa} {papeleta}".encode()).hexdigest(),
            "entered_by": entered_by,
            "corrects": False,
            "reason": None,
        }

    def _mistype(self, entry: dict[str, Any]) -> str:
        """Change one number of `entry` as a slip of the keyboard would; the rule it then breaks."""
        r = self.random
        field = r.choice(list(TYPOS))
        if field == "votes":
            name = r.choice(list(entry["votes"]))
            entry["votes"] = {**entry["votes"], name: entry["votes"][name] + r.randint(1, 9)}
        else:
            entry[field] += r.randint(1, 9)
        return TYPOS[field]
