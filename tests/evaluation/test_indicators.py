"""Every indicator on hand-built cases with known answers, driven through the real workflow
services on a frozen clock (March 2026 unless told; 暴露垃圾: accept 10 min, register and
dispatch 30 min, handle 1 working day = 7 working hours, check and close 1 working hour)."""

import datetime as dt

import pytest

from chengguan.evaluation import selectors
from chengguan.evaluation.models import DailyGauge
from chengguan.evaluation.periods import parse_period

from .conftest import MINUTE, at, settle

pytestmark = pytest.mark.django_db
D = dt.date


def figures(object_type, period, pk):
    """{indicator: (numerator, denominator)} of one object, read from the aggregates."""
    rows = selectors.compute(object_type, parse_period(period), [(pk, "")])
    return {code: (f.numerator, f.denominator) for code, f in rows[0].figures.items()}


def test_at_the_deadline_is_on_time_and_a_minute_after_is_late(city, people, drive):
    steps = [
        ("deadline", "accept"),
        ("deadline", "register"),
        ("deadline", "dispatch"),
        ("deadline", "sign"),
        ("deadline", "handle"),
        ("deadline", "check", {"passed": True}),
        ("deadline", "close"),
    ]
    on_time = drive.through(drive.report(at(2026, 3, 3, 9, 0)), steps)
    late = drive.through(
        drive.report(at(2026, 3, 3, 9, 0)),
        [("late" if w == "deadline" and a != "sign" else w, a, *r) for w, a, *r in steps],
    )
    assert on_time.status == late.status == "closed"
    # Dispatched at 10:10 on Tuesday 3 March (9:00 + 10 + 30 + 30 minutes): due 1 working day later.
    assert on_time.stages.get(stage="handle").deadline == at(2026, 3, 4, 10, 10)
    settle(D(2026, 3, 1), D(2026, 3, 31))
    drive.clock.move_to(at(2026, 4, 15))
    p = people
    assert figures("inspector", "2026-03", p["inspector_a"].pk) == {
        "valid_report_rate": (2, 2),
        "missed_report_rate": (0, 2),
        "verify_on_time_rate": (0, 0),
        "check_on_time_rate": (1, 2),
    }
    assert figures("operator", "2026-03", p["operator_a"].pk) == {
        "accepted": (2, None),
        "accept_on_time_rate": (1, 2),
    }
    assert figures("shift_leader", "2026-03", p["shiftlead_a"].pk) == {
        "register_on_time_rate": (1, 2),
        "register_accuracy_rate": (2, 2),
        "close_on_time_rate": (1, 2),
    }
    assert figures("dispatcher", "2026-03", p["dispatcher_a"].pk) == {
        "dispatched": (2, None),
        "dispatch_on_time_rate": (1, 2),
        "dispatch_accuracy_rate": (2, 2),
    }
    assert figures("department", "2026-03", city.dept_a.pk) == {
        "assigned": (2, None),
        "handle_rate": (2, 2),
        "handle_on_time_rate": (1, 2),
        "rework_rate": (0, 2),
        "close_rate": (2, 2),
        "close_on_time_rate": (1, 2),
        "extended": (0, None),
        "suspended": (0, None),
    }
    region = {
        "supervision_rate": (2, 2),
        "registered": (2, None),
        "close_rate": (2, 2),
        "close_on_time_rate": (1, 2),
    }
    assert figures("street", "2026-03", city.street_a.pk) == region
    assert figures("district", "2026-03", city.district.pk) == region
    assert figures("community", "2026-03", on_time.community_id)["close_on_time_rate"] == (1, 2)
    assert figures("grid", "2026-03", on_time.grid_id)["registered"][0] == (
        1 if on_time.grid_id != late.grid_id else 2
    )
    assert figures("street", "2026-03", city.street_b.pk)["close_rate"] == (0, 0)
    # Value: a share; nothing to count: no value.
    row = selectors.compute("department", parse_period("2026-03"), [(city.dept_a.pk, "")])[0]
    assert row.figures["handle_on_time_rate"].value == pytest.approx(0.5)
    assert (
        selectors.compute("street", parse_period("2026-03"), [(city.street_b.pk, "")])[0]
        .figures["close_rate"]
        .value
        is None
    )
    # Any period is a sum of days: the week, a custom range, the quarter.
    assert figures("department", "2026-03-02..2026-03-08", city.dept_a.pk)["handle_on_time_rate"] == (1, 2)
    assert figures("department", "2026-Q1", city.dept_a.pk)["assigned"] == (2, None)
    assert figures("department", "2026-03-03", city.dept_a.pk)["assigned"] == (2, None)
    assert figures("department", "2026-02", city.dept_a.pk)["assigned"] == (0, None)


