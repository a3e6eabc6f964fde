"""Reads of cases, always through the permission chokepoint."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _lazy

from chengguan.core import clock, geo
from chengguan.core.errors import Invalid
from chengguan.core.permissions import access, acting_department_ids, can, visible
from chengguan.org.choices import Role

from .choices import (
    OPEN_STATUSES,
    TRANSITIONS,
    CaseAction,
    CaseSource,
    CaseStatus,
    RequestKind,
    RequestStatus,
    TaskRole,
    TaskStatus,
)
from .models import Case, CaseEvent, CaseRequest, CaseStage, CaseTask

DUPLICATE_WINDOW = dt.timedelta(days=7)
# A case's distance from the point with longitude and latitude each scaled to the radius (the
# circle is 1): one plain SQL expression, as the ORM's arithmetic expressions cost a millisecond
# of Python per intake to build and hash.
CLOSENESS = '(("lon" - %s) / %s) * (("lon" - %s) / %s) + (("lat" - %s) / %s) * (("lat" - %s) / %s)'


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
    nearest first (offered at intake; the operator decides); none for a class whose radius is 0.

    The database ranks the cases in the square around the circle by their distance scaled to the
    radius (the circle is 1; degrees of longitude and latitude each scaled by their length in metres
    here) and returns only the nearest `limit`, those inside the circle first: a hot spot reported
    hundreds of times a week sends the application as few rows as a quiet street. Their distance
    in metres is then worked out exactly, and those beyond the radius dropped."""
    radius = minor_class.duplicate_radius_m
    if radius <= 0:  # the class is set to offer none
        return []
    x, y = geo.to_wgs84(lon, lat, crs)
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
            duplicate_of__isnull=True,
        )
        .exclude(pk=exclude_id)
        .only("id", "number", "status", "lon", "lat", "created_at")
        .order_by(RawSQL(CLOSENESS, (x, dlon, x, dlon, y, dlat, y, dlat)), "-created_at", "-id")[:limit]
    )
    found = [(c, distance_m(x, y, c.lon, c.lat)) for c in candidates]
    return sorted([(c, d) for c, d in found if d <= radius], key=lambda p: p[1])


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


# --- the pages' queues and figures (web/views/desk, department, command) ----------------------------
#
# Every read below starts from `visible(user, …)` and costs a fixed number of queries whatever the
# number of cases: counts are aggregated in SQL, rows are one page with what they show joined in,
# and nothing is loaded per row.


# Boundaries are large JSON documents: lists never load them.
_ROW_DEFER = ("grid__geometry", "community__geometry", "street__geometry", "reporter_name", "reporter_phone")


@dataclass(frozen=True)
class DeskQueue:
    """One queue of the operator / shift leader / dispatcher desk.

    statuses: the case statuses it holds; request_kind: for approvals, the kind of pending request;
    actions: the transitions the queue is for (a person sees the queue when a role lets them take
    one); watch_roles: roles that follow the queue without acting on it (the shift leader follows
    cases waiting for the inspector's check, which they close next); bulk: the one action that may
    be taken on several cases at once (None: case by case).
    """

    key: str
    label: str
    statuses: tuple[str, ...]
    actions: tuple[str, ...]
    bulk: str | None = None
    request_kind: str | None = None
    watch_roles: tuple[str, ...] = ()

    def allows(self, user) -> bool:
        return any(can(user, action, Case) for action in self.actions) or any(
            user.has_role(role) for role in self.watch_roles
        )

    def acts(self, user) -> bool:
        return any(can(user, action, Case) for action in self.actions)


