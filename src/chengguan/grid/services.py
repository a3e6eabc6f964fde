"""Everything that writes boundaries and unit grids: import, generation, responsibilities."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry import shape

from chengguan.core import audit, geo
from chengguan.org.choices import REGION_CODE_LENGTH, REGION_PARENT_LEVEL, RegionKind, RegionLevel
from chengguan.org.models import Region

from .geometry import GeometryError, read_polygon, to_geojson
from .models import GridLattice, UnitGrid

DEFAULT_KIND = {
    RegionLevel.DISTRICT: RegionKind.DISTRICT,
    RegionLevel.STREET: RegionKind.STREET,
    RegionLevel.COMMUNITY: RegionKind.COMMUNITY,
}


class GridError(Exception):
    """Bad input for a grid operation; `messages` names every feature, row or field at fault."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


@dataclass
class ImportReport:
    level: str
    created: int = 0
    updated: int = 0
    repaired: list[str] = field(default_factory=list)
    overlaps: list[tuple[str, str, float]] = field(default_factory=list)
    gaps: list[tuple[str, float]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            _("导入%(level)s：新增 %(c)d，更新 %(u)d")
            % {"level": self.level, "c": self.created, "u": self.updated}
        ]
        out += [_("修复：%s") % r for r in self.repaired]
        out += [
            _("重叠：%(a)s 与 %(b)s 重叠 %(m).1f m²") % {"a": a, "b": b, "m": m} for a, b, m in self.overlaps
        ]
        out += [_("空隙：%(p)s 内未被覆盖 %(m).1f m²") % {"p": p, "m": m} for p, m in self.gaps]
        return out


def _load_features(source) -> list[dict]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise GridError(_("文件不存在：%s") % path)
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            raise GridError(_("文件不是 UTF-8 编码的 GeoJSON：%s") % path) from None
        except json.JSONDecodeError as exc:
            raise GridError(
                _("GeoJSON 格式错误（第 %(l)d 行第 %(c)d 列）：%(m)s")
                % {"l": exc.lineno, "c": exc.colno, "m": exc.msg}
            ) from None
    else:
        data = source
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise GridError(_("应为 GeoJSON FeatureCollection"))
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise GridError(_("FeatureCollection 中没有要素"))
    return features


