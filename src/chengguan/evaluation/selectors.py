"""Reads: the indicators of every object of a type for a period (from the per-day aggregates),
rankings, published snapshots, and the cases behind a figure. Objects and cases reach a person
only through the permission chokepoint."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from chengguan.cases.models import Case, CaseEvent, CaseTask
from chengguan.core import clock
from chengguan.core.errors import Invalid
from chengguan.core.permissions import access, visible
from chengguan.grid.models import UnitGrid
from chengguan.org.choices import RegionLevel, Role
from chengguan.org.models import Department, Person, Region

from . import counters, scoring
from .choices import PERSON_TYPES, CounterKind, ObjectType, Span
from .indicators import AREA, INDICATORS, Term, indicator
from .models import DailyCounter, DailyGauge, Rollup, RollupCounter, SettledDay, Snapshot
from .periods import Period

ROLE_OF = {
    ObjectType.INSPECTOR: Role.INSPECTOR,
    ObjectType.OPERATOR: Role.OPERATOR,
    ObjectType.SHIFT_LEADER: Role.SHIFT_LEADER,
    ObjectType.DISPATCHER: Role.DISPATCHER,
}
KIND_OF = {
    **{t: CounterKind.PERSON for t in PERSON_TYPES},
    ObjectType.DEPARTMENT: CounterKind.DEPARTMENT,
    ObjectType.GRID: CounterKind.GRID,
    ObjectType.COMMUNITY: CounterKind.COMMUNITY,
    ObjectType.STREET: CounterKind.STREET,
    ObjectType.DISTRICT: CounterKind.DISTRICT,
}
SIX = Decimal("0.000001")


@dataclass
class Figure:
    numerator: int
    denominator: int | None = None

    @property
    def value(self) -> Decimal | None:
        if self.denominator is None:
            return Decimal(self.numerator)
        if not self.denominator:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(SIX)


@dataclass
class ObjectFigures:
    object_type: str
    object_id: int
    name: str
    figures: dict[str, Figure] = field(default_factory=dict)
    score: Decimal | None = None
    grade: str = ""
    rank: int | None = None
    version: int | None = None  # the snapshot version when published, None when live


def check_object_type(object_type: str) -> str:
    if object_type not in ObjectType.values:
        raise Invalid(
            "bad_object_type",
            _("未知评价对象 · unknown object type"),
            detail={"allowed": list(ObjectType.values)},
        )
    return object_type


# --- the evaluated objects ---------------------------------------------------------------------------


def _object_model(object_type: str):
    if object_type in PERSON_TYPES:
        return Person
    if object_type == ObjectType.DEPARTMENT:
        return Department
    if object_type == ObjectType.GRID:
        return UnitGrid
    return Region


def _object_query(object_type: str, user=None):
    """The objects of a type, in the person's jurisdiction when a user is given."""
    model = _object_model(object_type)
    qs = visible(user, model) if user is not None else model.objects.all()
    if object_type in PERSON_TYPES:
        return qs.filter(roles__role=ROLE_OF[object_type], is_active=True).distinct()
    if object_type == ObjectType.DEPARTMENT:
        return qs.filter(active=True)
    if object_type == ObjectType.GRID:
        return qs
    return qs.filter(level=object_type)


def objects_of(object_type: str, user=None) -> list[tuple[int, str]]:
    """(id, name) of every object of the type, in the person's jurisdiction when a user is given."""
    qs = _object_query(object_type, user).order_by("pk")
    if object_type in PERSON_TYPES:
        return [(p.pk, str(p)) for p in qs.only("id", "username", "full_name")]
    return list(qs.values_list("pk", "code" if object_type == ObjectType.GRID else "name"))


def object_ids(object_type: str, user=None):
    """The ids of the same objects as a query, to filter the aggregates by in the database: a
    subquery costs nothing to build, where a list of thousands of ids (every grid) takes the ORM
    tens of milliseconds per query to compile."""
    return _object_query(object_type, user).values("pk")


def access_object(user, object_type: str, object_id: int):
    model = _object_model(object_type)
    obj = access(user, model, object_id)
    if object_type in PERSON_TYPES and not obj.roles.filter(role=ROLE_OF[object_type]).exists():
        raise Invalid("not_that_role", _("该人员不担任此角色 · the person does not hold this role"))
    if model is Region and obj.level != object_type:
        raise Invalid("not_that_level", _("区域层级不符 · the region is not of this level"))
    return obj


