"""The locate index against brute-force shapely containment, on generated grids over an
irregular, real-world-like boundary set."""

import itertools

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from chengguan.core import geo
from chengguan.demo.city import synthesize
from chengguan.grid import index, selectors, services
from chengguan.grid.models import UnitGrid
from chengguan.grid.spatial import OUTSIDE, PolygonIndex, brute_force
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported_city(settings):
    settings.GRID_CODE_LENGTH = 15
    city = synthesize(
        seed=23,
        centre=(116.40, 39.91),
        radius_m=1800,
        district_code="110199",
        street_names=["东街道", "西街道", "南街道"],
        communities_per_street=3,
        fine_cells=260,
    )
    for level in (RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY):
        services.region_import(city.geojson(level), level)
    report = services.grids_generate()
    assert report.grids > 500
    return city


def test_locate_matches_brute_force_for_100k_points(imported_city):
    district = Region.objects.get(code="110199")
    grids = list(UnitGrid.objects.filter(district=district).order_by("code"))
    polygons = np.array([shape(g.geometry) for g in grids], dtype=object)
    minx, miny, maxx, maxy = shape(district.geometry).bounds
    rng = np.random.default_rng(2026)
    # Points over the district's box and a margin around it (some land outside the city).
    pad_x, pad_y = (maxx - minx) * 0.05, (maxy - miny) * 0.05
    x = rng.uniform(minx - pad_x, maxx + pad_x, 100_000)
    y = rng.uniform(miny - pad_y, maxy + pad_y, 100_000)

    expected = brute_force(polygons, x, y)
    expected_codes = np.array([grids[i].code if i != OUTSIDE else "" for i in expected])

    located = selectors.locate_many(x, y)
    assert np.count_nonzero(expected == OUTSIDE) > 1000, "the sample must include points outside"
    assert np.count_nonzero(expected != OUTSIDE) > 50_000
    assert list(expected_codes) == located["grid"]
    # Community, street and district follow from the grid (and are empty outside).
    inside = expected != OUTSIDE
    community_of = {g.code: g.community.code for g in grids}
    assert [community_of[c] for c in expected_codes[inside]] == list(np.array(located["community"])[inside])
    assert all(c == "" for c in np.array(located["district"])[~inside])
    assert all(c == "110199" for c in np.array(located["district"])[inside])


def test_index_is_aligned_to_the_lattice_and_answers_most_points_by_lookup(imported_city):
    stats = index.get_locator().grids.stats
    # Interior grids cover their raster cell exactly: only boundary cells need a second level.
    assert stats["mixed_cells"] < 0.45 * stats["cells"]
    assert stats["mixed_subcells"] < 0.25 * stats["subcells"]


def test_grid_areas_sum_to_community_area_and_codes_are_well_formed(imported_city):
    communities = Region.objects.filter(level=RegionLevel.COMMUNITY, code__startswith="110199")
    assert communities.count() == 9
    codes = list(UnitGrid.objects.filter(district__code="110199").values_list("code", flat=True))
    assert len(codes) == len(set(codes))
    for community in communities:
        grids = list(UnitGrid.objects.filter(community=community).order_by("code"))
        assert grids, community
        total = sum(g.area_m2 for g in grids)
        assert total == pytest.approx(community.area_m2, rel=1e-3)
        # The union of the grids is the community, with no overlap between grids.
        union = shapely.union_all([shape(g.geometry) for g in grids])
        assert shapely.symmetric_difference(union, shape(community.geometry)).area < 1e-9 * union.area + 1e-12
        for seq, g in enumerate(grids, start=1):
            assert len(g.code) == 15 and g.code.isdigit()
            assert g.code.startswith(community.code)
            assert int(g.code[12:]) == seq
            assert g.street_id == community.parent_id and g.district_id == community.parent.parent_id


def test_grid_sizes_and_slivers(imported_city, settings):
    areas = np.array(UnitGrid.objects.filter(district__code="110199").values_list("area_m2", flat=True))
    # Most grids are whole 100 m cells; no piece under the sliver threshold survives unless isolated.
    assert np.median(areas) == pytest.approx(10_000, rel=0.01)
    assert np.count_nonzero(areas < settings.GRID_SLIVER_M2) <= 0.01 * len(areas)


