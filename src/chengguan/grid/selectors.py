"""Reads of unit grids: locate, lists and details through the permission chokepoint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from chengguan.core import geo
from chengguan.core.permissions import access, visible

from . import index
from .models import UnitGrid


@dataclass(frozen=True)
class Location:
    lon: float
    lat: float
    grid: dict | None
    community: dict | None
    street: dict | None
    district: dict | None

    @property
    def inside(self) -> bool:
        return self.district is not None

    def as_dict(self) -> dict:
        return {
            "lon": self.lon,
            "lat": self.lat,
            "inside": self.inside,
            "grid": self.grid,
            "community": self.community,
            "street": self.street,
            "district": self.district,
            "message": None if self.inside else _("该位置不在本市范围内 · outside the city"),
        }


def locate(lon: float, lat: float, crs: str = geo.WGS84) -> Location:
    """Unit grid, community, street and district of one point (any supported CRS).

    Raises geo.CRSError for an unknown CRS or coordinates out of range.
    """
    x, y = geo.to_wgs84(lon, lat, crs)
    locator = index.get_locator()
    ids = locator.locate_ids(np.array([x]), np.array([y]))
    grid_id = int(ids["grid"][0])
    grid = None
    if grid_id:
        k = int(np.flatnonzero(locator.grid_ids == grid_id)[0])
        grid = {"id": grid_id, "code": locator.grid_codes[k]}
    return Location(
        lon=x,
        lat=y,
        grid=grid,
        community=locator.place(ids["community"][0]),
        street=locator.place(ids["street"][0]),
        district=locator.place(ids["district"][0]),
    )


def locate_many(lon, lat, crs: str = geo.WGS84) -> dict[str, list[str]]:
    """Codes of grid, community, street and district for arrays of points ('' where none)."""
    x, y = geo.to_wgs84(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), crs)
    locator = index.get_locator()
    ids = locator.locate_ids(x, y)
    code_of_grid = dict(zip(locator.grid_ids.tolist(), locator.grid_codes, strict=True))
    out: dict[str, list[str]] = {"grid": [code_of_grid.get(int(i), "") for i in ids["grid"]]}
    for level in ("community", "street", "district"):
        out[level] = [locator.regions[int(i)][2] if i else "" for i in ids[level]]
    return out


def grid_list(user, *, community_id: int | None = None, street_id: int | None = None):
    qs = visible(user, UnitGrid).select_related("community", "street", "district")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if street_id is not None:
        qs = qs.filter(street_id=street_id)
    return qs.order_by("code")


def access_unit_grid(user, pk, action: str = "view") -> UnitGrid:
    return access(user, UnitGrid, pk, action)
