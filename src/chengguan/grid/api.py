from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from chengguan.core import geo
from chengguan.core.schemas import Int64, errors

from . import selectors
from .schemas import LocationOut, UnitGridDetailOut, UnitGridOut

router = Router(tags=["grid"])
LIST = errors(400, 401, 422)


class LocateQuery(Schema):
    lon: float = Field(..., description="经度 longitude")
    lat: float = Field(..., description="纬度 latitude")
    crs: str = Field("wgs84", description="wgs84 | cgcs2000 | gcj02 | bd09")


@router.get("/locate", response={200: LocationOut, **LIST})
def locate(request, q: Query[LocateQuery]):
    """The unit grid, community, street and district of a point; `inside` is false outside the city."""
    try:
        return selectors.locate(q.lon, q.lat, q.crs).as_dict()
    except geo.CRSError as exc:
        raise HttpError(400, str(exc)) from None


@router.get("/grids", response={200: list[UnitGridOut], **LIST})
def list_grids(
    request,
    community_id: Int64 | None = None,
    street_id: Int64 | None = None,
    limit: Int64 = 500,
    offset: Int64 = 0,
):
    if not 1 <= limit <= 5000 or offset < 0:
        raise HttpError(400, _("limit 应在 1–5000 之间，offset 不能为负"))
    qs = selectors.grid_list(request.user, community_id=community_id, street_id=street_id)
    return qs[offset : offset + limit]


@router.get("/grids/{grid_id}", response={200: UnitGridDetailOut, **errors(401, 404, 422)})
def get_grid(request, grid_id: Int64):
    return selectors.access_unit_grid(request.user, grid_id)