def test_across_national_day_and_spanning_two_months(city, people, drive):
    case = drive.report(at(2026, 9, 30, 9, 0))
    case = drive.through(
        case,
        [
            (at(2026, 9, 30, 9, 5), "accept"),
            (at(2026, 9, 30, 9, 35), "register"),
            (at(2026, 9, 30, 10, 0), "dispatch"),
            (at(2026, 9, 30, 10, 20), "sign"),
        ],
    )
    # 5.5 working hours on 30 September, the holiday 1–7 October, 1.5 hours on 8 October.
    assert case.stage_deadline == at(2026, 10, 8, 10, 0)
    case = drive.through(
        case,
        [
            (at(2026, 10, 8, 9, 59), "handle"),
            (at(2026, 10, 8, 10, 30), "check", {"passed": True}),
            (at(2026, 10, 8, 11, 0), "close"),
        ],
    )
    settle(D(2026, 9, 28), D(2026, 10, 10))
    drive.clock.move_to(at(2026, 11, 2))
    dept, street = city.dept_a.pk, city.street_a.pk
    september, october = figures("department", "2026-09", dept), figures("department", "2026-10", dept)
    assert september["assigned"] == (1, None) and september["handle_on_time_rate"] == (0, 0)  # not yet due
    assert october["assigned"] == (0, None)
    assert october["handle_on_time_rate"] == (1, 1)  # on time only because the holiday is not counted
    assert october["close_on_time_rate"] == (1, 1)
    assert figures("street", "2026-09", street)["registered"] == (1, None)
    assert figures("street", "2026-09", street)["close_rate"] == (0, 0)
    assert figures("street", "2026-10", street)["close_on_time_rate"] == (1, 1)
    both = figures("street", "2026-09-01..2026-10-31", street)
    assert both["registered"] == (1, None) and both["close_on_time_rate"] == (1, 1)


def _to_handling(drive, when):
    case = drive.report(when)
    return drive.through(case, [(when, "accept"), (when, "register"), (when, "dispatch"), (when, "sign")])


def test_open_overdue_cases_count_in_the_denominator_at_period_end(city, drive):
    case = _to_handling(drive, at(2026, 3, 30, 10, 0))  # due 31 March 10:00, not handled in March
    drive.through(case, [(at(2026, 4, 2, 9, 0), "handle")])
    settle(D(2026, 3, 29), D(2026, 4, 3))
    drive.clock.move_to(at(2026, 5, 1))
    march = figures("department", "2026-03", city.dept_a.pk)
    assert march["handle_rate"] == (0, 1) and march["handle_on_time_rate"] == (0, 1)
    assert march["close_rate"] == (0, 1)
    assert figures("street", "2026-03", city.street_a.pk)["close_rate"] == (0, 1)
    april = figures("department", "2026-04", city.dept_a.pk)
    assert april["handle_rate"] == (1, 1) and april["handle_on_time_rate"] == (0, 1)
    # On 30 March (before the deadline) it was not overdue.
    assert figures("department", "2026-03-30", city.dept_a.pk)["handle_rate"] == (0, 0)


