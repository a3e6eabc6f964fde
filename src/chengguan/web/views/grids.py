"""Unit grids (单元网格): a list (code, community, area, open cases) and a grid's page with its code,
its boundary on the map, the people responsible for it and its open cases."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from chengguan.cases.choices import OPEN_STATUSES
from chengguan.cases.models import Case
from chengguan.core.permissions import access, can, visible
from chengguan.grid.models import GridResponsibility, UnitGrid

from ..deadlines import annotate_remaining
from ..forms_desk import GridFilterForm
from ..nav import NavItem

PAGE_SIZE = 50
OPEN_CASES = 100


def _allowed(user) -> bool:
    return can(user, "view", UnitGrid) and can(user, "view", Case)


def _open_cases(user):
    return visible(user, Case).filter(status__in=OPEN_STATUSES)


@login_required
@require_GET
def grid_list(request):
    user = request.user
    if not _allowed(user):
        raise Http404
    form = GridFilterForm(request.GET, user=user)
    filters = form.filters()
    grids = (
        visible(user, UnitGrid)
        .select_related("community", "street")
        .defer("geometry", "community__geometry", "street__geometry")
        .order_by("code")
    )
    if filters.get("community_id"):
        grids = grids.filter(community_id=filters["community_id"])
    if filters.get("q"):
        grids = grids.filter(code__startswith=filters["q"].strip())
    page = Paginator(grids, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    counts = dict(
        _open_cases(user)
        .filter(grid_id__in=[g.pk for g in rows])
        .order_by()
        .values_list("grid_id")
        .annotate(n=Count("pk"))
        .values_list("grid_id", "n")
    )
    for grid in rows:
        grid.open_cases = counts.get(grid.pk, 0)
    return render(
        request,
        "web/grids/list.html",
        {"form": form, "grids": rows, "page": page, "query": form.query(), "active_nav": "grids"},
    )


@login_required
@require_GET
def grid_detail(request, pk: int):
    user = request.user
    if not _allowed(user):
        raise Http404
    grid = access(
        user, UnitGrid, pk, queryset=UnitGrid.objects.select_related("community", "street", "district")
    )
    duties = list(
        GridResponsibility.objects.filter(grid=grid)
        .select_related("person")
        .order_by("duty", "person__username")
    )
    cases = list(
        _open_cases(user)
        .filter(grid=grid)
        .select_related("minor_class", "street", "community")
        .defer("reporter_name", "reporter_phone", "street__geometry", "community__geometry")
        .order_by("stage_deadline", "id")[:OPEN_CASES]
    )
    annotate_remaining(cases)
    feature = {"type": "Feature", "geometry": grid.geometry, "properties": {"code": grid.code}}
    points = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                "properties": {"id": c.pk, "number": c.number, "status": c.status, "overdue": c.overdue},
            }
            for c in cases
        ],
    }
    return render(
        request,
        "web/grids/detail.html",
        {
            "grid": grid,
            "duties": duties,
            "cases": cases,
            "feature": feature,
            "points": points,
            "active_nav": "grids",
        },
    )


NAV = [NavItem(label=_("单元网格"), url_name="web:grids", allowed=_allowed, order=80, key="grids")]

urlpatterns = [
    path("grids/", grid_list, name="grids"),
    path("grids/<int:pk>/", grid_detail, name="grid_detail"),
]
