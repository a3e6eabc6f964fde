"""Simulate days of cases through the whole loop, so every queue in the demo has content.

Each case is driven through the real services by the demo's personas, on a simulated clock, with
a realistic mix: most close on time; some are rejected, voided, duplicated, co-handled, reworked,
extended, suspended to the ledger, handled late, or still open at every stage.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass, field

import shapely
from django.db import transaction
from django.utils import timezone
from shapely.geometry import shape

from chengguan.cases import jobs, routing, services
from chengguan.cases.choices import CaseSource, CaseStatus
from chengguan.cases.models import Case
from chengguan.catalog.models import MinorClass
from chengguan.core import calendar, clock
from chengguan.core.errors import ServiceError
from chengguan.grid.models import UnitGrid
from chengguan.org.choices import RegionLevel
from chengguan.org.models import Department, Person, Region

log = logging.getLogger("chengguan.demo")

# Frequent problems of a real city (events), with their relative weight.
MIX = [
    ("暴露垃圾", 8),
    ("道路不洁", 6),
    ("店外经营", 6),
    ("占道经营", 5),
    ("非法小广告", 5),
    ("机动车乱停放", 4),
    ("积存垃圾渣土", 3),
    ("私搭乱建", 2),
    ("绿地脏乱", 2),
    ("道路遗撒", 2),
    ("露天烧烤", 2),
    ("工地扬尘", 1),
]


# Reports from citizens carry the reporter's phone: the centre calls back on it, and the reporter
# looks the case up on the public page with its last four digits.
CITIZEN_SOURCES = (CaseSource.PUBLIC, CaseSource.HOTLINE)


def _reporter_phone(n: int, at: dt.datetime) -> str:
    """A made-up mobile number, from the report's minute and street (the random sequence of the
    simulation is left as it was)."""
    return f"139{(int(at.timestamp()) // 60 * 31 + n) % 10**8:08d}"


@dataclass
class SimulationReport:
    cases: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        parts = "，".join(f"{CaseStatus(k).label} {v}" for k, v in sorted(self.by_status.items()))
        return [f"模拟案件 {self.cases} 件：{parts}"]


class _Sim:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.streets = list(Region.objects.filter(level=RegionLevel.STREET).order_by("code"))
        self.people = {p.username: p for p in Person.objects.all()}
        names = [n for n, _w in MIX]
        classes = {
            m.name: m
            for m in MinorClass.objects.filter(
                name__in=names, major__catalog__active=True, major__kind="event"
            )
        }
        self.classes = [(classes[n], w) for n, w in MIX if n in classes]
        self.departments = list(Department.objects.filter(active=True).exclude(kind__in=["command_centre"]))
        self.grids = {
            s.pk: list(UnitGrid.objects.filter(street=s).values_list("geometry", flat=True))
            for s in self.streets
        }

    def who(self, role: str, n: int) -> Person:
        return self.people[f"{role}{n}"]

    def point(self, street) -> tuple[float, float]:
        geom = shape(self.rng.choice(self.grids[street.pk]))
        minx, miny, maxx, maxy = geom.bounds
        for _ in range(20):
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if shapely.contains_xy(geom, x, y):
                return x, y
        p = geom.representative_point()
        return p.x, p.y


def simulate(days: int = 30, *, per_day: int = 12, seed: int = 2026, stdout=None) -> SimulationReport:
    sim = _Sim(seed)
    rng = sim.rng
    report = SimulationReport()
    end = timezone.now()
    start_day = timezone.localdate(end) - dt.timedelta(days=days)
    recent: list[Case] = []
    for d in range(days + 1):
        day = start_day + dt.timedelta(days=d)
        if not calendar.is_workday(day) and rng.random() < 0.6:
            continue  # fewer reports on rest days
        with transaction.atomic():  # a day at a time: one commit (and one delivery task) per day
            _one_day(sim, day, per_day, end, recent, report)
    with transaction.atomic():
        jobs.scan_overdue(end)
    for status in Case.objects.values_list("status", flat=True):
        report.by_status[status] = report.by_status.get(status, 0) + 1
    if stdout:
        for line in report.lines():
            stdout.write(line)
    return report


def _one_day(sim: _Sim, day, per_day: int, end, recent: list, report: SimulationReport) -> None:
    rng = sim.rng
    for _ in range(rng.randint(max(1, per_day - 4), per_day + 4)):
        n = rng.randint(1, len(sim.streets))
        street = sim.streets[n - 1]
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randint(0, 59))))
        if at >= end:
            continue
        minor = rng.choices([c for c, _w in sim.classes], [w for _c, w in sim.classes])[0]
        try:
            with transaction.atomic():  # one case's trouble does not spoil the day
                case = _one_case(sim, n, street, minor, at, end, recent)
        except ServiceError as exc:
            log.warning("simulated case skipped: %s", exc.message)
            continue
        if case is not None:
            recent.append(case)
            recent[:] = recent[-40:]
            report.cases += 1


def _one_case(sim: _Sim, n: int, street, minor, at, end, recent) -> Case | None:
    rng = sim.rng
    source = rng.choices(
        [CaseSource.INSPECTOR, CaseSource.HOTLINE, CaseSource.PUBLIC, CaseSource.VIDEO], [70, 12, 10, 8]
    )[0]
    reporter = sim.who("inspector" if source == CaseSource.INSPECTOR else "operator", n)
    lon, lat = sim.point(street)
    descriptions = {
        "暴露垃圾": "路边发现生活垃圾堆放，约 1 立方米",
        "道路不洁": "路面有明显污渍和杂物",
        "店外经营": "商铺占用人行道摆放货物经营",
        "占道经营": "流动摊贩占道经营水果",
        "非法小广告": "电线杆和墙面张贴小广告多处",
        "机动车乱停放": "机动车停放在人行道上",
    }
    with clock.simulated(at):
        try:
            case, _ = services.case_report(
                reporter,
                services.CaseInput(
                    source=source,
                    minor_class_id=minor.pk,
                    description=descriptions.get(minor.name, f"{minor.name}问题"),
                    lon=lon,
                    lat=lat,
                    address=f"{street.name}{rng.randint(1, 300)}号附近",
                    reporter_name="市民" if source == CaseSource.PUBLIC else "",
                    reporter_phone=_reporter_phone(n, at) if source in CITIZEN_SOURCES else "",
                ),
            )
        except services.Invalid:
            return None

        # Recent cases stop part-way, so every queue has work in it (and some of them run late).
        budget = rng.randint(0, 9) if end - at < dt.timedelta(days=4) and rng.random() < 0.6 else 99

        def step(minutes, fn, *args, **kwargs):
            nonlocal case, budget
            t = clock.now() + dt.timedelta(minutes=minutes)
            budget -= 1
            if t >= end or budget < 0:
                raise _Stop
            clock.set_to(t)
            result = fn(*args, version=case.version, **kwargs)
            case = result if isinstance(result, Case) else Case.objects.get(pk=case.pk)

        try:
            step(rng.uniform(1, 11), services.case_accept, sim.who("operator", n), case.pk)
            if case.status == CaseStatus.VERIFYING:
                step(
                    rng.uniform(20, 90),
                    services.case_verify,
                    sim.who("inspector", n),
                    case.pk,
                    note="现场核实属实",
                )
            roll = rng.random()
            if roll < 0.04:
                step(
                    rng.uniform(5, 40),
                    services.case_reject,
                    sim.who("shiftlead", n),
                    case.pk,
                    reason="不属于城市管理职责范围",
                )
                return case
            same = [
                c
                for c in recent
                if c.minor_class_id == minor.pk
                and c.street_id == street.pk
                and c.status not in (CaseStatus.DUPLICATE,)
            ]
            if roll < 0.09 and same:
                step(
                    rng.uniform(5, 40),
                    services.case_mark_duplicate,
                    sim.who("shiftlead", n),
                    case.pk,
                    original_id=same[-1].pk,
                    note="与已立案件重复",
                )
                return case
            step(rng.uniform(3, 33), services.case_register, sim.who("shiftlead", n), case.pk)
            if 0.09 <= roll < 0.11:  # registered, then found not to be a city-management matter (作废)
                step(
                    10 + roll * 100,  # no new random draw: the rest of the simulation stays the same
                    services.case_void,
                    sim.who("shiftlead", n),
                    case.pk,
                    reason="经核实属于小区物业管理范围，不应立案",
                )
                return case
            co = []
            if rng.random() < 0.12:
                lead = routing.route(case.minor_class, case.street, case.district)
                choices = [
                    d for d in sim.departments if d.kind in ("police", "market", "housing") and d != lead
                ]
                co = [rng.choice(choices).pk]
            step(
                rng.uniform(3, 33),
                services.case_dispatch,
                sim.who("dispatcher", n),
                case.pk,
                cohandler_ids=co,
            )
            lead = case.lead_department
            handler = Person.objects.filter(departments=lead, roles__role="handler").first() or sim.who(
                "handler", n
            )
            step(rng.uniform(10, 90), services.case_sign, handler, case.pk)
            for task in case.tasks.filter(role="co", current=True):
                co_handler = Person.objects.filter(departments=task.department, roles__role="handler").first()
                if co_handler is not None:
                    step(
                        rng.uniform(30, 240),
                        services.cohandler_feedback,
                        co_handler,
                        case.pk,
                        result="已配合处置",
                    )
                else:
                    step(
                        rng.uniform(30, 240),
                        services.cohandler_release,
                        sim.who("dispatcher", n),
                        case.pk,
                        task_id=task.pk,
                        reason="无需协办",
                    )
            if rng.random() < 0.05:
                step(
                    rng.uniform(60, 300),
                    services.case_request_extension,
                    handler,
                    case.pk,
                    amount=2,
                    unit="work_day",
                    reason="需协调施工单位",
                )
                step(
                    rng.uniform(20, 120),
                    services.case_decide_extension,
                    sim.who("shiftlead", n),
                    case.pk,
                    approve=True,
                    note="同意延期",
                )
            if rng.random() < 0.03:
                step(
                    rng.uniform(60, 300),
                    services.case_request_suspension,
                    handler,
                    case.pk,
                    planned_fix_date=timezone.localdate(clock.now()) + dt.timedelta(days=rng.randint(20, 90)),
                    reason="需纳入年度改造计划",
                )
                step(
                    rng.uniform(60, 600),
                    services.case_decide_suspension,
                    sim.who("leader", n),
                    case.pk,
                    approve=True,
                    note="同意挂账",
                )
                return case
            late = rng.random() < 0.12
            limit_h = (case.stage_deadline - clock.now()).total_seconds() / 3600
            minutes = (
                rng.uniform(limit_h * 70, limit_h * 140) if late else rng.uniform(30, max(40, limit_h * 40))
            )
            step(minutes, services.case_handle, handler, case.pk, result="已按要求处置完毕")
            if rng.random() < 0.08:
                step(
                    rng.uniform(20, 55),
                    services.case_check,
                    sim.who("inspector", n),
                    case.pk,
                    passed=False,
                    note="现场核查仍有问题，需返工",
                )
                step(rng.uniform(60, 400), services.case_handle, handler, case.pk, result="已返工处理")
            step(rng.uniform(10, 55), services.case_check, sim.who("inspector", n), case.pk, passed=True)
            step(rng.uniform(5, 50), services.case_close, sim.who("shiftlead", n), case.pk)
        except _Stop:
            pass
    return case


class _Stop(Exception):
    """The simulated step would fall after the present: the case stays where it is."""