def region_import(
    source, level: str, *, code_field: str = "code", name_field: str = "name", kind: str | None = None
) -> ImportReport:
    """Import district, street or community boundaries from a GeoJSON FeatureCollection.

    All features are checked first and every problem is reported; then everything is written in
    one transaction, or nothing. Existing regions with the same code are updated.
    """
    if level not in RegionLevel.values:
        raise GridError(_("未知层级 %(l)s：可选 %(c)s") % {"l": level, "c": ", ".join(RegionLevel.values)})
    features = _load_features(source)
    expected_len = REGION_CODE_LENGTH[level]
    report = ImportReport(level=str(RegionLevel(level).label))
    errors: list[str] = []
    rows: list[tuple[str, str, object]] = []
    seen: set[str] = set()
    for n, feature in enumerate(features, start=1):
        props = (feature or {}).get("properties") or {}
        label = f"#{n}"
        code = str(props.get(code_field, "")).strip()
        name = str(props.get(name_field, "")).strip()
        if code:
            label = f"#{n} {code}"
        if not code:
            errors.append(_("要素 %(f)s：缺少编码字段 “%(k)s”") % {"f": label, "k": code_field})
            continue
        if not code.isdigit() or len(code) != expected_len:
            errors.append(_("要素 %(f)s：编码应为 %(n)d 位数字") % {"f": label, "n": expected_len})
            continue
        if code in seen:
            errors.append(_("要素 %(f)s：编码重复") % {"f": label})
            continue
        seen.add(code)
        if not name:
            errors.append(_("要素 %(f)s：缺少名称字段 “%(k)s”") % {"f": label, "k": name_field})
            continue
        try:
            geom, note = read_polygon((feature or {}).get("geometry"))
        except GeometryError as exc:
            errors.append(_("要素 %(f)s：%(e)s") % {"f": label, "e": exc})
            continue
        if note:
            report.repaired.append(f"{label} {note}")
        rows.append((code, name, geom))
    if errors:
        raise GridError(errors)

    parents: dict[str, Region] = {}
    if level != RegionLevel.DISTRICT:
        parent_level = REGION_PARENT_LEVEL[level]
        candidates = list(Region.objects.filter(level=parent_level).exclude(geometry=None))
        by_code = {p.code: p for p in candidates}
        parent_geoms = [shape(p.geometry) for p in candidates]
        tree = shapely.STRtree(parent_geoms) if parent_geoms else None
        prefix_len = REGION_CODE_LENGTH[parent_level]
        for code, _name, geom in rows:
            prefixed = by_code.get(code[:prefix_len])
            share, spatial = 0.0, None
            if tree is not None:
                for i in tree.query(geom, predicate="intersects"):
                    s = shapely.intersection(geom, parent_geoms[i]).area / geom.area
                    if s > share:
                        share, spatial = s, candidates[i]
            if prefixed is not None:
                inside = (
                    shapely.intersection(geom, shape(prefixed.geometry)).area / geom.area
                    if prefixed.geometry
                    else 1.0
                )
                if inside < 0.5:
                    errors.append(
                        _("要素 %(c)s：编码属于 %(p)s，但边界大部分在其范围之外") % {"c": code, "p": prefixed}
                    )
                    continue
                parents[code] = prefixed
            elif spatial is not None and share >= 0.5:
                parents[code] = spatial
            else:
                errors.append(
                    _("要素 %(c)s：找不到上级区域（编码前缀不匹配，空间上也不在任何上级区域内）")
                    % {"c": code}
                )
        if errors:
            raise GridError(errors)

    centre = _centre_of([g for _c, _n, g in rows])
    with transaction.atomic():
        for code, name, geom in rows:
            area = float(geo.area_m2(geom, centre))
            defaults = {
                "name": name,
                "level": level,
                "geometry": to_geojson(geom),
                "area_m2": area,
                "parent": parents.get(code),
            }
            region = Region.objects.filter(code=code).first()
            if region is None:
                Region.objects.create(code=code, kind=kind or DEFAULT_KIND[level], **defaults)
                report.created += 1
            else:
                if region.level != level:
                    raise GridError(
                        _("编码 %(c)s 已被%(l)s使用") % {"c": code, "l": region.get_level_display()}
                    )
                for k, v in defaults.items():
                    setattr(region, k, v)
                if kind:
                    region.kind = kind
                region.save()
                report.updated += 1
    report.overlaps, report.gaps = topology_report(level)
    return report


def _centre_of(geoms) -> tuple[float, float]:
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    return round((minx + maxx) / 2, 1), round((miny + maxy) / 2, 1)


def topology_report(level: str, tolerance_m2: float | None = None):
    """Overlaps between sibling regions and gaps inside their parent, above a tolerance (m²)."""
    tol = settings.GRID_TOPOLOGY_TOLERANCE_M2 if tolerance_m2 is None else tolerance_m2
    regions = list(Region.objects.filter(level=level).exclude(geometry=None).select_related("parent"))
    if not regions:
        return [], []
    geoms = np.array([shape(r.geometry) for r in regions], dtype=object)
    centre = _centre_of(geoms)
    tree = shapely.STRtree(geoms)
    overlaps = []
    a_idx, b_idx = tree.query(geoms, predicate="intersects")
    for a, b in zip(a_idx, b_idx, strict=True):
        if a < b and regions[a].parent_id == regions[b].parent_id:
            inter = shapely.intersection(geoms[a], geoms[b])
            if not inter.is_empty:
                m2 = float(geo.area_m2(inter, centre))
                if m2 > tol:
                    overlaps.append((regions[a].code, regions[b].code, m2))
    gaps = []
    by_parent: dict[int | None, list[int]] = {}
    for i, r in enumerate(regions):
        by_parent.setdefault(r.parent_id, []).append(i)
    for parent_id, members in by_parent.items():
        union = shapely.union_all(geoms[members])
        if parent_id is None:
            # Districts: holes inside their union are gaps.
            holes = [shapely.Polygon(ring) for poly in shapely.get_parts(union) for ring in poly.interiors]
            missing = shapely.union_all(holes) if holes else shapely.Polygon()
            label = _("全市")
        else:
            parent = regions[members[0]].parent
            if not parent.geometry:
                continue
            missing = shapely.difference(shape(parent.geometry), union)
            label = str(parent)
        if not missing.is_empty:
            m2 = float(geo.area_m2(missing, centre))
            if m2 > tol:
                gaps.append((label, m2))
    return overlaps, gaps


