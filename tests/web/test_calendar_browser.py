"""The system administrator loads a year's holiday schedule in the admin with a real browser:
日历调整 → 导入放假安排, choose the file, 只校验, then load what was checked."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from chengguan.core.models import CalendarDayKind, CalendarOverride

pytestmark = pytest.mark.browser

SCHEDULE = "date,kind,note\n2031-01-01,holiday,测试：元旦\n2031-02-01,workday,测试：调休上班\n"  # test data


def test_the_system_administrator_checks_and_loads_a_holiday_schedule(
    new_page, login_as, screenshot, tmp_path, django_db_blocker
):
    path = tmp_path / "2031.csv"
    path.write_text(SCHEDULE, encoding="utf-8")
    page = login_as(new_page(), "sysadmin")
    try:
        page.goto("/admin/core/calendaroverride/")
        page.get_by_role("link", name="导入放假安排").click()
        page.set_input_files("input[name=schedule]", str(path))
        page.get_by_role("button", name="只校验").click()
        expect(page.get_by_role("heading", name="校验通过：2 天（尚未载入）")).to_be_visible()
        rows = page.locator("#content-main table tbody tr")
        assert rows.count() == 2 and "测试：调休上班" in rows.nth(1).inner_text()
        screenshot(page, "admin-holiday-schedule-checked")
        with django_db_blocker.unblock():
            assert not CalendarOverride.objects.filter(date__year=2031).exists()

        page.get_by_role("button", name="载入以上日子").click()
        expect(page.locator(".messagelist .success")).to_be_visible()
        assert "已载入 2 天：新增 2，修改 0，未变 0" in page.locator(".messagelist .success").inner_text()
        assert page.url.endswith("/admin/core/calendaroverride/?date__year=2031")
        with django_db_blocker.unblock():
            assert dict(CalendarOverride.objects.filter(date__year=2031).values_list("date", "kind")) == {
                dt.date(2031, 1, 1): CalendarDayKind.HOLIDAY,
                dt.date(2031, 2, 1): CalendarDayKind.WORKDAY,
            }
    finally:
        with django_db_blocker.unblock():
            CalendarOverride.objects.filter(date__year=2031).delete()
