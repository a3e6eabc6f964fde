"""Coordinate systems: GCJ-02 and BD-09 round trips within a metre inside China."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chengguan.core import geo


@settings(max_examples=300, deadline=None)
@given(lon=st.floats(73.7, 134.7), lat=st.floats(18.2, 53.5))
def test_round_trips_within_a_metre_inside_china(lon, lat):
    for forward, backward in (
        (geo.wgs84_to_gcj02, geo.gcj02_to_wgs84),
        (geo.wgs84_to_bd09, geo.bd09_to_wgs84),
    ):
        x, y = geo.from_wgs84(lon, lat, "wgs84")
        fx, fy = forward(x, y)
        bx, by = backward(fx, fy)
        assert geo.distance_m(lon, lat, float(bx), float(by)) < 0.01  # far below the 1 m requirement


def test_known_offsets():
    # GCJ-02 shifts by a few hundred metres in China; BD-09 adds Baidu's own offset on top.
    lon, lat = 116.397428, 39.90923  # Tian'anmen, WGS-84
    gx, gy = geo.wgs84_to_gcj02(lon, lat)
    assert 100 < geo.distance_m(lon, lat, float(gx), float(gy)) < 1000
    assert float(gx) == pytest.approx(116.40367, abs=2e-4) and float(gy) == pytest.approx(39.91063, abs=2e-4)
    bx, _by = geo.gcj02_to_bd09(gx, gy)
    assert float(bx) == pytest.approx(float(gx) + 0.0065, abs=1e-3)


def test_outside_china_gcj02_is_wgs84():
    assert geo.to_wgs84(2.35, 48.85, "gcj02") == pytest.approx((2.35, 48.85))


def test_vectorised_matches_scalar():
    lon = np.array([112.9, 113.0, 121.47])
    lat = np.array([28.2, 28.3, 31.23])
    vx, vy = geo.to_wgs84(lon, lat, "bd09")
    for i in range(3):
        assert (vx[i], vy[i]) == pytest.approx(geo.to_wgs84(float(lon[i]), float(lat[i]), "bd09"))


@pytest.mark.parametrize(
    "name,expected",
    [
        ("WGS-84", "wgs84"),
        ("CGCS2000", "wgs84"),
        ("gcj_02", "gcj02"),
        ("amap", "gcj02"),
        ("BD09", "bd09"),
        ("baidu", "bd09"),
    ],
)
def test_crs_aliases(name, expected):
    assert geo.normalise_crs(name) == expected


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(geo.CRSError, match="未知坐标系"):
        geo.to_wgs84(1, 1, "mars")
    with pytest.raises(geo.CRSError, match="out of range"):
        geo.to_wgs84(181, 1)
    with pytest.raises(geo.CRSError, match="有限"):
        geo.to_wgs84(float("nan"), 1)


def test_area_and_distance():
    import shapely

    # 0.01° × 0.01° at the equator ≈ 1113 m × 1106 m.
    assert geo.area_m2(shapely.box(0, 0, 0.01, 0.01)) == pytest.approx(1113.2 * 1105.7, rel=2e-3)
    dx, dy = geo.metres_to_degrees(100, 30.0)
    assert geo.distance_m(120, 30, 120 + dx, 30) == pytest.approx(100, abs=0.01)
    assert geo.distance_m(120, 30, 120, 30 + dy) == pytest.approx(100, abs=0.01)
