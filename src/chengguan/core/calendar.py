"""The working-time calendar (工作时/工作日) behind every case deadline.

A day is a working day when, in this order:

1. an administrator's `CalendarOverride` says so (it wins over everything);
2. otherwise the statutory calendar of the `chinesecalendar` package says so (public holidays and
   调休 make-up working days);
3. otherwise, for a year that package does not know, when it is Monday to Friday. A warning is
   logged once per year and per process, and `calendar_warnings()` reports the gap to the admin.

A working day's working time is its work periods (`WorkPeriod` rows, or `settings.WORK_PERIODS`
when there are none), in local time (`settings.TIME_ZONE`). One work day (工作日) is the total
length of those periods, so 1 work day from Monday 10:00 ends on Tuesday 10:00.

Datetimes go in aware (any zone) and come out in UTC; internally the calendar works in local time.

`WorkCalendar` is the pure core: periods and overrides are given to it. `DatabaseCalendar` reads
them from the database, lazily, in one query per table for the date range a computation needs; the
module functions build a fresh one per call, so a change an administrator makes in one process is
seen at once by every other process. For many computations in a row (reports), build one with
`get_calendar()` and pass it as `calendar=`: it is a snapshot, it queries once and is reused.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

import chinese_calendar
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chengguan.catalog.choices import TimeUnit

from .models import CalendarDayKind, CalendarOverride, WorkPeriod

__all__ = [
    "DatabaseCalendar",
    "WorkCalendar",
    "add_working_time",
    "calendar_warnings",
    "get_calendar",
    "is_workday",
    "parse_periods",
    "statutory_is_workday",
    "statutory_year_known",
    "working_amount_between",
    "working_time_between",
    "year_exceptions",
]

logger = logging.getLogger("chengguan.calendar")

UTC = dt.UTC
_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND
_NATURAL_UNIT_US = {TimeUnit.HOUR: 3_600 * _US_PER_SECOND, TimeUnit.MINUTE: 60 * _US_PER_SECOND}
_WORK_HOUR_US = 3_600 * _US_PER_SECOND
# A computation never walks further than this: it protects against absurd amounts, and against a
# calendar an administrator turned into one long holiday.
MAX_SPAN_DAYS = 366 * 20
_ONE_DAY = dt.timedelta(days=1)

# A work period: microseconds from local midnight, start < end <= 24:00.
Period = tuple[int, int]


# --- statutory calendar -------------------------------------------------------------------------


def statutory_is_workday(day: dt.date) -> bool | None:
    """The statutory answer of `chinesecalendar` (holidays, 调休), or None for a year it does not know."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def statutory_year_known(year: int) -> bool:
    return statutory_is_workday(dt.date(year, 1, 1)) is not None


_warned_years: set[int] = set()


def _warn_missing_year(year: int) -> None:
    if year in _warned_years:
        return
    _warned_years.add(year)
    logger.warning(
        "chinesecalendar has no statutory holiday data for %s: Monday-Friday are taken as working days, "
        "plus administrator overrides (CalendarOverride)",
        year,
    )


# --- work periods -------------------------------------------------------------------------------