def person_areas(person_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Each person's area as (kind, region id): their top-most regions (a region under another of
    theirs is already counted), or every district for a person acting for the whole city."""
    rows = defaultdict(list)
    for pid, rid, level, path in Person.regions.through.objects.filter(person_id__in=person_ids).values_list(
        "person_id", "region_id", "region__level", "region__path"
    ):
        rows[pid].append((rid, level, path))
    citywide = set(Person.objects.filter(pk__in=person_ids, citywide=True).values_list("pk", flat=True))
    districts = None
    out = {}
    for pid in person_ids:
        if pid in citywide:
            if districts is None:
                districts = list(
                    Region.objects.filter(level=RegionLevel.DISTRICT).values_list("pk", flat=True)
                )
            out[pid] = [(CounterKind.DISTRICT, d) for d in districts]
            continue
        mine = rows.get(pid, [])
        paths = [p for _, _, p in mine]
        out[pid] = [
            (level, rid)
            for rid, level, path in mine
            if not any(other != path and path.startswith(other) for other in paths)
        ]
    return out


# --- reading the aggregates ------------------------------------------------------------------------------


def _id_set(ids) -> set[int]:
    return set(ids.values_list("pk", flat=True)) if isinstance(ids, QuerySet) else set(ids)


def cover(period: Period) -> tuple[list[int], list[tuple[dt.date, dt.date]]]:
    """How a period's counts are read: the rolled-up blocks inside it, months before dekads, that
    cover its days whole (Rollup ids), and the runs of days left over (read from the day rows). A
    month is one block; 2025-09-01..2025-11-29 is two months, two dekads and nine days."""
    found = {
        (span, first): (pk, last)
        for pk, span, first, last in Rollup.objects.filter(
            first_day__gte=period.first, last_day__lte=period.last
        ).values_list("pk", "span", "first_day", "last_day")
    }
    rollups: list[int] = []
    runs: list[tuple[dt.date, dt.date]] = []
    day, one = period.first, dt.timedelta(days=1)
    while day <= period.last:
        block = found.get((Span.MONTH, day)) or found.get((Span.DEKAD, day))
        if block is not None:
            rollups.append(block[0])
            day = block[1] + one
            continue
        if runs and runs[-1][1] + one == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
        day += one
    return rollups, runs


def read_counts(kind: str, period: Period, ids=None, *, covered=None) -> dict[int, Counter]:
    """Each object's counters summed over the period: the roll-ups of the blocks it covers whole
    plus the day rows of the rest (`covered`: the period's cover(), when the caller has it)."""
    rollups, runs = covered if covered is not None else cover(period)
    parts = []
    if rollups:
        parts.append(RollupCounter.objects.filter(kind=kind, rollup_id__in=rollups))
    if runs:
        days = Q()
        for first, last in runs:
            days |= Q(day__gte=first, day__lte=last)
        parts.append(DailyCounter.objects.filter(days, kind=kind))
    out: dict[int, Counter] = defaultdict(Counter)
    for qs in parts:
        if ids is not None:
            qs = qs.filter(object_id__in=ids)
        summed = (
            qs.values("object_id", "counter").annotate(n=Sum("n")).values_list("object_id", "counter", "n")
        )
        for pk, counter, n in _raw_rows(summed):
            out[pk][counter] += n
    return out


def _raw_rows(qs: QuerySet) -> list[tuple]:
    """The rows of a values_list() query of plain columns (integers, text) as the driver returns
    them: the ORM's per-row iteration costs more than the query for every grid's counters (16,000
    rows a month)."""
    try:
        sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    except EmptyResultSet:  # e.g. object_id__in=[]: the ORM would answer no rows without asking
        return []
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def gauge_instant(period: Period, now: dt.datetime | None = None) -> dt.datetime:
    """The instant a period's gauges are read at: its end, or now for a period not yet over."""
    now = now or clock.now()
    return min(counters.day_end(period.last), now)


class GaugeReader:
    """Open-and-overdue counts at the end of a period: the settled gauge of its last day, or,
    for a period not over (or a day not yet settled), computed from the stages at that instant."""

    def __init__(self, period: Period, now: dt.datetime | None = None):
        self.period = period
        self.at = gauge_instant(period, now)
        self.settled = (
            self.at == counters.day_end(period.last) and SettledDay.objects.filter(day=period.last).exists()
        )
        self._live: dict[str, dict[int, Counter]] | None = None

    def read(self, kind: str, ids=None) -> dict[int, Counter]:
        if self.settled:
            qs = DailyGauge.objects.filter(kind=kind, day=self.period.last)
            if ids is not None:
                qs = qs.filter(object_id__in=ids)
            out: dict[int, Counter] = defaultdict(Counter)
            for pk, counter, n in _raw_rows(qs.values_list("object_id", "counter", "n")):
                out[pk][counter] += n
            return out
        if self._live is None:
            live: dict[str, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
            for k, pk, counter, _case in counters.gauge_rows(self.at):
                live[k][pk][counter] += 1
            self._live = live
        found = self._live.get(kind, {})
        return found if ids is None else {pk: found[pk] for pk in _id_set(ids) if pk in found}


_NONE: dict = {}
OWN_COUNT, OWN_GAUGE, AREA_ALL = 0, 1, 2  # where a term is read: see compute()


def _plan(terms: tuple[Term, ...]) -> tuple[tuple[int, str, int], ...]:
    """A term list as (source, counter, sign), looked up without building a Counter per object."""
    return tuple(
        (AREA_ALL if t.scope == AREA else OWN_GAUGE if t.gauge else OWN_COUNT, t.counter, t.sign)
        for t in terms
    )


def compute(
    object_type: str, period: Period, objects: list[tuple[int, str]], *, ids=None, now=None, gauges=None
) -> list[ObjectFigures]:
    """The indicators of the given objects for the period, from the aggregates. `ids`, when
    given, is the same objects as a query (`object_ids`), which filters faster than their list."""
    kind = KIND_OF[object_type]
    if ids is None:
        ids = [pk for pk, _ in objects]
    gauges = gauges or GaugeReader(period, now)
    covered = cover(period)
    own_counts = read_counts(kind, period, ids, covered=covered)
    own_gauges = gauges.read(kind, ids)
    areas: dict[int, Counter] = {}
    inds = INDICATORS[object_type]
    if object_type in PERSON_TYPES and any(t.scope == AREA for i in inds for t in i.terms()):
        regions = person_areas([pk for pk, _ in objects])
        by_kind: dict[str, set[int]] = defaultdict(set)
        for places in regions.values():
            for k, rid in places:
                by_kind[k].add(rid)
        region_counts = {k: read_counts(k, period, rids, covered=covered) for k, rids in by_kind.items()}
        region_gauges = {k: gauges.read(k, rids) for k, rids in by_kind.items()}
        for pid, places in regions.items():
            total = Counter()
            for k, rid in places:
                total.update(region_counts[k].get(rid, Counter()))
                total.update(region_gauges[k].get(rid, Counter()))
            areas[pid] = total
    plans = [
        (i.code, _plan(i.numerator), None if i.denominator is None else _plan(i.denominator)) for i in inds
    ]
    out = []
    for pk, name in objects:  # every grid of a city: plain loops, no call per term
        sources = (own_counts.get(pk, _NONE), own_gauges.get(pk, _NONE), areas.get(pk, _NONE))
        figures = {}
        for code, num, den in plans:
            n = 0
            for source, counter, sign in num:
                n += sign * sources[source].get(counter, 0)
            if den is None:
                figures[code] = Figure(n)
                continue
            d = 0
            for source, counter, sign in den:
                d += sign * sources[source].get(counter, 0)
            figures[code] = Figure(n, d)
        out.append(ObjectFigures(object_type, pk, name, figures))
    return out


def score(rows: list[ObjectFigures], object_type: str, period: Period, *, ids=None) -> dict:
    """Composite scores, grades and ranks, with the configuration in force on the period's first
    day; returns which records were used. `ids`: the rows' objects as a query, as for compute()."""
    scheme = scoring.scheme_for(object_type, period.first)
    scale = scoring.scale_for(period.first)
    scorer = scoring.Scorer(scheme, scale)
    if ids is None:
        ids = [r.object_id for r in rows]
    extras = scoring.extra_components(object_type, period.first, period.last, ids)
    for row in rows:
        row.score = scoring.with_extras(scorer.composite(row.figures), row.object_id, extras)
        row.grade = scorer.grade(row.score)
    scoring.assign_ranks(rows)
    return {
        **({"extras": scoring.extras_config(extras)} if extras else {}),
        "scheme": scheme.pk if scheme else None,
        "scheme_effective_from": scheme.effective_from.isoformat() if scheme else None,
        "grade_scale": scale.pk if scale else None,
        "grade_scale_effective_from": scale.effective_from.isoformat() if scale else None,
    }


def live_figures(object_type: str, period: Period, *, user=None, now=None) -> list[ObjectFigures]:
    ids = object_ids(object_type, user)
    rows = compute(object_type, period, objects_of(object_type, user), ids=ids, now=now)
    score(rows, object_type, period, ids=ids)
    return rows


# --- published snapshots ---------------------------------------------------------------------------


def current_snapshot(period: Period) -> Snapshot | None:
    return Snapshot.objects.filter(period=period.key, current=True).first()


def snapshot_figures(snapshot: Snapshot, object_type: str, ids=None) -> list[ObjectFigures]:
    scores = snapshot.scores.filter(object_type=object_type)
    figures = snapshot.figures.filter(object_type=object_type)
    if ids is not None:
        scores, figures = scores.filter(object_id__in=ids), figures.filter(object_id__in=ids)
    rows = {
        s.object_id: ObjectFigures(
            object_type,
            s.object_id,
            s.object_name,
            score=s.score,
            grade=s.grade,
            rank=s.rank,
            version=snapshot.version,
        )
        for s in scores
    }
    for pk, indicator_code, numerator, denominator in figures.values_list(
        "object_id", "indicator", "numerator", "denominator"
    ):
        if pk in rows:
            rows[pk].figures[indicator_code] = Figure(numerator, denominator)
    return [rows[k] for k in sorted(rows)]


def period_figures(
    user, object_type: str, period: Period, *, live: bool = False, now=None
) -> tuple[list[ObjectFigures], Snapshot | None]:
    """The figures a person sees: the published version when there is one (unless live is asked),
    otherwise computed now from the aggregates; only objects in their jurisdiction."""
    check_object_type(object_type)
    snapshot = None if live else current_snapshot(period)
    if snapshot is not None:
        return snapshot_figures(snapshot, object_type, object_ids(object_type, user)), snapshot
    return live_figures(object_type, period, user=user, now=now), None


def ranking(user, object_type: str, period: Period, *, live: bool = False, now=None):
    rows, snapshot = period_figures(user, object_type, period, live=live, now=now)
    ranked = sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.object_id))
    return ranked, snapshot


