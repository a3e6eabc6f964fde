"""A year's holiday schedule loaded from a file into the calendar overrides before the year
begins (`chengguan calendar import`, or 日历调整 → 导入放假安排 in the admin), so deadlines across its
holidays are right although chinesecalendar does not know the year; `calendar show` lists the
result. The days below are test data, not any year's official schedule."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from chengguan.core.calendar import add_working_time, calendar_warnings
from chengguan.core.models import AuditLog, CalendarDayKind, CalendarOverride

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lacking_2027")]
TZ = ZoneInfo("Asia/Shanghai")

SCHEDULE = """date,kind,note
2027-01-01,holiday,元旦
2027-02-08,休息日,春节
2027-02-09,放假,春节
2027-02-06,workday,春节调休上班
2027-02-20,班,春节调休上班
"""


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def calendar_cmd(*args) -> str:
    out = io.StringIO()
    call_command("calendar", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def write(tmp_path, text: str, name="schedule.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_schedule_loads_as_overrides_and_deadlines_follow_it(tmp_path):
    # before: the fallback takes Friday 1 January 2027 for a working day
    assert add_working_time(local(2026, 12, 31, 10, 0), 1, "work_day") == local(2027, 1, 1, 10, 0)
    assert calendar_warnings(today=dt.date(2026, 12, 7)) != []

    out = calendar_cmd("import", write(tmp_path, SCHEDULE))
    assert "新增 5" in out

    assert dict(CalendarOverride.objects.values_list("date", "kind")) == {
        dt.date(2027, 1, 1): CalendarDayKind.HOLIDAY,
        dt.date(2027, 2, 8): CalendarDayKind.HOLIDAY,
        dt.date(2027, 2, 9): CalendarDayKind.HOLIDAY,
        dt.date(2027, 2, 6): CalendarDayKind.WORKDAY,
        dt.date(2027, 2, 20): CalendarDayKind.WORKDAY,
    }
    assert CalendarOverride.objects.get(date=dt.date(2027, 2, 6)).note == "春节调休上班"
    # New Year's Day off: Thursday + 1 work day → Monday 4 January
    assert add_working_time(local(2026, 12, 31, 10, 0), 1, "work_day") == local(2027, 1, 4, 10, 0)
    # Friday 5 February + 1 work day → the make-up Saturday; Saturday + 1 → over Sunday, Monday and
    # Tuesday off → Wednesday 10 February
    assert add_working_time(local(2027, 2, 5, 10, 0), 1, "work_day") == local(2027, 2, 6, 10, 0)
    assert add_working_time(local(2027, 2, 6, 10, 0), 1, "work_day") == local(2027, 2, 10, 10, 0)
    assert calendar_warnings(today=dt.date(2026, 12, 7)) == []

    logs = AuditLog.objects.filter(model="core.CalendarOverride")
    assert logs.count() == 5
    assert set(logs.values_list("action", flat=True)) == {"create"}
    assert set(logs.values_list("via", flat=True)) == {"command:calendar import"}


def test_loading_again_changes_only_what_changed(tmp_path):
    calendar_cmd("import", write(tmp_path, SCHEDULE))
    assert "新增 0，修改 0，未变 5" in calendar_cmd("import", write(tmp_path, SCHEDULE))
    changed = SCHEDULE.replace("2027-02-20,班,春节调休上班", "2027-02-20,休,改为休息")
    out = calendar_cmd("import", write(tmp_path, changed, "changed.csv"))
    assert "新增 0，修改 1，未变 4" in out
    day = CalendarOverride.objects.get(date=dt.date(2027, 2, 20))
    assert (day.kind, day.note) == (CalendarDayKind.HOLIDAY, "改为休息")
    assert AuditLog.objects.filter(model="core.CalendarOverride", action="update").count() == 1


def test_json_and_the_bom_excel_writes_are_read(tmp_path):
    items = [
        {"date": "2027-10-01", "kind": "holiday", "note": "国庆节"},
        {"date": "2027-09-26", "kind": "工作日"},
    ]
    calendar_cmd("import", write(tmp_path, json.dumps(items, ensure_ascii=False), "s.json"))
    (tmp_path / "bom.csv").write_bytes("\ufeffdate,kind,note\n2027-10-02,holiday,国庆节\n".encode())
    calendar_cmd("import", str(tmp_path / "bom.csv"))
    assert sorted(CalendarOverride.objects.values_list("date", "kind")) == [
        (dt.date(2027, 9, 26), CalendarDayKind.WORKDAY),
        (dt.date(2027, 10, 1), CalendarDayKind.HOLIDAY),
        (dt.date(2027, 10, 2), CalendarDayKind.HOLIDAY),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "date,kind,note\n2027-01-01,holiday,ok\n2027-13-01,holiday,x\n2027-01-05,sometimes,x\n"
            "2027-01-06,holiday,a\n2027-01-06,workday,b\n",
            ["第 3 行：日期“2027-13-01”", "第 4 行：类型“sometimes”", "第 6 行：2027-01-06 已在第 5 行出现"],
        ),
        ("2027-01-01,holiday\n", ["表头"]),
        ("date,kind,note\n", ["没有任何日期"]),
        ("date,kind,note\n2027-01-02,holiday,a,b\n", ["第 2 行：列数多于表头"]),
        (
            "date,kind,note\n20270102,holiday,a\n2027-W01-1,holiday,b\n",
            ["第 2 行：日期“20270102”", "第 3 行"],
        ),
        ('date,kind,note\n2027-01-02,holiday,"never closed\n', ["CSV 格式错误"]),
        ("date,kind,note\n2027-01-02,holiday," + "x" * 140_000 + "\n", ["CSV 格式错误"]),
        ("date,kind,note\n2027-01-02,holiday,a\x00b\n", ["空字符"]),
        ("date,kind,note\n" + "2027-01-02,holiday,长\n" * 20_000, ["文件过大：最多 256 KB"]),
        ("date,kind,note\n2027-01-01,holiday," + "长" * 201 + "\n", ["说明超过 200 字"]),
    ],
)
def test_a_bad_file_names_every_problem_and_writes_nothing(tmp_path, text, expected):
    CalendarOverride.objects.create(date=dt.date(2027, 1, 1), kind=CalendarDayKind.WORKDAY, note="已有")
    with pytest.raises(CommandError) as err:
        calendar_cmd("import", write(tmp_path, text))
    for part in expected:
        assert part in str(err.value)
    assert "数据库未作任何修改" in str(err.value)
    assert list(CalendarOverride.objects.values_list("date", "kind", "note")) == [
        (dt.date(2027, 1, 1), CalendarDayKind.WORKDAY, "已有")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 50_000, "JSON 格式错误"),
        ("[" + "1" * 5_000 + "]", "JSON 格式错误"),
        (
            '[{"date": "2027-01-02", "kind": "holiday", "note": {"a": 1}}]',
            "第 1 项：date、kind、note 应为文字",
        ),
        ('[{"date": 20270102, "kind": "holiday"}]', "第 1 项：date、kind、note 应为文字"),
        ('{"date": "2027-01-02"}', "对象列表"),
    ],
)
def test_a_bad_json_file_is_refused_with_its_reason(tmp_path, text, expected):
    with pytest.raises(CommandError, match=expected):
        calendar_cmd("import", write(tmp_path, text, "s.json"))
    assert not CalendarOverride.objects.exists()


def test_old_mac_line_endings_and_quoted_commas_are_read(tmp_path):
    (tmp_path / "mac.csv").write_bytes('date,kind,note\r2027-01-02,holiday,"元旦, 补休"\r'.encode())
    calendar_cmd("import", str(tmp_path / "mac.csv"))
    assert CalendarOverride.objects.get().note == "元旦, 补休"


def test_a_missing_or_unreadable_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="无法读取文件"):
        calendar_cmd("import", str(tmp_path / "none.csv"))
    (tmp_path / "gbk.csv").write_bytes("date,kind,note\n2027-01-01,holiday,元旦\n".encode("gbk"))
    with pytest.raises(CommandError, match="UTF-8"):
        calendar_cmd("import", str(tmp_path / "gbk.csv"))
    assert not CalendarOverride.objects.exists()


def test_a_dry_run_checks_and_writes_nothing(tmp_path):
    out = calendar_cmd("import", write(tmp_path, SCHEDULE), "--dry-run")
    assert "校验通过，未写入" in out and "5 天（3 天休息，2 天上班）" in out
    assert not CalendarOverride.objects.exists()


def test_show_lists_the_days_that_differ_from_monday_to_friday(tmp_path):
    out = calendar_cmd("show", "2026")
    assert "chinesecalendar 有该年的法定节假日数据" in out
    lines = out.splitlines()
    assert "2026-02-16  周一  休息  法定  春节" in lines
    assert "2026-02-14  周六  上班  法定  春节" in lines
    assert not any(line.startswith("2026-02-21") for line in lines)  # a Saturday off anyway

    CalendarOverride.objects.create(date=dt.date(2026, 2, 27), kind=CalendarDayKind.HOLIDAY, note="本地调整")
    assert "2026-02-27  周五  休息  日历调整  本地调整" in calendar_cmd("show", "2026").splitlines()

    calendar_cmd("import", write(tmp_path, SCHEDULE))
    out = calendar_cmd("show", "2027")
    assert "没有该年的法定节假日数据" in out
    assert "2027-02-06  周六  上班  日历调整  春节调休上班" in out.splitlines()
    assert "2027-01-01  周五  休息  日历调整  元旦" in out.splitlines()


# --- the admin: 日历调整 → 导入放假安排 ------------------------------------------------------------------

IMPORT_URL = "/admin/core/calendaroverride/import/"


def upload(client, text: str, button: str, name="2027.csv", *, follow=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        IMPORT_URL,
        {"schedule": SimpleUploadedFile(name, text.encode()), button: "1"},
        follow=button == "load" if follow is None else follow,
    )


def test_the_system_administrator_checks_then_loads_a_schedule_in_the_admin(client, people, city):
    client.force_login(people["sysadmin"])
    changelist = client.get("/admin/core/calendaroverride/").content.decode()
    assert IMPORT_URL in changelist and "导入放假安排" in changelist
    assert client.get(IMPORT_URL).status_code == 200

    checked = upload(client, SCHEDULE, "check")
    page = checked.content.decode()
    assert checked.status_code == 200 and "校验通过：5 天（尚未载入）" in page
    assert "2027-02-06" in page and "春节调休上班" in page
    assert not CalendarOverride.objects.exists()
    # what was checked is loaded from the page, without choosing the file again
    content = re.search(r'<input type="hidden" name="content" value="([^"]*)"', page)
    assert content and html.unescape(content.group(1)) == SCHEDULE

    loaded = client.post(
        IMPORT_URL,
        {"content": html.unescape(content.group(1)), "filename": "2027.csv", "load": "1"},
        follow=True,
    )
    assert loaded.redirect_chain[-1][0].endswith("/admin/core/calendaroverride/?date__year=2027")
    assert "已载入 5 天：新增 5，修改 0，未变 0" in loaded.content.decode()
    assert CalendarOverride.objects.count() == 5
    again = upload(client, SCHEDULE, "load")  # or straight from the file: nothing to change
    assert "已载入 5 天：新增 0，修改 0，未变 5" in again.content.decode()
    logs = AuditLog.objects.filter(model="core.CalendarOverride", action="create")
    assert logs.count() == 5
    assert set(logs.values_list("actor_name", flat=True)) == {"sysadmin"}


def test_a_bad_file_in_the_admin_lists_its_problems_and_writes_nothing(client, people, city):
    client.force_login(people["sysadmin"])
    bad = "date,kind,note\n2027-01-01,holiday,元旦\n2027-02-30,holiday,x\n2027-01-01,workday,again\n"
    for button in ("check", "load"):
        response = upload(client, bad, button)
        page = response.content.decode()
        assert response.status_code == 200
        assert "文件有错误，未载入任何内容" in page
        assert "第 3 行：日期“2027-02-30”" in page and "第 4 行：2027-01-01 已在第 2 行出现" in page
    assert not CalendarOverride.objects.exists()
    assert client.post(IMPORT_URL, {"load": "1"}).status_code == 200  # no file: the form says so
    assert not CalendarOverride.objects.exists()


@pytest.mark.parametrize("who", ["auditor", "secadmin", "dispatcher_a", "outsider"])
def test_only_those_who_maintain_the_calendar_may_import(client, people, city, who):
    client.force_login(people[who])
    response = upload(client, SCHEDULE, "load", follow=False)
    assert response.status_code in (302, 403)
    if response.status_code == 302:  # not staff: the admin's login page
        assert "/admin/login/" in response["Location"]
    assert not CalendarOverride.objects.exists()
    assert IMPORT_URL not in client.get("/admin/core/calendaroverride/").content.decode()


def test_a_system_administrator_of_one_street_reads_the_calendar_but_does_not_change_it(client, people, city):
    """The calendar is shared by the whole city: changing it, one day or a whole file, needs a
    person acting for the whole city, as the chokepoint says for every shared registry."""
    from chengguan.org.models import RoleGrant

    person = people["dispatcher_a"]  # acts for street A only
    person.roles.add(RoleGrant.objects.get(role="system_admin"))
    person.is_staff = True
    person.save()
    day = CalendarOverride.objects.create(date=dt.date(2027, 1, 1), kind=CalendarDayKind.HOLIDAY, note="元旦")
    client.force_login(person)
    changelist = client.get("/admin/core/calendaroverride/")
    assert changelist.status_code == 200 and "2027" in changelist.content.decode()
    assert IMPORT_URL not in changelist.content.decode()
    assert "/admin/core/calendaroverride/add/" not in changelist.content.decode()
    assert client.get("/admin/core/calendaroverride/add/").status_code == 403
    assert (
        upload(client, SCHEDULE.replace("holiday,元旦", "workday,改"), "load", follow=False).status_code
        == 403
    )
    day.refresh_from_db()
    assert (day.kind, day.note) == (CalendarDayKind.HOLIDAY, "元旦")
    assert CalendarOverride.objects.count() == 1


def test_the_bootstrap_superuser_still_adds_people_and_calendar_days(client, city):
    """`chengguan createsuperuser` makes an account with no role and no city-wide scope, which
    creates the first administrators in the admin: the shared-registry rule does not lock it out."""
    from chengguan.org.models import Person

    root = Person.objects.create_superuser(username="root", password="Root#pass-2026x")
    client.force_login(root)
    assert client.get("/admin/org/person/add/").status_code == 200
    assert client.get("/admin/core/calendaroverride/add/").status_code == 200


def test_a_load_that_meets_another_at_the_same_dates_asks_to_try_again(
    client, people, city, monkeypatch, tmp_path
):
    """Two loads at once: the unique date refuses the second's insert; it is told, not a 500."""
    from django.db import IntegrityError

    from chengguan.core import services

    def clash(days):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "_load", clash)
    client.force_login(people["sysadmin"])
    response = upload(client, SCHEDULE, "load")
    assert response.status_code == 200 and "请重试" in response.content.decode()
    with pytest.raises(CommandError, match="请重试"):
        calendar_cmd("import", write(tmp_path, SCHEDULE))
