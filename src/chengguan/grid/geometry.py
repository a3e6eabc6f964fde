"""Reading and checking boundary geometry (GeoJSON in WGS-84)."""

from __future__ import annotations

import json
import math

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry


class GeometryError(ValueError):
    pass


def _coords_ok(geom: BaseGeometry) -> bool:
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0:
        return False
    return bool(
        all(math.isfinite(v) for v in coords.ravel())
        and (abs(coords[:, 0]) <= 180).all()
        and (abs(coords[:, 1]) <= 90).all()
    )


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygon parts of a geometry (make_valid may add lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def read_polygon(data) -> tuple[BaseGeometry, str | None]:
    """GeoJSON geometry → a valid (Multi)Polygon, and a note when it had to be repaired.

    A repair is accepted only when it is unambiguous: make_valid and buffer(0), two standard
    repairs that disagree on a bow-tie or a folded ring, must give the same area (within 0.1%).
    """
    if not isinstance(data, dict) or "type" not in data:
        raise GeometryError("缺少几何图形 · missing geometry")
    if data["type"] not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            f"几何类型应为 Polygon 或 MultiPolygon，实际为 {data['type']} · geometry must be polygonal"
        )
    try:
        geom = shape(data)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise GeometryError(f"坐标格式错误 · malformed coordinates ({exc})") from None
    if geom.is_empty:
        raise GeometryError("几何图形为空 · empty geometry")
    if not _coords_ok(geom):
        raise GeometryError("坐标超出范围（经度 -180~180，纬度 -90~90）· coordinates out of range")
    if geom.is_valid:
        if geom.area <= 0:
            raise GeometryError("面积为零 · zero area")
        return geom, None
    reason = shapely.is_valid_reason(geom)
    repaired = polygonal(shapely.make_valid(geom))
    buffered = polygonal(geom.buffer(0))
    if repaired.is_empty or repaired.area <= 0:
        raise GeometryError(f"几何无效且无法修复（{reason}）· invalid geometry")
    if abs(repaired.area - buffered.area) > 1e-3 * repaired.area:
        raise GeometryError(
            f"几何自相交，自动修复结果不唯一，请修正后再导入（{reason}）· self-intersecting geometry, fix it at the source"
        )
    return repaired, f"已自动修复（{reason}）· repaired"


def to_geojson(geom: BaseGeometry) -> dict:
    return json.loads(json.dumps(mapping(geom)))