# --- drill-down: the cases behind a figure ----------------------------------------------------------------


def _event_cases(kind: str, pk: int, period: Period) -> Q:
    """The cases whose events in the period may count for the object."""
    if kind in (CounterKind.GRID, CounterKind.COMMUNITY, CounterKind.STREET, CounterKind.DISTRICT):
        return Q(case__in=Case.objects.filter(**{f"{kind}_id": pk}).values("pk"))
    if kind == CounterKind.DEPARTMENT:
        return Q(case__in=CaseTask.objects.filter(department_id=pk).values("case_id"))
    return Q(case__in=CaseEvent.objects.filter(actor_id=pk).values("case_id")) | Q(
        case__in=Case.objects.filter(reporter_id=pk).values("pk")
    )


def term_cases(term: Term, places: list[tuple[str, int]], period: Period, gauge_at: dt.datetime) -> Counter:
    """case id → how many times it counts in the term, over the given (kind, object) places."""
    found: Counter = Counter()
    for kind, pk in places:
        if term.gauge:
            for k, obj, counter, case_id in counters.gauge_rows(gauge_at):
                if k == kind and obj == pk and counter == term.counter:
                    found[case_id] += 1
            continue
        q = Q(at__gte=counters.midnight(period.first), at__lt=counters.day_end(period.last)) & _event_cases(
            kind, pk, period
        )
        for _day, k, obj, counter, case_id in counters.tally_event_query(q):
            if k == kind and obj == pk and counter == term.counter:
                found[case_id] += 1
    return found


