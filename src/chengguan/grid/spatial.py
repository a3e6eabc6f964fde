"""A fast point-in-polygon index for many polygons, exact against shapely's containment.

The plane (WGS-84 degrees) is cut into a raster. Each raster cell is classified once, when the
index is built:

* covered by one polygon (and overlapped by no other): every point in it belongs to that polygon;
* touched by no polygon: every point in it is outside;
* mixed: the cell is split into `sub × sub` sub-cells, classified the same way; the sub-cells
  that are still mixed keep a short list of candidate polygons, tested exactly with shapely.

Locating a batch of points is then a few numpy array operations: two floors, two gathers, and
exact tests only for the small share of points that fall in mixed sub-cells. When the raster is
aligned with a lattice of generated unit grids (same origin and step), every interior grid
covers its raster cell exactly, so nearly every point is answered by one array lookup.

Classification uses a polygon's interior: a polygon merely touching a cell along an edge is not
a candidate. Where polygons overlap, the one listed first wins, as in `brute_force()`.
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


def _classify(polygons, tree: shapely.STRtree, boxes):
    """Classify boxes against polygons.

    Returns (result, cand_start, cand_len, cand): result[b] is the one polygon covering box b
    (>= 0), OUTSIDE, or -2 when mixed; for a mixed box, its candidate polygons (ascending) are
    cand[cand_start[b]: cand_start[b] + cand_len[b]].
    """
    n = len(boxes)
    result = np.full(n, OUTSIDE, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0:
        return result, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), empty
    box_idx, poly_idx = tree.query(boxes, predicate="intersects")
    if len(box_idx):
        # Keep polygons whose interior meets the box interior (drop those only touching it).
        touching = shapely.touches(polygons[poly_idx], boxes[box_idx])
        box_idx, poly_idx = box_idx[~touching], poly_idx[~touching]
    order = np.lexsort((poly_idx, box_idx))
    box_idx, poly_idx = box_idx[order], poly_idx[order]
    counts = np.bincount(box_idx, minlength=n).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    single = np.flatnonzero(counts == 1)
    result[counts > 1] = -2
    if len(single):
        p = poly_idx[starts[single]]
        covered = shapely.covers(polygons[p], boxes[single])
        result[single[covered]] = p[covered]
        result[single[~covered]] = -2
    return result, starts, counts, poly_idx


def _boxes(x0, y0, dx, dy, ix, iy):
    return shapely.box(x0 + ix * dx, y0 + iy * dy, x0 + (ix + 1) * dx, y0 + (iy + 1) * dy)


class PolygonIndex:
    """Locate points among `polygons` (a sequence of shapely polygons in one plane)."""

    CHUNK = 100_000  # sub-cell boxes classified per batch (bounds memory while building)

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
        self.raster = raster or self._default_raster(cells_per_polygon)
        r = self.raster
        tree = shapely.STRtree(self.polygons)

        iy, ix = np.divmod(np.arange(r.nx * r.ny, dtype=np.int64), r.nx)
        level1, _, _, _ = _classify(self.polygons, tree, _boxes(r.x0, r.y0, r.dx, r.dy, ix, iy))
        mixed = np.flatnonzero(level1 == -2)
        level1 = level1.astype(np.int32)
        level1[mixed] = -2 - np.arange(len(mixed), dtype=np.int32)

        # Level 2: each mixed cell split into sub × sub sub-cells, in batches.
        sdx, sdy = r.dx / sub, r.dy / sub
        per_cell = sub * sub
        sj, si = np.divmod(np.arange(per_cell, dtype=np.int64), sub)
        level2 = np.full(len(mixed) * per_cell, OUTSIDE, dtype=np.int32)
        starts_out, lens_out, cands_out = [], [], []
        n_lists = 0
        cells_per_chunk = max(1, self.CHUNK // per_cell)
        for c0 in range(0, len(mixed), cells_per_chunk):
            cells = mixed[c0: c0 + cells_per_chunk]
            gx = (ix[cells][:, None] * sub + si[None, :]).ravel()
            gy = (iy[cells][:, None] * sub + sj[None, :]).ravel()
            res, st, ln, cd = _classify(self.polygons, tree, _boxes(r.x0, r.y0, sdx, sdy, gx, gy))
            mixed_boxes = np.flatnonzero(res == -2)
            res = res.astype(np.int32)
            res[mixed_boxes] = -2 - (n_lists + np.arange(len(mixed_boxes), dtype=np.int32))
            n_lists += len(mixed_boxes)
            level2[c0 * per_cell: c0 * per_cell + len(res)] = res
            lens = ln[mixed_boxes]
            starts_out.append(lens)
            # Gather each mixed box's candidate run into one flat array.
            take = np.repeat(st[mixed_boxes] - np.cumsum(np.concatenate(([0], lens[:-1]))), lens)
            cands_out.append(cd[np.arange(int(lens.sum())) + take])
            lens_out.append(lens)
        self.level1 = level1.reshape(r.ny, r.nx)
        self.level2 = level2.reshape(len(mixed), sub, sub)
        lengths = np.concatenate(lens_out).astype(np.int32) if lens_out else np.zeros(0, dtype=np.int32)
        self.cand_len = lengths
        self.cand_start = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int32)[: len(lengths)]
        self.cand = np.concatenate(cands_out).astype(np.int32) if cands_out else np.zeros(0, dtype=np.int32)

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
            "bytes": float(self.level1.nbytes + self.level2.nbytes + self.cand.nbytes
                           + self.cand_start.nbytes + self.cand_len.nbytes),
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
                v[pts] = self._exact(-2 - v2[still], x if idx is None else x[idx], y if idx is None else y[idx], pts)
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
