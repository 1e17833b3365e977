"""scripts/geo_topology.py, on shapes small enough to check by hand."""

from __future__ import annotations

from scripts import geo_topology as topo

# Two unit squares side by side, as arcs cut at the junctions (1,0) and (1,1) the way a
# topology builder cuts them: 0 = the shared edge x=1 going up, 1 = the left square's other
# three sides, 2 = the right square's other three sides.
SQUARES = [
    [(1, 0), (1, 1)],
    [(1, 1), (0, 1), (0, 0), (1, 0)],
    [(1, 0), (2, 0), (2, 1), (1, 1)],
]


def test_visvalingam_drops_what_is_below_the_threshold_and_keeps_the_ends() -> None:
    degree = 1 / topo.KM_PER_DEGREE_LAT  # one km north
    wiggle = [(0.0, 0.0), (0.0, degree), (0.00001, 2 * degree), (0.0, 3 * degree), (1.0, 3 * degree)]
    simplified = topo.visvalingam(wiggle, min_km2=0.01, keep_at_least=2)
    assert simplified[0] == wiggle[0] and simplified[-1] == wiggle[-1]
    assert (0.00001, 2 * degree) not in simplified  # a metre's wiggle over 2 km: gone
    assert (0.0, 3 * degree) in simplified  # the corner: kept
    floor = topo.visvalingam(wiggle, min_km2=1e9, keep_at_least=4)
    assert len(floor) == 4 and floor[0] == wiggle[0] and floor[-1] == wiggle[-1]


def test_orient_winds_exteriors_clockwise() -> None:
    left = [[1, 0]]  # three sides then the shared edge upward: counter-clockwise
    assert topo.signed_area(topo.ring_points(left[0], SQUARES)) > 0
    oriented = topo.orient(left, SQUARES)
    assert oriented == [[~0, ~1]]
    assert oriented is not None and topo.signed_area(topo.ring_points(oriented[0], SQUARES)) < 0


def test_dissolve_drops_the_shared_edge() -> None:
    left = topo.orient([[1, 0]], SQUARES)
    right = topo.orient([[2, ~0]], SQUARES)
    assert left is not None and right is not None
    (union,) = topo.dissolve([left, right], SQUARES)
    assert len(union) == 1 and 0 not in union[0] and ~0 not in union[0]
    assert topo.signed_area(topo.ring_points(union[0], SQUARES)) == -2


def test_dissolve_keeps_a_hole_in_its_exterior() -> None:
    arcs = [[(0, 0), (0, 4), (4, 4), (4, 0), (0, 0)], [(1, 1), (2, 1), (2, 2), (1, 2), (1, 1)]]
    outer = topo.orient([[0], [1]], arcs)
    assert outer is not None
    assert topo.dissolve([outer], arcs) == [outer]


def test_split_outside_rings_separates_a_second_part_from_a_hole() -> None:
    arcs = [
        [(0.0, 0.0), (0.0, 4.0), (4.0, 4.0), (4.0, 0.0), (0.0, 0.0)],
        [(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0), (1.0, 1.0)],
        [(9.0, 9.0), (9.0, 10.0), (10.0, 10.0), (9.0, 9.0)],
    ]
    assert topo.split_outside_rings([[0], [1], [2]], arcs) == [[[0], [1]], [[2]]]
