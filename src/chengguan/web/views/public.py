"""The public pages (no login): report a problem, look a case up by its number and the last four
digits of the reporter's phone, and a map of publicly reported cases by status.

Nothing personal is published: the lookup shows the class, status and the public steps (when,
which step) and the map an allow-list of fields (number, class, status, position rounded to about
10 m, date); see `cases.selectors` for which cases are public. Reports and lookups are limited per
client address (web/ratelimit.py, Django's cache): over the limit the answer is a 429 page. No
third-party captcha.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from chengguan.cases import selectors as case_selectors
from chengguan.cases.choices import CaseStatus
from chengguan.core.errors import Invalid
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Region

from .. import ratelimit
from ..forms_report import LookupForm, PublicReportForm
from .inspector import CLASS_RESULTS, class_json, report_texts

SESSION_KEY = "public_reported"


def limited(request, scope: str):
    """The answer over a rate limit: a page saying so and when to try again."""
    seconds = ratelimit.retry_after(scope)
    response = render(request, "web/public/limited.html", {"minutes": max(1, -(-seconds // 60))}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def map_config() -> dict:
    """static/web/map.js settings for the public pages: public data URLs only."""
    return {
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
        "tileCrs": getattr(settings, "TILE_CRS", "wgs84"),
        "boundariesUrl": reverse("web:public_boundaries"),
        "casesUrl": reverse("web:public_cases"),
        "caseUrl": "",
        "statuses": {value: str(label) for value, label in CaseStatus.choices},
        "overdueLabel": "",
    }


@require_http_methods(["GET", "POST"])
def report(request):
    classes = case_selectors.public_report_classes()
    if request.method == "POST":
        if not ratelimit.allow(request, "public_report"):
            return limited(request, "public_report")
        form = PublicReportForm(request.POST, request.FILES, classes=classes)
        number = form.submit()
        if number is not None:
            request.session[SESSION_KEY] = number
            return redirect("web:public_report_done")
        status = 422
    else:
        form = PublicReportForm(classes=classes, initial={"submit_key": uuid.uuid4().hex})
        status = 200
    context = {
        "form": form,
        "map_config": map_config(),
        "report_config": {
            "classesUrl": reverse("web:public_classes"),
            "submitUrl": reverse("web:public_report"),
            "drafts": False,
            "texts": report_texts(),
            "boundaries": "street",
        },
    }
    return render(request, "web/public/report.html", context, status=status)


@require_GET
def report_done(request):
    number = request.session.get(SESSION_KEY)
    if not number:
        return redirect("web:public_report")
    return render(request, "web/public/report_done.html", {"number": number})


@require_GET
def classes(request):
    q = (request.GET.get("q") or "").strip()[:50]
    found = case_selectors.public_report_classes(q)[:CLASS_RESULTS]
    return JsonResponse({"results": [class_json(m) for m in found]})


@require_http_methods(["GET", "POST"])
def lookup(request):
    """POST (the phone digits stay out of addresses and logs): the case, or "not found" for an
    unknown number and a wrong pair alike."""
    found = timeline = None
    not_found = False
    status = 200
    if request.method == "POST":
        if not ratelimit.allow(request, "public_lookup"):
            return limited(request, "public_lookup")
        form = LookupForm(request.POST)
        if form.is_valid():
            found = case_selectors.public_case_lookup(
                form.cleaned_data["number"], form.cleaned_data["phone_last4"]
            )
            if found is None:
                not_found, status = True, 404
            else:
                timeline = case_selectors.public_timeline(found)
            # The phone digits are not echoed back into the page.
            form = LookupForm(initial={"number": form.cleaned_data["number"]})
        else:
            status = 422
    else:
        form = LookupForm(initial={"number": request.GET.get("number", "")[:20]})
    view = case_selectors.public_view(found) if found is not None else None
    context = {
        "form": form,
        "case": found,
        "current": view,
        "current_status": CaseStatus(view.status).label if view is not None else "",
        "timeline": timeline,
        "not_found": not_found,
    }
    return render(request, "web/public/lookup.html", context, status=status)


@require_GET
def case_map(request):
    return render(
        request,
        "web/public/map.html",
        {
            "map_config": map_config(),
            "statuses": CaseStatus.choices,
            "days": case_selectors.PUBLIC_MAP_DAYS,
            "texts": {
                "count": _("共 %(n)s 件"),
                "reported": _("举报于 %(date)s"),
                "failed": _("案件数据加载失败"),
            },
        },
    )


@require_GET
def case_points(request):
    """`?status=open|closed|<status>`: publicly reported cases as GeoJSON points with only the
    allow-listed properties."""
    try:
        points = case_selectors.public_map_points(status=(request.GET.get("status") or "").strip())
    except Invalid as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
            "properties": {k: p[k] for k in ("number", "class", "status", "created")},
        }
        for p in points
    ]
    response = JsonResponse({"type": "FeatureCollection", "features": features})
    response["Cache-Control"] = "public, max-age=60"
    return response


PUBLIC_LEVELS = (RegionLevel.DISTRICT, RegionLevel.STREET)


@require_GET
def boundaries(request):
    """District and street boundaries (public map information) for the public maps."""
    level = request.GET.get("level", RegionLevel.STREET)
    if level not in PUBLIC_LEVELS:
        return JsonResponse(
            {"code": "bad_level", "message": _("未知层级 %(level)s") % {"level": level}}, status=400
        )
    rows = (
        Region.objects.filter(level=level, geometry__isnull=False)
        .order_by("code")
        .values("code", "name", "geometry")
    )
    features = [
        {"type": "Feature", "geometry": r["geometry"], "properties": {"name": r["name"], "level": level}}
        for r in rows
    ]
    response = JsonResponse({"type": "FeatureCollection", "features": features})
    response["Cache-Control"] = "public, max-age=3600"
    return response


urlpatterns = [
    path("public/report/", report, name="public_report"),
    path("public/report/done/", report_done, name="public_report_done"),
    path("public/classes.json", classes, name="public_classes"),
    path("public/lookup/", lookup, name="public_lookup"),
    path("public/map/", case_map, name="public_map"),
    path("public/cases.geojson", case_points, name="public_cases"),
    path("public/boundaries.geojson", boundaries, name="public_boundaries"),
]