DESK_QUEUES: tuple[DeskQueue, ...] = (
    DeskQueue(
        "reported", _lazy("待受理"), (CaseStatus.REPORTED,), (CaseAction.ACCEPT,), bulk=CaseAction.ACCEPT
    ),
    DeskQueue(
        "to_register",
        _lazy("待立案"),
        (CaseStatus.TO_REGISTER,),
        (CaseAction.REGISTER,),
        bulk=CaseAction.REGISTER,
    ),
    DeskQueue(
        "to_dispatch",
        _lazy("待派遣"),
        (CaseStatus.TO_DISPATCH,),
        (CaseAction.DISPATCH,),
        bulk=CaseAction.DISPATCH,
    ),
    DeskQueue(
        "to_check",
        _lazy("待核查"),
        (CaseStatus.TO_CHECK,),
        (CaseAction.CHECK_PASS,),
        watch_roles=(Role.SHIFT_LEADER,),
    ),
    DeskQueue(
        "to_close", _lazy("待结案"), (CaseStatus.TO_CLOSE,), (CaseAction.CLOSE,), bulk=CaseAction.CLOSE
    ),
    DeskQueue(
        "extension",
        _lazy("延期审批"),
        (CaseStatus.HANDLING,),
        (CaseAction.EXTEND_APPROVE,),
        request_kind=RequestKind.EXTENSION,
    ),
    DeskQueue(
        "suspension",
        _lazy("挂账审批"),
        (CaseStatus.HANDLING,),
        (CaseAction.SUSPEND_APPROVE,),
        request_kind=RequestKind.SUSPENSION,
    ),
)
DESK_QUEUE_BY_KEY = {q.key: q for q in DESK_QUEUES}


def desk_queues(user) -> list[DeskQueue]:
    """The desk queues this person may use, in the workflow's order."""
    return [q for q in DESK_QUEUES if q.allows(user)]


def _pending_request(kind: str):
    return Exists(CaseRequest.objects.filter(case=OuterRef("pk"), kind=kind, status=RequestStatus.PENDING))


