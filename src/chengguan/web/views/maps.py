"""Map data for every page's Leaflet map (static/web/map.js): boundaries and case points as
GeoJSON, through the permission chokepoint, so the map works without any tile server."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from chengguan.cases import selectors as case_selectors
from chengguan.core.errors import Invalid
from chengguan.core.permissions import visible
from chengguan.grid.models import UnitGrid
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Region

LEVELS = (RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY, "grid")
MAX_GRIDS = 5000
MAX_CASES = 2000


def _feature(geometry, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"code": "bad_request", "message": message}, status=400)


@login_required
@require_GET
def boundaries(request):
    """`?level=district|street|community|grid`, and for grids `community=<id>` or `street=<id>`:
    the boundaries this person may see, as a FeatureCollection."""
    level = request.GET.get("level", RegionLevel.STREET)
    if level not in LEVELS:
        return _bad(_("未知层级 %(level)s") % {"level": level})
    user = request.user
    if level == "grid":
        grids = visible(user, UnitGrid).order_by("code")
        for name in ("community", "street"):
            value = _int_or_none(request.GET.get(name))
            if value is not None:
                grids = grids.filter(**{f"{name}_id": value})
        rows = grids.values("id", "code", "geometry")[:MAX_GRIDS]
        features = [_feature(r["geometry"], id=r["id"], code=r["code"], level="grid") for r in rows]
    else:
        rows = (
            visible(user, Region)
            .filter(level=level, geometry__isnull=False)
            .order_by("code")
            .values("id", "code", "name", "geometry")
        )
        features = [
            _feature(r["geometry"], id=r["id"], code=r["code"], name=r["name"], level=level) for r in rows
        ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


@login_required
@require_GET
def case_points(request):
    """`?status=open|<status>,…&bbox=minlon,minlat,maxlon,maxlat`: case points (number, status,
    overdue) this person may see, newest first, at most 2,000."""
    try:
        cases = case_selectors.case_list(
            request.user, status=request.GET.get("status") or "open", bbox=request.GET.get("bbox") or None
        )
    except Invalid as exc:
        return _bad(exc.message)
    rows = cases.order_by("-created_at", "-id").values("id", "number", "status", "overdue", "lon", "lat")
    features = [
        _feature(
            {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            id=r["id"],
            number=r["number"],
            status=r["status"],
            overdue=r["overdue"],
        )
        for r in rows[:MAX_CASES]
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


urlpatterns = [
    path("map/boundaries.geojson", boundaries, name="map_boundaries"),
    path("map/cases.geojson", case_points, name="map_cases"),
]
