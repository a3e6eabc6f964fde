"""The working-time calendar: statutory holidays, 调休, overrides, work periods, and its properties.

Expected datetimes are local (Asia/Shanghai) wall times; chinesecalendar 1.11 gives, for 2026:
Spring Festival off 02-15..02-23, make-up Saturdays 02-14 and 02-28; for 2025: National Day off
10-01..10-08, make-up Sunday 09-28 and Saturday 10-11.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from chengguan.catalog.choices import TimeUnit
from chengguan.core import calendar as wc
from chengguan.core.calendar import (
    WorkCalendar,
    add_working_time,
    calendar_warnings,
    is_workday,
    parse_periods,
    statutory_is_workday,
    statutory_year_known,
    working_amount_between,
    working_time_between,
)
from chengguan.core.checks import check_calendar
from chengguan.core.models import CalendarDayKind, CalendarOverride, WorkPeriod

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PERIODS = "08:30-12:00,14:00-17:30"
MISSING_2027 = "2027 年的法定节假日数据缺失：按周末计算，请管理员录入调休安排"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A local wall time, handed to the calendar as UTC (as the application does)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def hours(value: float) -> dt.timedelta:
    return dt.timedelta(hours=value)


@pytest.fixture(autouse=True)
def default_setup(settings, monkeypatch):
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.WORK_PERIODS = DEFAULT_PERIODS
    monkeypatch.setattr(wc, "_warned_years", set())


@pytest.fixture
def cal() -> WorkCalendar:
    """The pure calendar: default periods, no overrides."""
    return WorkCalendar(parse_periods(DEFAULT_PERIODS), {})


# --- periods, lunch break, work days ------------------------------------------------------------


def test_lunch_break_boundary(cal):
    # Monday 2025-06-09, an ordinary working day.
    assert cal.add(local(2025, 6, 9, 8, 30), Decimal("3.5"), "work_hour") == local(2025, 6, 9, 12, 0)
    assert cal.add(local(2025, 6, 9, 9, 0), 3, "work_hour") == local(2025, 6, 9, 12, 0)
    assert cal.add(local(2025, 6, 9, 9, 0), Decimal("3.25"), "work_hour") == local(2025, 6, 9, 14, 15)
    assert cal.add(local(2025, 6, 9, 12, 0), Decimal("0.5"), "work_hour") == local(2025, 6, 9, 14, 30)
    assert cal.add(local(2025, 6, 9, 13, 0), 1, "work_hour") == local(2025, 6, 9, 15, 0)
    assert cal.add(local(2025, 6, 9, 17, 0), 1, "work_hour") == local(2025, 6, 10, 9, 0)
    assert cal.add(local(2025, 6, 9, 7, 0), Decimal("1.5"), "work_hour") == local(2025, 6, 9, 10, 0)
    assert cal.between(local(2025, 6, 9, 12, 0), local(2025, 6, 9, 14, 0)) == dt.timedelta(0)
    assert cal.between(local(2025, 6, 9, 11, 0), local(2025, 6, 9, 15, 0)) == hours(2)


def test_closing_time_is_the_deadline_not_next_opening(cal):
    assert cal.add(local(2025, 6, 9, 8, 30), 7, "work_hour") == local(2025, 6, 9, 17, 30)
    assert cal.add(local(2025, 6, 9, 8, 30), 1, "work_day") == local(2025, 6, 9, 17, 30)


def test_amount_zero_returns_start_even_off_hours(cal):
    saturday_night = local(2025, 6, 7, 3, 17)
    for unit in TimeUnit.values:
        assert cal.add(saturday_night, 0, unit) == saturday_night
        assert cal.add(saturday_night, Decimal("0.00"), unit) == saturday_night


def test_work_day_is_one_days_working_time(cal):
    assert cal.day_length == hours(7)
    assert cal.add(local(2025, 6, 9, 10, 0), 1, "work_day") == local(2025, 6, 10, 10, 0)
    # From a Saturday: the whole next working day, ending at its close.
    assert cal.add(local(2025, 6, 7, 10, 0), 1, "work_day") == local(2025, 6, 9, 17, 30)
    # Friday 16:00: 1.5 h on Friday, 5.5 h on Monday.
    assert cal.add(local(2025, 6, 6, 16, 0), 1, "work_day") == local(2025, 6, 9, 16, 0)
    assert cal.add(local(2025, 6, 9, 8, 30), Decimal("0.5"), "work_day") == local(2025, 6, 9, 12, 0)
    assert cal.add(local(2025, 6, 9, 8, 30), 2, "work_day") == local(2025, 6, 10, 17, 30)
    assert cal.add(local(2025, 6, 9, 10, 0), 5, "work_day") == local(2025, 6, 16, 10, 0)


def test_natural_hours_and_minutes_ignore_the_calendar(cal):
    holiday_night = local(2026, 2, 16, 23, 30)  # Spring Festival holiday
    assert cal.add(holiday_night, 2, "hour") == local(2026, 2, 17, 1, 30)
    assert cal.add(holiday_night, Decimal("1.5"), "hour") == local(2026, 2, 17, 1, 0)
    assert cal.add(holiday_night, 90, "minute") == local(2026, 2, 17, 1, 0)
    assert cal.add(holiday_night, 0.1, "hour") == local(2026, 2, 16, 23, 36)
    assert cal.add(local(2025, 6, 7, 11, 0), 30, "minute") == local(2025, 6, 7, 11, 30)


def test_float_amounts_are_taken_at_their_decimal_value(cal):
    assert cal.add(local(2025, 6, 9, 9, 0), 0.1, "work_hour") == local(2025, 6, 9, 9, 6)
    assert cal.add(local(2025, 6, 9, 9, 0), 2.3, "work_hour") == local(2025, 6, 9, 11, 18)


def test_results_are_utc_and_inputs_may_be_in_any_zone(cal):
    start_utc = local(2025, 6, 9, 10, 0)
    start_fixed = start_utc.astimezone(dt.timezone(dt.timedelta(hours=8)))
    start_newyork = start_utc.astimezone(ZoneInfo("America/New_York"))
    results = {cal.add(s, 2, "work_hour") for s in (start_utc, start_fixed, start_newyork)}
    assert results == {dt.datetime(2025, 6, 9, 4, 0, tzinfo=dt.UTC)}  # 12:00 in Shanghai
    assert next(iter(results)).tzinfo is dt.UTC


def test_amount_between_units(cal):
    start, end = local(2025, 6, 9, 8, 30), local(2025, 6, 9, 17, 30)
    assert cal.between(start, end) == hours(7)
    assert cal.amount_between(start, end, "work_hour") == Decimal(7)
    assert cal.amount_between(start, end, "work_day") == Decimal(1)
    assert cal.amount_between(start, end, "hour") == Decimal(9)
    assert cal.amount_between(start, end, "minute") == Decimal(540)
    assert cal.amount_between(start, local(2025, 6, 9, 14, 30), "work_day") == Decimal(
        "0.5714285714285714285714285714"
    )
    # Reversed: the negative of the forward value.
    assert cal.between(end, start) == -hours(7)
    assert cal.amount_between(end, start, "work_hour") == Decimal(-7)
    assert cal.amount_between(end, start, "minute") == Decimal(-540)


# --- statutory calendar -------------------------------------------------------------------------


def test_spring_festival_2026(cal):
    off = {dt.date(2026, 2, d) for d in range(15, 24)}
    for d in range(13, 29):
        day = dt.date(2026, 2, d)
        # Every day from 13 to 28 except the nine days off is a working day, both make-up Saturdays included.
        assert cal.is_workday(day) is (day not in off), day
    # Make-up Saturday 02-14 is a working day: 1 work day from it ends after the holiday.
    assert cal.add(local(2026, 2, 14, 10, 0), 1, "work_day") == local(2026, 2, 24, 10, 0)
    assert cal.add(local(2026, 2, 14, 16, 0), 2, "work_hour") == local(2026, 2, 24, 9, 0)
    assert cal.add(local(2026, 2, 13, 16, 0), 3, "work_hour") == local(2026, 2, 14, 10, 0)
    # From inside the holiday: the next working day's close.
    assert cal.add(local(2026, 2, 17, 9, 0), 1, "work_day") == local(2026, 2, 24, 17, 30)
    # Friday 02-27 16:00 → make-up Saturday 02-28.
    assert cal.add(local(2026, 2, 27, 16, 0), 1, "work_day") == local(2026, 2, 28, 16, 0)
    assert cal.between(local(2026, 2, 13, 0, 0), local(2026, 2, 25, 0, 0)) == hours(21)
    assert cal.amount_between(local(2026, 2, 13, 0, 0), local(2026, 3, 1, 0, 0), "work_day") == Decimal(7)


def test_national_day_2025(cal):
    assert cal.is_workday(dt.date(2025, 9, 27)) is False  # Saturday
    assert cal.is_workday(dt.date(2025, 9, 28)) is True  # make-up Sunday
    assert not any(cal.is_workday(dt.date(2025, 10, d)) for d in range(1, 9))
    assert cal.is_workday(dt.date(2025, 10, 11)) is True  # make-up Saturday
    assert cal.is_workday(dt.date(2025, 10, 12)) is False
    assert cal.add(local(2025, 9, 27, 10, 0), 1, "work_hour") == local(2025, 9, 28, 9, 30)
    assert cal.add(local(2025, 9, 30, 16, 0), 1, "work_day") == local(2025, 10, 9, 16, 0)
    assert cal.add(local(2025, 10, 10, 10, 0), 1, "work_day") == local(2025, 10, 11, 10, 0)
    assert cal.add(local(2025, 9, 30, 10, 0), 3, "work_day") == local(2025, 10, 11, 10, 0)
    # Working days 09-26, 28, 29, 30, 10-09, 10, 11.
    assert cal.between(local(2025, 9, 26, 0, 0), local(2025, 10, 13, 0, 0)) == hours(49)


def test_library_gap_is_reported_not_raised():
    # chinesecalendar starts in 2004, whatever its version.
    assert statutory_is_workday(dt.date(2003, 1, 6)) is None
    assert statutory_year_known(2003) is False
    assert statutory_year_known(2004) is True
    assert statutory_year_known(2026) is True


def test_year_the_library_lacks_falls_back_to_weekends_once_warned(lacking_2027, caplog):
    caplog.set_level(logging.WARNING, logger="chengguan.calendar")
    cal = WorkCalendar(parse_periods(DEFAULT_PERIODS), {})
    assert cal.is_workday(dt.date(2027, 1, 1)) is True  # a Friday: the fallback knows no New Year
    assert cal.is_workday(dt.date(2027, 1, 2)) is False
    assert cal.add(local(2027, 1, 1, 16, 0), 1, "work_day") == local(2027, 1, 4, 16, 0)
    assert cal.between(local(2027, 1, 1), local(2027, 2, 1)) == hours(21 * 7)
    warnings = [r for r in caplog.records if r.name == "chengguan.calendar"]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()


def test_overrides_complete_a_lacking_year(lacking_2027):
    cal = WorkCalendar(
        parse_periods(DEFAULT_PERIODS),
        {dt.date(2027, 1, 1): CalendarDayKind.HOLIDAY, dt.date(2027, 1, 9): CalendarDayKind.WORKDAY},
    )
    assert cal.add(local(2026, 12, 31, 10, 0), 1, "work_day") == local(2027, 1, 4, 10, 0)
    assert cal.add(local(2027, 1, 8, 10, 0), 1, "work_day") == local(2027, 1, 9, 10, 0)


def test_pure_overrides_win_over_the_statutory_calendar():
    cal = WorkCalendar(
        parse_periods(DEFAULT_PERIODS),
        {dt.date(2026, 2, 14): False, dt.date(2026, 2, 16): True},
    )
    assert cal.is_workday(dt.date(2026, 2, 14)) is False
    assert cal.is_workday(dt.date(2026, 2, 16)) is True
    assert cal.add(local(2026, 2, 13, 10, 0), 1, "work_day") == local(2026, 2, 16, 10, 0)


# --- errors and configuration -------------------------------------------------------------------


def test_negative_amount_is_refused(cal):
    with pytest.raises(ValueError, match="must not be negative"):
        cal.add(local(2025, 6, 9, 9, 0), -1, "work_hour")
    with pytest.raises(ValueError, match="must not be negative"):
        cal.add(local(2025, 6, 9, 9, 0), Decimal("-0.01"), "hour")


def test_unknown_unit_names_the_allowed_ones(cal):
    with pytest.raises(ValueError, match="work_hour, work_day, hour, minute"):
        cal.add(local(2025, 6, 9, 9, 0), 1, "fortnight")
    with pytest.raises(ValueError, match="unknown time unit 'day'"):
        working_amount_between(local(2025, 6, 9), local(2025, 6, 10), "day", calendar=cal)


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), Decimal("NaN"), Decimal("Infinity")])
def test_non_finite_amounts_are_refused(cal, amount):
    with pytest.raises(ValueError, match="finite"):
        cal.add(local(2025, 6, 9, 9, 0), amount, "work_hour")


@pytest.mark.parametrize("amount", [True, "1", None])
def test_non_numeric_amounts_are_refused(cal, amount):
    with pytest.raises(TypeError):
        cal.add(local(2025, 6, 9, 9, 0), amount, "work_hour")


def test_naive_datetimes_are_refused(cal):
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add(dt.datetime(2025, 6, 9, 9, 0), 1, "work_hour")
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.between(local(2025, 6, 9), dt.datetime(2025, 6, 10))


def test_absurd_amounts_are_refused(cal):
    with pytest.raises(ValueError, match="too large"):
        cal.add(local(2025, 6, 9, 9, 0), 10**9, "work_day")


def test_a_calendar_without_working_days_does_not_loop_forever():
    everything_off = dict.fromkeys(
        (dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(wc.MAX_SPAN_DAYS + 10)), False
    )
    cal = WorkCalendar(parse_periods(DEFAULT_PERIODS), everything_off)
    with pytest.raises(ValueError, match="does not end within"):
        cal.add(local(2025, 1, 1), 1, "work_hour")


def test_parse_periods():
    assert parse_periods(" 08:30-12:00 , 14:00-17:30 ") == (
        (int(8.5 * 3600e6), 12 * 3600 * 10**6),
        (14 * 3600 * 10**6, int(17.5 * 3600e6)),
    )
    assert parse_periods("14:00-24:00,00:00-02:00") == (
        (0, 2 * 3600 * 10**6),
        (14 * 3600 * 10**6, 24 * 3600 * 10**6),
    )


@pytest.mark.parametrize(
    "text",
    ["", "8-12", "08:30-12:00-13:00", "12:00-08:30", "08:00-12:00,11:00-13:00", "25:00-26:00", "08:60-09:00"],
)
def test_bad_work_periods_are_a_configuration_error(text):
    with pytest.raises(ImproperlyConfigured, match="WORK_PERIODS"):
        parse_periods(text)


def test_a_period_may_end_at_midnight():
    cal = WorkCalendar([(dt.time(0), 24 * 3600 * 10**6)], {})
    assert cal.day_length == hours(24)
    assert cal.add(local(2025, 6, 6, 12, 0), 1, "work_day") == local(2025, 6, 9, 12, 0)


# --- the database-backed calendar ---------------------------------------------------------------


@pytest.mark.django_db
def test_administrator_overrides_win(lacking_2027):
    CalendarOverride.objects.create(date=dt.date(2025, 6, 10), kind=CalendarDayKind.HOLIDAY, note="台风停工")
    CalendarOverride.objects.create(date=dt.date(2025, 6, 14), kind=CalendarDayKind.WORKDAY, note="集中整治")
    # Over chinesecalendar's own decisions too: make-up Saturday off, a festival day on.
    CalendarOverride.objects.create(date=dt.date(2026, 2, 14), kind=CalendarDayKind.HOLIDAY)
    CalendarOverride.objects.create(date=dt.date(2026, 2, 16), kind=CalendarDayKind.WORKDAY)
    assert is_workday(dt.date(2025, 6, 10)) is False
    assert is_workday(dt.date(2025, 6, 14)) is True
    assert is_workday(dt.date(2025, 6, 11)) is True
    assert is_workday(local(2025, 6, 10, 9, 0)) is False
    assert add_working_time(local(2025, 6, 9, 10, 0), 1, "work_day") == local(2025, 6, 11, 10, 0)
    assert add_working_time(local(2025, 6, 13, 10, 0), 1, "work_day") == local(2025, 6, 14, 10, 0)
    assert add_working_time(local(2026, 2, 13, 10, 0), 1, "work_day") == local(2026, 2, 16, 10, 0)
    assert add_working_time(local(2026, 2, 16, 10, 0), 1, "work_day") == local(2026, 2, 24, 10, 0)
    assert working_time_between(local(2025, 6, 9), local(2025, 6, 16)) == hours(5 * 7)
    assert working_amount_between(local(2025, 6, 9), local(2025, 6, 16), "work_day") == Decimal(5)


@pytest.mark.django_db
def test_lacking_year_uses_weekends_plus_overrides_and_warns(lacking_2027):
    autumn_2026 = dt.date(2026, 11, 28)
    assert calendar_warnings(today=autumn_2026) == [MISSING_2027]
    assert calendar_warnings(today=dt.date(2025, 6, 1)) == []
    assert calendar_warnings(today=dt.date(2028, 3, 1)) == [
        MISSING_2027,
        MISSING_2027.replace("2027", "2028"),
        MISSING_2027.replace("2027", "2029"),
    ]
    assert add_working_time(local(2026, 12, 31, 10, 0), 1, "work_day") == local(2027, 1, 1, 10, 0)

    CalendarOverride.objects.create(date=dt.date(2027, 1, 1), kind=CalendarDayKind.HOLIDAY, note="元旦")
    CalendarOverride.objects.create(date=dt.date(2027, 2, 6), kind=CalendarDayKind.WORKDAY, note="春节调休")
    assert add_working_time(local(2026, 12, 31, 10, 0), 1, "work_day") == local(2027, 1, 4, 10, 0)
    assert add_working_time(local(2027, 2, 5, 10, 0), 1, "work_day") == local(2027, 2, 6, 10, 0)
    assert calendar_warnings(today=autumn_2026) == []


@pytest.mark.django_db
def test_system_check_reports_each_warning(lacking_2027, monkeypatch):
    monkeypatch.setattr(
        wc, "calendar_warnings", functools.partial(calendar_warnings, today=dt.date(2026, 11, 28))
    )
    messages = check_calendar()
    assert [(m.id, m.msg, m.level) for m in messages] == [("chengguan.W001", MISSING_2027, 30)]
    assert check_calendar(app_configs=[apps.get_app_config("org")]) == []
    assert [m.id for m in check_calendar(app_configs=[apps.get_app_config("core")])] == ["chengguan.W001"]


def test_system_check_is_silent_without_tables(monkeypatch):
    monkeypatch.setattr(connection.introspection, "table_names", lambda *args, **kwargs: [])
    assert check_calendar() == []


def test_system_check_is_silent_without_database(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection.introspection, "table_names", unreachable)
    assert check_calendar() == []


@pytest.mark.django_db
def test_system_check_is_silent_when_the_query_fails(monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("no such table: core_calendaroverride")

    monkeypatch.setattr(wc, "calendar_warnings", broken)
    assert check_calendar() == []


@pytest.mark.django_db
def test_work_period_rows_replace_the_default():
    WorkPeriod.objects.create(start=dt.time(9, 0), end=dt.time(12, 0))
    WorkPeriod.objects.create(start=dt.time(13, 0), end=dt.time(18, 0))
    assert add_working_time(local(2025, 6, 9, 11, 0), 3, "work_hour") == local(2025, 6, 9, 15, 0)
    assert add_working_time(local(2025, 6, 9, 10, 0), 1, "work_day") == local(2025, 6, 10, 10, 0)
    assert add_working_time(local(2025, 6, 9, 9, 0), 1, "work_day") == local(2025, 6, 9, 18, 0)
    assert add_working_time(local(2025, 6, 9, 12, 0), 1, "work_hour") == local(2025, 6, 9, 14, 0)
    assert working_time_between(local(2025, 6, 9), local(2025, 6, 10)) == hours(8)
    assert working_amount_between(local(2025, 6, 9, 9, 0), local(2025, 6, 10, 9, 0), "work_day") == Decimal(1)


@pytest.mark.django_db
def test_settings_work_periods_apply_when_the_table_is_empty(settings):
    settings.WORK_PERIODS = "09:00-17:00"
    assert add_working_time(local(2025, 6, 9, 16, 0), 2, "work_hour") == local(2025, 6, 10, 10, 0)
    assert working_amount_between(local(2025, 6, 9), local(2025, 6, 10), "work_hour") == Decimal(8)
    settings.WORK_PERIODS = "17:00-09:00"
    with pytest.raises(ImproperlyConfigured):
        add_working_time(local(2025, 6, 9, 16, 0), 2, "work_hour")


@pytest.mark.django_db
def test_one_query_per_table_not_per_day(django_assert_num_queries, django_assert_max_num_queries):
    CalendarOverride.objects.create(date=dt.date(2025, 6, 10), kind=CalendarDayKind.HOLIDAY)
    with django_assert_num_queries(2):  # work periods, overrides
        assert add_working_time(local(2025, 6, 9, 10, 0), 20, "work_day") == local(2025, 7, 8, 10, 0)
    with django_assert_num_queries(2):
        assert working_time_between(local(2025, 1, 1), local(2026, 1, 1)) == hours((248 - 1) * 7)
    with django_assert_num_queries(0):  # natural time needs no calendar
        assert add_working_time(local(2025, 6, 9, 10, 0), 3, "hour") == local(2025, 6, 9, 13, 0)
        assert working_amount_between(local(2025, 6, 9), local(2025, 6, 10), "minute") == Decimal(1440)
    with django_assert_num_queries(1):
        assert is_workday(dt.date(2025, 6, 10)) is False
    calendar = wc.get_calendar()
    with django_assert_max_num_queries(3):  # a reused calendar: periods once, overrides by wide ranges
        for day in range(1, 31):
            add_working_time(local(2025, 6, day, 9, 0), 5, "work_day", calendar=calendar)
    calendar = wc.get_calendar()
    with django_assert_num_queries(2):
        calendar.prefetch(dt.date(2025, 6, 1), dt.date(2025, 8, 31))
        for day in range(1, 31):
            add_working_time(local(2025, 6, day, 9, 0), 5, "work_day", calendar=calendar)


# --- properties ---------------------------------------------------------------------------------

PROPERTY_CALENDAR = WorkCalendar(
    parse_periods(DEFAULT_PERIODS),
    {
        dt.date(2025, 6, 10): False,
        dt.date(2025, 6, 14): True,
        dt.date(2026, 2, 16): True,
        dt.date(2027, 1, 1): False,
        dt.date(2027, 2, 6): True,
    },
    tz=SHANGHAI,
)
starts = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31, 23, 59), timezones=st.just(dt.UTC)
)
# Up to 30 work days, with at most 6 decimals: an exact number of microseconds.
work_hours = st.decimals(min_value=0, max_value=210, places=6, allow_nan=False, allow_infinity=False)
bounded = hsettings(max_examples=60, deadline=None)


@bounded
@given(start=starts, amount=work_hours)
def test_property_working_time_to_the_deadline_is_the_amount(start, amount):
    deadline = PROPERTY_CALENDAR.add(start, amount, "work_hour")
    assert deadline >= start
    assert PROPERTY_CALENDAR.between(start, deadline) == dt.timedelta(
        microseconds=int(amount * 3_600_000_000)
    )
    assert PROPERTY_CALENDAR.amount_between(start, deadline, "work_hour") == amount


@bounded
@given(start=starts, minutes=st.integers(min_value=1, max_value=60 * 7 * 30))
def test_property_deadline_is_the_earliest_instant(start, minutes):
    deadline = PROPERTY_CALENDAR.add(start, Decimal(minutes) / 60, "work_hour")
    assert PROPERTY_CALENDAR.between(start, deadline) == dt.timedelta(minutes=minutes)
    # A moment earlier the amount is not reached, and the deadline lies inside working hours.
    assert PROPERTY_CALENDAR.between(start, deadline - dt.timedelta(microseconds=1)) < dt.timedelta(
        minutes=minutes
    )
    wall = deadline.astimezone(SHANGHAI)
    assert PROPERTY_CALENDAR.is_workday(wall.date())
    assert dt.time(8, 30) < wall.time() <= dt.time(12, 0) or dt.time(14, 0) < wall.time() <= dt.time(17, 30)


@bounded
@given(start=starts, a=work_hours, b=work_hours)
def test_property_monotonic_in_amount(start, a, b):
    low, high = sorted((a, b))
    assert PROPERTY_CALENDAR.add(start, low, "work_hour") <= PROPERTY_CALENDAR.add(start, high, "work_hour")


@bounded
@given(s1=starts, s2=starts, amount=work_hours, unit=st.sampled_from(["work_hour", "work_day"]))
def test_property_monotonic_in_start(s1, s2, amount, unit):
    early, late = sorted((s1, s2))
    amount = amount / 7 if unit == "work_day" else amount
    assert PROPERTY_CALENDAR.add(early, amount, unit) <= PROPERTY_CALENDAR.add(late, amount, unit)


@bounded
@given(a=starts, b=starts, c=starts)
def test_property_working_time_is_additive_and_antisymmetric(a, b, c):
    a, b, c = sorted((a, b, c))
    between = PROPERTY_CALENDAR.between
    assert between(a, c) == between(a, b) + between(b, c)
    assert between(c, a) == -between(a, c)
    assert dt.timedelta(0) <= between(a, c) <= c - a
