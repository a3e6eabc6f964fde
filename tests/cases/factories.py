"""Build cases in any status through the services (the only way a status changes)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from shapely.geometry import shape

from chengguan.cases import services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case
from chengguan.catalog.models import MinorClass
from chengguan.grid.models import UnitGrid


def point_in(street):
    grid = UnitGrid.objects.filter(street=street, area_m2__gt=9900).order_by("code").first()
    p = shape(grid.geometry).centroid
    return p.x, p.y


def minor(name="暴露垃圾"):
    return MinorClass.objects.get(name=name, major__catalog__active=True)


PATH = [
    CaseStatus.REPORTED,
    CaseStatus.TO_REGISTER,
    CaseStatus.TO_DISPATCH,
    CaseStatus.DISPATCHED,
    CaseStatus.HANDLING,
    CaseStatus.TO_CHECK,
    CaseStatus.TO_CLOSE,
    CaseStatus.CLOSED,
]


def make_case(
    city,
    people,
    status=CaseStatus.REPORTED,
    *,
    cohandler=None,
    source="inspector",
    cls="暴露垃圾",
    description="路边垃圾",
) -> Case:
    """A case in street A at `status`, reported by inspector_a, handled by dept_a."""
    p = people
    if status == CaseStatus.SUSPENDED:
        case = make_case(city, people, CaseStatus.HANDLING, cohandler=cohandler, cls=cls)
        services.case_request_suspension(
            p["handler_a"],
            case.pk,
            version=case.version,
            planned_fix_date=timezone.localdate() + dt.timedelta(days=30),
            reason="需列入改造计划",
        )
        case.refresh_from_db()
        return services.case_decide_suspension(p["shiftlead_a"], case.pk, version=case.version, approve=True)
    lon, lat = point_in(city.street_a)
    reporter = p["inspector_a"] if source == "inspector" else p["operator_a"]
    case, _ = services.case_report(
        reporter,
        services.CaseInput(
            source=source, minor_class_id=minor(cls).pk, description=description, lon=lon, lat=lat
        ),
    )
    if status == CaseStatus.VERIFYING:
        return services.case_accept(p["operator_a"], case.pk, version=case.version)
    steps = {
        CaseStatus.TO_REGISTER: lambda c: services.case_accept(p["operator_a"], c.pk, version=c.version),
        CaseStatus.TO_DISPATCH: lambda c: services.case_register(p["shiftlead_a"], c.pk, version=c.version),
        CaseStatus.DISPATCHED: lambda c: services.case_dispatch(
            p["dispatcher_a"],
            c.pk,
            version=c.version,
            department_id=city.dept_a.pk,
            cohandler_ids=[cohandler.pk] if cohandler else [],
        ),
        CaseStatus.HANDLING: lambda c: services.case_sign(p["handler_a"], c.pk, version=c.version),
        CaseStatus.TO_CHECK: lambda c: services.case_handle(
            p["handler_a"], c.pk, version=c.version, result="已处理"
        ),
        CaseStatus.TO_CLOSE: lambda c: services.case_check(
            p["inspector_a"], c.pk, version=c.version, passed=True
        ),
        CaseStatus.CLOSED: lambda c: services.case_close(p["shiftlead_a"], c.pk, version=c.version),
    }
    for step in PATH[1 : PATH.index(status) + 1]:
        if step == CaseStatus.TO_CHECK and cohandler is not None:
            raise ValueError("feed back the co-handler first")
        case = steps[step](case)
    return case
