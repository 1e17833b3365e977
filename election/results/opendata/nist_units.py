"""The places and partidos of the NIST report: `@id`s, the geography (GpUnit) and the Party list.

GpUnits are ReportingUnits in four levels, each listing the next in `ComposingGpUnitIds`:
the country, its departamentos (Type `other`, OtherType `departamento`: NIST's list has no
first-level division but the US `state`), their municipios (`municipality`) and the mesas
(`precinct`: the unit an acta reports, numbered in `Number`, with its sede as an
ExternalIdentifier). Departamentos and municipios carry their INE code the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from election.catalogue.index import catalogue_index
from election.models import Mesa, Partido, PartidoKind

LANGUAGE = "es"
COUNTRY_ID = "ru-gt"
COUNTRY_NAME = "Guatemala"


def departamento_id(code: str) -> str:
    return f"ru-dep-{code}"


def municipio_id(code: str) -> str:
    return f"ru-mun-{code}"


def mesa_id(numero: int) -> str:
    return f"ru-mesa-{numero}"


def party_id(sigla: str) -> str:
    return f"party-{sigla}"


def text(content: str) -> dict[str, Any]:
    """NIST's InternationalizedText, in Spanish."""
    return {
        "@type": "ElectionResults.InternationalizedText",
        "Text": [{"@type": "ElectionResults.LanguageString", "Content": content, "Language": LANGUAGE}],
    }


def identifier(kind: str, value: str) -> dict[str, Any]:
    return {"@type": "ElectionResults.ExternalIdentifier", "Type": "other", "OtherType": kind, "Value": value}


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 text as it is (the file is UTF-8)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Geography:
    """The mesas of the catalogue, by place: what the contests aggregate by and the GpUnits
    list. One row per mesa (24,427 at the demo scale): bounded by the catalogue."""

    mesa_municipio: dict[int, str] = field(default_factory=dict)  # numero -> municipio code
    municipio_departamento: dict[str, str] = field(default_factory=dict)
    municipio_mesas: dict[str, list[int]] = field(default_factory=dict)  # ascending numbers
    mesa_sede: dict[int, str] = field(default_factory=dict)
    mesa_padron: dict[int, int] = field(default_factory=dict)
    # How many papeletas' actas of each mesa are counted (the contests fill it in).
    counted_papeletas: Counter[int] = field(default_factory=Counter)

    @property
    def departamentos(self) -> list[str]:
        return sorted(set(self.municipio_departamento.values()))

    def municipios_of(self, departamento: str) -> list[str]:
        return sorted(m for m, d in self.municipio_departamento.items() if d == departamento)


def geography_read() -> Geography:
    """Every mesa's place and padrón (one query, in (municipio, numero) order)."""
    geography = Geography()
    rows = Mesa.objects.order_by("municipio_id", "numero").values_list(
        "numero", "departamento_id", "municipio_id", "sede", "padron"
    )
    for numero, departamento, municipio, sede, padron in rows.iterator(chunk_size=5_000):
        geography.mesa_municipio[numero] = municipio
        geography.municipio_departamento[municipio] = departamento
        geography.municipio_mesas.setdefault(municipio, []).append(numero)
        geography.mesa_sede[numero] = sede
        geography.mesa_padron[numero] = padron
    return geography


def parties_write(out: BinaryIO, extra_siglas: set[str]) -> None:
    """The `Party` array: every valid partido of the catalogue, and any sigla a counted acta
    holds that the catalogue no longer lists (named by its sigla)."""
    partidos = dict(Partido.objects.filter(kind=PartidoKind.VALID).values_list("sigla", "nombre"))
    for sigla in extra_siglas - partidos.keys():
        partidos[sigla] = sigla
    parties = [
        {
            "@type": "ElectionResults.Party",
            "@id": party_id(sigla),
            "Name": text(nombre),
            "Abbreviation": text(sigla),
        }
        for sigla, nombre in sorted(partidos.items())
    ]
    out.write(f'"Party":{dumps(parties)}'.encode())


def gpunits_write(out: BinaryIO, geography: Geography, papeletas: int) -> None:
    """The `GpUnit` array, the country first, then each departamento, its municipios and their
    mesas. A mesa counts as reported (`SubUnitsReported`) once its actas of every papeleta
    are counted; `TotalSubUnits` is the mesas of the unit."""
    index = catalogue_index()

    def reported(mesas: list[int]) -> int:
        return sum(1 for m in mesas if geography.counted_papeletas[m] >= papeletas > 0)

    def area(unit_id: str, name: str, kind: dict[str, Any], parts: list[str], mesas: list[int]) -> str:
        return dumps(
            {
                "@type": "ElectionResults.ReportingUnit",
                "@id": unit_id,
                **kind,
                "Name": text(name),
                "ComposingGpUnitIds": parts,
                "TotalSubUnits": len(mesas),
                "SubUnitsReported": reported(mesas),
                "VotersRegistered": sum(geography.mesa_padron[m] for m in mesas),
            }
        )

    all_mesas = sorted(geography.mesa_municipio)
    departamentos = geography.departamentos
    units = [
        area(
            COUNTRY_ID,
            COUNTRY_NAME,
            {"Type": "country"},
            [departamento_id(d) for d in departamentos],
            all_mesas,
        )
    ]
    out.write(f'"GpUnit":[{units[0]}'.encode())
    for departamento in departamentos:
        municipios = geography.municipios_of(departamento)
        mesas = sorted(m for mun in municipios for m in geography.municipio_mesas[mun])
        unit = area(
            departamento_id(departamento),
            index.departamento_names.get(departamento, departamento),
            {"Type": "other", "OtherType": "departamento", **_ine(departamento)},
            [municipio_id(m) for m in municipios],
            mesas,
        )
        out.write(f",{unit}".encode())
        for municipio in municipios:
            mesas = geography.municipio_mesas[municipio]
            unit = area(
                municipio_id(municipio),
                index.municipio_names.get(municipio, municipio),
                {"Type": "municipality", **_ine(municipio)},
                [mesa_id(m) for m in mesas],
                mesas,
            )
            out.write(f",{unit}".encode())
            out.write("".join(f",{_mesa_unit(geography, m)}" for m in mesas).encode())
    out.write(b"]")


def _ine(code: str) -> dict[str, Any]:
    return {"ExternalIdentifier": [identifier("INE", code)]}


def _mesa_unit(geography: Geography, numero: int) -> str:
    return dumps(
        {
            "@type": "ElectionResults.ReportingUnit",
            "@id": mesa_id(numero),
            "Type": "precinct",
            "Name": text(f"Mesa {numero}"),
            "Number": str(numero),
            "ExternalIdentifier": [identifier("sede", geography.mesa_sede[numero])],
            "VotersRegistered": geography.mesa_padron[numero],
        }
    )
