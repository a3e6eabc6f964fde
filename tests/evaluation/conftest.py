"""Drive hand-built cases through the real workflow services on a frozen clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from chengguan.cases import services
from chengguan.evaluation import services as evaluation
from tests.cases.factories import minor, point_in

CST = ZoneInfo("Asia/Shanghai")
MINUTE = dt.timedelta(minutes=1)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)


class Driver:
    """One case at a time: `step(when, action, **kw)` moves the frozen clock and calls the service
    as the persona whose role the action needs (street A, department A unless told)."""

    def __init__(self, city, people, traveller):
        self.city, self.p, self.clock = city, people, traveller

    def report(self, when, *, source="inspector", street=None):
        self.clock.move_to(when)
        lon, lat = point_in(street or self.city.street_a)
        reporter = self.p["inspector_a"] if source == "inspector" else self.p["operator_a"]
        case, _ = services.case_report(
            reporter,
            services.CaseInput(
                source=source, minor_class_id=minor().pk, description="路边垃圾", lon=lon, lat=lat
            ),
        )
        return case

    def step(self, case, when, action, actor=None, **kw):
        self.clock.move_to(when)
        p = self.p
        calls = {
            "accept": (services.case_accept, "operator_a"),
            "verify": (services.case_verify, "inspector_a"),
            "register": (services.case_register, "shiftlead_a"),
            "void": (services.case_void, "shiftlead_a"),
            "dispatch": (services.case_dispatch, "dispatcher_a"),
            "sign": (services.case_sign, "handler_a"),
            "return": (services.case_return, "handler_a"),
            "handle": (services.case_handle, "handler_a"),
            "check": (services.case_check, "inspector_a"),
            "close": (services.case_close, "shiftlead_a"),
            "reopen": (services.case_reopen, "shiftlead_a"),
            "write_off": (services.case_write_off, "shiftlead_a"),
            "co_sign": (services.cohandler_sign, "handler_b"),
            "co_feedback": (services.cohandler_feedback, "handler_b"),
            "co_release": (services.cohandler_release, "dispatcher_a"),
            "extend": (services.case_request_extension, "handler_a"),
            "extend_decide": (services.case_decide_extension, "shiftlead_a"),
            "suspend": (services.case_request_suspension, "handler_a"),
            "suspend_decide": (services.case_decide_suspension, "shiftlead_a"),
        }
        fn, persona = calls[action]
        defaults = {
            "dispatch": {"department_id": self.city.dept_a.pk},
            "handle": {"result": "已处理"},
            "co_feedback": {"result": "已配合"},
            "return": {"reason": "非本部门职责"},
            "void": {"reason": "经核实不属于城市管理问题"},
            "reopen": {"reason": "群众再次反映"},
            "write_off": {"note": "已整改"},
            "co_release": {"reason": "无需协办"},
            "extend": {"amount": 1, "unit": "work_day", "reason": "需要协调"},
            "extend_decide": {"approve": True},
            "suspend": {"planned_fix_date": when.date() + dt.timedelta(days=60), "reason": "列入计划"},
            "suspend_decide": {"approve": True},
        }.get(action, {})
        fn(actor or p[persona], case.pk, version=case.version, **{**defaults, **kw})
        case.refresh_from_db()
        return case

    def through(self, case, steps):
        """Run (when, action[, kwargs]) steps; `when` may be "deadline" (exactly at the current
        stage's deadline) or "late" (one minute after it)."""
        for item in steps:
            when, action, *rest = item
            if when == "deadline":
                when = case.stage_deadline
            elif when == "late":
                when = case.stage_deadline + MINUTE
            case = self.step(case, when, action, **(rest[0] if rest else {}))
        return case


@pytest.fixture
def drive(city, people):
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False) as traveller:
        yield Driver(city, people, traveller)


def settle(first: dt.date, last: dt.date, now=None):
    """Settle every day of a range (as the job does once each is over)."""
    now = now or at(2027, 1, 1)
    day = first
    while day <= last:
        evaluation.settle_day(day, now)
        day += dt.timedelta(days=1)
