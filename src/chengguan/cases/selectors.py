"""Reads of cases, always through the permission chokepoint."""

from __future__ import annotations

import datetime as dt
import math

from django.db.models import Q, QuerySet

from chengguan.core import clock, geo
from chengguan.core.errors import Invalid
from chengguan.core.permissions import access, acting_department_ids, can, visible

from .choices import OPEN_STATUSES, TRANSITIONS, CaseStatus, TaskRole, TaskStatus
from .models import Case, CaseTask

DUPLICATE_WINDOW = dt.timedelta(days=7)


def access_case(user, pk, action: str = "view") -> Case:
    """One case with everything its detail shows (events, tasks, stages, requests, photos)."""
    queryset = _detail_qs().prefetch_related("events", "tasks__department", "stages", "requests", "photos")
    return access(user, Case, pk, action, queryset=queryset)


def _detail_qs() -> QuerySet:
    return Case.objects.select_related(
        "minor_class__major",
        "grid",
        "community",
        "street",
        "district",
        "lead_department",
        "reporter",
        "duplicate_of",
    )


def case_list(
    user,
    *,
    status=None,
    minor_class_id=None,
    district_id=None,
    street_id=None,
    community_id=None,
    grid_id=None,
    department_id=None,
    source=None,
    overdue=None,
    created_from=None,
    created_to=None,
    bbox=None,
    q=None,
) -> QuerySet:
    qs = visible(user, Case, queryset=_detail_qs())
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        bad = [s for s in statuses if s not in CaseStatus.values and s not in ("open",)]
        if bad:
            raise Invalid("bad_status", f"未知状态 {', '.join(bad)} · unknown status")
        if "open" in statuses:
            statuses = [*statuses, *OPEN_STATUSES]
        qs = qs.filter(status__in=statuses)
    for name, value in (
        ("minor_class_id", minor_class_id),
        ("district_id", district_id),
        ("street_id", street_id),
        ("community_id", community_id),
        ("grid_id", grid_id),
        ("source", source),
    ):
        if value not in (None, ""):
            qs = qs.filter(**{name: value})
    if department_id:
        qs = qs.filter(
            pk__in=CaseTask.objects.filter(department_id=department_id, current=True).values("case")
        )
    if overdue is not None:
        qs = qs.filter(overdue=overdue)
    if created_from:
        qs = qs.filter(created_at__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__lt=created_to)
    if bbox:
        try:
            minx, miny, maxx, maxy = (float(v) for v in bbox.split(","))
        except ValueError:
            raise Invalid("bad_bbox", "bbox 应为 minlon,minlat,maxlon,maxlat · bad bbox") from None
        qs = qs.filter(lon__gte=minx, lon__lte=maxx, lat__gte=miny, lat__lte=maxy)
    if q:
        qs = qs.filter(Q(number__startswith=q) | Q(description__icontains=q) | Q(address__icontains=q))
    return qs


def distance_m(a_lon: float, a_lat: float, b_lon: float, b_lat: float) -> float:
    """Equirectangular distance in metres (exact enough within a few kilometres)."""
    k = math.cos(math.radians((a_lat + b_lat) / 2))
    return 6371008.8 * math.hypot(math.radians(b_lon - a_lon) * k, math.radians(b_lat - a_lat))


def duplicate_candidates(
    minor_class, lon: float, lat: float, *, crs: str = geo.WGS84, exclude_id=None, at=None, limit: int = 10
) -> list[tuple[Case, float]]:
    """Open cases of the same class within the class's radius reported in the last 7 days,
    nearest first (offered at intake; the operator decides)."""
    x, y = geo.to_wgs84(lon, lat, crs)
    radius = minor_class.duplicate_radius_m
    dlon, dlat = geo.metres_to_degrees(radius, y)
    since = (at or clock.now()) - DUPLICATE_WINDOW
    candidates = (
        Case.objects.filter(
            minor_class=minor_class,
            status__in=OPEN_STATUSES,
            created_at__gte=since,
            lon__gte=x - dlon,
            lon__lte=x + dlon,
            lat__gte=y - dlat,
            lat__lte=y + dlat,
        )
        .exclude(pk=exclude_id)
        .exclude(duplicate_of__isnull=False)
        # The box is a square around the circle: only what the offer needs, newest first, bounded.
        .only("id", "number", "status", "lon", "lat", "created_at")
        .order_by("-created_at")[:500]
    )
    found = [(c, distance_m(x, y, c.lon, c.lat)) for c in candidates]
    return sorted([(c, d) for c, d in found if d <= radius], key=lambda p: p[1])[:limit]


def allowed_actions(user, case: Case) -> list[str]:
    """The transitions this person may take on this case now (for pages and API clients)."""
    actions = []
    departments = None
    for action, rule in TRANSITIONS.items():
        if case.status not in rule.sources or not can(user, action, Case):
            continue
        if rule.department_actor:
            if departments is None:
                departments = set(acting_department_ids(user))
            tasks = [t for t in case.tasks.all() if t.current and t.department_id in departments]
            role = TaskRole.CO if action.startswith("cohandler") else TaskRole.LEAD
            mine = [t for t in tasks if t.role == role]
            if not mine:
                continue
            if action == "cohandler_sign" and mine[0].status != TaskStatus.DISPATCHED:
                continue
            if action == "cohandler_feedback" and mine[0].status in (TaskStatus.DONE, TaskStatus.RELEASED):
                continue
        actions.append(str(action))
    return actions


def public_view(case: Case) -> Case:
    """What a reporter sees: a duplicate shows its original's progress."""
    return case.duplicate_of if case.duplicate_of_id else case


def access_case_page(user, pk) -> Case:
    """One case with everything the case detail page shows, in a fixed number of queries whatever
    its history: events with their department, current and past tasks with their department,
    stages, requests with their department, photos."""
    from django.db.models import Prefetch

    from .models import CaseEvent, CaseRequest

    queryset = _detail_qs().prefetch_related(
        Prefetch("events", queryset=CaseEvent.objects.select_related("department")),
        Prefetch("tasks", queryset=CaseTask.objects.select_related("department")),
        "stages",
        Prefetch("requests", queryset=CaseRequest.objects.select_related("department")),
        "photos",
    )
    return access(user, Case, pk, queryset=queryset)