def test_the_current_period_counts_what_is_overdue_now(city, drive):
    case = _to_handling(drive, at(2026, 3, 30, 10, 0))
    drive.clock.move_to(at(2026, 3, 31, 10, 0))  # exactly at the deadline: not yet overdue
    assert figures("department", "2026-03", city.dept_a.pk)["handle_rate"] == (0, 0)
    drive.clock.move_to(at(2026, 3, 31, 10, 0) + MINUTE)
    assert figures("department", "2026-03", city.dept_a.pk)["handle_rate"] == (0, 1)
    assert case.pk


def test_rework(city, people, drive):
    case = _to_handling(drive, at(2026, 3, 10, 10, 0))
    case = drive.through(
        case,
        [
            (at(2026, 3, 10, 11, 0), "handle"),
            (at(2026, 3, 10, 11, 30), "check", {"passed": False, "note": "仍有残留"}),
            ("late", "handle"),
            ("deadline", "check", {"passed": True}),
            ("deadline", "close"),
        ],
    )
    assert case.rework_count == 1
    settle(D(2026, 3, 9), D(2026, 3, 13))
    drive.clock.move_to(at(2026, 4, 1))
    dept = figures("department", "2026-03", city.dept_a.pk)
    assert dept["handle_rate"] == (2, 2)  # each handling pass counts
    assert dept["handle_on_time_rate"] == (1, 2)
    assert dept["rework_rate"] == (1, 2)
    assert dept["close_on_time_rate"] == (0, 1)  # the rework pass was late
    assert figures("street", "2026-03", city.street_a.pk)["close_on_time_rate"] == (0, 1)
    assert figures("inspector", "2026-03", people["inspector_a"].pk)["check_on_time_rate"] == (2, 2)


def test_extension_approved_in_time_and_after_the_deadline(city, drive):
    first = _to_handling(drive, at(2026, 3, 17, 10, 0))  # due 18 March 10:00
    first = drive.through(
        first,
        [
            (at(2026, 3, 18, 9, 0), "extend"),
            (at(2026, 3, 18, 9, 30), "extend_decide"),
        ],
    )
    assert first.stage_deadline == at(2026, 3, 19, 10, 0)
    drive.through(first, [(at(2026, 3, 19, 9, 0), "handle")])
    second = _to_handling(drive, at(2026, 3, 24, 10, 0))  # due 25 March 10:00
    second = drive.through(
        second,
        [
            (at(2026, 3, 25, 9, 0), "extend", {"amount": 3}),
            (at(2026, 3, 26, 9, 0), "extend_decide"),  # approved after the deadline had passed
        ],
    )
    assert second.stage_deadline == at(2026, 3, 30, 10, 0)
    drive.through(second, [(at(2026, 3, 27, 9, 0), "handle")])
    settle(D(2026, 3, 16), D(2026, 3, 31))
    drive.clock.move_to(at(2026, 4, 1))
    dept = figures("department", "2026-03", city.dept_a.pk)
    assert dept["extended"] == (2, None)
    assert dept["handle_on_time_rate"] == (2, 2)  # both handled within their extended deadline
    # At midnight after 25 March the deadline in force was 25 March 10:00: open and overdue then.
    gauge = DailyGauge.objects.filter(kind="department", object_id=city.dept_a.pk, counter="oo_task")
    assert {g.day: g.n for g in gauge} == {D(2026, 3, 25): 1}
    assert figures("department", "2026-03-25", city.dept_a.pk)["handle_rate"] == (0, 1)
    assert figures("department", "2026-03-26", city.dept_a.pk)["handle_rate"] == (0, 0)