# --- generation ---------------------------------------------------------------------------------


@dataclass
class GenerateReport:
    communities: int = 0
    grids: int = 0
    merged_slivers: int = 0
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            _("生成单元网格：%(c)d 个社区，%(g)d 个网格，合并碎片 %(s)d 个")
            % {"c": self.communities, "g": self.grids, "s": self.merged_slivers}
        ]
        return out + self.skipped


def lattice_for(cell_m: float, geoms) -> GridLattice:
    """The lattice for this cell size near these boundaries: an existing one whose reference
    latitude is within half a degree (its cells are then `cell_m` wide to within ~1%), or a new
    one with its origin at the south-west corner of the boundaries."""
    minx, miny, _maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    lat = (miny + maxy) / 2
    for lattice in GridLattice.objects.filter(cell_m=cell_m).order_by("-id"):
        if abs(lattice.y0 - lat) < 0.5:
            return lattice
    dx, dy = geo.metres_to_degrees(cell_m, lat)
    # The origin sits a whole number of cells from (0, 0) so that lattices are reproducible.
    x0 = float(np.floor(minx / dx) * dx)
    y0 = float(np.floor(miny / dy) * dy)
    return GridLattice.objects.create(cell_m=cell_m, x0=x0, y0=y0, dx=dx, dy=dy)