def drilldown(user, object_type: str, object_id: int, period: Period, code: str, *, now=None) -> dict:
    """Every term of an indicator with the cases that make it (each with how many times it
    counts), computed from the case rows with the very rules the aggregates were built with.
    Cases outside the person's jurisdiction are counted but not listed."""
    check_object_type(object_type)
    ind = indicator(object_type, code)
    if ind is None:
        raise Invalid("bad_indicator", _("该评价对象没有此指标 · no such indicator for this object type"))
    access_object(user, object_type, object_id)
    kind = KIND_OF[object_type]
    own = [(kind, object_id)]
    area = person_areas([object_id]).get(object_id, []) if object_type in PERSON_TYPES else []
    at = gauge_instant(period, now)
    parts = {"numerator": ind.numerator, "denominator": ind.denominator or ()}
    per_term = []
    all_ids: set[int] = set()
    for part, terms in parts.items():
        for term in terms:
            found = term_cases(term, area if term.scope == AREA else own, period, at)
            all_ids |= set(found)
            per_term.append((part, term, found))
    shown = dict(visible(user, Case).filter(pk__in=all_ids).values_list("pk", "number"))
    out = {"numerator": [], "denominator": []}
    for part, term, found in per_term:
        out[part].append(
            {
                "counter": term.counter,
                "scope": term.scope,
                "sign": term.sign,
                "gauge": term.gauge,
                "total": sum(found.values()),
                "cases": [
                    {"id": pk, "number": shown[pk], "n": n} for pk, n in sorted(found.items()) if pk in shown
                ],
                "hidden": sum(n for pk, n in found.items() if pk not in shown),
            }
        )
    num = sum(t["sign"] * t["total"] for t in out["numerator"])
    den = sum(t["sign"] * t["total"] for t in out["denominator"]) if ind.denominator else None
    return {
        "indicator": ind.code,
        "label": str(ind.label),
        "numerator": num,
        "denominator": den,
        "terms": out,
    }