def test_approved_suspension_is_excluded(city, drive):
    case = _to_handling(drive, at(2026, 3, 10, 10, 0))
    case = drive.through(
        case,
        [
            (at(2026, 3, 10, 11, 0), "suspend"),
            (at(2026, 3, 10, 14, 0), "suspend_decide"),
            (at(2026, 3, 20, 9, 0), "write_off"),
        ],
    )
    assert case.status == "closed" and case.written_off_at is not None
    settle(D(2026, 3, 9), D(2026, 3, 31))
    drive.clock.move_to(at(2026, 4, 1))
    dept = figures("department", "2026-03", city.dept_a.pk)
    assert dept["suspended"] == (1, None)
    assert dept["handle_rate"] == (0, 0) and dept["close_rate"] == (0, 0)
    street = figures("street", "2026-03", city.street_a.pk)
    assert street["registered"] == (1, None) and street["close_rate"] == (0, 0)  # a write-off is no 结案
    # Suspended on 10 March, due 11 March: never open-overdue.
    assert not DailyGauge.objects.filter(counter__in=["oo_task", "oo_case"], day__gte=D(2026, 3, 10)).exists()


def test_co_handling_counts_for_each_department_on_its_own_task(city, drive):
    case = drive.report(at(2026, 3, 3, 9, 0))
    case = drive.through(
        case,
        [
            (at(2026, 3, 3, 9, 5), "accept"),
            (at(2026, 3, 3, 9, 20), "register"),
            (at(2026, 3, 3, 10, 0), "dispatch", {"cohandler_ids": [city.dept_b.pk]}),
            (at(2026, 3, 3, 10, 10), "sign"),
            (at(2026, 3, 3, 10, 20), "co_sign"),
            (at(2026, 3, 4, 9, 0), "co_feedback"),  # due 4 March 10:00: on time
            (at(2026, 3, 4, 10, 1), "handle"),  # late
            (at(2026, 3, 4, 10, 30), "check", {"passed": True}),
            (at(2026, 3, 4, 11, 0), "close"),
        ],
    )
    _to_handling(drive, at(2026, 3, 30, 10, 0))  # dept A alone, open and overdue at month end
    other = drive.report(at(2026, 3, 30, 9, 0))
    drive.through(
        other,
        [
            (at(2026, 3, 30, 9, 5), "accept"),
            (at(2026, 3, 30, 9, 20), "register"),
            (at(2026, 3, 30, 10, 0), "dispatch", {"cohandler_ids": [city.dept_b.pk]}),
        ],
    )
    settle(D(2026, 3, 1), D(2026, 3, 31))
    drive.clock.move_to(at(2026, 4, 1))
    a = figures("department", "2026-03", city.dept_a.pk)
    b = figures("department", "2026-03", city.dept_b.pk)
    assert a["assigned"] == (3, None) and b["assigned"] == (2, None)
    # Open and overdue at the end of March: dept A's two handling stages, dept B's co-task.
    assert a["handle_on_time_rate"] == (0, 3) and a["handle_rate"] == (1, 3)
    assert b["handle_on_time_rate"] == (1, 2) and b["handle_rate"] == (1, 2)
    assert a["rework_rate"] == (0, 1)
    assert a["close_on_time_rate"] == (0, 3) and b["close_on_time_rate"] == (1, 2)
    assert figures("street", "2026-03", city.street_a.pk)["close_on_time_rate"] == (0, 3)
    assert case.status == "closed"


def test_return_counts_against_the_dispatcher(city, people, drive):
    case = drive.report(at(2026, 3, 5, 9, 0))
    drive.through(
        case,
        [
            (at(2026, 3, 5, 9, 5), "accept"),
            (at(2026, 3, 5, 9, 20), "register"),
            (at(2026, 3, 5, 10, 0), "dispatch"),
            (at(2026, 3, 5, 10, 30), "return"),
            (at(2026, 3, 5, 11, 0), "dispatch"),  # 30 minutes after the return: on time
            (at(2026, 3, 5, 11, 10), "sign"),
            (at(2026, 3, 5, 15, 0), "handle"),
        ],
    )
    settle(D(2026, 3, 5), D(2026, 3, 5))
    drive.clock.move_to(at(2026, 3, 6, 9, 0))
    assert figures("dispatcher", "2026-03-05", people["dispatcher_a"].pk) == {
        "dispatched": (2, None),
        "dispatch_on_time_rate": (1, 2),  # the first dispatch took 40 minutes
        "dispatch_accuracy_rate": (1, 2),
    }
    dept = figures("department", "2026-03-05", city.dept_a.pk)
    assert dept["assigned"] == (2, None) and dept["handle_rate"] == (1, 1)  # a returned task is not handled


