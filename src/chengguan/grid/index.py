"""The in-memory locate index: point → unit grid → community → street → district.

Built lazily on first use from the database, kept per process, and rebuilt when grids or
regions change: at once in the process that changed them (signals), and in other processes
when they notice a new version stamp (checked at most every `VERSION_CHECK_SECONDS`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely
from django.db.models import Count, Max
from shapely.geometry import shape

from chengguan.org.choices import RegionLevel

from .spatial import OUTSIDE, PolygonIndex, Raster

log = logging.getLogger("chengguan.grid")
VERSION_CHECK_SECONDS = 2.0
MAX_CELLS_PER_GRID = 16


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    id: int


class Locator:
    """Every unit grid and region in arrays, with one PolygonIndex per level."""

    def __init__(self, grids, regions, lattice=None):
        # grids: [(id, code, community_id, street_id, district_id, geometry)];
        # regions: [(id, level, code, name, parent_id, geometry)]
        self.region_ids = np.array([r[0] for r in regions], dtype=np.int64)
        self.regions = {r[0]: r for r in regions}
        self.grid_ids = np.array([g[0] for g in grids], dtype=np.int64)
        self.grid_codes = [g[1] for g in grids]
        self.grid_community = np.array([g[2] for g in grids], dtype=np.int64)
        self.grid_street = np.array([g[3] for g in grids], dtype=np.int64)
        self.grid_district = np.array([g[4] for g in grids], dtype=np.int64)
        grid_polys = [shape(g[5]) for g in grids]
        self.grids = PolygonIndex(grid_polys, raster=_aligned_raster(grid_polys, lattice))
        self.levels: dict[str, tuple[np.ndarray, PolygonIndex]] = {}
        for level in (RegionLevel.COMMUNITY, RegionLevel.STREET, RegionLevel.DISTRICT):
            rows = [r for r in regions if r[1] == level and r[5]]
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            self.levels[level] = (ids, PolygonIndex([shape(r[5]) for r in rows]))
        # Parent of each region as a sorted lookup table, for vectorised filling upward.
        order = np.argsort(self.region_ids)
        self._sorted_ids = self.region_ids[order]
        self._sorted_parent = np.array([regions[i][4] or 0 for i in order], dtype=np.int64)

    def locate_ids(self, lon, lat) -> dict[str, np.ndarray]:
        """Vectorised: ids of grid, community, street and district for each WGS-84 point (0 = none)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        n = lon.shape
        out = {k: np.zeros(n, dtype=np.int64) for k in ("grid", "community", "street", "district")}
        gi = self.grids.locate(lon, lat)
        hit = gi != OUTSIDE
        g = gi[hit]
        out["grid"][hit] = self.grid_ids[g]
        out["community"][hit] = self.grid_community[g]
        out["street"][hit] = self.grid_street[g]
        out["district"][hit] = self.grid_district[g]
        # Points outside every grid (a community without grids): ask the region indexes.
        miss = np.flatnonzero(~hit)
        for level in (RegionLevel.COMMUNITY, RegionLevel.STREET, RegionLevel.DISTRICT):
            if not len(miss):
                break
            ids, index = self.levels[level]
            ri = index.locate(lon[miss], lat[miss])
            found = ri != OUTSIDE
            out[level][miss[found]] = ids[ri[found]]
            miss = miss[~found]
        # Fill parents upward from the lowest level found.
        for child, parent in (("community", "street"), ("street", "district")):
            need = np.flatnonzero((out[child] != 0) & (out[parent] == 0))
            if len(need):
                pos = np.searchsorted(self._sorted_ids, out[child][need])
                out[parent][need] = self._sorted_parent[pos]
        return out

    def place(self, region_id: int) -> dict | None:
        row = self.regions.get(int(region_id))
        return None if row is None else {"id": row[0], "code": row[2], "name": row[3]}


def _aligned_raster(polys, lattice) -> Raster | None:
    """A raster whose cells are exactly the generator's lattice cells, covering all grids."""
    if lattice is None or not polys:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(polys, dtype=object))
    i0 = int(np.floor((minx - lattice.x0) / lattice.dx))
    j0 = int(np.floor((miny - lattice.y0) / lattice.dy))
    i1 = int(np.ceil((maxx - lattice.x0) / lattice.dx))
    j1 = int(np.ceil((maxy - lattice.y0) / lattice.dy))
    nx, ny = max(i1 - i0, 1), max(j1 - j0, 1)
    if nx * ny > MAX_CELLS_PER_GRID * len(polys):
        # Grids far apart (several cities, or grids cut from another lattice): the aligned raster
        # would be mostly empty; the default raster is still exact, only slower.
        return None
    return Raster(lattice.x0 + i0 * lattice.dx, lattice.y0 + j0 * lattice.dy, lattice.dx, lattice.dy, nx, ny)


# --- the process-wide instance ------------------------------------------------------------------

_lock = threading.Lock()
_state: dict = {"locator": None, "version": None, "checked": 0.0}


def _version():
    from chengguan.org.models import Region

    from .models import GridLattice, UnitGrid

    g = UnitGrid.objects.aggregate(n=Count("id"), t=Max("updated_at"))
    r = Region.objects.aggregate(n=Count("id"), t=Max("updated_at"))
    latt = GridLattice.objects.aggregate(n=Count("id"), t=Max("updated_at"))
    return (g["n"], g["t"], r["n"], r["t"], latt["n"], latt["t"])


def build() -> Locator:
    from chengguan.org.models import Region

    from .models import GridLattice, UnitGrid

    started = time.perf_counter()
    grids = list(
        UnitGrid.objects.order_by("code").values_list(
            "id", "code", "community_id", "street_id", "district_id", "geometry"
        )
    )
    regions = list(
        Region.objects.order_by("code").values_list("id", "level", "code", "name", "parent_id", "geometry")
    )
    lattice = GridLattice.objects.order_by("-id").first()
    locator = Locator(grids, regions, lattice)
    log.info(
        "grid index built: %d grids, %d regions in %.2f s",
        len(grids),
        len(regions),
        time.perf_counter() - started,
    )
    return locator


def get_locator() -> Locator:
    now = time.monotonic()
    with _lock:
        if _state["locator"] is not None and now - _state["checked"] < VERSION_CHECK_SECONDS:
            return _state["locator"]
        version = _version()
        _state["checked"] = now
        if _state["locator"] is None or version != _state["version"]:
            _state["locator"] = build()
            _state["version"] = version
        return _state["locator"]


def invalidate() -> None:
    with _lock:
        _state["locator"] = None
        _state["version"] = None