def desk_counts(user, queues) -> dict[str, int]:
    """{queue key: number of cases} for the given queues, in at most two queries."""
    base = visible(user, Case).order_by()
    counts = {q.key: 0 for q in queues}
    by_status = [q for q in queues if q.request_kind is None]
    if by_status:
        statuses = {s for q in by_status for s in q.statuses}
        found = dict(
            base.filter(status__in=statuses)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for q in by_status:
            counts[q.key] = sum(found.get(s, 0) for s in q.statuses)
    approvals = [q for q in queues if q.request_kind is not None]
    if approvals:
        found = dict(
            CaseRequest.objects.filter(
                status=RequestStatus.PENDING,
                kind__in=[q.request_kind for q in approvals],
                case__in=base.filter(status__in={s for q in approvals for s in q.statuses}).values("pk"),
            )
            .order_by()
            .values_list("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
        for q in approvals:
            counts[q.key] = found.get(q.request_kind, 0)
    return counts


def desk_rows(
    user,
    queue: DeskQueue,
    *,
    minor_class_id=None,
    street_id=None,
    community_id=None,
    source=None,
    overdue: bool | None = None,
    q: str | None = None,
    now=None,
) -> QuerySet:
    """The queue's cases this person may see, most urgent first (earliest stage deadline), with
    what a row shows joined in; approval queues carry their pending request (`desk_requests`)."""
    qs = (
        visible(user, Case)
        .filter(status__in=queue.statuses)
        .select_related("minor_class__major", "grid", "community", "street", "lead_department")
        .defer(*_ROW_DEFER)
    )
    if queue.request_kind is not None:
        pending = CaseRequest.objects.filter(kind=queue.request_kind, status=RequestStatus.PENDING)
        qs = qs.filter(_pending_request(queue.request_kind)).prefetch_related(
            Prefetch("requests", queryset=pending.select_related("department"), to_attr="desk_requests")
        )
    for name, value in (
        ("minor_class_id", minor_class_id),
        ("street_id", street_id),
        ("community_id", community_id),
        ("source", source),
    ):
        if value not in (None, ""):
            qs = qs.filter(**{name: value})
    if overdue is not None:
        late = Q(overdue=True) | Q(stage_deadline__lt=now or clock.now())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if q:
        q = q.strip()
        qs = qs.filter(Q(number__startswith=q) | Q(description__icontains=q) | Q(address__icontains=q))
    return qs.order_by("stage_deadline", "id")


def routed_departments(cases) -> dict[int, object]:
    """{case id: the department the routing rules send it to (or None)} for a page of cases, in two
    queries (`routing.route_cases`: the same rules the dispatch service applies)."""
    from .routing import route_cases

    return route_cases(cases)


# --- the department inbox -----------------------------------------------------------------------------

INBOX_TABS = ("to_sign", "handling", "cohandling")


def _inbox_filter(tab: str) -> Q:
    if tab == "to_sign":
        return Q(role=TaskRole.LEAD, status=TaskStatus.DISPATCHED, case__status=CaseStatus.DISPATCHED)
    if tab == "handling":
        return Q(role=TaskRole.LEAD, status=TaskStatus.SIGNED, case__status=CaseStatus.HANDLING)
    if tab == "cohandling":
        return Q(
            role=TaskRole.CO,
            status__in=(TaskStatus.DISPATCHED, TaskStatus.SIGNED),
            case__status__in=(CaseStatus.DISPATCHED, CaseStatus.HANDLING),
        )
    raise Invalid("bad_tab", f"unknown inbox tab {tab}")


def _inbox_base(user) -> QuerySet:
    """Current tasks of the departments this person acts for, through the chokepoint."""
    return visible(user, CaseTask).filter(current=True, department_id__in=acting_department_ids(user))


def inbox_counts(user) -> dict[str, int]:
    """{tab: number of tasks} in one query."""
    row = (
        _inbox_base(user)
        .order_by()
        .aggregate(**{tab: Count("pk", filter=_inbox_filter(tab)) for tab in INBOX_TABS})
    )
    return {tab: row[tab] or 0 for tab in INBOX_TABS}


def inbox_tasks(user, tab: str) -> QuerySet:
    """One tab of the department inbox: tasks with their case, the earliest deadline (so the
    overdue ones) first. A lead task's deadline is its case's stage deadline (extensions move it)."""
    return (
        _inbox_base(user)
        .filter(_inbox_filter(tab))
        .select_related(
            "department", "case__minor_class__major", "case__grid", "case__community", "case__street"
        )
        .defer(*(f"case__{f}" for f in _ROW_DEFER))
        .order_by("deadline", "id")
    )


# --- the command centre -------------------------------------------------------------------------------


def _on_time_close() -> Q:
    """A closed case none of whose stages ended late (按期结案)."""
    return ~Exists(CaseStage.objects.filter(case=OuterRef("pk"), on_time=False))


def command_figures(user, *, day_start, month_start, now) -> dict:
    """Key figures of today and this month for the cases this person may see, in two queries:
    上报 reported, 立案 registered, 派遣 dispatched (dispatch events, re-dispatches included),
    结案 closed, 按期结案 closed with every stage on time, and 超期 open cases overdue now."""
    base = visible(user, Case).order_by()
    figures = {}
    aggregates = {}
    for period, start in (("today", day_start), ("month", month_start)):
        closed = Q(status=CaseStatus.CLOSED, closed_at__gte=start)
        aggregates[f"{period}_reported"] = Count("pk", filter=Q(created_at__gte=start))
        aggregates[f"{period}_registered"] = Count("pk", filter=Q(registered_at__gte=start))
        aggregates[f"{period}_closed"] = Count("pk", filter=closed)
        aggregates[f"{period}_closed_on_time"] = Count("pk", filter=closed & Q(_on_time_close()))
    aggregates["overdue"] = Count(
        "pk", filter=Q(status__in=OPEN_STATUSES) & (Q(overdue=True) | Q(stage_deadline__lt=now))
    )
    aggregates["open"] = Count("pk", filter=Q(status__in=OPEN_STATUSES))
    row = base.filter(
        Q(created_at__gte=month_start)
        | Q(status__in=OPEN_STATUSES)
        | Q(closed_at__gte=month_start)
        | Q(registered_at__gte=month_start)
    ).aggregate(**aggregates)
    dispatches = CaseEvent.objects.filter(
        action=CaseAction.DISPATCH, at__gte=month_start, case__in=base.values("pk")
    ).aggregate(today=Count("pk", filter=Q(at__gte=day_start)), month=Count("pk"))
    for period in ("today", "month"):
        closed = row[f"{period}_closed"] or 0
        on_time = row[f"{period}_closed_on_time"] or 0
        figures[period] = {
            "reported": row[f"{period}_reported"] or 0,
            "registered": row[f"{period}_registered"] or 0,
            "dispatched": dispatches[period] or 0,
            "closed": closed,
            "closed_on_time": on_time,
            "on_time_rate": (on_time / closed) if closed else None,
        }
    figures["overdue"] = row["overdue"] or 0
    figures["open"] = row["open"] or 0
    return figures


def overdue_by_department(user, *, now, limit: int = 8) -> list[dict]:
    """Lead departments with the most overdue open cases: [{id, name, overdue}], one query."""
    late = Q(status__in=OPEN_STATUSES) & (Q(overdue=True) | Q(stage_deadline__lt=now))
    rows = (
        visible(user, Case)
        .filter(late, lead_department__isnull=False)
        .order_by()
        .values("lead_department_id", "lead_department__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "lead_department__name")[:limit]
    )
    return [
        {"id": r["lead_department_id"], "name": r["lead_department__name"], "overdue": r["n"]} for r in rows
    ]


def recent_events(user, *, limit: int = 20) -> list:
    """The latest case events this person may see, newest first, with the case number (one query)."""
    return list(
        visible(user, CaseEvent)
        .select_related("department")
        .annotate(case_number=F("case__number"), case_status=F("case__status"))
        .order_by("-at", "-id")[:limit]
    )


# --- the inspector's pages --------------------------------------------------------------------------


def inspector_reports(user) -> QuerySet:
    """The cases this person reported, newest first (only those still within their jurisdiction)."""
    return case_list(user).filter(reporter=user).order_by("-created_at", "-id")


def inspector_tasks(user) -> QuerySet:
    """Cases awaiting an inspector's site visit in this person's area: verification (核实) of a
    public report and checking (核查) of handled work; the nearest deadline first."""
    statuses = f"{CaseStatus.VERIFYING},{CaseStatus.TO_CHECK}"
    return case_list(user, status=statuses).order_by("stage_deadline", "id")


# --- the public pages (no login) ------------------------------------------------------------------
#
# Which cases a citizen sees. The public map shows the cases reported by the public, through the
# public report page (source PUBLIC) or an integrating system (OPEN311), as Open311 publishes only
# the cases filed through it: inspectors' and video reports are internal work. A case is looked up
# by its number plus the last four digits of its reporter's phone, which proves the asker is the
# reporter; the 12319 hotline's callers are given their number too, so their cases can be looked up
# (they are not on the map). Nothing personal leaves through these reads: no name, phone, photo,
# free text, person or department of a step.

PUBLIC_MAP_SOURCES = (CaseSource.PUBLIC, CaseSource.OPEN311)
PUBLIC_LOOKUP_SOURCES = (CaseSource.PUBLIC, CaseSource.OPEN311, CaseSource.HOTLINE)
# The steps a reporter sees in the public timeline (requests, co-handling and returns are internal).
PUBLIC_ACTIONS = (
    CaseAction.REPORT,
    CaseAction.ACCEPT,
    CaseAction.VERIFY,
    CaseAction.REGISTER,
    CaseAction.REJECT,
    CaseAction.VOID,
    CaseAction.DUPLICATE,
    CaseAction.DISPATCH,
    CaseAction.SIGN,
    CaseAction.HANDLE,
    CaseAction.CHECK_PASS,
    CaseAction.CHECK_FAIL,
    CaseAction.CLOSE,
    CaseAction.EXTEND_APPROVE,
    CaseAction.SUSPEND_APPROVE,
    CaseAction.WRITE_OFF,
    CaseAction.REOPEN,
)
PUBLIC_MAP_DAYS = 90
PUBLIC_MAP_LIMIT = 2000
PUBLIC_COORD_DECIMALS = 4  # about 10 m: where the problem is, not whose door it is


def _digits(text: str) -> str:
    return "".join(ch for ch in (text or "") if ch.isdigit())


def public_case_lookup(number: str, phone_last4: str) -> Case | None:
    """The case with this number whose reporter's phone ends with these four digits; None for an
    unknown number and for a wrong pair alike (the caller answers both the same way)."""
    from django.utils.crypto import constant_time_compare

    number, last4 = (number or "").strip(), _digits(phone_last4)
    if not number or len(last4) != 4:
        return None
    case = (
        Case.objects.filter(number=number, source__in=PUBLIC_LOOKUP_SOURCES)
        .select_related("minor_class__major", "duplicate_of")
        .only(
            "id",
            "number",
            "status",
            "source",
            "created_at",
            "closed_at",
            "reporter_phone",
            "minor_class__name",
            "minor_class__major__name",
            "duplicate_of__id",
            "duplicate_of__number",
            "duplicate_of__status",
        )
        .first()
    )
    phone = _digits(case.reporter_phone) if case is not None else ""
    if case is None or len(phone) < 4 or not constant_time_compare(phone[-4:], last4):
        return None
    return case


def public_timeline(case: Case) -> list[dict]:
    """The public steps of a case, oldest first: when, which step, the status after it. No person,
    department or note."""
    rows = (
        CaseEvent.objects.filter(case=case, action__in=PUBLIC_ACTIONS)
        .order_by("at", "id")
        .values("at", "action", "to_status")
    )
    return [
        {
            "at": r["at"],
            "action": CaseAction(r["action"]).label,
            "status": CaseStatus(r["to_status"]).label if r["to_status"] in CaseStatus.values else "",
        }
        for r in rows
    ]


def public_map_points(*, status: str = "", at=None) -> list[dict]:
    """Publicly reported cases of the last 90 days for the public map, newest first, at most 2,000:
    an allow-list of fields (number, class, status, rounded position, date) and nothing else.
    `status`: "open", "closed" or one status; empty: all."""
    since = (at or clock.now()) - dt.timedelta(days=PUBLIC_MAP_DAYS)
    qs = Case.objects.filter(source__in=PUBLIC_MAP_SOURCES, created_at__gte=since)
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES | {CaseStatus.SUSPENDED})
    elif status == "closed":
        qs = qs.exclude(status__in=OPEN_STATUSES | {CaseStatus.SUSPENDED})
    elif status:
        if status not in CaseStatus.values:
            raise Invalid("bad_status", f"未知状态 {status} · unknown status")
        qs = qs.filter(status=status)
    rows = qs.order_by("-created_at", "-id").values(
        "number", "status", "lon", "lat", "created_at", "minor_class__name"
    )[:PUBLIC_MAP_LIMIT]
    from django.utils import timezone

    return [
        {
            "number": r["number"],
            "class": r["minor_class__name"],
            "status": r["status"],
            "lon": round(r["lon"], PUBLIC_COORD_DECIMALS),
            "lat": round(r["lat"], PUBLIC_COORD_DECIMALS),
            "created": timezone.localtime(r["created_at"]).date().isoformat(),
        }
        for r in rows
    ]


def public_report_classes(q: str = "") -> QuerySet:
    """The classes a citizen may report on the public page (every active class of the active
    catalogue; the catalogue is public, as on Open311's service list), matching `q` (Chinese,
    pinyin or code)."""
    from chengguan.catalog.models import MinorClass
    from chengguan.catalog.selectors import minor_class_q

    return (
        MinorClass.objects.filter(active=True, major__catalog__active=True)
        .filter(minor_class_q(q))
        .select_related("major")
        .order_by("major__kind", "major__code", "code")
    )


# --- personal data ----------------------------------------------------------------------------------


def reporter_contact(user, pk) -> dict[str, str]:
    """The full name and phone of a case's public reporter, for a person allowed to call them back
    (`cases.reveal_reporter_case`), inside their jurisdiction. Every reveal goes to the audit log (who,
    which case, from where); pages show only the masked forms otherwise (core/masking.py)."""
    from django.core.exceptions import PermissionDenied

    from chengguan.core import audit
    from chengguan.core.models import AuditAction

    case = access(user, Case, pk)
    if not can(user, "reveal_reporter", Case):
        raise PermissionDenied("cases.reveal_reporter_case")
    audit.write(
        AuditAction.VIEW_PERSONAL,
        Case._meta.label,
        case.pk,
        case.number,
        {"fields": ["reporter_name", "reporter_phone"]},
    )
    return {"name": case.reporter_name, "phone": case.reporter_phone}