def test_public_reports_verification_and_missed_reports(city, people, drive):
    case = drive.report(at(2026, 3, 5, 9, 0), source="public")
    case = drive.through(
        case,
        [
            (at(2026, 3, 5, 9, 5), "accept"),
            ("late", "verify"),
            (at(2026, 3, 5, 11, 0), "register"),
        ],
    )
    drive.through(drive.report(at(2026, 3, 5, 9, 0)), [(at(2026, 3, 5, 9, 5), "accept")])
    settle(D(2026, 3, 5), D(2026, 3, 5))
    drive.clock.move_to(at(2026, 3, 6))
    assert figures("inspector", "2026-03-05", people["inspector_a"].pk) == {
        "valid_report_rate": (0, 1),  # reported, not yet registered
        "missed_report_rate": (1, 1),  # the only registration in the area came from the public
        "verify_on_time_rate": (0, 1),
        "check_on_time_rate": (0, 0),
    }
    # The second case waits to be registered (due 9:35): open and overdue in street A at midnight.
    assert figures("shift_leader", "2026-03-05", people["shiftlead_a"].pk)["register_on_time_rate"] == (0, 2)
    assert figures("street", "2026-03-05", city.street_a.pk)["supervision_rate"] == (0, 1)
    assert figures("inspector", "2026-03-05", people["inspector_b"].pk)["missed_report_rate"] == (0, 0)


def test_a_voided_case_counts_against_its_registrant_and_leaves_the_open_counts(city, people, drive):
    """准确立案率 = (立案数 − 作废数) / 立案数: three cases registered by shift leader A in March,
    one of them voided (作废) after the department returned it; the void ends the case, so it is
    neither due for closing nor overdue, and another leader's figures do not move."""
    kept = [
        drive.through(
            drive.report(at(2026, 3, 3, 9, 0)),
            [(at(2026, 3, 3, 9, 5), "accept"), (at(2026, 3, 3, 9, 20), "register")],
        )
        for _ in range(2)
    ]
    voided = drive.through(
        drive.report(at(2026, 3, 3, 9, 0)),
        [
            (at(2026, 3, 3, 9, 5), "accept"),
            (at(2026, 3, 3, 9, 20), "register"),
            (at(2026, 3, 3, 9, 40), "dispatch"),
            (at(2026, 3, 3, 10, 0), "return"),
            (at(2026, 3, 3, 10, 30), "void"),
        ],
    )
    assert voided.status == "voided" and voided.stage_deadline is None and voided.closed_at is not None
    dispatch_stage = voided.stages.filter(ended_by="void").get()
    assert dispatch_stage.on_time is None  # no on-time record for the dispatcher
    settle(D(2026, 3, 1), D(2026, 3, 31))
    drive.clock.move_to(at(2026, 4, 15))
    assert figures("shift_leader", "2026-03", people["shiftlead_a"].pk)["register_accuracy_rate"] == (2, 3)
    assert figures("shift_leader", "2026-03", people["shiftlead_b"].pk)["register_accuracy_rate"] == (0, 0)
    # The two kept cases are open and overdue at the end of March; the voided one is not.
    assert figures("street", "2026-03", city.street_a.pk)["close_rate"] == (0, 2)
    assert all(c.status == "to_dispatch" for c in kept)