# --- pages: drill-down by region, one object, trends -------------------------------------------------------

CHILD_TYPE = {
    ObjectType.DISTRICT: ObjectType.STREET,
    ObjectType.STREET: ObjectType.COMMUNITY,
    ObjectType.COMMUNITY: ObjectType.GRID,
}


def child_ids(user, object_type: str, parent_id: int) -> list[int]:
    """The ids of the regions (or grids) directly below a region that the person may see."""
    child = CHILD_TYPE.get(object_type)
    if child is None:
        return []
    if child == ObjectType.GRID:
        return list(visible(user, UnitGrid).filter(community_id=parent_id).values_list("pk", flat=True))
    return list(visible(user, Region).filter(level=child, parent_id=parent_id).values_list("pk", flat=True))


def region_parents(obj) -> list[tuple[str, int, str]]:
    """(object type, id, name) of the regions above a region or grid, top first."""
    out = []
    if isinstance(obj, UnitGrid):
        region = Region.objects.filter(pk=obj.community_id).first()
    else:
        region = obj.parent
    while region is not None:
        out.append((region.level, region.pk, region.name))
        region = region.parent
    return list(reversed(out))


def object_trend(
    user, object_type: str, object_id: int, last: Period, *, months: int = 12, now=None
) -> list[tuple[Period, ObjectFigures, Snapshot | None]]:
    """The object's figures month by month up to the month of `last` (published months from their
    current snapshot, the others live), oldest first; months not begun yet are left out."""
    from .periods import month_of

    obj = access_object(user, object_type, object_id)
    name = str(obj) if object_type in PERSON_TYPES else getattr(obj, "name", None) or obj.code
    today = counters.local_day(now or clock.now())
    periods = []
    month = month_of(last.last)
    for _i in range(months):
        if month.first <= today:
            periods.append(month)
        month = month_of(month.first - dt.timedelta(days=1))
    published = {
        s.period: s for s in Snapshot.objects.filter(period__in=[p.key for p in periods], current=True)
    }
    out = []
    for period in reversed(periods):
        snapshot = published.get(period.key)
        if snapshot is not None:
            rows = snapshot_figures(snapshot, object_type, [object_id])
        else:
            rows = compute(object_type, period, [(object_id, name)], now=now)
            score(rows, object_type, period)
            for row in rows:
                row.rank = None  # a rank among one object means nothing
        if rows:
            out.append((period, rows[0], snapshot))
    return out