def test_numbering_runs_west_to_east_then_north_to_south(imported_city):
    community = Region.objects.filter(level=RegionLevel.COMMUNITY, code__startswith="110199").first()
    whole = [
        g
        for g in UnitGrid.objects.filter(community=community).order_by("code")
        if g.area_m2 == pytest.approx(10_000, rel=0.02)
    ]
    cells = [shape(g.geometry).bounds for g in whole]
    for a, b in itertools.pairwise(cells):
        same_row = abs(a[1] - b[1]) < 1e-9
        assert (same_row and b[0] > a[0]) or (not same_row and b[1] < a[1])


def test_locate_one_point_in_each_crs(imported_city):
    grid = UnitGrid.objects.filter(district__code="110199", area_m2__gt=9900).first()
    p = shape(grid.geometry).centroid
    assert selectors.locate(p.x, p.y).grid["code"] == grid.code
    gx, gy = geo.wgs84_to_gcj02(p.x, p.y)
    assert selectors.locate(float(gx), float(gy), "gcj02").grid["code"] == grid.code
    bx, by = geo.wgs84_to_bd09(p.x, p.y)
    loc = selectors.locate(float(bx), float(by), "bd09")
    assert loc.grid["code"] == grid.code
    assert loc.community["code"] == grid.community.code
    assert loc.street["code"] == grid.street.code and loc.district["name"] == grid.district.name
    outside = selectors.locate(0.5, 0.5)
    assert not outside.inside and outside.grid is None and outside.district is None


def test_index_rebuilds_when_grids_change(imported_city):
    grid = UnitGrid.objects.filter(district__code="110199", area_m2__gt=9900).first()
    p = shape(grid.geometry).centroid
    assert selectors.locate(p.x, p.y).grid["code"] == grid.code
    grid.delete()
    loc = selectors.locate(p.x, p.y)
    assert loc.grid is None
    # Still inside its community (which has no grid there now): the region index answers.
    assert loc.community["code"] == grid.community.code


def test_region_fallback_when_community_has_no_grids(imported_city):
    community = Region.objects.filter(level=RegionLevel.COMMUNITY, code__startswith="110199").first()
    UnitGrid.objects.filter(community=community).delete()
    p = shape(community.geometry).representative_point()
    loc = selectors.locate(p.x, p.y)
    assert loc.grid is None and loc.community["code"] == community.code and loc.district["code"] == "110199"


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_polygon_index_with_overlaps_holes_and_multipolygons_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    polys = [
        shapely.Point(rng.uniform(0, 1), rng.uniform(0, 1)).buffer(rng.uniform(0.02, 0.15))
        for _ in range(150)
    ]
    polys.append(shapely.box(0.2, 0.2, 0.8, 0.8).difference(shapely.box(0.4, 0.4, 0.6, 0.6)))
    polys.insert(
        0, shapely.MultiPolygon([shapely.box(0.05, 0.05, 0.3, 0.1), shapely.box(0.6, 0.9, 0.95, 0.97)])
    )
    idx = PolygonIndex(polys)
    x, y = rng.uniform(-0.1, 1.1, 50_000), rng.uniform(-0.1, 1.1, 50_000)
    assert np.array_equal(idx.locate(x, y), brute_force(polys, x, y))


def test_polygon_index_on_an_aligned_lattice_answers_interior_cells_by_lookup():
    from chengguan.grid.spatial import Raster

    step = 0.001
    cells = [
        shapely.box(i * step, j * step, (i + 1) * step, (j + 1) * step) for j in range(40) for i in range(50)
    ]
    idx = PolygonIndex(cells, raster=Raster(0.0, 0.0, step, step, 50, 40))
    assert idx.stats["mixed_cells"] == 0  # every edge lies on a raster line
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-0.005, 0.055, 20_000), rng.uniform(-0.005, 0.045, 20_000)
    assert np.array_equal(idx.locate(x, y), brute_force(cells, x, y))


def test_empty_index_says_outside():
    idx = PolygonIndex([])
    assert list(idx.locate([1.0], [2.0])) == [OUTSIDE]
