"""Coordinates: the reference systems reports arrive in, and metric measures.

Everything is stored in WGS-84 (CGCS2000 differs by centimetres and is treated as the same).
Points also arrive in GCJ-02 (the obfuscated system of Amap and Tencent maps) and BD-09
(Baidu), which are offsets of WGS-84 defined by published formulas; the inverse has no closed
form and is found by fixed-point iteration to well under a centimetre. Areas and distances are
computed in a local metric projection (pyproj) centred on the geometry.

All functions accept scalars or numpy arrays.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"
CGCS2000 = "cgcs2000"
CRS_NAMES = (WGS84, GCJ02, BD09, CGCS2000)

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


class CRSError(ValueError):
    """An unknown coordinate reference system or coordinates outside the valid range."""


def normalise_crs(name: str | None) -> str:
    crs = (name or WGS84).strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "wgs84": WGS84,
        "epsg4326": WGS84,
        "gps": WGS84,
        "cgcs2000": WGS84,
        "epsg4490": WGS84,
        "gcj02": GCJ02,
        "amap": GCJ02,
        "gaode": GCJ02,
        "tencent": GCJ02,
        "qq": GCJ02,
        "bd09": BD09,
        "bd09ll": BD09,
        "baidu": BD09,
    }
    if crs not in aliases:
        raise CRSError(f"未知坐标系 '{name}'：可选 wgs84、cgcs2000、gcj02、bd09 · unknown CRS '{name}'")
    return aliases[crs]


def check_lonlat(lon, lat) -> None:
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if not (np.all(np.isfinite(lon_a)) and np.all(np.isfinite(lat_a))):
        raise CRSError("坐标必须是有限数值 · coordinates must be finite numbers")
    if np.any(np.abs(lon_a) > 180) or np.any(np.abs(lat_a) > 90):
        raise CRSError("经度应在 -180~180、纬度应在 -90~90 之间 · longitude/latitude out of range")


def in_china(lon, lat):
    """The rough box inside which GCJ-02 applies its offset (outside it, GCJ-02 == WGS-84)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _transform_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon, lat):
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_bd09(lon, lat):
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(forward, lon, lat, iterations: int = 12):
    """Solve forward(x) = target by fixed-point iteration: the offsets vary slowly, so each step
    shrinks the error by orders of magnitude; 12 steps reach far below a millimetre."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = lon.copy(), lat.copy()
    for _ in range(iterations):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        x, y = x - dx, y - dy
        if np.all(np.abs(dx) < 1e-10) and np.all(np.abs(dy) < 1e-10):
            break
    return x, y


def gcj02_to_wgs84(lon, lat):
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon, lat):
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(lon, lat):
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon, lat):
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def to_wgs84(lon, lat, crs: str | None = WGS84):
    """Convert coordinates in `crs` to WGS-84 (validating range first). Scalars give floats."""
    crs = normalise_crs(crs)
    check_lonlat(lon, lat)
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    if crs == WGS84:
        x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    elif crs == GCJ02:
        x, y = gcj02_to_wgs84(lon, lat)
    else:
        x, y = bd09_to_wgs84(lon, lat)
    return (float(x), float(y)) if scalar else (x, y)


def from_wgs84(lon, lat, crs: str | None = WGS84):
    crs = normalise_crs(crs)
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    if crs == WGS84:
        x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    elif crs == GCJ02:
        x, y = wgs84_to_gcj02(lon, lat)
    else:
        x, y = wgs84_to_bd09(lon, lat)
    return (float(x), float(y)) if scalar else (x, y)


# --- metric measures ----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _equal_area(lon0: float, lat0: float) -> pyproj.Transformer:
    crs = pyproj.CRS.from_proj4(f"+proj=laea +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m +no_defs")
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)


@lru_cache(maxsize=64)
def _equidistant(lon0: float, lat0: float) -> pyproj.Transformer:
    crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m +no_defs")
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _centre(geom: BaseGeometry) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    # Rounded so that nearby geometries share one cached projection.
    return round((minx + maxx) / 2, 1), round((miny + maxy) / 2, 1)


def to_equal_area(geom, centre: tuple[float, float] | None = None):
    """Project WGS-84 geometry (or an array of geometries) to a Lambert equal-area plane in metres."""
    if centre is None:
        first = geom if isinstance(geom, BaseGeometry) else shapely.union_all(np.asarray(geom)).envelope
        centre = _centre(first)
    tr = _equal_area(*centre)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def area_m2(geom, centre: tuple[float, float] | None = None):
    """Area in square metres of WGS-84 geometry (scalar) or an array of geometries (ndarray)."""
    return shapely.area(to_equal_area(geom, centre))


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance in metres between two WGS-84 points."""
    return float(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


_GEOD = pyproj.Geod(ellps="WGS84")


def metres_to_degrees(metres: float, lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude spanning `metres` at latitude `lat` (on the ellipsoid)."""
    lon_end = _GEOD.fwd(0.0, lat, 90.0, metres)[0]
    lat_end = _GEOD.fwd(0.0, lat, 0.0, metres)[1]
    return abs(lon_end), abs(lat_end - lat)
