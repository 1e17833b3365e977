"""Plain-Python TopoJSON arithmetic for scripts/geo_topojson.py: decode, simplify, quantize, dissolve.

Why by hand and not mapshaper or topojson-server: the source is already a TopoJSON topology
(shared arcs cut at every junction), so simplifying each arc once keeps neighbours' borders
identical without a topology builder, and the build needs no npm devDependency or GIS wheel.
Every function here is pure and deterministic, so the same source gives the same bytes.

Conventions: a ring is a list of arc references (``i`` forward, ``~i`` reversed, as in the
TopoJSON spec); a polygon is a list of rings, the first the exterior; a point is an (x, y)
integer pair on the output grid. d3-geo reads rings on the sphere, so exteriors must run
clockwise and holes counter-clockwise (y = latitude up): a wrongly wound exterior would be
drawn as the whole globe minus the municipio. ``orient`` fixes the winding after simplifying.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

Point = tuple[int, int]
FloatPoint = tuple[float, float]
Ring = list[int]
Polygon = list[Ring]

# Kilometres per degree at Guatemala's mean latitude (about 15.5 N): the simplifier measures
# triangle areas in km^2 so that one threshold means the same on both axes.
KM_PER_DEGREE_LAT = 110.6
KM_PER_DEGREE_LON = 111.32 * math.cos(math.radians(15.5))


def decode_arcs(
    arcs: Sequence[Sequence[Sequence[int]]], scale: FloatPoint, translate: FloatPoint
) -> list[list[FloatPoint]]:
    """Delta-decoded, untransformed arcs of a quantized topology, in longitude/latitude."""
    decoded = []
    for arc in arcs:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale[0] + translate[0], y * scale[1] + translate[1]))
        decoded.append(points)
    return decoded


def _triangle_km2(a: FloatPoint, b: FloatPoint, c: FloatPoint) -> float:
    ax, ay = a[0] * KM_PER_DEGREE_LON, a[1] * KM_PER_DEGREE_LAT
    bx, by = b[0] * KM_PER_DEGREE_LON, b[1] * KM_PER_DEGREE_LAT
    cx, cy = c[0] * KM_PER_DEGREE_LON, c[1] * KM_PER_DEGREE_LAT
    return abs((bx - ax) * (cy - ay) - (cx - ax) * (by - ay)) / 2


def visvalingam(points: list[FloatPoint], min_km2: float, keep_at_least: int) -> list[FloatPoint]:
    """Visvalingam-Whyatt: drop the point whose triangle is smallest until all are >= min_km2.

    The endpoints stay (they are junctions shared with other arcs), and so do at least
    ``keep_at_least`` points, so a closed arc (an island, a municipio inside another) keeps a
    ring's minimum of four. A removed point's area is carried to its neighbours (the "effective
    area" never decreases), which is what keeps long thin features from vanishing in one step.
    """
    n = len(points)
    if n <= max(2, keep_at_least):
        return list(points)
    prev = list(range(-1, n - 1))
    nxt = list(range(1, n + 1))
    area = [math.inf] * n
    heap: list[tuple[float, int]] = []
    for i in range(1, n - 1):
        area[i] = _triangle_km2(points[i - 1], points[i], points[i + 1])
        heap.append((area[i], i))
    heapq.heapify(heap)
    removed = [False] * n
    remaining = n
    floor = 0.0
    while heap and remaining > keep_at_least:
        value, i = heapq.heappop(heap)
        if removed[i] or value != area[i]:
            continue  # a stale entry: the point was updated after being pushed
        if value >= min_km2:
            break
        floor = max(floor, value)
        removed[i] = True
        remaining -= 1
        p, q = prev[i], nxt[i]
        nxt[p], prev[q] = q, p
        for j in (p, q):
            if 0 < j < n - 1:
                area[j] = max(floor, _triangle_km2(points[prev[j]], points[j], points[nxt[j]]))
                heapq.heappush(heap, (area[j], j))
    return [pt for pt, gone in zip(points, removed, strict=True) if not gone]


def quantize_arc(points: list[FloatPoint], scale: FloatPoint, translate: FloatPoint) -> list[Point]:
    """Points on the integer grid, consecutive duplicates dropped (an arc keeps its two ends)."""
    out: list[Point] = []
    for lon, lat in points:
        q = (round((lon - translate[0]) / scale[0]), round((lat - translate[1]) / scale[1]))
        if not out or q != out[-1]:
            out.append(q)
    if len(out) == 1:
        out.append(out[0])
    return out


def ring_points(ring: Ring, arcs: Sequence[Sequence[Any]]) -> list[Any]:
    """The closed list of points a ring draws, each shared junction once."""
    points: list[Any] = []
    for ref in ring:
        arc = arcs[ref] if ref >= 0 else list(reversed(arcs[~ref]))
        points.extend(arc if not points else arc[1:])
    return points


def signed_area(points: Sequence[Point] | Sequence[FloatPoint]) -> float:
    """Shoelace area with y up: negative for clockwise rings."""
    return (
        sum(points[i][0] * points[i + 1][1] - points[i + 1][0] * points[i][1] for i in range(len(points) - 1))
        / 2
    )


def reverse_ring(ring: Ring) -> Ring:
    return [~ref for ref in reversed(ring)]


def orient(polygon: Polygon, arcs: Sequence[Sequence[Point]]) -> Polygon | None:
    """The polygon wound for d3-geo, rings that collapsed to no area dropped; None if it vanished."""
    rings = []
    for position, ring in enumerate(polygon):
        area = signed_area(ring_points(ring, arcs))
        if area == 0:
            if position == 0:
                return None
            continue
        clockwise = area < 0
        exterior = position == 0
        rings.append(ring if clockwise == exterior else reverse_ring(ring))
    return rings


def _contains(points: Sequence[Point] | Sequence[FloatPoint], x: float, y: float) -> bool:
    """Even-odd point-in-ring test."""
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def split_outside_rings(polygon: Polygon, arcs: Sequence[Sequence[FloatPoint]]) -> list[Polygon]:
    """A polygon whose later rings lie outside its first, as separate polygons.

    The MINFIN source stores Livingston's second part as a second ring of one polygon, which
    a renderer takes for a hole; a real hole has its vertices inside the exterior.
    """
    exterior = ring_points(polygon[0], arcs)
    inside: Polygon = [polygon[0]]
    apart: list[Ring] = []
    for ring in polygon[1:]:
        x, y = ring_points(ring, arcs)[0]
        (inside if _contains(exterior, x, y) else apart).append(ring)
    return [inside, *([ring] for ring in apart)]


def dissolve(polygons: Sequence[Polygon], arcs: Sequence[Sequence[Point]]) -> list[Polygon]:
    """The union of oriented polygons that share arcs, as new polygons over the same arcs.

    An arc walked both ways lies between two members and is dropped; what is left chains
    into rings end to start. Because every member is wound the same way (``orient``), the
    outer boundary comes out clockwise and every hole counter-clockwise, so the sign of a
    ring's area says which it is; each hole goes to the smallest exterior around it.
    """
    walked = [ref for polygon in polygons for ring in polygon for ref in ring]
    present = set(walked)
    boundary = [ref for ref in walked if ~ref not in present]

    def start(ref: int) -> Point:
        return arcs[ref][0] if ref >= 0 else arcs[~ref][-1]

    def end(ref: int) -> Point:
        return arcs[ref][-1] if ref >= 0 else arcs[~ref][0]

    by_start: dict[Point, list[int]] = defaultdict(list)
    for ref in boundary:
        by_start[start(ref)].append(ref)
    used: set[int] = set()
    rings: list[Ring] = []
    for first in boundary:
        if first in used:
            continue
        ring = [first]
        used.add(first)
        while end(ring[-1]) != start(first):
            following = [ref for ref in by_start[end(ring[-1])] if ref not in used]
            if not following:
                raise ValueError(f"dissolve: ring from arc {first} does not close")
            ring.append(following[0])
            used.add(following[0])
        rings.append(ring)
    exteriors: list[tuple[float, Ring, list[Point]]] = []
    holes: list[tuple[float, Ring, list[Point]]] = []
    for ring in rings:
        points = ring_points(ring, arcs)
        area = signed_area(points)
        if area != 0:  # a sliver between members that quantizing closed: no hole at all
            (exteriors if area < 0 else holes).append((abs(area), ring, points))
    exteriors.sort(key=lambda item: item[0])
    result: dict[int, Polygon] = {id(ring): [ring] for _, ring, _ in exteriors}
    for _, hole, points in holes:
        x, y = points[0]
        # A hole's first vertex may sit on its exterior (a pinch): test a point just inside it.
        x2, y2 = points[1]
        probe_x, probe_y = (x + x2) / 2, (y + y2) / 2
        owner = next((ring for _, ring, outer in exteriors if _contains(outer, probe_x, probe_y)), None)
        if owner is None:
            raise ValueError("dissolve: a hole lies in no exterior")
        result[id(owner)].append(hole)
    return [result[id(ring)] for _, ring, _ in reversed(exteriors)]
