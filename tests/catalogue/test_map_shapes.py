"""frontend/public/geo/guatemala.topo.json: the map's shapes agree with the catalogue and fit the budget.

No database: the catalogue CSV is what the Departamento and Municipio rows are loaded from
(election.catalogue.index.load_catalogue), so agreeing with it is agreeing with the API's codes.
Provenance, terms and how the file is made: frontend/public/geo/README.md.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
from collections import defaultdict
from functools import cache
from typing import Any

from election.catalogue.index import CATALOGUE_DIR
from scripts.geo_topojson import OUTPUT

Point = tuple[int, int]
Ring = list[int]  # arc references: i forward, ~i reversed (the TopoJSON spec)
Polygon = list[Ring]

# The map may add 150 kB gzipped in all. d3-geo (geoPath, a projection) and topojson-client
# (feature, mesh, merge) measured 11.5 kB minified and gzipped; 30 kB is kept for them, so
# the file may take 120 kB. Measured at gzip level 1, nginx's default and the worst level a
# server sends compressed (level 6 makes it smaller still).
GZIP_BUDGET_BYTES = 120_000


@cache
def topology() -> dict[str, Any]:
    return json.loads(OUTPUT.read_bytes())


@cache
def catalogue() -> dict[str, dict[str, str]]:
    with open(CATALOGUE_DIR / "municipios.csv", newline="", encoding="utf-8") as handle:
        return {row["municipio_code"]: row for row in csv.DictReader(handle)}


def geometries(name: str) -> list[dict[str, Any]]:
    return topology()["objects"][name]["geometries"]


def polygons(geometry: dict[str, Any]) -> list[Polygon]:
    return [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]


@cache
def arcs() -> list[list[Point]]:
    """Delta-decoded integer grid points: areas computed on them add up exactly."""
    decoded = []
    for arc in topology()["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x, y))
        decoded.append(points)
    return decoded


def signed_area(ring: Ring) -> float:
    """Shoelace area of the ring the arcs draw, y (latitude) up: negative when clockwise."""
    points: list[Point] = []
    for ref in ring:
        arc = arcs()[ref] if ref >= 0 else arcs()[~ref][::-1]
        points.extend(arc if not points else arc[1:])
    assert points[0] == points[-1], "ring does not close"
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(points)) / 2


def test_it_is_a_quantized_topology_with_the_two_layers() -> None:
    data = topology()
    assert data["type"] == "Topology"
    assert set(data["objects"]) == {"departamentos", "municipios"}
    assert len(data["transform"]["scale"]) == 2 and len(data["transform"]["translate"]) == 2
    count = len(data["arcs"])
    for name in data["objects"]:
        assert data["objects"][name]["type"] == "GeometryCollection"
        for geometry in geometries(name):
            assert geometry["type"] in {"Polygon", "MultiPolygon"}
            assert geometry["id"] == geometry["properties"]["code"]
            for polygon in polygons(geometry):
                for ring in polygon:
                    assert ring and all(-count <= ref < count for ref in ring)


def test_departamentos_are_the_catalogues_22() -> None:
    expected = {row["departamento_code"]: row["departamento"] for row in catalogue().values()}
    found = {g["properties"]["code"]: g["properties"]["nombre"] for g in geometries("departamentos")}
    assert len(found) == len(geometries("departamentos")) == 22
    assert found == expected


def test_municipios_are_the_catalogues_340_in_their_departamentos() -> None:
    # The source has every catalogue municipio, the newest (Sipacate, Petatán, San Jorge, La
    # Blanca, El Chal, Las Cruces, Raxruhá) included: no exception is documented or allowed.
    expected = {code: (row["municipio"], row["departamento_code"]) for code, row in catalogue().items()}
    found = {
        g["properties"]["code"]: (g["properties"]["nombre"], g["properties"]["departamento"])
        for g in geometries("municipios")
    }
    assert len(found) == len(geometries("municipios")) == len(expected) == 340
    assert found == expected


def test_rings_are_wound_as_d3_geo_reads_them() -> None:
    """Exterior clockwise, holes counter-clockwise: else d3 fills the globe around the shape."""
    for name in ("departamentos", "municipios"):
        for geometry in geometries(name):
            for polygon in polygons(geometry):
                areas = [signed_area(ring) for ring in polygon]
                assert areas[0] < 0, (name, geometry["id"], "exterior")
                assert all(area > 0 for area in areas[1:]), (name, geometry["id"], "hole")


def test_each_departamento_is_exactly_its_municipios() -> None:
    """On the integer grid shoelace areas add up exactly, so any gap or overlap shows."""

    def area(geometry: dict[str, Any]) -> float:
        return -sum(signed_area(ring) for poly in polygons(geometry) for ring in poly)

    municipios_area: dict[str, float] = defaultdict(float)
    for geometry in geometries("municipios"):
        municipios_area[geometry["properties"]["departamento"]] += area(geometry)
    for geometry in geometries("departamentos"):
        assert area(geometry) == municipios_area[geometry["properties"]["code"]] > 0, geometry["id"]


def test_livingston_keeps_its_second_part() -> None:
    """MINFIN stores Livingston's second part (591 km^2) as a second ring of its polygon; built
    without mapshaper's `-clean rewind` that part is dropped as a stray hole."""
    (livingston,) = [g for g in geometries("municipios") if g["properties"]["nombre"] == "Livingston"]
    assert len(polygons(livingston)) == 2


def test_the_lakes_stay_holes() -> None:
    """Lake Amatitlán (in Guatemala) and Lake Atitlán (in Sololá) are gaps between municipios
    once the source's lake features are dropped; -clean fills the gaps it takes for slivers
    and must not take these for slivers."""
    holes = {
        g["properties"]["nombre"]: sum(len(p) - 1 for p in polygons(g)) for g in geometries("departamentos")
    }
    assert holes["Guatemala"] >= 1 and holes["Sololá"] >= 1


def test_the_file_fits_the_maps_budget() -> None:
    data = OUTPUT.read_bytes()
    assert len(gzip.compress(data, compresslevel=1, mtime=0)) < GZIP_BUDGET_BYTES
