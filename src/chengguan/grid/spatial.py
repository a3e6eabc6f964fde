"""A fast point-in-polygon index for many polygons, exact against shapely's containment.

The plane (WGS-84 degrees) is cut into a raster, and each raster cell into `sub × sub` fine
cells. Building the index rasterises the polygons' edges in numpy (no per-cell geometry calls):

* a fine cell that no edge passes through lies wholly inside one polygon, or outside all: its
  answer is the polygon holding its centre, found by a scanline fill;
* a fine cell crossed by edges keeps a short list of candidates (the polygons owning those edges
  and the one holding its centre), tested exactly with shapely when a point falls in it;
* a raster cell whose fine cells are all pure with the same answer stores that answer directly;
  only "mixed" raster cells keep their fine cells.

Locating a batch of points is then a few numpy array operations: two floors, two gathers, and
exact tests only for the small share of points that fall in mixed sub-cells. When the raster is
aligned with a lattice of generated unit grids (same origin and step), every interior grid
covers its raster cell exactly, so nearly every point is answered by one array lookup.

An edge lying exactly on a raster line enters no cell, so lattice-aligned grids leave the cells
on both sides pure. Coordinates within SNAP (1e-9 of a cell, well under a millimetre) of a raster
line are taken to lie on it. Where polygons overlap, the one listed first wins, as in
`brute_force()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

OUTSIDE = -1


@dataclass(frozen=True)
class Raster:
    x0: float
    y0: float
    dx: float
    dy: float
    nx: int
    ny: int


SNAP = 1e-9  # coordinates this close to a raster line (in cell units) are taken to lie on it


def _segments(polygons):
    """Every ring segment of every polygon: (x0, y0, x1, y1, owner polygon index)."""
    parts, part_owner = shapely.get_parts(polygons, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same = coord_ring[:-1] == coord_ring[1:]
    a, b = coords[:-1][same], coords[1:][same]
    owner = part_owner[ring_part[coord_ring[:-1][same]]]
    return a[:, 0], a[:, 1], b[:, 0], b[:, 1], owner.astype(np.int64)


def _snap(u):
    r = np.round(u)
    return np.where(np.abs(u - r) < SNAP, r, u)


def _edge_cells(u0, v0, u1, v1, owner, nx, ny):
    """(cell, owner) for every raster cell whose interior a segment passes through.

    Each segment is cut where it crosses raster lines; the midpoint of each piece lies inside
    one cell. A piece lying exactly on a raster line enters no cell (a lattice-aligned edge
    leaves the cells on both sides pure).
    """
    umin, umax = np.minimum(u0, u1), np.maximum(u0, u1)
    vmin, vmax = np.minimum(v0, v1), np.maximum(v0, v1)
    cu = np.maximum(np.ceil(umax) - np.floor(umin) - 1, 0).astype(np.int64)
    cv = np.maximum(np.ceil(vmax) - np.floor(vmin) - 1, 0).astype(np.int64)
    n = len(u0)
    seg = np.arange(n, dtype=np.int64)
    # Crossing parameters t of the vertical lines (u = k) and horizontal lines (v = k).
    su = np.repeat(seg, cu)
    ku = np.floor(umin)[su] + 1 + (np.arange(len(su)) - np.repeat(np.cumsum(cu) - cu, cu))
    du = (u1 - u0)[su]
    tu = (ku - u0[su]) / np.where(du == 0, 1, du)
    sv = np.repeat(seg, cv)
    kv = np.floor(vmin)[sv] + 1 + (np.arange(len(sv)) - np.repeat(np.cumsum(cv) - cv, cv))
    dv = (v1 - v0)[sv]
    tv = (kv - v0[sv]) / np.where(dv == 0, 1, dv)
    segs = np.concatenate((seg, seg, su, sv))
    ts = np.concatenate((np.zeros(n), np.ones(n), tu, tv))
    order = np.lexsort((ts, segs))
    segs, ts = segs[order], ts[order]
    keep = (segs[:-1] == segs[1:]) & (ts[1:] > ts[:-1])
    s, tm = segs[:-1][keep], (ts[:-1][keep] + ts[1:][keep]) / 2
    um = u0[s] + tm * (u1 - u0)[s]
    vm = v0[s] + tm * (v1 - v0)[s]
    on_line = ((u0[s] == u1[s]) & (um == np.round(um))) | ((v0[s] == v1[s]) & (vm == np.round(vm)))
    s, um, vm = s[~on_line], um[~on_line], vm[~on_line]
    ci = np.clip(np.floor(um).astype(np.int64), 0, nx - 1)
    cj = np.clip(np.floor(vm).astype(np.int64), 0, ny - 1)
    return cj * nx + ci, owner[s]


def _fill(u0, v0, u1, v1, owner, nx, ny, n_polygons):
    """Scanline fill at cell centres: the lowest-index polygon containing each cell's centre
    (even-odd rule over all rings of a polygon, so holes and multi-part polygons work), or
    OUTSIDE; and how many polygons contain it (more than one only where polygons overlap)."""
    label = np.full(nx * ny, n_polygons, dtype=np.int64)
    depth = np.zeros(nx * ny, dtype=np.int32)
    sloped = v0 != v1
    u0, v0, u1, v1, owner = u0[sloped], v0[sloped], u1[sloped], v1[sloped], owner[sloped]
    vmin, vmax = np.minimum(v0, v1), np.maximum(v0, v1)
    # Rows whose centre line v = j + 0.5 lies in [vmin, vmax): half-open, so a vertex counts once.
    j0 = np.ceil(vmin - 0.5).astype(np.int64)
    count = np.maximum(np.ceil(vmax - 0.5).astype(np.int64) - j0, 0)
    seg = np.repeat(np.arange(len(u0)), count)
    rows = j0[seg] + (np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count))
    uc = u0[seg] + (rows + 0.5 - v0[seg]) * (u1 - u0)[seg] / (v1 - v0)[seg]
    poly = owner[seg]
    order = np.lexsort((uc, rows, poly))
    rows, uc, poly = rows[order], uc[order], poly[order]
    if len(poly) % 2 or np.any(poly[0::2] != poly[1::2]) or np.any(rows[0::2] != rows[1::2]):
        # Closed rings cross every scanline an even number of times; anything else is a bug.
        raise ValueError("polygon rings are not closed: cannot build the locate index")
    ua, ub, row, pol = uc[0::2], uc[1::2], rows[0::2], poly[0::2]
    # Cells whose centre i + 0.5 lies in [ua, ub).
    i0 = np.clip(np.ceil(ua - 0.5).astype(np.int64), 0, nx)
    i1 = np.clip(np.ceil(ub - 0.5).astype(np.int64), 0, nx)
    width = np.maximum(i1 - i0, 0)
    run = np.repeat(np.arange(len(i0)), width)
    cols = i0[run] + (np.arange(len(run)) - np.repeat(np.cumsum(width) - width, width))
    inside_rows = (row[run] >= 0) & (row[run] < ny)
    cells = row[run][inside_rows] * nx + cols[inside_rows]
    np.minimum.at(label, cells, pol[run][inside_rows])
    np.add.at(depth, cells, 1)
    label[label == n_polygons] = OUTSIDE
    return label, depth


class PolygonIndex:
    """Locate points among `polygons` (a sequence of shapely polygons in one plane)."""

    def __init__(self, polygons, raster: Raster | None = None, sub: int = 8, cells_per_polygon: float = 4.0):
        self.polygons = np.asarray(polygons, dtype=object)
        self.sub = sub
        if len(self.polygons) == 0:
            self.raster = Raster(0.0, 0.0, 1.0, 1.0, 0, 0)
            self.level1 = np.full((0, 0), OUTSIDE, dtype=np.int32)
            self.level2 = np.full((0, sub, sub), OUTSIDE, dtype=np.int32)
            self.cand_start = self.cand_len = self.cand = np.zeros(0, dtype=np.int32)
            return
        shapely.prepare(self.polygons)
        self.raster = r = raster or self._default_raster(cells_per_polygon)

        # The fine raster: every level-1 cell cut into sub × sub cells.
        fnx, fny = r.nx * sub, r.ny * sub
        x0, y0, x1, y1, owner = _segments(self.polygons)
        u0, u1 = _snap((x0 - r.x0) / r.dx * sub), _snap((x1 - r.x0) / r.dx * sub)
        v0, v1 = _snap((y0 - r.y0) / r.dy * sub), _snap((y1 - r.y0) / r.dy * sub)
        edge_cell, edge_owner = _edge_cells(u0, v0, u1, v1, owner, fnx, fny)
        label, depth = _fill(u0, v0, u1, v1, owner, fnx, fny, len(self.polygons))
        mixed = np.zeros(fnx * fny, dtype=bool)
        mixed[edge_cell] = True

        # Level 1: a cell is pure when none of its fine cells is crossed and all share a label.
        blocks = (r.ny, sub, r.nx, sub)
        lab4 = label.reshape(blocks)
        pure1 = ~mixed.reshape(blocks).any(axis=(1, 3)) & (lab4.min(axis=(1, 3)) == lab4.max(axis=(1, 3)))
        level1 = np.where(pure1, lab4.min(axis=(1, 3)), -2).astype(np.int32).ravel()
        mixed1 = np.flatnonzero(level1 == -2)
        level1[mixed1] = -2 - np.arange(len(mixed1), dtype=np.int32)

        # Level 2: the fine cells of each mixed level-1 cell; crossed ones get a candidate list:
        # the owners of the segments crossing them and the polygon holding their centre.
        cj, ci = np.divmod(mixed1, r.nx)
        sj, si = np.divmod(np.arange(sub * sub), sub)
        fine = ((cj[:, None] * sub + sj[None, :]) * fnx + ci[:, None] * sub + si[None, :]).ravel()
        level2 = label[fine].astype(np.int32)
        crossed = np.flatnonzero(mixed[fine])
        list_of_fine = np.full(fnx * fny, -1, dtype=np.int64)
        list_of_fine[fine[crossed]] = np.arange(len(crossed))
        level2[crossed] = -2 - np.arange(len(crossed), dtype=np.int32)
        centre = label[fine[crossed]]
        pairs_list = [list_of_fine[edge_cell], np.arange(len(crossed))[centre >= 0]]
        pairs_poly = [edge_owner, centre[centre >= 0]]
        # Where polygons overlap at a crossed cell's centre, a polygon may cover the whole cell
        # without an edge in it: add every polygon whose box meets the cell.
        stacked = np.flatnonzero(depth[fine[crossed]] > 1)
        if len(stacked):
            fj, fi = np.divmod(fine[crossed][stacked], fnx)
            fdx, fdy = r.dx / sub, r.dy / sub
            boxes = shapely.box(
                r.x0 + fi * fdx, r.y0 + fj * fdy, r.x0 + (fi + 1) * fdx, r.y0 + (fj + 1) * fdy
            )
            b, p = shapely.STRtree(self.polygons).query(boxes)
            pairs_list.append(stacked[b])
            pairs_poly.append(p)
        pairs_list, pairs_poly = np.concatenate(pairs_list), np.concatenate(pairs_poly)
        key = np.sort(pairs_list * len(self.polygons) + pairs_poly)
        key = key[np.concatenate(([True], key[1:] != key[:-1]))] if len(key) else key
        lists, polys = np.divmod(key, len(self.polygons))
        lengths = np.bincount(lists, minlength=len(crossed)).astype(np.int32)
        self.level1 = level1.reshape(r.ny, r.nx)
        self.level2 = level2.reshape(len(mixed1), sub, sub)
        self.cand_len = lengths
        self.cand_start = (np.cumsum(lengths) - lengths).astype(np.int32)
        self.cand = polys.astype(np.int32)

    def _default_raster(self, cells_per_polygon: float) -> Raster:
        minx, miny, maxx, maxy = shapely.total_bounds(self.polygons)
        width, height = max(maxx - minx, 1e-9), max(maxy - miny, 1e-9)
        # Square-ish cells (in degrees), about `cells_per_polygon` cells per polygon.
        step = np.sqrt(width * height / (len(self.polygons) * cells_per_polygon))
        nx, ny = int(np.ceil(width / step)) or 1, int(np.ceil(height / step)) or 1
        return Raster(float(minx), float(miny), float(step), float(step), nx, ny)

    @property
    def stats(self) -> dict[str, float]:
        l1 = self.level1.ravel()
        l2 = self.level2.ravel()
        return {
            "polygons": float(len(self.polygons)),
            "cells": float(l1.size),
            "mixed_cells": float(np.count_nonzero(l1 <= -2)),
            "subcells": float(l2.size),
            "mixed_subcells": float(np.count_nonzero(l2 <= -2)),
            "bytes": float(
                self.level1.nbytes
                + self.level2.nbytes
                + self.cand.nbytes
                + self.cand_start.nbytes
                + self.cand_len.nbytes
            ),
        }

    def locate(self, x, y) -> np.ndarray:
        """Index of the polygon containing each point, or OUTSIDE (-1)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        result = np.full(x.shape, OUTSIDE, dtype=np.int32)
        r = self.raster
        if r.nx == 0 or x.size == 0:
            return result
        fx = (x - r.x0) / r.dx
        fy = (y - r.y0) / r.dy
        inside = (fx >= 0) & (fx < r.nx) & (fy >= 0) & (fy < r.ny)
        if not inside.all():
            idx = np.flatnonzero(inside)
            fx, fy = fx[idx], fy[idx]
        else:
            idx = None
        cx = fx.astype(np.int64)
        cy = fy.astype(np.int64)
        v = self.level1[cy, cx]
        mixed = v <= -2
        if mixed.any():
            m = np.flatnonzero(mixed)
            k = -2 - v[m]
            sx = ((fx[m] - cx[m]) * self.sub).astype(np.int64)
            sy = ((fy[m] - cy[m]) * self.sub).astype(np.int64)
            np.clip(sx, 0, self.sub - 1, out=sx)
            np.clip(sy, 0, self.sub - 1, out=sy)
            v2 = self.level2[k, sy, sx]
            v[m] = v2
            still = np.flatnonzero(v2 <= -2)
            if len(still):
                pts = m[still]
                v[pts] = self._exact(
                    -2 - v2[still], x if idx is None else x[idx], y if idx is None else y[idx], pts
                )
        if idx is None:
            result[:] = v
        else:
            result[idx] = v
        return result

    def _exact(self, lists: np.ndarray, x: np.ndarray, y: np.ndarray, pts: np.ndarray) -> np.ndarray:
        found = np.full(len(lists), OUTSIDE, dtype=np.int32)
        starts, lens = self.cand_start[lists], self.cand_len[lists]
        px, py = x[pts], y[pts]
        pending = np.arange(len(lists))
        rank = 0
        while len(pending):
            pending = pending[lens[pending] > rank]
            if not len(pending):
                break
            poly = self.cand[starts[pending] + rank]
            hit = shapely.contains_xy(self.polygons[poly], px[pending], py[pending])
            found[pending[hit]] = poly[hit]
            pending = pending[~hit]
            rank += 1
        return found


def brute_force(polygons, x, y) -> np.ndarray:
    """The reference answer: the first polygon (in order) whose interior contains each point."""
    polygons = np.asarray(polygons, dtype=object)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    result = np.full(x.shape, OUTSIDE, dtype=np.int32)
    bounds = shapely.bounds(polygons)
    for i in range(len(polygons) - 1, -1, -1):
        minx, miny, maxx, maxy = bounds[i]
        sel = np.flatnonzero((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
        if len(sel):
            hit = shapely.contains_xy(polygons[i], x[sel], y[sel])
            result[sel[hit]] = i
    return result
