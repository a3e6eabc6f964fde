"""Synthetic, real-world-like administrative boundaries.

A district with a wavy outline is cut into a fine Voronoi tessellation; streets and communities
are unions of its cells, so neighbours share their edges exactly (no gaps, no overlaps) and the
outlines are irregular, non-convex polylines like real boundaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from chengguan.core import geo


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    geometry: shapely.Geometry
    parent_code: str | None = None


def _feature_collection(areas: list[Area]) -> dict:
    from chengguan.grid.geometry import to_geojson

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": a.code, "name": a.name},
                "geometry": to_geojson(a.geometry),
            }
            for a in areas
        ],
    }


@dataclass(frozen=True)
class SyntheticCity:
    district: Area
    streets: list[Area]
    communities: list[Area]

    def geojson(self, level: str) -> dict:
        return _feature_collection(
            {"district": [self.district], "street": self.streets, "community": self.communities}[level]
        )


def synthesize(
    *,
    seed: int = 7,
    centre: tuple[float, float] = (112.985, 28.195),
    radius_m: float = 3000.0,
    district_code: str = "430199",
    district_name: str = "清源区",
    street_names: list[str] | None = None,
    communities_per_street: int = 5,
    fine_cells: int = 700,
) -> SyntheticCity:
    rng = np.random.default_rng(seed)
    street_names = street_names or ["东风街道", "人民路街道", "新华街道", "解放街道", "城南街道", "高新园区"]
    lon0, lat0 = centre
    dx, dy = geo.metres_to_degrees(1.0, lat0)  # degrees per metre

    # A wavy outline: radius modulated by a few random harmonics.
    theta = np.linspace(0, 2 * math.pi, 240, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 7):
        r += rng.uniform(0.02, 0.09) * np.sin(k * theta + rng.uniform(0, 2 * math.pi))
    r *= radius_m
    outline = shapely.Polygon(np.column_stack((lon0 + r * np.cos(theta) * dx, lat0 + r * np.sin(theta) * dy)))
    outline = shapely.make_valid(outline)

    # Fine Voronoi tessellation clipped to the outline.
    minx, miny, maxx, maxy = outline.bounds
    pts = np.column_stack((rng.uniform(minx, maxx, fine_cells * 2), rng.uniform(miny, maxy, fine_cells * 2)))
    pts = pts[shapely.contains_xy(outline, pts[:, 0], pts[:, 1])][:fine_cells]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline.envelope))
    cells = [c for c in shapely.intersection(cells, outline) if not c.is_empty and c.area > 0]
    centroids = np.array([[c.centroid.x, c.centroid.y] for c in cells])

    def assign(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        # Anisotropy-corrected nearest seed (degrees of longitude are shorter than of latitude).
        d = ((points[:, None, 0] - seeds[None, :, 0]) / dx) ** 2 + (
            (points[:, None, 1] - seeds[None, :, 1]) / dy
        ) ** 2
        return np.argmin(d, axis=1)

    def spread_seeds(points: np.ndarray, k: int) -> np.ndarray:
        # Farthest-point sampling, then a few Lloyd steps: well spread, still irregular.
        chosen = [points[rng.integers(len(points))]]
        for _ in range(k - 1):
            d = np.min(
                [((points[:, 0] - c[0]) / dx) ** 2 + ((points[:, 1] - c[1]) / dy) ** 2 for c in chosen],
                axis=0,
            )
            chosen.append(points[int(np.argmax(d))])
        seeds = np.array(chosen)
        for _ in range(4):
            lab = assign(points, seeds)
            seeds = np.array(
                [points[lab == i].mean(axis=0) if np.any(lab == i) else seeds[i] for i in range(k)]
            )
        return seeds

    street_of = assign(centroids, spread_seeds(centroids, len(street_names)))
    district = Area(district_code, district_name, outline)
    streets, communities = [], []
    community_names = iter(_COMMUNITY_NAMES)
    for s, sname in enumerate(street_names):
        members = np.flatnonzero(street_of == s)
        scode = f"{district_code}{s + 1:03d}"
        streets.append(Area(scode, sname, _union([cells[i] for i in members]), district_code))
        sub = centroids[members]
        lab = assign(sub, spread_seeds(sub, communities_per_street))
        for c in range(communities_per_street):
            geom = _union([cells[members[i]] for i in np.flatnonzero(lab == c)])
            communities.append(Area(f"{scode}{c + 1:03d}", next(community_names), geom, scode))
    return SyntheticCity(district, streets, communities)


def _union(polys) -> shapely.Geometry:
    geom = shapely.union_all(polys)
    return geom if geom.is_valid else shapely.make_valid(geom)


_COMMUNITY_NAMES = [
    f"{a}{b}社区"
    for a in [
        "东湖",
        "西园",
        "南苑",
        "北辰",
        "春晖",
        "秋实",
        "翠竹",
        "枫林",
        "桂花",
        "荷塘",
        "锦绣",
        "龙泉",
        "明德",
        "清水",
        "瑞丰",
        "书香",
        "松柏",
        "桃源",
        "文昌",
        "仙峰",
        "新河",
        "杏林",
        "阳光",
        "怡园",
        "云栖",
        "长岭",
        "紫荆",
        "芙蓉",
        "金盆",
        "银杏",
        "丽江",
        "梅溪",
        "望月",
        "湘雅",
        "德政",
        "和平",
    ]
    for b in [""]
]
