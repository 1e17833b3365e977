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
"""

from __future__ import annotations

import csv
import functools
import itertools
import random
import unicodedata
import uuid
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
            "municipio": self._as_written(municipio.nombre),
            "departamento": self._as_written(municipio.departamento),
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

    def _as_written(self, name: str) -> str:
        roll = self.random.random()
        if roll < 0.3:
            return strip_accents(name)
        if roll < 0.35:
            return name.upper()
        return name