def _pieces(community_geom, lattice: GridLattice):
    """Lattice cells clipped to the community: (polygon, col, row) for each non-empty piece."""
    minx, miny, maxx, maxy = community_geom.bounds
    i0 = int(np.floor((minx - lattice.x0) / lattice.dx))
    i1 = int(np.floor((maxx - lattice.x0) / lattice.dx))
    j0 = int(np.floor((miny - lattice.y0) / lattice.dy))
    j1 = int(np.floor((maxy - lattice.y0) / lattice.dy))
    jj, ii = np.meshgrid(np.arange(j0, j1 + 1), np.arange(i0, i1 + 1), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    boxes = shapely.box(*lattice.cell_box(ii, jj))
    shapely.prepare(community_geom)
    inside = shapely.contains_properly(community_geom, boxes)
    touching = shapely.intersects(community_geom, boxes)
    out = [(boxes[k], int(ii[k]), int(jj[k])) for k in np.flatnonzero(inside)]
    partial = np.flatnonzero(touching & ~inside)
    clipped = shapely.intersection(boxes[partial], community_geom)
    for k, geom in zip(partial, clipped, strict=True):
        for part in shapely.get_parts(geom):
            if part.geom_type == "Polygon" and part.area > 0:
                out.append((part, int(ii[k]), int(jj[k])))
    return out


def _merge_slivers(pieces, areas, sliver_m2: float):
    """Merge pieces smaller than sliver_m2 into the neighbour sharing the longest edge."""
    geoms = [p[0] for p in pieces]
    alive = [True] * len(pieces)
    areas = list(areas)
    merged = 0
    for k in sorted(range(len(pieces)), key=lambda i: areas[i]):
        if not alive[k] or areas[k] >= sliver_m2:
            continue
        best, best_len = None, 0.0
        tree = shapely.STRtree(geoms)
        for n in tree.query(geoms[k], predicate="intersects"):
            if n == k or not alive[n]:
                continue
            shared = shapely.intersection(geoms[k].boundary, geoms[n].boundary).length
            if shared > best_len:
                best, best_len = n, shared
        if best is None:
            continue  # an island piece: kept as a grid of its own
        union = shapely.union(geoms[best], geoms[k])
        if union.geom_type != "Polygon":
            union = shapely.make_valid(union)
        geoms[best] = union
        areas[best] += areas[k]
        alive[k] = False
        merged += 1
    kept = [(geoms[i], pieces[i][1], pieces[i][2], areas[i]) for i in range(len(pieces)) if alive[i]]
    return kept, merged


def grids_generate(
    *,
    cell_m: float | None = None,
    community_code: str | None = None,
    sliver_m2: float | None = None,
    replace: bool = False,
) -> GenerateReport:
    """Cut unit grids (万米单元网格) over communities, clipped to each boundary.

    Codes are community code + sequence, numbered west → east within rows taken north → south.
    A community that already has grids is left alone unless `replace` is set.
    """
    cell_m = float(cell_m or settings.GRID_CELL_METRES)
    sliver_m2 = float(settings.GRID_SLIVER_M2 if sliver_m2 is None else sliver_m2)
    if not 10 <= cell_m <= 2000:
        raise GridError(_("网格边长应在 10–2000 米之间"))
    code_len = settings.GRID_CODE_LENGTH
    if code_len not in (14, 15):
        raise GridError(_("GRID_CODE_LENGTH 只能是 14 或 15"))
    seq_digits = code_len - 12
    communities = (
        Region.objects.filter(level=RegionLevel.COMMUNITY).exclude(geometry=None).select_related("parent")
    )
    if community_code:
        communities = communities.filter(code=community_code)
        if not communities.exists():
            raise GridError(_("社区 %s 不存在或没有边界") % community_code)
    communities = list(communities.order_by("code"))
    if not communities:
        raise GridError(_("没有带边界的社区：请先导入社区边界"))
    report = GenerateReport()
    with transaction.atomic():
        for community in communities:
            existing = UnitGrid.objects.filter(community=community)
            if existing.exists():
                if not replace:
                    report.skipped.append(_("社区 %s 已有网格，跳过（使用 --replace 重新生成）") % community)
                    continue
                existing.delete()
            boundary = shape(community.geometry)
            lattice = lattice_for(cell_m, [boundary])
            centre = (round(lattice.x0, 1), round(lattice.y0, 1))
            pieces = _pieces(boundary, lattice)
            areas = geo.area_m2(np.array([p[0] for p in pieces], dtype=object), centre)
            kept, merged = _merge_slivers(pieces, areas, sliver_m2)
            # North → south rows, west → east within a row.
            kept.sort(key=lambda p: (-p[2], p[1], p[0].representative_point().x))
            if len(kept) >= 10**seq_digits:
                raise GridError(
                    _("社区 %(c)s 需要 %(n)d 个网格，超过 %(d)d 位序号的容量：请加大网格边长或使用 15 位编码")
                    % {"c": community, "n": len(kept), "d": seq_digits}
                )
            street = community.parent
            grids = [
                UnitGrid(
                    code=f"{community.code}{seq:0{seq_digits}d}",
                    community=community,
                    street_id=street.pk,
                    district_id=street.parent_id,
                    geometry=to_geojson(geom),
                    area_m2=float(area),
                    generated=True,
                )
                for seq, (geom, _i, _j, area) in enumerate(kept, start=1)
            ]
            UnitGrid.objects.bulk_create(grids, batch_size=500)
            report.communities += 1
            report.grids += len(grids)
            report.merged_slivers += merged
        audit.record_bulk(
            UnitGrid,
            f"generate {report.grids} grids in {report.communities} communities",
            {"cell_m": cell_m, "community": community_code, "replace": replace, "grids": report.grids},
        )
    from . import index

    index.invalidate()
    return report


def grids_export(level: str) -> dict:
    """A FeatureCollection of grids or regions of one level (code, name, parent codes, area)."""
    if level == "grid":
        rows = UnitGrid.objects.select_related("community", "street", "district").order_by("code")
        features = [
            {
                "type": "Feature",
                "geometry": g.geometry,
                "properties": {
                    "code": g.code,
                    "community": g.community.code,
                    "street": g.street.code,
                    "district": g.district.code,
                    "area_m2": round(g.area_m2, 2),
                },
            }
            for g in rows
        ]
    elif level in RegionLevel.values:
        rows = (
            Region.objects.filter(level=level)
            .exclude(geometry=None)
            .select_related("parent")
            .order_by("code")
        )
        features = [
            {
                "type": "Feature",
                "geometry": r.geometry,
                "properties": {
                    "code": r.code,
                    "name": r.name,
                    "kind": r.kind,
                    "parent": r.parent.code if r.parent_id else None,
                    "area_m2": round(r.area_m2 or 0, 2),
                },
            }
            for r in rows
        ]
    else:
        raise GridError(_("未知层级 %s：可选 grid、community、street、district") % level)
    return {"type": "FeatureCollection", "features": features}