def _parse_clock(text: str) -> int:
    """'08:30' or '08:30:15' → microseconds from midnight; '24:00' is the end of the day."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = int(parts[2]) if len(parts) == 3 else 0
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise ValueError(text)
    return ((hours * 60 + minutes) * 60 + seconds) * _US_PER_SECOND


def _clock_us(value: dt.time | int) -> int:
    if isinstance(value, dt.time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * _US_PER_SECOND + value.microsecond
    return int(value)


def _normalise_periods(pairs: Iterable[tuple[dt.time | int, dt.time | int]]) -> tuple[Period, ...]:
    """Sorted periods as microsecond offsets; ValueError when empty, inverted or overlapping."""
    periods = sorted((_clock_us(start), _clock_us(end)) for start, end in pairs)
    if not periods:
        raise ValueError("no work periods defined")
    for start, end in periods:
        if not 0 <= start < end <= _US_PER_DAY:
            raise ValueError(f"work period must satisfy 00:00 <= start < end <= 24:00 (got {start}-{end} µs)")
    for (_start, previous_end), (start, _end) in itertools.pairwise(periods):
        if start < previous_end:
            raise ValueError("work periods overlap")
    return tuple(periods)


def parse_periods(text: str) -> tuple[Period, ...]:
    """Parse settings.WORK_PERIODS, e.g. "08:30-12:00,14:00-17:30" ("24:00" may end a period)."""
    pairs = []
    try:
        for chunk in text.split(","):
            if not chunk.strip():
                continue
            start, end = chunk.split("-")
            pairs.append((_parse_clock(start), _parse_clock(end)))
        return _normalise_periods(pairs)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f'WORK_PERIODS must look like "08:30-12:00,14:00-17:30" (sorted, non-overlapping), '
            f"got {text!r}: {exc}"
        ) from exc


# --- argument checking --------------------------------------------------------------------------


def _as_utc(value: dt.datetime, name: str = "datetime") -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


def _unit(unit: str) -> TimeUnit:
    try:
        return TimeUnit(unit)
    except ValueError:
        allowed = ", ".join(TimeUnit.values)
        raise ValueError(f"unknown time unit {unit!r}; allowed units: {allowed}") from None


def _amount(amount: Decimal | float | int) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, float, int)):
        raise TypeError(f"amount must be a Decimal, float or int, got {type(amount).__name__}")
    # repr() of a float is its shortest exact decimal form: 0.1 → Decimal("0.1"), not 0.1000000000000000055…
    value = Decimal(repr(amount)) if isinstance(amount, float) else Decimal(amount)
    if not value.is_finite():
        raise ValueError(f"amount must be a finite number, got {amount!r}")
    if value < 0:
        raise ValueError(f"amount must not be negative, got {amount!r}")
    return value


def _to_microseconds(amount: Decimal, unit_us: int) -> int:
    """amount × unit in whole microseconds (rounded to the nearest)."""
    with localcontext() as ctx:
        ctx.prec = 60
        us = int((amount * unit_us).to_integral_value(rounding=ROUND_HALF_UP))
    if us > MAX_SPAN_DAYS * _US_PER_DAY:
        raise ValueError(f"amount {amount} is too large (more than {MAX_SPAN_DAYS} days)")
    return us


def _ratio(numerator_us: int, denominator_us: int) -> Decimal:
    return Decimal(numerator_us) / Decimal(denominator_us)


# --- the calendar -------------------------------------------------------------------------------


class WorkCalendar:
    """The working-time calendar, given its work periods and overrides (no database access).

    `periods`: (start, end) pairs of `datetime.time` (or microseconds from midnight); None means
    settings.WORK_PERIODS. `overrides`: {date: True/False or CalendarDayKind value}, True/workday
    meaning a working day. `tz`: local time zone, settings.TIME_ZONE by default.
    """

    def __init__(
        self,
        periods: Iterable[tuple[dt.time | int, dt.time | int]] | None = None,
        overrides: Mapping[dt.date, bool | str] | None = None,
        *,
        tz: dt.tzinfo | None = None,
    ) -> None:
        self.tz = tz or timezone.get_default_timezone()
        self._periods: tuple[Period, ...] | None = None if periods is None else _normalise_periods(periods)
        self._overrides: dict[dt.date, bool] = {}
        for day, kind in (overrides or {}).items():
            self._set_override(day, kind)
        self._days: dict[dt.date, bool] = {}

    # Configuration ------------------------------------------------------------------------------

    def _set_override(self, day: dt.date, kind: bool | str) -> None:
        if isinstance(kind, bool):
            self._overrides[day] = kind
        elif kind in (CalendarDayKind.WORKDAY, CalendarDayKind.HOLIDAY):
            self._overrides[day] = kind == CalendarDayKind.WORKDAY
        else:
            raise ValueError(f"override for {day} must be a bool or a CalendarDayKind, got {kind!r}")

    def _load_periods(self) -> tuple[Period, ...]:
        return parse_periods(settings.WORK_PERIODS)

    @property
    def periods(self) -> tuple[Period, ...]:
        if self._periods is None:
            self._periods = self._load_periods()
        return self._periods

    @property
    def day_length(self) -> dt.timedelta:
        """The working time of one working day: the length of one work day (工作日)."""
        return dt.timedelta(microseconds=sum(end - start for start, end in self.periods))

    def prefetch(self, first: dt.date, last: dt.date) -> None:
        """Hint that days first..last will be looked at (a database-backed calendar loads them)."""

    def _override(self, day: dt.date) -> bool | None:
        return self._overrides.get(day)

    # Days ---------------------------------------------------------------------------------------

    def is_workday(self, day: dt.date) -> bool:
        """Override, else the statutory calendar, else Monday-Friday. A datetime means its local date."""
        if isinstance(day, dt.datetime):
            day = _as_utc(day, "day").astimezone(self.tz).date()
        known = self._days.get(day)
        if known is not None:
            return known
        result = self._override(day)
        if result is None:
            result = statutory_is_workday(day)
            if result is None:
                _warn_missing_year(day.year)
                result = day.weekday() < 5
        self._days[day] = result
        return result

    def _local_date(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.tz).date()

    def work_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The working intervals of a local date, as UTC datetimes (empty on a day off)."""
        if not self.is_workday(day):
            return []
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)
        intervals = []
        for start, end in self.periods:
            # Wall-clock arithmetic on the local midnight, then UTC so durations are real durations.
            lo = (midnight + dt.timedelta(microseconds=start)).astimezone(UTC)
            hi = (midnight + dt.timedelta(microseconds=end)).astimezone(UTC)
            if hi > lo:
                intervals.append((lo, hi))
        return intervals

    # Arithmetic ---------------------------------------------------------------------------------

    def _unit_us(self, unit: TimeUnit) -> int:
        if unit == TimeUnit.WORK_HOUR:
            return _WORK_HOUR_US
        if unit == TimeUnit.WORK_DAY:
            return self.day_length // dt.timedelta(microseconds=1)
        return _NATURAL_UNIT_US[unit]

    def add(self, start: dt.datetime, amount: Decimal | float | int, unit: str) -> dt.datetime:
        """The earliest instant at which the time elapsed since `start` reaches `amount` `unit`.

        Work units count only working time: 3.5 work hours from 08:30 end at 12:00 (not 14:00), from
        a day off they start at the next working day's opening. Natural units ignore the calendar.
        """
        start = _as_utc(start, "start")
        unit = _unit(unit)
        value = _amount(amount)
        if value == 0:
            return start
        us = _to_microseconds(value, self._unit_us(unit))
        if unit in _NATURAL_UNIT_US:
            return start + dt.timedelta(microseconds=us)
        if us == 0:
            return start
        remaining = dt.timedelta(microseconds=us)
        day = self._local_date(start)
        # Enough calendar days for the working days needed, with room for a long holiday.
        working_days = math.ceil(us / max(self._unit_us(TimeUnit.WORK_DAY), 1))
        self.prefetch(day, day + dt.timedelta(days=working_days * 7 // 5 + 21))
        for _day in range(MAX_SPAN_DAYS):
            for lo, hi in self.work_intervals(day):
                lo = max(lo, start)
                if lo >= hi:
                    continue
                available = hi - lo
                if remaining <= available:
                    return lo + remaining
                remaining -= available
            day += _ONE_DAY
        raise ValueError(
            f"{amount} {unit.value} from {start.isoformat()} does not end within {MAX_SPAN_DAYS} days: "
            "check the calendar overrides"
        )

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time between two instants; negative (minus the reverse) when end < start."""
        start, end = _as_utc(start, "start"), _as_utc(end, "end")
        if end < start:
            return -self.between(end, start)
        day, last = self._local_date(start), self._local_date(end)
        if (last - day).days > MAX_SPAN_DAYS:
            raise ValueError(
                f"span from {start.isoformat()} to {end.isoformat()} exceeds {MAX_SPAN_DAYS} days"
            )
        self.prefetch(day, last)
        total = dt.timedelta(0)
        while day <= last:
            for lo, hi in self.work_intervals(day):
                lo, hi = max(lo, start), min(hi, end)
                if hi > lo:
                    total += hi - lo
            day += _ONE_DAY
        return total

    def amount_between(self, start: dt.datetime, end: dt.datetime, unit: str) -> Decimal:
        """Time between two instants in `unit` (working time for work units), negative when end < start."""
        unit = _unit(unit)
        if unit in _NATURAL_UNIT_US:
            elapsed = _as_utc(end, "end") - _as_utc(start, "start")
        else:
            elapsed = self.between(start, end)
        return _ratio(elapsed // dt.timedelta(microseconds=1), self._unit_us(unit))


class DatabaseCalendar(WorkCalendar):
    """WorkCalendar reading WorkPeriod and CalendarOverride, lazily and by date range.

    Work periods are read once, on first need. Overrides are read for a range of dates at a time
    (the range a computation announces through prefetch(), else ~3 months from the first day asked
    about), so a deadline costs one query per table, not one per day. An instance is a snapshot.
    """

    LOOKAHEAD_DAYS = 92

    def __init__(self, *, tz: dt.tzinfo | None = None) -> None:
        super().__init__(tz=tz)
        self._window: tuple[dt.date, dt.date] | None = None

    def _load_periods(self) -> tuple[Period, ...]:
        rows = list(WorkPeriod.objects.values_list("start", "end"))
        if not rows:
            return super()._load_periods()
        try:
            return _normalise_periods(rows)
        except ValueError as exc:
            raise ImproperlyConfigured(f"invalid WorkPeriod rows: {exc}") from exc

    def _load_overrides(self, first: dt.date, last: dt.date) -> None:
        rows = CalendarOverride.objects.filter(date__range=(first, last)).values_list("date", "kind")
        for day, kind in rows:
            self._set_override(day, kind)

    def prefetch(self, first: dt.date, last: dt.date) -> None:
        first, last = min(first, last), max(first, last)
        if self._window is None:
            self._load_overrides(first, last)
            self._window = (first, last)
            return
        lo, hi = self._window
        # Extend generously, so a batch of computations walking forward does not query per call.
        if first < lo:
            first = min(first, lo - dt.timedelta(days=self.LOOKAHEAD_DAYS))
            self._load_overrides(first, lo - _ONE_DAY)
            lo = first
        if last > hi:
            last = max(last, hi + dt.timedelta(days=self.LOOKAHEAD_DAYS))
            self._load_overrides(hi + _ONE_DAY, last)
            hi = last
        self._window = (lo, hi)

    def _override(self, day: dt.date) -> bool | None:
        if self._window is None or not self._window[0] <= day <= self._window[1]:
            self.prefetch(day, day + dt.timedelta(days=self.LOOKAHEAD_DAYS))
        return self._overrides.get(day)


# --- module API ---------------------------------------------------------------------------------


def get_calendar() -> DatabaseCalendar:
    """A fresh database-backed calendar (a snapshot: reuse it for a batch of computations)."""
    return DatabaseCalendar()


def add_working_time(
    start: dt.datetime,
    amount: Decimal | float | int,
    unit: str,
    *,
    calendar: WorkCalendar | None = None,
) -> dt.datetime:
    """The deadline: the earliest instant (UTC) at which `amount` `unit` have elapsed since `start`.

    unit: a TimeUnit value, "work_hour", "work_day" (the day's total working time, 7 h by default),
    "hour" or "minute" (natural time, calendar ignored). Amount 0 returns start; a negative amount
    or an unknown unit raises ValueError.
    """
    # The database calendar is lazy: natural units never query it.
    return (calendar or get_calendar()).add(start, amount, unit)


def working_time_between(
    start: dt.datetime, end: dt.datetime, *, calendar: WorkCalendar | None = None
) -> dt.timedelta:
    """Working time between two instants; when end < start, minus the working time from end to start."""
    return (calendar or get_calendar()).between(start, end)


def working_amount_between(
    start: dt.datetime, end: dt.datetime, unit: str, *, calendar: WorkCalendar | None = None
) -> Decimal:
    """The time between two instants in `unit` (working time for work units; negative when end < start)."""
    return (calendar or get_calendar()).amount_between(start, end, unit)


def is_workday(day: dt.date, *, calendar: WorkCalendar | None = None) -> bool:
    """Whether a local date is a working day (override, else statutory calendar, else Monday-Friday)."""
    if calendar is None:
        calendar = get_calendar()
        if isinstance(day, dt.datetime):
            day = _as_utc(day, "day").astimezone(calendar.tz).date()
        calendar.prefetch(day, day)  # one row at most, not three months
    return calendar.is_workday(day)


WEEKDAY_NAMES = (
    gettext_lazy("周一"),
    gettext_lazy("周二"),
    gettext_lazy("周三"),
    gettext_lazy("周四"),
    gettext_lazy("周五"),
    gettext_lazy("周六"),
    gettext_lazy("周日"),
)

# chinesecalendar names its holidays in English
HOLIDAY_NAMES = {
    "New Year's Day": gettext_lazy("元旦"),
    "Spring Festival": gettext_lazy("春节"),
    "Tomb-sweeping Day": gettext_lazy("清明节"),
    "Labour Day": gettext_lazy("劳动节"),
    "Dragon Boat Festival": gettext_lazy("端午节"),
    "National Day": gettext_lazy("国庆节"),
    "Mid-autumn Festival": gettext_lazy("中秋节"),
    "Anti-Fascist 70th Day": gettext_lazy("中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"),
}


@dataclass(frozen=True)
class DayException:
    """A day of a year that is not what Monday-Friday says: a weekday off or a weekend worked."""

    date: dt.date
    workday: bool
    source: str  # "override" or "statutory"
    note: str


def year_exceptions(year: int) -> list[DayException]:
    """Every day of the year off on a weekday or worked on a weekend, as the calendar decides it
    (WorkCalendar.is_workday: an administrator's override, else the statutory calendar), and every
    override, with the override's note or the holiday's name."""
    rows = list(CalendarOverride.objects.filter(date__year=year).values_list("date", "kind", "note"))
    notes = {d: note for d, _kind, note in rows}
    calendar = WorkCalendar(overrides={d: kind for d, kind, _note in rows})
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        workday = calendar.is_workday(day)
        if day in notes:
            out.append(DayException(day, workday, "override", notes[day]))
        elif workday != (day.weekday() < 5):
            _on_holiday, name = chinese_calendar.get_holiday_detail(day)
            out.append(DayException(day, workday, "statutory", str(HOLIDAY_NAMES.get(name, name or ""))))
        day += _ONE_DAY
    return out


def calendar_warnings(today: dt.date | None = None) -> list[str]:
    """Messages for last, this and next year when chinesecalendar lacks them and no override exists.

    Used by the system check chengguan.W001 and by the admin.
    """
    year = (today or timezone.localdate()).year
    missing = [y for y in (year - 1, year, year + 1) if not statutory_year_known(y)]
    if not missing:
        return []
    covered = {
        d.year
        for d in CalendarOverride.objects.filter(
            date__range=(dt.date(missing[0], 1, 1), dt.date(missing[-1], 12, 31))
        ).dates("date", "year")
    }
    return [
        _("%(year)s 年的法定节假日数据缺失：按周末计算，请管理员录入调休安排") % {"year": y}
        for y in missing
        if y not in covered
    ]
